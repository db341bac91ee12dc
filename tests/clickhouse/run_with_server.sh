#!/usr/bin/env bash
# Runs a command with a throwaway clickhouse-server on loopback (tests/clickhouse/clickhouse_server.sh)
# and TELETRACE_CLICKHOUSE_URL pointing at it (plus TELETRACE_CLICKHOUSE_SCRIPT, the server script,
# and TELETRACE_CLICKHOUSE_THROWAWAY=1); stops the server and removes its data afterwards,
# also when the command fails or the script is interrupted. Exits with the command's status.
#
#   tests/clickhouse/run_with_server.sh <command> [args...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 <command> [args...]" >&2; exit 2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

dir=$(mktemp -d /tmp/teletrace-clickhouse.XXXXXX)
cleanup() {
  "$here/clickhouse_server.sh" kill "$dir" || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

http_port=$(free_port)
tcp_port=$(free_port)
interserver_port=$(free_port)
"$here/clickhouse_server.sh" start "$dir" "$http_port" "$tcp_port" "$interserver_port"

export TELETRACE_CLICKHOUSE_URL="http://127.0.0.1:$http_port"
export TELETRACE_CLICKHOUSE_SCRIPT="$here/clickhouse_server.sh"
# The server and its data are deleted afterwards: tests need not clean up what they created.
export TELETRACE_CLICKHOUSE_THROWAWAY=1
set +e
"$@"
status=$?
set -e
exit $status
