# SPDX-License-Identifier: MIT
# NUMA-aware pools (issue 19): `make check-numa`.
#
# sr-numa (tests/numa/numa.c, static) checks with move_pages(2) that the
# pages of pools made with sr_pool_create_on_node sit on the node asked
# for: here (one node on most machines) and as the init of a qemu guest
# with two NUMA nodes (tests/numa/run.sh, a Debian kernel from the same
# cache as check-kernels; NUMA_KERNEL picks another).

DEPS_EXTRA += qemu-system-x86 cpio
CHECK_EXTRA += check-numa

NUMA_BIN := $(BUILD)/numa/sr-numa

$(NUMA_BIN): tests/numa/numa.c $(HEADERS) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) -static -O2 -g -std=gnu11 $(WARN) -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/numa/numa_sr: bench/numa_sr.c bench/bench.h $(HEADERS) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) $(CPPFLAGS) -static -O2 -g -std=gnu11 $(WARN) -o $@ $< $(LIB_A) $(LDLIBS)

check-numa: $(NUMA_BIN) $(BUILD)/numa/numa_sr
	$(Q)$(NUMA_BIN) | sed 's/^/  host: /'
	$(Q)KERNEL_CACHE="$(KERNEL_CACHE)" QEMU="$(QEMU)" tests/numa/run.sh $(NUMA_BIN) $(BUILD)/numa/guest \
		$(BUILD)/numa/numa_sr

# The bench row (bench/numa_sr.c, bench/run.py's numa group): one ring per
# node, its registered pool on its node or the next.
$(BUILD)/bench/numa_sr: bench/numa_sr.c bench/bench.h $(LIB_A) $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

bench-build bench-quick bench: $(BUILD)/bench/numa_sr

.PHONY: check-numa
