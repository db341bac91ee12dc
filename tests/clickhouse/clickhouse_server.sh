#!/usr/bin/env bash
# Starts or stops a throwaway clickhouse-server for tests: loopback only, its own directory, ports
# and users, no systemd.
#
#   tests/clickhouse/clickhouse_server.sh start <dir> <http_port> <tcp_port> [<interserver_port>]
#   tests/clickhouse/clickhouse_server.sh stop  <dir>
#   tests/clickhouse/clickhouse_server.sh kill  <dir>
#
# start writes <dir>/config.xml and <dir>/users.xml (keeping any <dir>/config.d/*.xml the caller
# put there, e.g. a cluster's remote_servers/zookeeper/macros), starts the server in the background,
# and returns once GET /ping answers (or fails after 60 s, printing the server's error log).
# stop terminates the server started from <dir> (SIGTERM, SIGKILL after 30 s) and waits for it to
# exit; kill sends SIGKILL at once (a crash, or a fast teardown of data about to be deleted). Data stays in <dir>
# until the caller removes it, so stop + start is a restart with the same data.
set -euo pipefail

usage() {
  echo "usage: $0 start <dir> <http_port> <tcp_port> [<interserver_port>] | stop <dir> | kill <dir>" >&2
  exit 2
}

find_server() {
  # Debian ships /usr/sbin/clickhouse-server; upstream packages a multi-call /usr/bin/clickhouse.
  local candidate
  for candidate in "${CLICKHOUSE_SERVER:-}" /usr/sbin/clickhouse-server /usr/bin/clickhouse-server \
    "$(command -v clickhouse-server 2>/dev/null || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  if command -v clickhouse >/dev/null 2>&1; then
    echo "$(command -v clickhouse) server"
    return 0
  fi
  echo "clickhouse_server.sh: no clickhouse-server binary found (install the clickhouse-server package)" >&2
  return 1
}

write_config() {
  local dir=$1 http_port=$2 tcp_port=$3 interserver_port=$4
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas" "$dir/config.d"
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$dir/log/clickhouse-server.log</log>
    <errorlog>$dir/log/clickhouse-server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  <interserver_http_port>$interserver_port</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <max_concurrent_queries>64</max_concurrent_queries>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <builtin_dictionaries_reload_interval>0</builtin_dictionaries_reload_interval>
  <compression>
    <case>
      <min_part_size>0</min_part_size>
      <min_part_size_ratio>0</min_part_size_ratio>
      <method>zstd</method>
    </case>
  </compression>
  <distributed_ddl>
    <path>/clickhouse/task_queue/ddl</path>
  </distributed_ddl>
</yandex>
EOF
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <max_threads>2</max_threads>
    </default>
    <logged>
      <profile>default</profile>
      <log_queries>1</log_queries>
    </logged>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <teletrace>
      <password>s3cret 'quoted'</password>
      <networks>
        <ip>127.0.0.1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </teletrace>
    <logged>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
      </networks>
      <profile>logged</profile>
      <quota>default</quota>
    </logged>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
EOF
}

start() {
  local dir=$1 http_port=$2 tcp_port=$3 interserver_port=${4:-$(($3 + 1))}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ -f "$dir/server.pid" ]] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
    echo "clickhouse_server.sh: a server is already running from $dir" >&2
    return 1
  fi
  local server
  server=$(find_server)
  write_config "$dir" "$http_port" "$tcp_port" "$interserver_port"
  # shellcheck disable=SC2086  # "$server" may be "clickhouse server"
  (cd "$dir" && exec $server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1) &
  echo $! >"$dir/server.pid"
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if [[ "$(curl -s --max-time 1 "http://127.0.0.1:$http_port/ping" 2>/dev/null)" == "Ok." ]]; then
      return 0
    fi
    if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
      echo "clickhouse_server.sh: server in $dir exited during start-up" >&2
      tail -n 30 "$dir/log/clickhouse-server.err.log" "$dir/log/stdout.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  echo "clickhouse_server.sh: server in $dir did not answer /ping on port $http_port in 60 s" >&2
  tail -n 30 "$dir/log/clickhouse-server.err.log" >&2 2>/dev/null || true
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
    start "$2" "$3" "$4" "${5:-}"
    ;;
  stop) stop "$2" ;;
  kill) stop "$2" KILL ;;
  *) usage ;;
esac
