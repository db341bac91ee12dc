#!/usr/bin/env bash
# The Jaeger query API differential test: builds (once, cached) the real Jaeger v2 and runs
# differential.test.mjs against it and the teletrace binary ($TELETRACE_BIN). The test's npm
# packages are the integration suite's.
set -euo pipefail
cd "$(dirname "$0")"

TELETRACE_JAEGER_BIN=$(./build_jaeger.sh | tail -n 1)
export TELETRACE_JAEGER_BIN
../../scripts/npm-ci-if-changed.sh ../integration
exec node --test --test-concurrency=1 differential.test.mjs
