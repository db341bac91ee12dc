# The two commands: `make run` and `make test`. Both install what is missing first.
# Go (preinstalled on this kind of machine, under /usr/local/go) builds the test-only tools: helm and
# tests/helm/validate, and Jaeger for the Jaeger API differential test.
export PATH := $(PATH):/usr/local/go/bin
# Every C++ compile goes through ccache (installed by scripts/install-deps.sh), whose cache lives
# outside the clone: a second `make test`, even from another clone, recompiles only what changed.
# Paths are rewritten relative to the clone, so clones at different places share the cache.
export CMAKE_CXX_COMPILER_LAUNCHER ?= ccache
export CCACHE_DIR ?= $(HOME)/.cache/teletrace/ccache
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1
export CCACHE_MAXSIZE ?= 8G
PRESET ?= release
BUILD_DIR := build/$(PRESET)
BIN := $(BUILD_DIR)/teletrace
VERSION := $(shell head -n 1 VERSION)
DIST_TARBALL := build/dist/teletrace-$(VERSION)-linux-$(shell dpkg --print-architecture).tar.gz
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
               web/package-lock.json web/vite.config.ts web/tsconfig.json web/scripts/gen-api-types.mjs \
               docs/openapi/teletrace-v1.yaml

.PHONY: all deps test-deps ui build run test test-unit test-asan test-tsan test-web \
        test-integration test-e2e test-jaeger test-clickhouse test-elasticsearch test-soak test-dist soak fuzz dist image image-test chart-test bench clean

all: build

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh --test

# The UI is built before the server so the binary embeds it (src/server/embed_ui_main.cc).
ui: web/dist/index.html

web/dist/index.html: $(WEB_SOURCES)
	scripts/build-ui.sh

build: deps ui
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET)

# Builds only what it runs: the server (with the UI embedded), not the tests and benchmarks.
run: deps ui
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) --target teletrace
	$(BIN)

# Unit, conformance and fuzz-corpus tests (release build, then the same under ASan+UBSan), the
# concurrency tests under TSan, the UI's unit tests, the integration suite against the real binary
# with the OpenTelemetry JS SDK, the browser end-to-end suite, the Jaeger API against a real Jaeger,
# ClickHouse, a short soak, and the
# release tarball in a minimal Debian root, the OCI image under podman, and the Helm chart.
test: test-deps build test-unit test-asan test-tsan test-web test-integration test-e2e \
      test-jaeger test-clickhouse test-elasticsearch test-soak test-dist image-test chart-test

# Every ctest run: two at a time, and a test still running after 15 minutes fails by name as hung.
CTEST_FLAGS := -j2 --timeout 900
test-unit: build
	ctest --preset $(PRESET) $(CTEST_FLAGS)

test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	ctest --preset asan $(CTEST_FLAGS)

# The concurrent code under ThreadSanitizer: the ordered decode workers, the ingest pipeline, the HTTP server, the gRPC receiver
# and the SQLite backend (with the storage conformance suite). Only their test binaries are built.
# tests/tsan.supp says which reports from uninstrumented Debian libraries are suppressed and why.
TSAN_TESTS := teletrace_common_test teletrace_ingest_test teletrace_server_lib_test teletrace_storage_sqlite_test
TSAN_REGEX := ^(OrderedWorkersTest|PipelineTest|HttpServerTest|GzipBodyTest|Sqlite[A-Za-z]*Test|[A-Za-z/]*Conformance[A-Za-z/]*)\.
test-tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan --target $(TSAN_TESTS)
	ctest --preset tsan $(CTEST_FLAGS) -R '$(TSAN_REGEX)'

# Each libFuzzer target (clang, ASan+UBSan) for FUZZ_SECONDS, one at a time, over a copy of the seed
# corpus tests/fixtures (build/fuzz/corpus/<fuzzer>, which keeps what it learns between runs).
# A crash is saved to build/fuzz/crashes/<fuzzer>/ and fails the target once all have run; fix the
# bug, then add the file to tests/fixtures so every build's corpus test replays it.
# `make fuzz FUZZERS=cursor_fuzzer FUZZ_SECONDS=600` runs one.
FUZZ_SECONDS ?= 60
FUZZERS ?= $(sort $(notdir $(basename $(shell find src -name '*_fuzzer.cc'))))
FUZZ_DIR := build/fuzz
fuzz:
	scripts/install-deps.sh --fuzz
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz --target $(FUZZERS)
	@failed=""; for f in $(FUZZERS); do \
	  bin=$$(find $(FUZZ_DIR)/src -name $$f -type f -perm -u+x | head -n 1); \
	  mkdir -p $(FUZZ_DIR)/corpus/$$f $(FUZZ_DIR)/crashes/$$f $(FUZZ_DIR)/logs; \
	  cp -r tests/fixtures/. $(FUZZ_DIR)/corpus/$$f/; \
	  echo "fuzz: $$f for $(FUZZ_SECONDS) s"; \
	  if nice -n 19 $$bin -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	       -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crashes/$$f/ \
	       $(FUZZ_DIR)/corpus/$$f > $(FUZZ_DIR)/logs/$$f.log 2>&1; then \
	    grep -E '^#[0-9]+[[:space:]]+DONE' $(FUZZ_DIR)/logs/$$f.log | tail -n 1; \
	  else \
	    failed="$$failed $$f"; tail -n 40 $(FUZZ_DIR)/logs/$$f.log; \
	    echo "fuzz: $$f FAILED; the input is in $(FUZZ_DIR)/crashes/$$f/"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed"; exit 1; fi

test-web: test-deps
	scripts/npm-ci-if-changed.sh web
	cd web && npm test

test-integration: build test-deps
	TELETRACE_BIN=$(abspath $(BIN)) tests/integration/run.sh

test-e2e: build test-deps
	TELETRACE_BIN=$(abspath $(BIN)) tests/e2e/run.sh

# The Jaeger query API (/api/*) compared field by field with a real Jaeger v2 on the same
# OpenTelemetry SDK traces. Jaeger is built from the Go module proxy once into ~/.cache/teletrace
# (tests/jaeger/build_jaeger.sh, ~5 min cold).
test-jaeger: build test-deps
	TELETRACE_BIN=$(abspath $(BIN)) tests/jaeger/run.sh

# ClickHouse beyond ctest's conformance run: the same data through a SQLite- and a ClickHouse-backed
# teletrace compared endpoint by endpoint, on Debian's 18.16 and on current releases (chdb's engine
# behind tests/clickhouse/chdb_http_front.py, installed into ~/.cache/teletrace by
# scripts/install-chdb.sh), and a 2-shard x 2-replica cluster with ZooKeeper (18.16).
# 26.9 in make test; CHDB_VERSIONS="4.4.0 3.7.2" adds 25.8 (another 1.2 GB and ~5 min).
CHDB_VERSIONS ?= 4.4.0
test-clickhouse: build test-deps
	python3 tests/clickhouse/differential_test.py --bin $(abspath $(BIN))
	for v in $(CHDB_VERSIONS); do TELETRACE_CHDB_VERSION=$$v python3 tests/clickhouse/chdb_http_front_test.py && TELETRACE_CHDB_VERSION=$$v python3 tests/clickhouse/differential_test.py --bin $(abspath $(BIN)) --engine chdb || exit 1; done
	python3 tests/clickhouse/cluster_test.py --bin $(abspath $(BIN))

# Elasticsearch/OpenSearch beyond ctest's conformance runs: the same data through a SQLite- and an
# OpenSearch- (then Elasticsearch-) backed teletrace compared endpoint by endpoint, and a 3-node OpenSearch cluster losing
# and regaining a node under ingest. Nodes run from Maven Central jars (tests/elasticsearch/).
test-elasticsearch: build test-deps
	python3 tests/clickhouse/differential_test.py --bin $(abspath $(BIN)) --engine opensearch
	python3 tests/clickhouse/differential_test.py --bin $(abspath $(BIN)) --engine elasticsearch
	python3 tests/elasticsearch/cluster_test.py --bin $(abspath $(BIN))

# The Hardening soak: full-speed ingest, queries, the attacks and kill -9 restarts at once, then every
# acknowledged span must be readable and peak RSS under the budgets' bound. make test runs a short
# one; `make soak` the full ten minutes.
SOAK_SECONDS ?= 600
test-soak: build test-deps
	TELETRACE_BIN=$(abspath $(BIN)) node tests/soak/soak.mjs --seconds=90 --restarts=2

soak: build test-deps
	TELETRACE_BIN=$(abspath $(BIN)) node tests/soak/soak.mjs --seconds=$(SOAK_SECONDS) --restarts=5

# The standalone release tarball (scripts/make-dist.sh): the binary, the shared libraries it loads
# but glibc, their licenses. test-dist runs it in a minimal Debian root (tests/dist/run.sh).
dist: deps ui
	cmake --preset release >/dev/null
	cmake --build --preset release --target teletrace
	scripts/make-dist.sh build/release/teletrace build/dist

test-dist: dist test-deps
	tests/dist/run.sh $(DIST_TARBALL)

# The OCI image localhost/teletrace:$(VERSION), from the tarball, with buildah and no registry
# (scripts/make-image.sh); image-test runs it under podman (tests/integration/containers).
image: dist test-deps
	scripts/make-image.sh $(DIST_TARBALL)

image-test: image
	cd tests/integration && node --test containers/image.test.mjs

# The Helm chart: lint, render every values case, validate against the Kubernetes API types,
# goldens, refusals (tests/helm/run.sh); then its SQLite-mode manifests under podman kube play with
# the image. helm is built once from the Go proxy into ~/.cache/teletrace (scripts/install-helm.sh;
# ~17 min cold). HELM_VERSIONS="v4.3.2 v3.21.4" checks Helm 3 as well (another build, once).
HELM_VERSIONS ?= v4.3.2
chart-test: image
	for v in $(HELM_VERSIONS); do TELETRACE_HELM=$$(scripts/install-helm.sh $$v) tests/helm/run.sh || exit 1; done
	cd tests/integration && TELETRACE_HELM=$$(../../scripts/install-helm.sh $(firstword $(HELM_VERSIONS))) \
	  node --test containers/kube_play.test.mjs

bench: build
	bench/scenarios/run.sh

clean:
	rm -rf build web/dist
