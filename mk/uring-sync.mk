# SPDX-License-Identifier: MIT
# uring-sync: a tree copier on safer-ring (tools/uring-sync, tests/uring-sync).

US_SRC := $(wildcard tools/uring-sync/*.c)
US_HDR := $(wildcard tools/uring-sync/*.h)
US_BIN := $(BUILD)/uring-sync

$(US_BIN): $(US_SRC) $(US_HDR) $(LIB_A)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(US_SRC) $(LIB_A) $(LDLIBS)

uring-sync: $(US_BIN)

DEPS_EXTRA += rsync acl attr
ALL_EXTRA += uring-sync

.PHONY: uring-sync
