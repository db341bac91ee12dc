# The two commands: `make run` and `make test`. Both install what is missing first.
PRESET ?= release
BUILD_DIR := build/$(PRESET)
BIN := $(BUILD_DIR)/teletrace

.PHONY: all deps test-deps build run test test-unit test-asan test-integration bench clean

all: build

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh --test

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET)

run: build
	$(BIN)

# Unit, conformance and fuzz-corpus tests (release build), the same under ASan+UBSan, then the
# integration suite against the real binary with the OpenTelemetry JS SDK.
test: test-deps build test-unit test-asan test-integration

test-unit: build
	ctest --preset $(PRESET) -j2

test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	ctest --preset asan -j2

test-integration: build test-deps
	TELETRACE_BIN=$(abspath $(BIN)) tests/integration/run.sh

clean:
	rm -rf build
