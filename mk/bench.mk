# SPDX-License-Identifier: MIT
# Benchmarks (bench/README.md):
#   make bench         the full suite, a few minutes: bench/results/REPORT.md and plots
#   make bench-quick   each workload once, small, under a minute (a smoke test, in `make check`)
#   make bench-gates   deterministic counts under valgrind and strace (in `make check`)

DEPS_EXTRA += python3-numpy python3-scipy python3-matplotlib strace rsync

BENCH_OUT ?= bench/results
BENCH_DATA ?= $(BUILD)/bench-data

# Every benchmark program is built with the same flags: the checked API,
# its _raw variant and the liburing baselines differ only in their code.
BENCH_CFLAGS := -O2 -g -std=gnu11 $(WARN)
BENCH_PLAIN := nop_liburing copy_liburing copy_rw echo_liburing echo_epoll echo_load
BENCH_BINS := $(BUILD)/bench/nop_sr $(addprefix $(BUILD)/bench/,$(BENCH_PLAIN))

$(BUILD)/bench/nop_sr: bench/nop_sr.c bench/bench.h $(LIB_A) $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(addprefix $(BUILD)/bench/,$(BENCH_PLAIN)): $(BUILD)/bench/%: bench/%.c bench/bench.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $< $(LDLIBS)

bench-build: $(BENCH_BINS)

bench-gates: $(BUILD)/bench/nop_sr $(BUILD)/bench/nop_liburing
	$(Q)$(PYTHON) bench/test_stats.py 2>&1 | tail -1 | sed 's/^/bench-stats tests: /'
	$(Q)$(PYTHON) bench/gates.py --build $(BUILD)

# The examples and tools it measures (echo_server, file_copy, uring-sync)
# come from `all`; those not built yet are reported as not measured.
bench-quick: all $(BENCH_BINS)
	$(Q)$(PYTHON) bench/run.py --quick --build $(BUILD) --data $(BUILD)/bench-data-quick \
		--out $(BUILD)/bench-quick --cc $(CC)
	$(Q)$(PYTHON) bench/report.py $(BUILD)/bench-quick

bench: all $(BENCH_BINS)
	@mkdir -p $(BENCH_OUT)
	$(Q)$(PYTHON) bench/gates.py --build $(BUILD) --all-batches >$(BENCH_OUT)/gates.txt 2>&1; \
		status=$$?; cat $(BENCH_OUT)/gates.txt; \
		[ $$status = 0 ] || echo "bench: the gates fail; the report says so and the suite goes on"
	$(Q)$(PYTHON) bench/run.py --build $(BUILD) --data $(BENCH_DATA) --out $(BENCH_OUT) --cc $(CC)
	$(Q)$(PYTHON) bench/report.py $(BENCH_OUT)

ALL_EXTRA += bench-build
CHECK_EXTRA += bench-gates bench-quick

.PHONY: bench bench-quick bench-gates bench-build
