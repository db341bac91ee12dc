#!/usr/bin/env bash
# Installs what Teletrace needs to build and test, idempotently: Debian packages (only the missing
# ones, so a second run does no apt work) and the npm packages of the test clients and the UI.
# Usage: scripts/install-deps.sh [--test|--fuzz]   (what only the tests, or make fuzz, need)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev libsqlite3-dev sqlite3 libboost-dev nlohmann-json3-dev libzstd-dev zlib1g-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libabsl-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev libjemalloc-dev libsimdjson-dev
  patchelf
  nodejs npm
)
# Only the tests need these: a real browser for the UI end-to-end suite, the openssl CLI (TLS tests
# make their certificates), and real ClickHouse
# servers (single node and a cluster with ZooKeeper) for the ClickHouse backend, debootstrap for
# the minimal Debian root the release tarball is tested in, and buildah/podman/runc to build and
# run the OCI image (make image, make image-test), catatonit for the pods of podman kube play, and a
# JDK with Maven to run OpenSearch/Elasticsearch nodes from their Maven Central jars.
test_packages=(chromium clickhouse-server zookeeper python3 openssl debootstrap buildah podman runc catatonit
               openjdk-17-jdk-headless maven)
# Only `make fuzz` needs these: clang with libFuzzer and its sanitizer runtimes.
fuzz_packages=(clang libclang-rt-14-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${test_packages[@]}")
elif [[ "${1:-}" == "--fuzz" ]]; then
  packages+=("${fuzz_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  # Node may come from outside Debian (e.g. a preinstalled /usr/bin/node): accept that.
  if [[ "$p" == nodejs || "$p" == npm ]] && command -v "${p/nodejs/node}" >/dev/null 2>&1; then
    continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

if [[ "${1:-}" == "--test" ]]; then
  scripts/npm-ci-if-changed.sh tests/integration tests/e2e web
fi
