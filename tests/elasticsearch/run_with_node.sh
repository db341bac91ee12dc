#!/usr/bin/env bash
# Runs a command with a throwaway search node on loopback and TELETRACE_ELASTICSEARCH_URL pointing
# at it (plus TELETRACE_SEARCH_FLAVOR); stops the node and removes its data afterwards, also when
# the command fails or the script is interrupted. Exits with the command's status.
#
#   tests/elasticsearch/run_with_node.sh [--flavor opensearch|elasticsearch] <command> [args...]
#
# The node is OpenSearch 2.19.6 or Elasticsearch 8.15.0 from Maven Central jars, started by
# search_node.sh (built once into ~/.cache/teletrace/search-node).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flavor=opensearch
if [[ "${1:-}" == "--flavor" ]]; then
  flavor=${2:-}
  shift 2 || true
fi
case "$flavor" in
  opensearch|elasticsearch) ;;
  *) echo "run_with_node.sh: --flavor must be opensearch or elasticsearch, got '$flavor'" >&2; exit 2 ;;
esac
[[ $# -ge 1 ]] || { echo "usage: $0 [--flavor opensearch|elasticsearch] <command> [args...]" >&2; exit 2; }

dir=$(mktemp -d /tmp/teletrace-search-node.XXXXXX)
cleanup() {
  "$here/search_node.sh" stop --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

url=$("$here/search_node.sh" start --flavor "$flavor" --dir "$dir" --max-seconds 1800 --owner-pid $$ | tail -n 1)
export TELETRACE_ELASTICSEARCH_URL="$url"
export TELETRACE_SEARCH_FLAVOR="$flavor"
set +e
"$@"
status=$?
set -e
exit $status
