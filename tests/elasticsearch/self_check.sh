#!/usr/bin/env bash
# Smoke test of search_node.sh and the engine APIs the Elasticsearch/OpenSearch backend uses.
#
#   tests/elasticsearch/self_check.sh [opensearch|elasticsearch] [single|cluster|all]
#
# single: one node; GET /, an index with an explicit mapping, _bulk create with refresh=wait_for,
#   a term query paged with search_after, _delete_by_query, _cat/indices, a composable
#   _index_template, DELETE of the index.
# cluster: three nodes on loopback, an index with one replica goes green; one
#   node stopped -> yellow and still answering; restarted -> green again.
# Prints start-up time and RSS per node. Everything runs under a temp dir removed at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node=$here/search_node.sh
flavor=${1:-opensearch}
what=${2:-all}
work=$(mktemp -d "${TMPDIR:-/tmp}/search-node-check.XXXXXX")
dirs=()
failures=0

cleanup() {
  local d
  for d in "${dirs[@]}"; do "$node" stop --dir "$d" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
# check DESCRIPTION EXPECTED-SUBSTRING ACTUAL
check() {
  if [[ "$3" == *"$2"* ]]; then ok "$1"; else bad "$1: expected '$2' in: ${3:0:400}"; fi
}
# req METHOD PATH [BODY [CONTENT-TYPE]]: prints "<status> <body>"
req() {
  local args=(-s -X "$1" -w '\n%{http_code}' --max-time 60 "$url$2")
  if (($# >= 3)); then args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3"); fi
  local out
  out=$(curl "${args[@]}")
  echo "${out##*$'\n'} ${out%$'\n'*}"
}
rss_mb() { echo $(($(awk '/VmRSS/ {print $2}' "/proc/$(cat "$1/pid")/status") / 1024)); }
start_node() { # DIR ARGS...: sets url, prints timing
  local d=$1 t0 t1
  shift
  dirs+=("$d")
  t0=$(date +%s.%N)
  url=$("$node" start --flavor "$flavor" --dir "$d" --max-seconds 900 "$@" | tail -n 1)
  t1=$(date +%s.%N)
  printf 'info %s started in %.1f s at %s\n' "$(basename "$d")" "$(echo "$t1 - $t0" | bc)" "$url"
}

single() {
  start_node "$work/single"
  local r
  r=$(req GET /)
  if [[ "$r" == 200* ]]; then check "GET /" '"number"' "$r"; else bad "GET /: $r"; fi
  r=$(req PUT /spans-check '{"settings":{"number_of_shards":1,"number_of_replicas":0},
    "mappings":{"dynamic":"strict","properties":{"trace_id":{"type":"keyword"},
    "start":{"type":"long"},"name":{"type":"keyword"},
    "attrs":{"type":"nested","properties":{"k":{"type":"keyword"},"v":{"type":"keyword"}}}}}}')
  check "create index with explicit mapping" '200 {"acknowledged":true' "$r"
  local bulk='{"create":{"_index":"spans-check","_id":"a"}}
{"trace_id":"t1","start":1,"name":"GET","attrs":[{"k":"http.method","v":"GET"}]}
{"create":{"_index":"spans-check","_id":"b"}}
{"trace_id":"t1","start":2,"name":"SELECT"}
{"create":{"_index":"spans-check","_id":"c"}}
{"trace_id":"t2","start":3,"name":"POST"}
'
  r=$(req POST '/_bulk?refresh=wait_for' "$bulk" application/x-ndjson)
  check "_bulk create refresh=wait_for" '"errors":false' "$r"
  r=$(req POST '/_bulk?refresh=wait_for' "$bulk" application/x-ndjson)
  check "_bulk create again -> conflicts" '"status":409' "$r"
  r=$(req POST /spans-check/_search '{"size":1,"query":{"term":{"trace_id":"t1"}},"sort":[{"start":"asc"}]}')
  check "term query, first page" '"_id":"a"' "$r"
  r=$(req POST /spans-check/_search '{"size":1,"query":{"term":{"trace_id":"t1"}},"sort":[{"start":"asc"}],"search_after":[1]}')
  check "term query, search_after" '"_id":"b"' "$r"
  r=$(req POST /spans-check/_search '{"size":0,"query":{"nested":{"path":"attrs","query":{"term":{"attrs.v":"GET"}}}},
    "aggs":{"names":{"terms":{"field":"name"}}}}')
  check "nested query + terms aggregation" '"key":"GET"' "$r"
  r=$(req POST '/spans-check/_delete_by_query?refresh=true' '{"query":{"term":{"trace_id":"t2"}}}')
  check "_delete_by_query" '"deleted":1' "$r"
  r=$(req GET '/spans-check/_count')
  check "count after _delete_by_query" '"count":2' "$r"
  r=$(req GET '/_cat/indices?format=json&bytes=b')
  check "_cat/indices?format=json&bytes=b" '"index":"spans-check"' "$r"
  r=$(req PUT /_index_template/spans-template '{"index_patterns":["spans-tpl-*"],"priority":10,
    "template":{"settings":{"number_of_shards":1,"number_of_replicas":0},
    "mappings":{"properties":{"trace_id":{"type":"keyword"}}}}}')
  check "PUT composable _index_template" '200 {"acknowledged":true' "$r"
  r=$(req POST '/spans-tpl-1/_doc?refresh=true' '{"trace_id":"x"}')
  r=$(req GET /spans-tpl-1/_mapping)
  check "template applied to a new index" '"trace_id":{"type":"keyword"}' "$r"
  r=$(req DELETE /spans-check)
  check "DELETE /index" '200 {"acknowledged":true' "$r"
  r=$(req GET /spans-check/_count)
  check "deleted index is gone" '404' "$r"
  echo "info single node RSS $(rss_mb "$work/single") MB"
  "$node" stop --dir "$work/single"
  "$node" stop --dir "$work/single" # idempotent
  [[ ! -f "$work/single/pid" ]] && ok "stop (twice)" || bad "stop left a pid file"
}

wait_status() { # URL STATUS NODES
  local r
  r=$(curl -s --max-time 70 "$1/_cluster/health?wait_for_status=$2&wait_for_nodes=$3&timeout=60s")
  check "cluster $2 with $3 nodes via $1" "\"status\":\"$2\"" "$r"
}

cluster() {
  local p seeds="" names="" i
  local -a http transport
  local -a ports
  mapfile -t ports < <(python3 "$here/../lib/ports.py" 6)
  for i in 1 2 3; do
    http[i]=${ports[i - 1]}
    transport[i]=${ports[i + 2]}
    seeds+=${seeds:+,}127.0.0.1:${transport[i]}
    names+=${names:+,}n$i
  done
  for i in 1 2 3; do
    start_node "$work/n$i" --cluster-name check-cluster --node-name "n$i" --http-port "${http[i]}" \
      --transport-port "${transport[i]}" --seed-hosts "$seeds" --initial-masters "$names"
  done
  url=http://127.0.0.1:${http[1]}
  wait_status "$url" green 3
  local r
  r=$(req PUT /replicated '{"settings":{"number_of_shards":2,"number_of_replicas":1}}')
  check "create index with 1 replica" '"acknowledged":true' "$r"
  req POST '/replicated/_doc?refresh=wait_for' '{"x":1}' >/dev/null
  wait_status "$url" green 3
  for i in 1 2 3; do echo "info n$i RSS $(rss_mb "$work/n$i") MB"; done
  "$node" stop --dir "$work/n3"
  wait_status "$url" yellow 2
  url=http://127.0.0.1:${http[2]}
  r=$(req GET /replicated/_count)
  check "2 of 3 nodes still answer" '"count":1' "$r"
  start_node "$work/n3" --cluster-name check-cluster --node-name n3 --http-port "${http[3]}" \
    --transport-port "${transport[3]}" --seed-hosts "$seeds" --initial-masters "$names"
  wait_status "http://127.0.0.1:${http[3]}" green 3
  for i in 1 2 3; do "$node" stop --dir "$work/n$i"; done
  ok "stopped all three"
}

case $what in
  single) single ;;
  cluster) cluster ;;
  all) single; cluster ;;
  *) echo "usage: $0 [opensearch|elasticsearch] [single|cluster|all]" >&2; exit 2 ;;
esac
if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
