#!/usr/bin/env bash
# Installs PyPI's chdb (the real ClickHouse engine, embedded in a Python module) into a virtualenv
# in a cache outside the clone, idempotently, and prints the venv's python on stdout. The tests run
# the ClickHouse backend against current ClickHouse releases through it (tests/clickhouse/
# chdb_http_front.py), since no current clickhouse-server binary is reachable from here.
#
#   scripts/install-chdb.sh [VERSION]       default 4.4.0 (= ClickHouse 26.9); 3.7.2 = 25.8
#
# The venv lives in ${TELETRACE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/teletrace}/chdb-VERSION;
# a marker written after a successful import makes the second run a no-op. Concurrent runs are
# serialised with flock, and a half-built venv (an interrupted run) is removed and rebuilt.
set -euo pipefail

version=${1:-4.4.0}
if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "install-chdb: version must look like 4.4.0, got '$version'" >&2
  exit 2
fi
cache=${TELETRACE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/teletrace}
venv="$cache/chdb-$version"
marker="$venv/.teletrace-complete"
mkdir -p "$cache"

exec 9>"$cache/.chdb-$version.lock"
flock 9

if [[ -f "$marker" ]] && "$venv/bin/python" -c 'import chdb' 2>/dev/null; then
  echo "$venv/bin/python"
  exit 0
fi

start=$SECONDS
echo "install-chdb: installing chdb $version into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input "chdb==$version" >&2
# The engine must load and report the release we expect to test against.
engine=$("$venv/bin/python" -c 'import chdb; print(chdb.query("SELECT version()", "CSV").bytes().decode().strip().strip("\""))')
echo "$engine" >"$marker"
echo "install-chdb: chdb $version (ClickHouse $engine) in $((SECONDS - start)) s, $(du -sh "$venv" | cut -f1)" >&2
echo "$venv/bin/python"
