#!/usr/bin/env bash
# Builds the web UI into web/dist so the server build embeds it. Without Node.js 20.19+ (Vite 7's
# floor) it says so and leaves web/dist alone: the binary then serves a placeholder page that tells
# how to build the UI, and everything else works.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "build-ui: node not found; building the server without the UI" >&2
  exit 0
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a==20&&b>=19)?0:1)'; then
  echo "build-ui: node $(node --version) is older than 20.19; building the server without the UI" >&2
  exit 0
fi
scripts/npm-ci-if-changed.sh web
(cd web && npm run build)
