# A thin wrapper over CMake for the everyday commands. Everything here can be
# done with cmake/ctest directly; see README.md.
#
#   make deps            install missing Debian packages (sudo when not root)
#   make build           configure and build into build/
#   make run             serve plugins/hello on :3000 (PORT=, PLUGIN=)
#   make test            build and run the test suite
#   make docs            regenerate docs/options.md and the README's options
#                        and signals tables from host/config.h, host/master.h
#   make test-sanitize   the same, Debug with ASan+UBSan, in build-asan/
#   make test-valgrind   integration tests with every server under valgrind
#                        memcheck (installs valgrind; tests/valgrind.cmake)
#   make bench           mchost vs nginx and Node (tests/bench/README.md)
#   make bench-capacity  connections held and slow clients, vs nginx
#   make bench-messages  messages relayed between workers per second
#   make fuzz            libFuzzer targets, FUZZ_SECONDS (60) each (tests/fuzz/)
#   make soak            load + crashes + reloads for SOAK_SECONDS (300)
#   make format-check    every C file as clang-format (.clang-format) has it
#   make clean           remove both build directories
#
# WERROR=1 turns warnings into errors; CMAKE_FLAGS adds cmake -D options.

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
PORT ?= 3000
PLUGIN ?= hello
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Criterion already runs the tests of one binary in parallel: two binaries
# at a time keep the machine busy without starving the servers they start.
CTEST_JOBS ?= 2

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# libc6-dev is only a Recommends of gcc, and recommends are not installed.
DEPS := cmake gcc libc6-dev make pkg-config libuv1-dev libdw-dev \
        libcriterion-dev node-llhttp curl python3 \
        libsqlite3-dev libcjson-dev
# The WebSocket tests' clients: Debian's python3-websockets, and Node's `ws`,
# which the build installs into the build directory with npm. Installed
# before the build configures, so that CMake finds npm. (Debian's nodejs
# comes without npm; NodeSource's brings its own, which Debian's would
# conflict with.)
TEST_DEPS := python3-websockets nodejs
# Real components the tests start: Prometheus (promtool), HAProxy and nginx
# (the contrib checks and the cluster test), python3-yaml (the Kubernetes
# and Prometheus files), iproute2 (the cluster test's network namespaces).
TEST_DEPS += prometheus haproxy nginx-light python3-yaml iproute2
# strace: the system calls a connection costs (integration.sock).
TEST_DEPS += strace
# g++: a plugin compiled as C++ against the installed <mchost.h>
# (integration.install).
TEST_DEPS += g++

# Always passed, ON or OFF, so that a WERROR=1 run does not stick in the
# CMake cache for the next plain `make build`.
WERROR_FLAG := -DMCHOST_WERROR=$(if $(filter 1,$(WERROR)),ON,OFF)

.PHONY: all deps test-deps build run test test-sanitize test-valgrind clean bench fuzz \
        bench-build bench-capacity bench-files bench-messages \
        soak format-check docs

all: build

# Without dpkg-query (not Debian, or a container without dpkg) nothing can
# be checked or installed: say which packages the build needs, and let the
# build itself name what is missing.
DPKG_QUERY ?= dpkg-query

deps:
	@if ! command -v $(DPKG_QUERY) >/dev/null 2>&1; then \
	  echo "make deps: no $(DPKG_QUERY) here, packages not checked;" \
	    "the build needs (Debian names): $(DEPS)"; \
	  exit 0; \
	fi; \
	missing=$$(for p in $(DEPS); do \
	  $(DPKG_QUERY) -W -f='$${db:Status-Abbrev}' "$$p" 2>/dev/null | \
	    grep -q '^ii' || echo "$$p"; \
	done); \
	[ -z "$$missing" ] && exit 0; \
	echo "Installing:" $$missing; \
	install="$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends"; \
	$$install $$missing || { $(SUDO) apt-get update -q && $$install $$missing; }

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  $(WERROR_FLAG) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/mchost --plugin $(BUILD_DIR)/plugins/$(PLUGIN).so \
	  --port $(PORT)

# The valgrind.* tests are test-valgrind's: slow, and valgrind is not a
# dependency of the build.
test-deps:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(TEST_DEPS)"
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps DEPS=npm

test: test-deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS) \
	  -LE valgrind

# The test docs.options fails until this has been run after a change of
# the options or the signals (cmake/docs.cmake).
docs: build
	cmake -DMCHOST=$(BUILD_DIR)/mchost -DSOURCE_DIR=. -P cmake/docs.cmake

test-sanitize: test-deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug \
	  -DMCHOST_SANITIZE=address,undefined $(WERROR_FLAG) $(CMAKE_FLAGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(CTEST_JOBS)

# valgrind must be there when CMake configures: the valgrind.* tests are
# registered only if it finds it. One test executable at a time: each runs
# two servers under valgrind at once, which keeps two CPUs busy.
VALGRIND_DEPS := valgrind

test-valgrind: test-deps
	@$(MAKE) --no-print-directory build DEPS="$(DEPS) $(VALGRIND_DEPS)"
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L valgrind

# The C sources as .clang-format lays them out; `clang-format -i` on a file
# fixes what this reports. Only the source folders: not the build trees.
FORMAT_DIRS := host sdk plugins tests
format-check:
	@$(MAKE) --no-print-directory deps DEPS="clang-format"
	find $(FORMAT_DIRS) -name '*.[ch]' -print0 | \
	  xargs -0 clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-release build-fuzz

# The benchmark (tests/bench/README.md): its peers and tools on top of the
# build deps, a Release build of its own, then the run. ROUNDS (3), DURATION
# (10s) and CONNS ("64 256") reach tests/bench/run from the environment or
# the make command line. iproute2 gives ss (connections per worker); procps,
# ps and top for a look beside a run.
BENCH_DIR ?= build-release
BENCH_DEPS := wrk nginx-light nodejs procps iproute2 python3 strace

# BASE=<git revision> also builds that revision of mchost (build-base/) and
# runs it beside this one, in the same rounds: "mchost-base".
BASE ?=
BASE_DIR ?= build-base

bench-build:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(BENCH_DEPS)"
	cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DMCHOST_TESTS=OFF \
	  $(WERROR_FLAG) $(CMAKE_FLAGS)
	cmake --build $(BENCH_DIR) -j $(JOBS)

bench: bench-build
ifneq ($(BASE),)
	rm -rf $(BASE_DIR) && mkdir -p $(BASE_DIR)/src
	git archive $(BASE) | tar -x -C $(BASE_DIR)/src
	cmake -S $(BASE_DIR)/src -B $(BASE_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DMCHOST_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BASE_DIR) -j $(JOBS)
endif
	MCHOST_BUILD=$(BENCH_DIR) $(if $(BASE),MCHOST_BASELINE=$(BASE_DIR)) tests/bench/run

# Connections held and slow clients, mchost and nginx (tests/bench/capacity.py):
# IDLE (as many as the open-file limit allows, up to 100000) idle keep-alive
# connections, then SLOW (up to 40000) slow clients opened at RATE (1000)/s.
bench-capacity: bench-build
	MCHOST_BUILD=$(BENCH_DIR) tests/bench/capacity.py

# Static files (tests/bench/files.sh): plugins/static against nginx's
# `root` with sendfile, 1 KiB, 100 KiB and 10 MiB files over keep-alive.
bench-files: bench-build
	MCHOST_BUILD=$(BENCH_DIR) tests/bench/files.sh

# Messages between workers (tests/bench/messages.py): the master's relay,
# with the messages test fixture, so from the test build.
bench-messages: build
	cmake --build $(BUILD_DIR) --target mchost_fixture_messages
	python3 tests/bench/messages.py $(BUILD_DIR)

# Soak (tests/soak/soak.py): client load against the crash fixture while
# the plugin crashes and reloads; fails on any failed or lost request.
SOAK_SECONDS ?= 300
soak: build
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) python3"
	python3 tests/soak/soak.py --mchost $(BUILD_DIR)/mchost \
	  --plugin $(BUILD_DIR)/tests/plugins/crash.so --seconds $(SOAK_SECONDS)

# Fuzzing (tests/fuzz/README.md): clang's libFuzzer with ASan+UBSan in a
# build of its own, then each target for FUZZ_SECONDS from a copy of the
# seed corpus. A finding fails, and its input lands in tests/fuzz/regression/.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := conn config configfile params multipart proxy forwarded admin wsframe \
                bundle fetch fetchresp range cond
FUZZ_DEPS := clang libclang-rt-14-dev

fuzz:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(FUZZ_DEPS)"
	CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DMCHOST_FUZZ=ON -DMCHOST_SANITIZE=address,undefined \
	  $(WERROR_FLAG) $(CMAKE_FLAGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS) \
	  $(foreach t,$(FUZZ_TARGETS),--target fuzz_$(t) fuzz_replay_$(t))
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_DIR) $(FUZZ_TARGETS)
