# SPDX-License-Identifier: MIT
# Benchmarks (bench/README.md):
#   make bench         the full suite, ~15 minutes: bench/results/REPORT.md and plots
#   make bench-quick   each workload once, small, under a minute (a smoke test, in `make check`)
#   make bench-gates   deterministic counts under valgrind and strace (in `make check`)
#   make bench-profile where each path's instructions go, by function (bench/results/profile.md)
#
# GATES_ENFORCE: which gates fail the build (bench/gates.py).  "today": the
# ones the library meets (NOP +24, _raw +2, enters, allocations) and each
# checked path's ceiling (CEILINGS_TODAY: what it measured + 5, so a
# regression fails); the per-path instruction limits are printed as OVER
# with their excess.
# "all": every gate.  Flip the default once the hot paths meet them.
GATES_ENFORCE ?= today

DEPS_EXTRA += python3-numpy python3-scipy python3-matplotlib strace rsync

BENCH_OUT ?= bench/results
BENCH_DATA ?= $(BUILD)/bench-data

# Every benchmark program is built with the same flags: the checked API,
# its _raw variant and the liburing baselines differ only in their code.
BENCH_CFLAGS := -O2 -g -std=gnu11 $(WARN)
BENCH_PLAIN := nop_liburing copy_liburing copy_rw echo_liburing echo_liburing_mshot echo_epoll echo_load
BENCH_SR := nop_sr ops_sr
BENCH_BINS := $(addprefix $(BUILD)/bench/,$(BENCH_SR) $(BENCH_PLAIN) ops_liburing)

$(addprefix $(BUILD)/bench/,$(BENCH_SR)): $(BUILD)/bench/%: bench/%.c bench/bench.h bench/ops.h $(LIB_A) $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/bench/ops_liburing: bench/ops_liburing.c bench/ops.h bench/bench.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $< $(LDLIBS)

$(addprefix $(BUILD)/bench/,$(BENCH_PLAIN)): $(BUILD)/bench/%: bench/%.c bench/bench.h bench/ops.h
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $< $(LDLIBS)

bench-build: $(BENCH_BINS)

BENCH_GATE_BINS := $(addprefix $(BUILD)/bench/,nop_sr nop_liburing ops_sr ops_liburing)

bench-gates: $(BENCH_GATE_BINS)
	$(Q)$(PYTHON) bench/test_stats.py 2>&1 | tail -1 | sed 's/^/bench-stats tests: /'
	$(Q)$(PYTHON) bench/gates.py --build $(BUILD) --enforce $(GATES_ENFORCE)

# PROFILE_TARGETS: path:batch,... (bench/profile.py; default: the owned-buffer paths).
PROFILE_OUT ?= $(BENCH_OUT)/profile.md
bench-profile: $(BENCH_GATE_BINS)
	$(Q)$(PYTHON) bench/profile.py --build $(BUILD) --out $(PROFILE_OUT) \
		$(if $(PROFILE_TARGETS),--targets $(PROFILE_TARGETS))

# The examples and tools it measures (echo_server, file_copy, uring-sync)
# come from `all`; those not built yet are reported as not measured.
bench-quick: all $(BENCH_BINS)
	$(Q)$(PYTHON) bench/run.py --quick --build $(BUILD) --data $(BUILD)/bench-data-quick \
		--out $(BUILD)/bench-quick --cc $(CC)
	$(Q)$(PYTHON) bench/report.py $(BUILD)/bench-quick

bench: all $(BENCH_BINS)
	@mkdir -p $(BENCH_OUT)
	$(Q)$(PYTHON) bench/gates.py --build $(BUILD) --enforce $(GATES_ENFORCE) --all-batches \
		--json $(BENCH_OUT)/gates.json >$(BENCH_OUT)/gates.txt 2>&1; \
		status=$$?; cat $(BENCH_OUT)/gates.txt; \
		[ $$status = 0 ] || echo "bench: the gates fail; the report says so and the suite goes on"
	$(Q)$(PYTHON) bench/run.py --build $(BUILD) --data $(BENCH_DATA) --out $(BENCH_OUT) --cc $(CC)
	$(Q)$(PYTHON) bench/report.py $(BENCH_OUT)

ALL_EXTRA += bench-build
CHECK_EXTRA += bench-gates bench-quick

.PHONY: bench bench-quick bench-gates bench-build bench-profile
