# SPDX-License-Identifier: MIT
# safer-ring build.  `make demo` and `make check` are the two entry points;
# both start with `make deps`, which installs missing Debian packages.

# Debian's interpreter: python3-jinja2 and python3-yaml are installed for it.
# (A `python3` earlier on PATH, e.g. pyenv's, may lack them.)
PYTHON ?= /usr/bin/python3
CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin

VERSION := 0.1.0
SOVERSION := 0
BUILD ?= build

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS += -Iruntime/include -Igenerated/include
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -fPIC $(WARN)
LDLIBS += -luring -lpthread

.DELETE_ON_ERROR:
.SUFFIXES:

Q = @
ifeq ($(V),1)
Q =
endif

# --- generation -------------------------------------------------------------------

SPEC := spec/ops.yaml spec/ring.yaml spec/schema.yaml
GENERATOR := generator/gen.py $(wildcard generator/srgen/*.py)
TEMPLATES := $(wildcard templates/*.j2)
ORACLE := tests/oracle/opcodes.tsv tests/oracle/variants.tsv
GENERATED := generated/include/safer-ring/ops.h generated/include/safer-ring/prep.h \
	generated/include/safer-ring/api.h generated/src/op_table.c generated/docs/ops.md \
	generated/tests/conformance_sqe.c generated/tests/conformance_live.c

# One run writes every output (atomically, and only the changed ones).
generated/.stamp: $(SPEC) $(GENERATOR) $(TEMPLATES) $(ORACLE)
	@echo "  GEN     generated/"
	$(Q)$(PYTHON) generator/gen.py --spec spec --out generated --oracle tests/oracle/opcodes.tsv
	$(Q)touch $@

$(GENERATED): generated/.stamp ;

generate: generated/.stamp

check-gen:
	@rm -rf $(BUILD)/check-gen && mkdir -p $(BUILD)/check-gen
	$(Q)$(PYTHON) generator/gen.py --spec spec --out $(BUILD)/check-gen --oracle tests/oracle/opcodes.tsv >/dev/null
	$(Q)if diff -r -x .stamp $(BUILD)/check-gen generated >$(BUILD)/check-gen.diff; then \
		echo "check-gen: generated/ matches spec/, generator/ and templates/"; \
	else \
		echo "check-gen: generated/ is out of date; run make generate and commit:"; \
		head -40 $(BUILD)/check-gen.diff; exit 1; \
	fi

# --- library ------------------------------------------------------------------------

RUNTIME_SRC := $(wildcard runtime/src/*.c) generated/src/op_table.c
RUNTIME_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(RUNTIME_SRC))
HEADERS := $(wildcard runtime/include/*.h runtime/include/safer-ring/*.h) \
	generated/include/safer-ring/ops.h generated/include/safer-ring/prep.h \
	generated/include/safer-ring/api.h

LIB_A := $(BUILD)/libsafer-ring.a
LIB_SO := $(BUILD)/libsafer-ring.so.$(VERSION)

$(BUILD)/obj/%.o: %.c $(HEADERS) runtime/src/internal.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(RUNTIME_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(RUNTIME_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,libsafer-ring.so.$(SOVERSION) -o $@ $^ $(LDLIBS)
	$(Q)ln -sf libsafer-ring.so.$(VERSION) $(BUILD)/libsafer-ring.so.$(SOVERSION)
	$(Q)ln -sf libsafer-ring.so.$(SOVERSION) $(BUILD)/libsafer-ring.so

lib: $(LIB_A) $(LIB_SO)

all: lib

.PHONY: all lib generate check-gen
.DEFAULT_GOAL := all

# --- tests --------------------------------------------------------------------------

TEST_CFLAGS := -O1 -g -std=gnu11 $(WARN) -Wno-missing-prototypes
TEST_CPPFLAGS := $(CPPFLAGS) -Itests/conformance
CONF_SRC := tests/conformance/conf.c $(wildcard tests/live/*.c) \
	generated/tests/conformance_sqe.c generated/tests/conformance_live.c

$(BUILD)/conformance: $(CONF_SRC) tests/conformance/conf.h $(LIB_A)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ $(CONF_SRC) $(LIB_A) -lcunit $(LDLIBS)

# CONF_ONLY=op,op limits the run to those ops.
conformance: $(BUILD)/conformance
	$(Q)$(BUILD)/conformance

.PHONY: conformance
