#!/usr/bin/env bash
# Runs a command with a throwaway ClickHouse on loopback and TELETRACE_CLICKHOUSE_URL pointing at it
# (plus TELETRACE_CLICKHOUSE_SCRIPT, the server script, and TELETRACE_CLICKHOUSE_THROWAWAY=1); stops
# the server and removes its data afterwards, also when the command fails or the script is
# interrupted. Exits with the command's status.
#
#   tests/clickhouse/run_with_server.sh [--engine server|chdb] <command> [args...]
#
# --engine server (the default): the installed clickhouse-server (Debian's 18.16) through
# clickhouse_server.sh. --engine chdb: a current release, chdb's embedded engine behind
# chdb_http_front.py (chdb_server.sh; TELETRACE_CHDB_VERSION picks the release, default 4.4.0 =
# ClickHouse 26.9), installed on first use by scripts/install-chdb.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
engine=server
if [[ "${1:-}" == "--engine" ]]; then
  engine=${2:-}
  shift 2 || true
fi
case "$engine" in
  server) script="$here/clickhouse_server.sh" ;;
  chdb) script="$here/chdb_server.sh" ;;
  *) echo "run_with_server.sh: --engine must be server or chdb, got '$engine'" >&2; exit 2 ;;
esac
[[ $# -ge 1 ]] || { echo "usage: $0 [--engine server|chdb] <command> [args...]" >&2; exit 2; }

dir=$(mktemp -d /tmp/teletrace-clickhouse.XXXXXX)
cleanup() {
  "$script" kill "$dir" || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A chdb front started by this script or by the tests (a restart test starts its own) exits
# with this script, whatever happens to the test.
export TELETRACE_CHDB_OWNER_PID=$$
{ read -r http_port; read -r tcp_port; read -r interserver_port; } < <(python3 "$here/../lib/ports.py" 3)
"$script" start "$dir" "$http_port" "$tcp_port" "$interserver_port"

export TELETRACE_CLICKHOUSE_URL="http://127.0.0.1:$http_port"
export TELETRACE_CLICKHOUSE_SCRIPT="$script"
# The server and its data are deleted afterwards: tests need not clean up what they created.
export TELETRACE_CLICKHOUSE_THROWAWAY=1
set +e
"$@"
status=$?
set -e
exit $status
