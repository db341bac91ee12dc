#!/usr/bin/env bash
# Prints the path of a minimal Debian 12 root filesystem (debootstrap --variant=minbase: the base
# system only, no compilers, no -dev packages), building it once into the cache (~3 min, ~120 MB).
# A second run reuses it. Needs root and the debootstrap package (scripts/install-deps.sh --test).
set -euo pipefail
cache="${TELETRACE_CACHE:-$HOME/.cache/teletrace}"
root="$cache/rootfs/bookworm-minbase"
if [[ ! -x "$root/bin/sh" ]]; then
  mkdir -p "$cache/rootfs"
  tmp="$(mktemp -d "$cache/rootfs/.building-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
  echo "minbase_root: debootstrap --variant=minbase bookworm into $root (once)" >&2
  debootstrap --variant=minbase bookworm "$tmp/root" "${mirror:-http://deb.debian.org/debian}" \
    > "$cache/rootfs/debootstrap.log" 2>&1 || { tail -n 20 "$cache/rootfs/debootstrap.log" >&2; exit 1; }
  mv "$tmp/root" "$root"
fi
echo "$root"
