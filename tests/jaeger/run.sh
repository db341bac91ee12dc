#!/usr/bin/env bash
# The differential tests against the real Jaeger v2: builds it (once, cached) and runs every
# *.test.mjs here (the Jaeger query API, the Zipkin mapping) against it and the teletrace binary
# ($TELETRACE_BIN). The tests' npm packages are the integration suite's.
set -euo pipefail
cd "$(dirname "$0")"

TELETRACE_JAEGER_BIN=$(./build_jaeger.sh | tail -n 1)
export TELETRACE_JAEGER_BIN
../../scripts/npm-ci-if-changed.sh ../integration
exec node --test --test-concurrency=1 ./*.test.mjs
