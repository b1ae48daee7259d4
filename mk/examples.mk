# SPDX-License-Identifier: MIT
# The example programs of issue 5 and their tests against real peers.
#
#   make examples                  build them (with the library's examples)
#   make check-examples            run every example's test
#   make check-examples EX_ENV=SR_BACKEND=fallback
#                                  the same on another path (skipped, with
#                                  the library's reason, while it cannot run)
#   make check-examples-fallback   = EX_ENV=SR_BACKEND=fallback
#   make check-examples-oldkernel  = EX_ENV=SR_KERNEL=5.10
#   make check-examples-sanitize   the tests with ASan + UBSan builds
#   make check-examples-valgrind   the examples under valgrind (shorter loads)

EX_PROGS := echo_server file_copy https_server buffer_pool
EX_PROG_BINS := $(addprefix $(BUILD)/examples/,$(EX_PROGS))
EX_TOOL_BINS := $(BUILD)/tests/examples/echo_load $(BUILD)/tests/examples/sr_ready
EX_TESTS := echo_server file_copy https_server buffer_pool

DEPS_EXTRA += libssl-dev openssl curl
ALL_EXTRA += $(EX_PROG_BINS) $(EX_TOOL_BINS)
CHECK_EXTRA += check-examples check-examples-fallback check-examples-oldkernel

examples: $(EX_PROG_BINS)

HTTPS_SRC := $(wildcard examples/https_server/*.c)
$(BUILD)/examples/https_server: $(HTTPS_SRC) $(wildcard examples/https_server/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(HTTPS_SRC) $(LIB_A) -lssl -lcrypto $(LDLIBS)

# The load client is plain sockets and epoll: it tests the server from outside.
$(BUILD)/tests/examples/echo_load: tests/examples/echo_load.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/tests/examples/sr_ready: tests/examples/sr_ready.c $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

EX_RUN = EX_BIN=$(BUILD)/examples EX_TOOLS=$(BUILD)/tests/examples

# EX_ONLY=name,name limits the run to those tests.
check-examples: $(EX_PROG_BINS) $(EX_TOOL_BINS)
	$(Q)for t in $(if $(EX_ONLY),$(subst $(comma), ,$(EX_ONLY)),$(EX_TESTS)); do \
		$(EX_RUN) EX_ENV="$(EX_ENV)" tests/examples/$$t.sh || exit 1; \
	done

check-examples-fallback:
	$(Q)$(MAKE) --no-print-directory check-examples EX_ENV=SR_BACKEND=fallback

check-examples-oldkernel:
	$(Q)$(MAKE) --no-print-directory check-examples EX_ENV=SR_KERNEL=5.10

check-examples-sanitize:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/san SAN="$(SANITIZE)" CFLAGS="-O1 -g" \
		ASAN_OPTIONS=detect_leaks=1 check-examples

check-examples-valgrind: $(EX_PROG_BINS) $(EX_TOOL_BINS)
	$(Q)$(EX_RUN) tests/examples/valgrind.sh

comma := ,

.PHONY: check-examples check-examples-fallback check-examples-oldkernel check-examples-sanitize \
	check-examples-valgrind
