#!/usr/bin/env bash
# Builds the OCI image teletrace:<version> from the release tarball, with buildah and no registry:
# FROM scratch, one layer holding the tarball under /opt/teletrace, the host's glibc (the tarball
# leaves it out), CA certificates, passwd/group for the non-root user 10001, the data volume
# /data, and /etc/teletrace/teletrace.yaml with the defaults (all interfaces, SQLite in /data).
# HEALTHCHECK runs `teletrace --probe`, which only the Docker image format can carry, so the
# image is committed in that format (podman, docker, containerd and every registry accept it). Saved as build/image/teletrace-<version>.docker.tar too.
# Usage: scripts/make-image.sh TARBALL     (make image)
set -euo pipefail
cd "$(dirname "$0")/.."
tarball="$(readlink -f "${1:?usage: scripts/make-image.sh TARBALL}")"
version="$(head -n 1 VERSION)"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
out=build/image
root="$out/rootfs"
rm -rf "$root" "$out/rootfs.tar"
mkdir -p "$root/opt/teletrace" "$root/lib/x86_64-linux-gnu" "$root/lib64" "$root/etc/ssl/certs" \
  "$root/data" "$root/tmp" "$root/usr/share/licenses"
tar -xzf "$tarball" -C "$root/opt/teletrace" --strip-components=1

# glibc, as the binary resolves it here (the tarball bundles everything else).
while read -r soname path; do
  case "$soname" in
    libc.so.* | libm.so.* | libresolv.so.* | libpthread.so.* | libdl.so.* | librt.so.*)
      install -m 755 "$(readlink -f "$path")" "$root/lib/x86_64-linux-gnu/$soname" ;;
  esac
done < <(ldd "$root/opt/teletrace/bin/teletrace" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
install -m 755 "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$root/lib64/ld-linux-x86-64.so.2"
install -m 644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
for pkg in libc6 ca-certificates; do
  mkdir -p "$root/usr/share/licenses/$pkg"
  cp "/usr/share/doc/$pkg/copyright" "$root/usr/share/licenses/$pkg/copyright"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nteletrace:x:10001:10001:teletrace:/data:/sbin/nologin\n' \
  > "$root/etc/passwd"
printf 'root:x:0:\nteletrace:x:10001:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
# The image's defaults as a configuration file (TELETRACE_CONFIG), the lowest precedence, so
# TELETRACE_* variables and flags override them, and the Helm chart's ConfigMap replaces them.
mkdir -p "$root/etc/teletrace"
printf 'server:\n  host: 0.0.0.0\nstorage:\n  sqlite:\n    path: /data\n' > "$root/etc/teletrace/teletrace.yaml"
chmod 1777 "$root/tmp"
chmod 750 "$root/data"
chown 10001:10001 "$root/data"
# `buildah add` of a tar keeps its owners (a directory copy would make /data root's).
tar --sort=name --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -C "$root" -cf "$out/rootfs.tar" .

ctr="$(buildah from --format docker scratch)"
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add --quiet "$ctr" "$out/rootfs.tar" / >/dev/null
label() { echo "--label=org.opencontainers.image.$1=$2"; }
buildah config \
  --user 10001:10001 --workingdir /data --volume /data \
  --port 4317/tcp --port 4318/tcp --port 8080/tcp \
  --env TELETRACE_CONFIG=/etc/teletrace/teletrace.yaml \
  --entrypoint '["/opt/teletrace/bin/teletrace"]' --cmd '' --stop-signal SIGTERM \
  --healthcheck 'CMD /opt/teletrace/bin/teletrace --probe' \
  --healthcheck-interval 10s --healthcheck-timeout 5s --healthcheck-start-period 10s \
  --healthcheck-retries 3 \
  "$(label title Teletrace)" \
  "$(label description "Distributed tracing: OTLP in, SQLite/ClickHouse storage, query API and web UI")" \
  "$(label version "$version")" "$(label revision "$revision")" \
  "$(label source https://github.com/teletrace/teletrace)" \
  "$(label licenses Apache-2.0)" \
  "$(label created "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)")" \
  "$ctr"
buildah commit --quiet --format docker --rm "$ctr" "localhost/teletrace:$version" >/dev/null
trap - EXIT
buildah tag "localhost/teletrace:$version" localhost/teletrace:latest
rm -f "$out/teletrace-$version.docker.tar"
buildah push --quiet "localhost/teletrace:$version" "docker-archive:$out/teletrace-$version.docker.tar:localhost/teletrace:$version"
size="$(buildah inspect --type image -f '{{.FromImage}}' "localhost/teletrace:$version" >/dev/null; \
  podman image inspect -f '{{.Size}}' "localhost/teletrace:$version")"
echo "make-image: localhost/teletrace:$version, $((size / 1000000)) MB; $out/teletrace-$version.docker.tar"
