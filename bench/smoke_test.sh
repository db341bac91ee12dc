#!/usr/bin/env bash
# Smoke run of teletrace-loadgen against the real server (part of `make test`; `make bench` is the
# full benchmark): 20,000 spans over each of OTLP/gRPC, OTLP/HTTP protobuf and OTLP/HTTP JSON+gzip
# must all be acknowledged (60,000 exactly), and POST /v1/search must then return a span.
#
# Environment: TELETRACE_BIN (default build/release/teletrace), TELETRACE_LOADGEN (default
# bench/teletrace-loadgen in the server's build directory, else build/release/bench/).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TELETRACE_BIN:-$root/build/release/teletrace}
loadgen=${TELETRACE_LOADGEN:-}
if [[ -z $loadgen ]]; then
  for candidate in "$(dirname "$bin")/bench/teletrace-loadgen" "$root/build/release/bench/teletrace-loadgen"; do
    if [[ -x $candidate ]]; then loadgen=$candidate; break; fi
  done
  loadgen=${loadgen:-$root/build/release/bench/teletrace-loadgen}
fi
for f in "$bin" "$loadgen"; do
  if [[ ! -x $f ]]; then
    echo "smoke: $f is not an executable (build it first)" >&2
    exit 1
  fi
done

data_dir=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

# Three distinct free ports, below the ephemeral range (tests/lib/ports.py says why).
{ read -r http_port; read -r grpc_port; read -r otlp_http_port; } < <(python3 "$root/tests/lib/ports.py" 3)

"$bin" --server.http_port="$http_port" --server.otlp_grpc_port="$grpc_port" \
  --server.otlp_http_port="$otlp_http_port" --storage.sqlite.path="$data_dir" \
  >"$data_dir/server.log" 2>&1 &
server_pid=$!

# http_request METHOD PATH [BODY]: prints "<status>\n<body>".
http_request() {
  python3 - "$http_port" "$@" <<'EOF'
import sys, http.client
port, method, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = sys.argv[4] if len(sys.argv) > 4 else None
try:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    print(response.status)
    print(response.read().decode("utf-8", "replace"))
except OSError as error:
    print(0)
    print(error)
EOF
}

ready=0
for _ in $(seq 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "smoke: the server exited during start-up:" >&2
    cat "$data_dir/server.log" >&2
    exit 1
  fi
  if [[ $(http_request GET /readyz | head -1) == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ $ready != 1 ]]; then
  echo "smoke: the server was not ready after 30 s:" >&2
  cat "$data_dir/server.log" >&2
  exit 1
fi

total=0
run_loadgen() {
  local name=$1
  shift
  local out
  if ! out=$("$loadgen" --total-spans=20000 --connections=2 --json "$@" 2>"$data_dir/loadgen.err"); then
    echo "smoke: $name: the load generator reported failures:" >&2
    cat "$data_dir/loadgen.err" >&2
  fi
  local acked
  acked=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["acknowledged_spans"])' <<<"$out")
  echo "smoke: $name: $acked spans acknowledged"
  if [[ $acked != 20000 ]]; then
    echo "smoke: $name: expected 20000 acknowledged spans; report: $out" >&2
    cat "$data_dir/loadgen.err" >&2
    exit 1
  fi
  total=$((total + acked))
}

run_loadgen grpc --protocol=grpc --endpoint="127.0.0.1:$grpc_port"
run_loadgen http-protobuf --protocol=http-protobuf --endpoint="127.0.0.1:$otlp_http_port"
run_loadgen http-json+gzip --protocol=http-json --gzip --endpoint="127.0.0.1:$otlp_http_port"

if [[ $total != 60000 ]]; then
  echo "smoke: expected 60000 acknowledged spans in all, got $total" >&2
  exit 1
fi

response=$(http_request POST /v1/search '{"pageSize":1}')
status=$(head -1 <<<"$response")
body=$(tail -n +2 <<<"$response")
if [[ $status != 200 ]]; then
  echo "smoke: POST /v1/search answered $status: $body" >&2
  exit 1
fi
python3 - "$body" <<'EOF'
import json, sys
doc = json.loads(sys.argv[1])
spans = doc.get("spans") or []
if len(spans) < 1:
    sys.exit("smoke: POST /v1/search returned no span: " + sys.argv[1][:300])
span = spans[0]["span"]
if len(span["traceId"]) != 32 or len(span["spanId"]) != 16:
    sys.exit("smoke: the span found has malformed ids: " + json.dumps(span)[:300])
print("smoke: search returned span", span["spanId"], "of trace", span["traceId"])
EOF
echo "smoke: ok (60000 spans acknowledged over grpc, http-protobuf, http-json+gzip)"
