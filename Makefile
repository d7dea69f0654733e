# The front door. Every target first installs what is missing (scripts/install-deps).
#   make demo       the main job: image_batch, then crash_isolation (Release build)
#   make test       build and run every test (what CI runs)
#   make test-asan  every test under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-tsan  every test under ThreadSanitizer
#   make bench      benchmarks, each beside its anchors, as ratios from one run
#   make fuzz       run each fuzz target for FUZZ_SECONDS (default 60)
#   make soak       1,000,000 tasks with recycling and crashes per start method: nothing may grow
#   make install PREFIX=/some/where
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_GEN := -G Ninja
CONFIGURE = cmake -S . $(CMAKE_GEN) -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: deps deps-test deps-bench deps-fuzz demo build test test-asan test-tsan bench fuzz soak install clean format

deps:
	@scripts/install-deps all
deps-test:
	@scripts/install-deps test
deps-bench:
	@scripts/install-deps bench
deps-fuzz:
	@scripts/install-deps fuzz

build: deps-test
	@$(CONFIGURE) -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

# The main job: the seed's pool.map(process_image, image_files) on real images, then a pool
# shrugging off crashing, hanging and throwing tasks. Release build; under two minutes.
demo: deps-test
	@$(CONFIGURE) -B build-release -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-release -j $(JOBS) --target image_batch crash_isolation
	@echo
	@echo "== 1/2 image_batch: thumbnails of 48 generated 1600x1200 photos, serially and then with"
	@echo "       pool.try_map(process_image, images) on a Pool: the speed-up, measured in this run"
	@./build-release/examples/image_batch/image_batch
	@echo
	@echo "== 2/2 crash_isolation (a staged demonstration): tasks that segfault, hang and throw cost"
	@echo "       their own items only; the same pool carries on"
	@./build-release/examples/crash_isolation

test: build
	@ctest --test-dir build --output-on-failure -j $(JOBS)

test-asan: deps-test
	@$(CONFIGURE) -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMPROC_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0 UBSAN_OPTIONS=print_stacktrace=1 MPROC_TEST_DEADLINE=180 \
	  ctest --test-dir build-asan --output-on-failure -j $(JOBS) -LE packaging

test-tsan: deps-test
	@$(CONFIGURE) -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DMPROC_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@# die_after_fork=0: pool workers are forked from a thread, and a nested pool starts threads
	@# in them; TSan calls that unsupported but handles it (tests/pool NestedPoolsWork).
	@# handle_segv=0 (as for ASan): a spawned child is a fresh TSan process, whose own SEGV handler
	@# would turn a test's deliberate crash into a TSan report and exit code instead of the signal.
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0:handle_segv=0 MPROC_TEST_DEADLINE=180 \
	  ctest --test-dir build-tsan --output-on-failure -j $(JOBS) -LE packaging

# Every workload beside its anchors, each figure the median of 3 repetitions: the machine and one
# table on stdout, the same as build-bench/bench/results.json, the task-duration plot in
# build-bench/bench/bench.png (copied to docs/bench.png). A few minutes. Environment:
# MPROC_BENCH_REPS, MPROC_BENCH_MIN_TIME, MPROC_BENCH_ONLY=<regex of workloads> (bench/run).
bench: deps-bench
	@$(CONFIGURE) -B build-bench -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_BENCH=ON -DMPROC_BUILD_TESTS=OFF \
	  -DMPROC_BUILD_EXAMPLES=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@bench/run build-bench

fuzz: deps-fuzz
	@CXX=clang++-14 $(CONFIGURE) -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPROC_BUILD_FUZZ=ON \
	  -DMPROC_BUILD_TESTS=OFF -DMPROC_BUILD_EXAMPLES=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@fuzz/run build-fuzz $(FUZZ_SECONDS)

# Not in make test (it takes a few seconds per start method here, minutes on a slow machine):
# MPROC_SOAK_TASKS=n to change the count.
soak: build
	@for m in fork forkserver spawn; do ./build/tests/soak/soak $$m || exit 1; done

install: build
	@cmake --install build --prefix $(PREFIX)

format:
	@clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	@rm -rf build build-asan build-tsan build-bench build-fuzz
