# Thin wrapper over CMake/CTest. `make dev` and `make test` are the whole quickstart.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all bootstrap configure build test unit e2e dev bench fuzz format clean

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: bootstrap configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit tests of each module, then end-to-end tests with real clients and peers.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j 1 --timeout 1200

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

e2e: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e

# The whole system on this machine: dev PLC (:2582), PDS (:2583), hold (:8080), AppView (:5000).
DEV_DATA ?= .atcr-dev
dev: build
	$(BUILD_DIR)/bin/atcr dev --data $(DEV_DATA)

bench: build
	bench/run
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) bench/atproto/run.sh
	BUILD_DIR=$(BUILD_DIR) bench/pds/run.sh
	BUILD_DIR=$(BUILD_DIR) bench/hold/run.sh
	BUILD_DIR=$(BUILD_DIR) bench/appview/run.sh

format:
	find libs apps -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
