#!/usr/bin/env bash
# Runs the browser end-to-end suite against the real teletrace binary ($TELETRACE_BIN) serving the
# built UI (web/dist). Installs the pinned npm packages first when package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")"
../../scripts/npm-ci-if-changed.sh .
if [[ ! -f ../../web/dist/index.html ]]; then
  echo "e2e: web/dist is missing; build the UI first (make ui)" >&2
  exit 1
fi
if [[ $# -eq 0 ]]; then set -- *.test.mjs; fi
exec node --test --test-concurrency=1 "$@"
