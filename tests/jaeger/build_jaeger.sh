#!/usr/bin/env bash
# Builds the real Jaeger v2 binary (cmd/jaeger) from the Go module proxy into
# ${TELETRACE_CACHE:-~/.cache/teletrace}/jaeger-VERSION/jaeger, idempotently, and prints its path
# as the last line. No release download is reachable here, and `go install ...@VERSION` is refused
# because Jaeger's go.mod has replace directives, so the module source is fetched with
# `go mod download`, copied to a writable temporary directory and built there with `go build`.
# The first build takes several minutes on 2 cores; later runs only check the cached binary.
# The binary has no UI assets embedded (the UI shows a placeholder) but its HTTP/gRPC APIs work.
# Needs Go 1.24+ (Jaeger's go.mod asks for go 1.24.6).
#
# Usage: tests/jaeger/build_jaeger.sh [VERSION]    (default v1.76.0; TELETRACE_JAEGER_VERSION too)
set -euo pipefail

prog=build_jaeger.sh
version="${1:-${TELETRACE_JAEGER_VERSION:-v1.76.0}}"
cache="${TELETRACE_CACHE:-$HOME/.cache/teletrace}"
dir="$cache/jaeger-$version"
bin="$dir/jaeger"

die() {
  echo "$prog: $*" >&2
  exit 1
}

# True when $1 exists and runs: `jaeger version` (or `--help` on builds without it) exits 0.
runs() {
  [[ -x "$1" ]] || return 1
  "$1" version >/dev/null 2>&1 || "$1" --help >/dev/null 2>&1
}

if runs "$bin"; then
  echo "$bin"
  exit 0
fi

go=$(command -v go || true)
[[ -z "$go" && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
[[ -n "$go" ]] || die "needs Go 1.24+ (not found on PATH nor at /usr/local/go/bin/go)"

module=github.com/jaegertracing/jaeger
echo "$prog: building $module/cmd/jaeger@$version into $bin (once, several minutes)" >&2

# `go mod download` must not run inside another module (it would edit that go.mod), so run it
# from a scratch directory; GOFLAGS=-mod=mod keeps a vendor/ setting of the caller out of it.
work=$(mktemp -d "${TMPDIR:-/tmp}/teletrace-jaeger-build.XXXXXX")
cleanup() {
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mod_dir=$(cd "$work" && GO111MODULE=on GOFLAGS=-mod=mod "$go" mod download -json "$module@$version" |
  sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}[[:space:]]*$/\1/p')
[[ -n "$mod_dir" && -f "$mod_dir/go.mod" ]] || die "go mod download gave no module directory for $module@$version"

# The module cache is read-only: build from a writable copy so go can update go.sum if needed.
src="$work/src"
cp -R "$mod_dir" "$src"
chmod -R u+w "$src"

mkdir -p "$dir"
tmp_bin=$(mktemp "$dir/.jaeger.tmp.XXXXXX")
trap 'rm -f "$tmp_bin"; cleanup' EXIT
# -buildvcs=false: the copy is not a git checkout. The Go module version is stamped into the
# variables Jaeger's Makefile sets (scripts/makefiles/BuildInfo.mk), so `jaeger version` shows it.
ldflags="-s -w"
ldflags+=" -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$version"
ldflags+=" -X github.com/jaegertracing/jaeger/internal/version.commitSHA=module-$version"
ldflags+=" -X github.com/jaegertracing/jaeger/internal/version.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
(cd "$src" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}" \
  "$go" build -trimpath -ldflags "$ldflags" -o "$tmp_bin" ./cmd/jaeger) >&2 ||
  die "go build of $module/cmd/jaeger@$version failed"
chmod 0755 "$tmp_bin"
runs "$tmp_bin" || die "the freshly built $tmp_bin does not run"
mv -f "$tmp_bin" "$bin"
echo "$bin"
