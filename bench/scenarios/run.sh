#!/usr/bin/env bash
# `make bench`: the benchmark scenarios against the release build (build/release), writing
# docs/benchmarks.md and docs/benchmarks.json. Arguments, and BENCH_ARGS from the environment
# (`make bench BENCH_ARGS=--quick`), go to run.py; see `bench/scenarios/run.py --help`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${TELETRACE_BUILD_DIR:-$root/build/release}
# shellcheck disable=SC2086  # BENCH_ARGS is a list of flags
exec python3 "$root/bench/scenarios/run.py" --bin "${TELETRACE_BIN:-$build_dir/teletrace}" \
  --loadgen "${TELETRACE_LOADGEN:-$build_dir/bench/teletrace-loadgen}" --build-dir "$build_dir" \
  ${BENCH_ARGS:-} "$@"
