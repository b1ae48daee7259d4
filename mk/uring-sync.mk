# SPDX-License-Identifier: MIT
# uring-sync: a tree copier on safer-ring (tools/uring-sync, tests/uring-sync).

US_SRC := $(wildcard tools/uring-sync/*.c)
US_HDR := $(wildcard tools/uring-sync/*.h)
US_BIN := $(BUILD)/uring-sync

$(US_BIN): $(US_SRC) $(US_HDR) $(LIB_A)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(US_SRC) $(LIB_A) $(LDLIBS)

uring-sync: $(US_BIN)

# The whole suite (tests/uring-sync/run.sh); a clang -Werror build; the core
# of the suite again under ASan + UBSan (leaks included) and under valgrind.
US_RUN := tests/uring-sync/run.sh
US_SAN_TESTS := help,usage,odd,update,checksum,dryrun,drysum,drydelete,methods,stats,errors,inside,verify,fallback,limits,interrupt,dump,nospace
US_VG_TESTS := odd,update,checksum,drysum,drydelete,errors
US_VALGRIND := $(VALGRIND)

check-uring-sync: $(US_BIN)
	$(Q)CC="$(CC)" $(US_RUN) $(US_BIN)

check-uring-sync-clang:
	$(Q)$(MAKE) --no-print-directory CC=$(CLANG) BUILD=$(BUILD)/clang $(BUILD)/clang/uring-sync >/dev/null
	@echo "uring-sync: builds with clang -Werror"

check-uring-sync-san:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/san SAN="$(SANITIZE)" CFLAGS="-O1 -g" \
		$(BUILD)/san/uring-sync >/dev/null
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(US_RUN) $(BUILD)/san/uring-sync --only $(US_SAN_TESTS) \
		>$(BUILD)/san/uring-sync.log 2>&1 || { cat $(BUILD)/san/uring-sync.log; exit 1; }
	@echo "uring-sync: $$(tail -1 $(BUILD)/san/uring-sync.log | cut -d' ' -f2-) under ASan + UBSan"

check-uring-sync-valgrind: $(US_BIN)
	$(Q)$(US_RUN) $(US_BIN) --only $(US_VG_TESTS) --wrap "$(US_VALGRIND)" \
		>$(BUILD)/uring-sync-valgrind.log 2>&1 || { cat $(BUILD)/uring-sync-valgrind.log; exit 1; }
	@echo "uring-sync: $$(tail -1 $(BUILD)/uring-sync-valgrind.log | cut -d' ' -f2-) under valgrind"

# What `make install` installs: linked against the shared library.
$(BUILD)/inst/uring-sync: $(US_SRC) $(US_HDR) $(HEADERS) $(LIB_SO) $(INSTALL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(LINK_INSTALLED) $(US_SRC) $(INSTALLED_LIBS)

# Long workloads, not in make check: the real-tree copy against cp -a and
# rsync -aHAX (onto a fresh ext4 a copy when run as root, and under
# US_BENCH_DATA), and the 1,000,000-entry memory run (bench/results/tree_copy.*).
US_BENCH_DATA ?= /tmp/uring-sync-bench
bench-uring-sync: $(US_BIN)
	$(PYTHON) bench/tree_copy.py --bin $(US_BIN) --data $(US_BENCH_DATA) --out bench/results

bench-uring-sync-million: $(US_BIN)
	$(PYTHON) bench/tree_copy.py --bin $(US_BIN) --data $(US_BENCH_DATA) --out bench/results --million

# A copy of the examples and docs, checked by rsync.
demo-uring-sync: $(US_BIN)
	@echo; echo "== uring-sync: copy a tree, then rsync -aHAXn lists what differs (nothing) =="; echo
	$(Q)d=$$(mktemp -d /tmp/uring-sync-demo.XXXXXX) && \
		$(US_BIN) -v docs/ $$d/copy && rsync -aHAXn --itemize-changes docs/ $$d/copy/ && \
		echo "rsync -aHAXn --itemize-changes docs/ $$d/copy/: no differences"; rm -rf $$d

DEPS_EXTRA += rsync acl attr btrfs-progs
ALL_EXTRA += uring-sync
CHECK_EXTRA += check-uring-sync check-uring-sync-clang check-uring-sync-san check-uring-sync-valgrind
INSTALL_PROGS += $(BUILD)/inst/uring-sync
INSTALL_DOCS += tools/uring-sync/README.md:uring-sync.md
DEMO_EXTRA += demo-uring-sync

.PHONY: uring-sync check-uring-sync check-uring-sync-clang check-uring-sync-san check-uring-sync-valgrind \
	demo-uring-sync bench-uring-sync bench-uring-sync-million
