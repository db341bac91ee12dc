#!/usr/bin/env bash
# Builds the standalone release tarball teletrace-<version>-linux-<arch>.tar.gz from a release
# binary: bin/teletrace (stripped, RUNPATH $ORIGIN/../lib), lib/ with every shared library it loads
# except glibc's own (the host's C library is used, so Debian 12 / glibc 2.36 or newer), each
# library's Debian copyright file under share/licenses/ (Teletrace's own Apache-2.0 there too), the systemd unit and a short README.
# Reproducible: files sorted, owned by 0:0, dated SOURCE_DATE_EPOCH (default: the commit's time).
# Usage: scripts/make-dist.sh [BINARY] [OUT_DIR]    (make dist)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/release/teletrace}"
out="${2:-build/dist}"
version="$(head -n 1 VERSION)"
arch="$(dpkg --print-architecture)"
name="teletrace-$version-linux-$arch"
stage="$out/$name"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage/bin" "$stage/lib" "$stage/share/licenses" "$stage/share/teletrace"
install -m 755 "$bin" "$stage/bin/teletrace"
strip --strip-unneeded "$stage/bin/teletrace"
patchelf --set-rpath '$ORIGIN/../lib' "$stage/bin/teletrace"

# Every library the dynamic loader resolves for the binary (transitively), but glibc's.
manifest="$stage/share/licenses/BUNDLED"
: > "$manifest"
while read -r soname path; do
  case "$soname" in
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
      libutil.so.* | ld-linux*) continue ;;
  esac
  install -m 644 "$(readlink -f "$path")" "$stage/lib/$soname"
  patchelf --set-rpath '$ORIGIN' "$stage/lib/$soname"  # its own dependencies sit beside it
  owner=""
  for candidate in "$path" "/usr$path" "$(readlink -f "$path")"; do
    owner="$(dpkg-query -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1)" && [[ -n "$owner" ]] && break
  done
  if [[ -z "$owner" ]]; then
    echo "make-dist: no Debian package owns $path; cannot bundle its license" >&2
    exit 1
  fi
  mkdir -p "$stage/share/licenses/$owner"
  cp "/usr/share/doc/$owner/copyright" "$stage/share/licenses/$owner/copyright"
  echo "$soname $owner $(dpkg-query -W -f='${Version}' "$owner")" >> "$manifest"
done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
sort -o "$manifest" "$manifest"

install -m 644 deploy/systemd/teletrace.service "$stage/share/teletrace/teletrace.service"
mkdir -p "$stage/share/licenses/teletrace"
install -m 644 LICENSE "$stage/share/licenses/teletrace/NOTICE"
install -m 644 /usr/share/common-licenses/Apache-2.0 "$stage/share/licenses/teletrace/LICENSE"
cat > "$stage/README" <<README
Teletrace $version: distributed tracing (OTLP in, SQLite/ClickHouse storage, query API and web UI).

  bin/teletrace --help        every setting (flags, TELETRACE_* environment variables, YAML file)
  bin/teletrace --version

Run it from anywhere: bin/teletrace finds its libraries in lib/ (only the host's glibc 2.36+ is
used). By default it stores data under ./teletrace-data and listens on 127.0.0.1: OTLP/gRPC 4317,
OTLP/HTTP 4318, web UI and API 8080. share/teletrace/teletrace.service is a systemd unit for
/opt/teletrace; share/licenses/ holds the copyright files of the bundled libraries (BUNDLED lists
them with their Debian package versions).
README

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$out" -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"
