#!/usr/bin/env bash
# Starts or stops a throwaway OpenSearch 2.19.6 or Elasticsearch 8.15.0 node for tests: one JVM
# running the engine from its Maven Central jars (launcher/), loopback only, its own directory.
#
#   tests/elasticsearch/search_node.sh start --flavor opensearch|elasticsearch --dir DIR
#       [--http-port P] [--transport-port T] [--cluster-name C] [--node-name N]
#       [--seed-hosts host:port,...] [--initial-masters n1,n2,...] [--max-seconds S]
#       [--owner-pid PID]
#   tests/elasticsearch/search_node.sh stop --dir DIR
#
# start builds the launcher once into ${XDG_CACHE_HOME:-~/.cache}/teletrace/search-node/ (again
# only when launcher/ changes; the first run downloads ~100 MB into ~/.m2, ~30 s), picks free
# loopback ports unless given, starts the node in the background and waits until GET /_cluster/health
# answers (120 s; TELETRACE_SEARCH_NODE_START_SECONDS). It writes DIR/pid, DIR/http_port,
# DIR/transport_port, DIR/url and DIR/node.log, and prints http://127.0.0.1:P as its last line.
# Without --seed-hosts the node uses single-node discovery and start waits for HTTP 200; with it,
# start returns once the HTTP layer answers at all (the cluster forms when enough nodes are up).
# A node already running from DIR is left alone (its URL is printed again).
#
# The node exits by itself after --max-seconds (default 3600; TELETRACE_SEARCH_NODE_MAX_SECONDS),
# and as soon as --owner-pid exits if given, so a crashed test leaves nothing behind (a detached
# watchdog SIGKILLs a JVM still alive 30 s after --max-seconds).
# stop sends SIGTERM, SIGKILL after 10 s, and waits for the JVM to exit; data stays in DIR, so
# stop + start with the same DIR and ports is a restart.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
launcher_src=$here/launcher
prog=search_node.sh
main_marker=dev.teletrace.searchnode

die() {
  echo "$prog: $*" >&2
  exit 1
}

usage() {
  sed -n '5,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

flavor_version() {
  case $1 in
    opensearch) echo 2.19.6 ;;
    elasticsearch) echo 8.15.0 ;;
    *) die "unknown --flavor '$1' (opensearch or elasticsearch)" ;;
  esac
}

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || die "java not found (JDK 17+ needed)"
  fi
}

# Prints the directory holding search-node.jar and lib/ for a flavor, building it if needed.
ensure_launcher() {
  local flavor=$1 version
  version=$(flavor_version "$flavor")
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/teletrace/search-node/$flavor-$version
  mkdir -p "$cache"
  local hash
  hash=$(cd "$launcher_src" && find pom.xml src -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | { cat; echo "$flavor"; } | sha256sum | cut -c1-16)
  if [[ "$(cat "$cache/stamp" 2>/dev/null || true)" == "$hash" && -f "$cache/search-node.jar" ]]; then
    echo "$cache"
    return 0
  fi
  # One builder at a time (several nodes of a cluster may start at once).
  exec 9>"$cache/.lock"
  flock 9
  if [[ "$(cat "$cache/stamp" 2>/dev/null || true)" != "$hash" || ! -f "$cache/search-node.jar" ]]; then
    command -v mvn >/dev/null || die "mvn not found (Maven is needed to build the launcher once)"
    echo "$prog: building the $flavor $version launcher into $cache (the first run downloads ~100 MB into ~/.m2: ~30 s)" >&2
    local build=$cache/build.$$ started=$SECONDS
    rm -rf "$build"
    mkdir -p "$build"
    cp -r "$launcher_src/pom.xml" "$launcher_src/src" "$build/"
    if ! (cd "$build" && mvn -B -q -P "$flavor" package) >"$cache/build.log" 2>&1; then
      tail -n 40 "$cache/build.log" >&2
      rm -rf "$build"
      die "building the launcher failed (full log: $cache/build.log)"
    fi
    rm -rf "$cache/lib" "$cache/search-node.jar"
    mv "$build/target/lib" "$cache/lib"
    mv "$build/target/search-node-1.jar" "$cache/search-node.jar"
    rm -rf "$build"
    echo "$hash" >"$cache/stamp"
    echo "$prog: launcher built in $((SECONDS - started)) s" >&2
  fi
  exec 9>&-
  echo "$cache"
}

# N distinct free loopback ports, one per line, below the ephemeral range (see tests/lib/ports.py).
free_ports() {
  python3 "$here/../lib/ports.py" "$1"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True when $1 is a live process started by this script (guards against a reused PID).
is_node_pid() {
  local pid=$1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$main_marker"
}

http_code() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true
}

cmd_start() {
  local flavor="" dir="" http_port="" transport_port="" cluster_name=teletrace-test node_name=""
  local seed_hosts="" initial_masters="" owner_pid=""
  local max_seconds=${TELETRACE_SEARCH_NODE_MAX_SECONDS:-3600}
  while (($#)); do
    (($# >= 2)) || die "missing value for $1"
    case $1 in
      --flavor) flavor=$2 ;;
      --dir) dir=$2 ;;
      --http-port) http_port=$2 ;;
      --transport-port) transport_port=$2 ;;
      --cluster-name) cluster_name=$2 ;;
      --node-name) node_name=$2 ;;
      --seed-hosts) seed_hosts=$2 ;;
      --initial-masters) initial_masters=$2 ;;
      --max-seconds) max_seconds=$2 ;;
      --owner-pid) owner_pid=$2 ;;
      *) die "unknown option $1" ;;
    esac
    shift 2
  done
  [[ -n "$flavor" && -n "$dir" ]] || usage
  flavor_version "$flavor" >/dev/null
  [[ "$max_seconds" =~ ^[0-9]+$ ]] || die "--max-seconds must be a number of seconds"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  node_name=${node_name:-$(basename "$dir")}

  if [[ -f "$dir/pid" ]] && is_node_pid "$(cat "$dir/pid")"; then
    local url
    url=$(cat "$dir/url" 2>/dev/null || echo "http://127.0.0.1:$(cat "$dir/http_port")")
    echo "$url"
    return 0
  fi

  local cache java
  cache=$(ensure_launcher "$flavor")
  java=$(java_bin)
  if [[ -z "$http_port" || -z "$transport_port" ]]; then
    local ports
    ports=$(free_ports 2)
    http_port=${http_port:-${ports%$'\n'*}}
    transport_port=${transport_port:-${ports#*$'\n'}}
  fi
  [[ "$http_port" != "$transport_port" ]] || die "HTTP and transport ports must differ"
  local port
  for port in "$http_port" "$transport_port"; do
    ! port_in_use "$port" || die "port $port on 127.0.0.1 is already in use"
  done

  local args=(--http-port "$http_port" --transport-port "$transport_port" --home "$dir/home"
    --data "$dir/data" --logs "$dir/logs" --cluster-name "$cluster_name" --node-name "$node_name"
    --max-seconds "$max_seconds")
  [[ -z "$seed_hosts" ]] || args+=(--seed-hosts "$seed_hosts")
  [[ -z "$initial_masters" ]] || args+=(--initial-masters "$initial_masters")
  [[ -z "$owner_pid" ]] || args+=(--owner-pid "$owner_pid")
  local main=dev.teletrace.searchnode.OpenSearchNode
  [[ "$flavor" == opensearch ]] || main=dev.teletrace.searchnode.ElasticsearchNode

  mkdir -p "$dir/home" "$dir/data" "$dir/logs" "$dir/tmp"
  rm -f "$dir/pid" "$dir/url"
  echo "$http_port" >"$dir/http_port"
  echo "$transport_port" >"$dir/transport_port"
  # The JVM keeps none of the caller's descriptors: a caller reading our output is not held open.
  # Test defaults favour start-up on 2 cores (serial GC, C1 only); benchmarks pass production-like
  # flags through TELETRACE_SEARCH_NODE_JVM_OPTS.
  local jvm_opts=${TELETRACE_SEARCH_NODE_JVM_OPTS:-"-Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"}
  # shellcheck disable=SC2086  # word splitting of the options is intended
  "$java" $jvm_opts -Xss1m -XX:-UsePerfData \
    -Djava.io.tmpdir="$dir/tmp" -Djava.awt.headless=true -Dlog4j2.disable.jmx=true \
    -Dfile.encoding=UTF-8 -Dteletrace.search_node.dir="$dir" \
    -cp "$cache/search-node.jar:$cache/lib/*" "$main" "${args[@]}" \
    </dev/null >"$dir/node.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"

  # Backstop to the JVM's own --max-seconds: SIGKILL 30 s after the limit. Detached and polling,
  # so it outlives the caller and ends as soon as the node is gone.
  if ((max_seconds > 0)); then
    setsid bash -c '
      pid=$1 deadline=$((SECONDS + $2 + 30))
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 5; done
      if kill -0 "$pid" 2>/dev/null && tr "\0" " " <"/proc/$pid/cmdline" | grep -q "$3"; then
        kill -KILL "$pid"
      fi' search-node-watchdog "$pid" "$max_seconds" "$dir" </dev/null >/dev/null 2>&1 &
  fi

  local url=http://127.0.0.1:$http_port
  local want_ok=1
  [[ -z "$seed_hosts" ]] || want_ok=0
  local deadline=$((SECONDS + ${TELETRACE_SEARCH_NODE_START_SECONDS:-120})) code
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$prog: the $flavor node in $dir exited during start-up; last lines of $dir/node.log:" >&2
      tail -n 40 "$dir/node.log" >&2 || true
      rm -f "$dir/pid"
      return 1
    fi
    code=$(http_code "$url/_cluster/health?local=true")
    if [[ "$code" == 200 ]] || { ((want_ok == 0)) && [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]; }; then
      break
    fi
    if ((SECONDS >= deadline)); then
      echo "$prog: the $flavor node in $dir did not answer on $url in time (last HTTP status:" \
        "${code:-none}); last lines of $dir/node.log:" >&2
      tail -n 40 "$dir/node.log" >&2 || true
      stop_pid "$pid"
      rm -f "$dir/pid"
      return 1
    fi
    sleep 0.25
  done
  echo "$url" >"$dir/url"
  echo "$url"
}

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "$prog: pid $pid did not stop within 10 s of SIGTERM, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

cmd_stop() {
  local dir=""
  while (($#)); do
    (($# >= 2)) || die "missing value for $1"
    case $1 in
      --dir) dir=$2 ;;
      *) die "unknown option $1" ;;
    esac
    shift 2
  done
  [[ -n "$dir" ]] || usage
  [[ -f "$dir/pid" ]] || return 0
  local pid
  pid=$(cat "$dir/pid")
  if is_node_pid "$pid"; then
    stop_pid "$pid"
  fi
  rm -f "$dir/pid" "$dir/url"
}

(($# >= 1)) || usage
command=$1
shift
case $command in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  *) usage ;;
esac
