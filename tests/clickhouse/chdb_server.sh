#!/usr/bin/env bash
# The same interface as clickhouse_server.sh, serving a current ClickHouse engine (chdb, installed
# into a cache by scripts/install-chdb.sh) through chdb_http_front.py: tests written for
# clickhouse_server.sh run unchanged against it. Loopback only; the TCP ports are accepted and
# ignored (chdb has no native protocol server).
#
#   tests/clickhouse/chdb_server.sh start <dir> <http_port> <tcp_port> [<interserver_port>]
#   tests/clickhouse/chdb_server.sh stop  <dir>
#   tests/clickhouse/chdb_server.sh kill  <dir>
#
# TELETRACE_CHDB_VERSION picks the chdb release (default 4.4.0 = ClickHouse 26.9; 3.7.2 = 25.8).
# The front exits by itself when TELETRACE_CHDB_OWNER_PID (default: the caller of this script)
# exits or after TELETRACE_CHDB_MAX_SECONDS (default 3600), so a crashed test leaves nothing behind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() {
  echo "usage: $0 start <dir> <http_port> <tcp_port> [<interserver_port>] | stop <dir> | kill <dir>" >&2
  exit 2
}

start() {
  local dir=$1 http_port=$2
  mkdir -p "$dir/log"
  dir=$(cd "$dir" && pwd)
  if [[ -f "$dir/server.pid" ]] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
    echo "chdb_server.sh: a server is already running from $dir" >&2
    return 1
  fi
  local python
  python=$("$here/../../scripts/install-chdb.sh" "${TELETRACE_CHDB_VERSION:-4.4.0}")
  rm -f "$dir/ready"
  "$python" "$here/chdb_http_front.py" --port "$http_port" --path "$dir/data" \
    --parent-pid "${TELETRACE_CHDB_OWNER_PID:-$PPID}" \
    --max-seconds "${TELETRACE_CHDB_MAX_SECONDS:-3600}" --ready-file "$dir/ready" \
    >>"$dir/log/front.log" 2>&1 &
  echo $! >"$dir/server.pid"
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if [[ -f "$dir/ready" ]] &&
      [[ "$(curl -s --max-time 1 "http://127.0.0.1:$http_port/ping" 2>/dev/null)" == "Ok." ]]; then
      return 0
    fi
    if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
      echo "chdb_server.sh: front in $dir exited during start-up" >&2
      tail -n 30 "$dir/log/front.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  echo "chdb_server.sh: front in $dir did not answer /ping on port $http_port in 60 s" >&2
  tail -n 30 "$dir/log/front.log" >&2 || true
  stop "$dir"
  return 1
}

stop() {
  local dir=$1 signal=${2:-TERM}
  [[ -f "$dir/server.pid" ]] || return 0
  local pid
  pid=$(cat "$dir/server.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$signal" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  rm -f "$dir/server.pid"
}

[[ $# -ge 2 ]] || usage
case "$1" in
  start)
    [[ $# -ge 4 ]] || usage
    start "$2" "$3" "$4"
    ;;
  stop) stop "$2" ;;
  kill) stop "$2" KILL ;;
  *) usage ;;
esac
