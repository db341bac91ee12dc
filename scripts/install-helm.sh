#!/usr/bin/env bash
# Installs helm (from the Go module proxy: no release downloads are reachable here) into
# ~/.cache/teletrace/helm-VERSION/helm, idempotently, and prints its path. The first build takes
# ~17 min on 2 cores; later runs reuse it. Needs Go (1.24+).
# Usage: scripts/install-helm.sh [VERSION]    (default v4.3.2)
set -euo pipefail
version="${1:-v4.3.2}"
cache="${TELETRACE_CACHE:-$HOME/.cache/teletrace}"
dir="$cache/helm-$version"
if [[ ! -x "$dir/helm" ]]; then
  command -v go >/dev/null || { echo "install-helm: needs Go (go install)" >&2; exit 1; }
  major="${version%%.*}"
  echo "install-helm: go install helm.sh/helm/$major/cmd/helm@$version (once, ~17 min)" >&2
  mkdir -p "$dir.tmp"
  GOBIN="$dir.tmp" GOFLAGS=-buildvcs=false go install "helm.sh/helm/$major/cmd/helm@$version" >&2
  mv "$dir.tmp" "$dir"
fi
echo "$dir/helm"
