#!/usr/bin/env bash
# The release tarball on a machine with only the base system: unpacks it into a minimal Debian 12
# root (minbase_root.sh: no compilers, no -dev packages, none of our libraries), checks that every
# library the binary loads resolves inside that root (glibc from the root, the rest from the
# tarball's lib/), then runs the integration round trip (OTLP in through the official JS SDK's
# three exporters, every v1 endpoint out) and the durability tests against the binary chroot-ed
# into that root. Needs root (chroot, a private mount namespace).
# Usage: tests/dist/run.sh TARBALL
set -euo pipefail
cd "$(dirname "$0")/../.."
tarball="$(readlink -f "${1:?usage: tests/dist/run.sh TARBALL}")"
root="$(tests/dist/minbase_root.sh)"
inside=/opt/teletrace-dist-test
rm -rf "${root:?}$inside"
mkdir -p "$root$inside"
tar -xzf "$tarball" -C "$root$inside" --strip-components=1

fail() { echo "dist test: FAILED: $*" >&2; exit 1; }
for tool in gcc cc c++ cmake; do
  if chroot "$root" /bin/sh -c "command -v $tool" >/dev/null; then fail "the root has $tool"; fi
done
if chroot "$root" /bin/sh -c 'ls /usr/lib/*/libgrpc* /usr/lib/*/libprotobuf*' >/dev/null 2>&1; then
  fail "the root has gRPC or protobuf libraries of its own"
fi
ldd_out="$(chroot "$root" /usr/bin/ldd "$inside/bin/teletrace")"
if grep -q "not found" <<<"$ldd_out"; then fail "unresolved libraries:"$'\n'"$ldd_out"; fi
bundled=0
while read -r soname path; do
  case "$path" in
    "$inside"/lib/* | "$inside"/bin/../lib/*) bundled=$((bundled + 1)) ;;
    /lib/x86_64-linux-gnu/* | /usr/lib/x86_64-linux-gnu/* | /lib64/*)
      case "$soname" in
        libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | ld-linux*) ;;
        *) fail "$soname comes from the root ($path), not from the tarball" ;;
      esac ;;
    *) fail "$soname resolved to $path" ;;
  esac
done < <(awk '$2 == "=>" { print $1, $3 }' <<<"$ldd_out")
want="$(wc -l < "$root$inside/share/licenses/BUNDLED")"
[[ "$bundled" -eq "$want" ]] || fail "$bundled libraries load from lib/, BUNDLED lists $want"
for pkg in $(awk '{ print $2 }' "$root$inside/share/licenses/BUNDLED" | sort -u); do
  [[ -s "$root$inside/share/licenses/$pkg/copyright" ]] || fail "no copyright file for $pkg"
done
grep -q "Apache License" "$root$inside/share/licenses/teletrace/LICENSE" || fail "no Apache-2.0 text"
echo "dist test: $bundled bundled libraries resolve in the minimal root, each with its license"

# The binary in the root, as the integration suite's TELETRACE_BIN. The host's temporary folder
# (where the tests keep data and logs) and /proc are bound into the root in a private mount
# namespace, which disappears with the process; the PID stays teletrace's, so signals reach it.
tmp="${TMPDIR:-/tmp}"
mkdir -p "$root$tmp" "$root/proc"
wrapper="$(mktemp "$tmp/teletrace-in-root-XXXXXX")"
trap 'rm -f "$wrapper"' EXIT
cat > "$wrapper" <<WRAPPER
#!/bin/sh
exec unshare --mount sh -c 'mount --bind "\$1" "\$0\$1" && mount --bind /proc "\$0/proc" && shift && exec chroot "\$0" $inside/bin/teletrace "\$@"' "$root" "$tmp" "\$@"
WRAPPER
chmod +x "$wrapper"
"$wrapper" --version
TELETRACE_BIN="$wrapper" tests/integration/run.sh roundtrip.test.mjs durability.test.mjs
