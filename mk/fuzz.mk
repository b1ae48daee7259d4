# SPDX-License-Identifier: MIT
# api-fuzz: random sequences of API calls checked against a model of who owns
# what (tests/fuzz/README.md, docs/safety.md), under ASan + UBSan.
#   make api-fuzz            fixed seeds (FUZZ_SEEDS, 40,000), under a minute on 2 cores; in `make check`
#   make api-fuzz-soak       new seeds for FUZZ_SECONDS (default 3600)
#   make api-fuzz-libfuzzer  the same driver under libFuzzer (clang), for FUZZ_SECONDS
# A failure prints its seed and a one-line reproduction:
#   build/fuzz/api_fuzz --seed N --verbose

FUZZ_SEEDS ?= 40000
FUZZ_FIRST ?= 1
FUZZ_WORKERS ?= 4
FUZZ_SECONDS ?= 3600
FUZZ_ARGS ?=

FUZZ_SRC := tests/fuzz/run.c tests/fuzz/seq.c tests/fuzz/ops.c tests/fuzz/oom.c
FUZZ_HDR := tests/fuzz/fz.h
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# The library under test, built with the sanitizers (the same build as check-sanitize).
FUZZ_LIB := $(BUILD)/san/libsafer-ring.a
# Every part of docs/safety.md (the driver can also be built against older runtimes).
FUZZ_HAVE := -DFZ_HAVE_HANDOVER=1 -DFZ_HAVE_DESTROY_TIMEOUT=1 -DFZ_HAVE_FAIL_ALLOC=1
FUZZ_CFLAGS = -O1 -g -std=gnu11 $(WARN) $(FUZZ_SAN) $(FUZZ_HAVE)
# The library's allocations go through the driver (tests/fuzz/oom.c), which can fail them.
FUZZ_WRAP := -DFZ_WRAP -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=mmap

# Its own sub-make, like check-sanitize: the library's objects get the sanitizer flags.
$(FUZZ_LIB): $(RUNTIME_SRC) $(HEADERS)
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/san SAN="$(FUZZ_SAN)" CFLAGS="-O1 -g" $@ >/dev/null

$(BUILD)/fuzz/api_fuzz: $(FUZZ_SRC) $(FUZZ_HDR) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_WRAP) -o $@ $(FUZZ_SRC) $(FUZZ_LIB) $(LDLIBS)

api-fuzz: $(BUILD)/fuzz/api_fuzz
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(BUILD)/fuzz/api_fuzz --seeds $(FUZZ_SEEDS) --first $(FUZZ_FIRST) \
		--workers $(FUZZ_WORKERS) $(FUZZ_ARGS)

# Seeds nobody ran before: they start from the clock.
api-fuzz-soak: $(BUILD)/fuzz/api_fuzz
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(BUILD)/fuzz/api_fuzz --seconds $(FUZZ_SECONDS) \
		--first $$(( $$(date +%s) * 100000 )) --workers $(FUZZ_WORKERS) $(FUZZ_ARGS)

# libFuzzer: the library with coverage, the driver taking its choices from the input.
FUZZ_LF_LIB := $(BUILD)/fuzz/lf/libsafer-ring.a
FUZZ_LF_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_CORPUS ?= $(BUILD)/fuzz/corpus

$(FUZZ_LF_LIB): $(RUNTIME_SRC) $(HEADERS)
	$(Q)$(MAKE) --no-print-directory CC=$(CLANG) BUILD=$(BUILD)/fuzz/lf SAN="$(FUZZ_LF_SAN)" CFLAGS="-O1 -g" $@ >/dev/null

FUZZ_LF_SRC := tests/fuzz/libfuzzer.c tests/fuzz/seq.c tests/fuzz/ops.c tests/fuzz/oom.c

$(BUILD)/fuzz/api_fuzz_libfuzzer: $(FUZZ_LF_SRC) $(FUZZ_HDR) $(FUZZ_LF_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CLANG) $(CPPFLAGS) -O1 -g -std=gnu11 $(WARN) $(FUZZ_HAVE) \
		-fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -o $@ \
		$(FUZZ_LF_SRC) $(FUZZ_LF_LIB) $(LDLIBS)

api-fuzz-libfuzzer: $(BUILD)/fuzz/api_fuzz_libfuzzer
	@mkdir -p $(FUZZ_CORPUS)
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(BUILD)/fuzz/api_fuzz_libfuzzer -max_total_time=$(FUZZ_SECONDS) \
		-timeout=30 -max_len=512 -artifact_prefix=$(BUILD)/fuzz/ $(FUZZ_CORPUS)

CHECK_EXTRA += api-fuzz

.PHONY: api-fuzz api-fuzz-soak api-fuzz-libfuzzer
