#!/usr/bin/env bash
# Runs the integration suite against the real teletrace binary ($TELETRACE_BIN, default
# <repo>/build/release/teletrace). Installs the pinned npm packages first when package-lock.json
# changed since the last install. Arguments: test files to run (default: all *.test.mjs).
set -euo pipefail
cd "$(dirname "$0")"

../../scripts/npm-ci-if-changed.sh .

if [[ $# -eq 0 ]]; then
  set -- *.test.mjs
fi
exec node --test --test-concurrency=1 "$@"
