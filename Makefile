# coffre: the two commands of the quick start are `make run` and `make test`.
# Both install what they need (scripts/setup) and build with CMake.

BUILD      ?= build
ASAN_BUILD ?= build-asan
DATA       ?= var/dev
LISTEN     ?= 127.0.0.1:8443
JOBS       ?= $(shell nproc)

.PHONY: all setup build run test test-release test-asan bench bench-quick bench-build bench-audit bench-audit-quick clean

all: build

setup:
	@./scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Creates a development vault in $(DATA) the first time (its administrator
# password is printed once), then serves it on https://$(LISTEN).
run: build
	@mkdir -p $(dir $(DATA))
	@test -f $(DATA)/vault.db || $(BUILD)/coffre init --data $(DATA) --dev --listen $(LISTEN)
	@exec $(BUILD)/coffre serve --data $(DATA) --listen $(LISTEN)

# The whole suite, twice: a release build, then under ASan + UBSan; then the
# benchmark harness in its quick mode (it catches a broken harness, it judges
# no speed).
test: test-release test-asan bench-quick

test-release: build
	@ctest --test-dir $(BUILD) --output-on-failure -j 2

test-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCOFFRE_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -j 2

# The benchmark (docs/performance.md): a release build, a generated data set
# of $(BENCH_RECORDS) records, every scenario with wrk beside its baselines
# (a bare TLS handler, PostgreSQL with pgcrypto and pgaudit), the audit
# trail figures, one table. BENCH_ARGS adds options (bench/run.py --help).
BENCH_RECORDS ?= 1000000
bench-build: setup
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCOFFRE_TESTS=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS) --target coffre audit_bench bench_gen bare_tls

bench: bench-build
	@/usr/bin/python3 bench/run.py --records $(BENCH_RECORDS) $(BENCH_ARGS)

# Under two minutes: a small data set, two seconds per scenario.
bench-quick: bench-build
	@/usr/bin/python3 bench/run.py --quick $(BENCH_ARGS)

# Audit trail figures alone: a release build, side-by-side baseline.
bench-audit: setup
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCOFFRE_TESTS=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS) --target audit_bench
	@./build-bench/audit_bench --entries $${ENTRIES:-1000000} --threads 32,256 --seconds 5

# The same in seconds, to catch a broken harness (not to judge speed).
bench-audit-quick: setup
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCOFFRE_TESTS=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS) --target audit_bench
	@./build-bench/audit_bench --entries 20000 --threads 8 --seconds 1

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-bench
