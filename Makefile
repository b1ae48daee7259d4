# SPDX-License-Identifier: MIT
# safer-ring.  The two entry points, on a fresh Debian 12 machine:
#   make demo    generate, build, print the capability report, run an example
#   make check   every test
# Both start with `make deps`, which installs missing Debian packages.

# Debian's interpreter: python3-jinja2 and python3-yaml are installed for
# it.  A `python3` earlier on PATH (pyenv, a venv) may lack them.
PYTHON ?= /usr/bin/python3
CC ?= gcc
CLANG ?= clang
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DATAROOTDIR ?= $(PREFIX)/share
DOCDIR ?= $(DATAROOTDIR)/doc/safer-ring
MANDIR ?= $(DATAROOTDIR)/man

VERSION := 0.1.0
SOVERSION := 0
BUILD ?= build

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS += -Iruntime/include -Igenerated/include
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -fPIC $(WARN) $(SAN)
LDLIBS += -luring -lpthread

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

# Parts of the project add themselves through mk/*.mk (examples, tools,
# benchmarks, kernel tests): each appends to these.
DEPS_EXTRA :=		# Debian packages
ALL_EXTRA :=		# built by `make all`
CHECK_EXTRA :=		# run by `make check`, after the core tests
INSTALL_PROGS :=	# installed in BINDIR: $(BUILD)/inst/NAME, linked with LINK_INSTALLED
INSTALL_DOCS :=		# installed in DOCDIR: FILE:NAME
MAN_PAGES :=		# installed in MANDIR/manN: built pages named NAME.N
MAN_LINKS :=		# installed in MANDIR/manN as they are: built symlinks NAME.N to a page there
INSTALL_EXTRA :=	# run by `make install`
UNINSTALL_EXTRA :=	# run by `make uninstall`: undo what INSTALL_EXTRA did
DEMO_EXTRA :=		# run by `make demo`, after the capability report

# memcheck as every check runs it.  valgrind runs one thread at a time and,
# by default, lets a busy thread take its lock straight back: a thread that
# loops on sr_pool_take/_put then starves one waiting in fork()'s pool lock
# for minutes (the unit test "fork: pools across fork": 148 s, 3 s fair).
VALGRIND := valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
export VALGRIND
# A run under memcheck that hangs fails here, naming itself, rather than
# running into CI's limit (each takes 10-40 s).
VALGRIND_TIMEOUT := 900
# The same for the unit suite's plain and ASan runs (each takes 5-60 s): a
# regression that loops fails naming the run instead of hanging CI.
UNIT_TIMEOUT := 600

Q = @
ifeq ($(V),1)
Q =
endif

# --- Debian packages ----------------------------------------------------------------

DEPS := gcc make clang liburing-dev libcunit1-dev python3-jinja2 python3-yaml valgrind pkg-config

deps:
	@missing=$$(for p in $(DEPS) $(DEPS_EXTRA); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q "install ok installed" || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "  DEPS    apt-get install $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "Missing Debian packages. Install them with:"; \
		echo "  sudo apt-get install $$missing"; exit 1; \
	fi

# --- generation ------------------------------------------------------------------------

SPEC := spec/ops.yaml spec/ring.yaml spec/schema.yaml
GENERATOR := generator/gen.py $(wildcard generator/srgen/*.py)
TEMPLATES := $(wildcard templates/*.j2)
ORACLE := spec/oracle/opcodes.tsv spec/oracle/variants.tsv
GENERATED := generated/include/safer-ring/ops.h generated/include/safer-ring/prep.h \
	generated/include/safer-ring/api.h generated/src/op_table.c generated/docs/ops.md \
	generated/tests/conformance_sqe.c generated/tests/conformance_live.c generated/tests/conformance_liburing.c
GEN_CMD = $(PYTHON) generator/gen.py --spec spec

# One run renders every output and replaces only the files that changed;
# the stamp records that the run happened.
generated/.stamp: $(SPEC) $(GENERATOR) $(TEMPLATES) $(ORACLE)
	@echo "  GEN     generated/"
	$(Q)$(GEN_CMD) --out generated >/dev/null
	$(Q)touch $@

$(GENERATED): generated/.stamp ;

generate: generated/.stamp

# Regenerate into a scratch directory and compare: fails on any drift.
check-gen:
	$(Q)rm -rf $(BUILD)/check-gen && mkdir -p $(BUILD)/check-gen
	$(Q)$(GEN_CMD) --out $(BUILD)/check-gen >/dev/null
	$(Q)if diff -r -x .stamp $(BUILD)/check-gen generated >$(BUILD)/check-gen.diff; then \
		echo "check-gen: generated/ matches spec/, generator/ and templates/"; \
	else \
		echo "check-gen: generated/ is out of step; run make generate and commit it:"; \
		head -40 $(BUILD)/check-gen.diff; exit 1; \
	fi

# --- library ---------------------------------------------------------------------------

RUNTIME_SRC := $(wildcard runtime/src/*.c runtime/src/fallback/*.c) generated/src/op_table.c
RUNTIME_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(RUNTIME_SRC))
PUBLIC_HEADERS := $(wildcard runtime/include/safer-ring/*.h) \
	generated/include/safer-ring/ops.h generated/include/safer-ring/prep.h \
	generated/include/safer-ring/api.h
HEADERS := runtime/include/safer-ring.h $(PUBLIC_HEADERS) $(wildcard runtime/src/*.h runtime/src/fallback/*.h)

LIB_A := $(BUILD)/libsafer-ring.a
LIB_SO := $(BUILD)/libsafer-ring.so.$(VERSION)

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) -DSR__BUILDING_LIBRARY $(CFLAGS) $(LIB_VISIBILITY) -c -o $@ $<

# SR__BUILDING_LIBRARY: the library reads the generated tables as arrays
# (programs call for them: docs/abi.md).  The runtime's own symbols are
# hidden unless a public header declares them (runtime/src/base.h); the
# generated op table is not compiled hidden (its tables are read through
# functions).  The version script fixes what the shared library exports.
LIB_VISIBILITY = $(if $(filter runtime/%,$<),-fvisibility=hidden)
LIB_MAP := runtime/libsafer-ring.map

$(LIB_A): $(RUNTIME_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(RUNTIME_OBJ) $(LIB_MAP)
	@echo "  LD      $@"
	$(Q)$(CC) $(SAN) $(LDFLAGS) -shared -Wl,-soname,libsafer-ring.so.$(SOVERSION) -Wl,--version-script=$(LIB_MAP) \
		-o $@ $(RUNTIME_OBJ) $(LDLIBS)
	$(Q)ln -sf libsafer-ring.so.$(VERSION) $(BUILD)/libsafer-ring.so.$(SOVERSION)
	$(Q)ln -sf libsafer-ring.so.$(SOVERSION) $(BUILD)/libsafer-ring.so

lib: $(LIB_A) $(LIB_SO)

# --- tools and examples ------------------------------------------------------------------

$(BUILD)/sr-probe: tools/sr-probe.c $(LIB_A)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) -DSR_TOOL_VERSION='"$(VERSION)"' $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

EXAMPLES := quickstart
EXAMPLE_BINS := $(addprefix $(BUILD)/examples/,$(EXAMPLES))

$(BUILD)/examples/%: examples/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

tools: $(BUILD)/sr-probe

# What `make install` puts in BINDIR is linked again, against the shared
# library, by rules using LINK_INSTALLED; the programs above use the static
# library (tests, the demo, the guests of check-kernels).  Both depend on
# INSTALL_STAMP, which changes when the install directories do: the RUNPATH
# and the .pc file name them.
INSTALL_STAMP := $(BUILD)/install.vars
LINK_INSTALLED = $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(if $(RPATH),-Wl$(comma)-rpath$(comma)$(RPATH)) -o $@
INSTALLED_LIBS = -L$(BUILD) -lsafer-ring $(LDLIBS)
comma := ,
examples: $(EXAMPLE_BINS)

# The parts in mk/ (after the library's variables, before the targets that list them).
-include $(sort $(wildcard mk/*.mk))

all: lib tools examples $(ALL_EXTRA)

# --- tests -----------------------------------------------------------------------------

TEST_CFLAGS = -O1 -g -std=gnu11 $(WARN) -Wno-missing-prototypes $(SAN)
TEST_CPPFLAGS = $(CPPFLAGS) -Itests/conformance
CONF_SRC := tests/conformance/conf.c tests/conformance/matrix.c $(wildcard tests/live/*.c) \
	generated/tests/conformance_sqe.c generated/tests/conformance_live.c

$(BUILD)/conformance: $(CONF_SRC) tests/conformance/conf.h $(wildcard tests/live/*.h) $(LIB_A)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ $(CONF_SRC) $(LIB_A) -lcunit $(LDLIBS)

UNIT_SRC := tests/unit/test_runtime.c tests/unit/test_fallback.c tests/unit/test_buffers.c \
	tests/unit/test_safety.c tests/unit/test_bounds.c tests/unit/test_observe.c tests/unit/test_dump.c \
	tests/unit/test_guards.c tests/unit/test_refusals.c
$(BUILD)/test_runtime: $(UNIT_SRC) tests/unit/unit.h $(LIB_A)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ $(UNIT_SRC) $(LIB_A) -lcunit $(LDLIBS)

$(BUILD)/test_oom: tests/unit/oom.c $(LIB_A)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

# Every allocation of a scenario fails in turn, on both backends.
oom: $(BUILD)/test_oom
	$(Q)$(BUILD)/test_oom

# CONF_ONLY=op,op limits the run to those ops.
conformance: $(BUILD)/conformance
	$(Q)$(BUILD)/conformance

# Twice: on io_uring, and on the fallback backend (the misuse rules are the same).
unit: $(BUILD)/test_runtime
	$(Q)timeout -k 10 $(UNIT_TIMEOUT) $(BUILD)/test_runtime || \
		{ echo "unit: failed, or ran past $(UNIT_TIMEOUT) s (exit $$?)"; exit 1; }
	$(Q)SR_BACKEND=fallback timeout -k 10 $(UNIT_TIMEOUT) $(BUILD)/test_runtime >$(BUILD)/unit-fallback.log 2>&1 || \
		{ cat $(BUILD)/unit-fallback.log; echo "unit: fails with SR_BACKEND=fallback (or ran past $(UNIT_TIMEOUT) s)"; exit 1; }
	@echo "unit: with SR_BACKEND=fallback: $$(grep -E '^ +tests ' $(BUILD)/unit-fallback.log | \
		awk '{print $$4 " of " $$2 " pass"}'), $$(grep -c 'skip:' $(BUILD)/unit-fallback.log) skip (io_uring only)"

# Every op's scenario under every configuration (native, no io_uring,
# simulated older kernels, seccomp filters): the table and one summary line.
matrix: $(BUILD)/conformance
	$(Q)$(BUILD)/conformance --matrix >$(BUILD)/matrix.log 2>&1 || { cat $(BUILD)/matrix.log; exit 1; }
	$(Q)sed -n '/^fallback matrix/,$$p' $(BUILD)/matrix.log

compile-fail:
	$(Q)tests/compile-fail/run.sh $(CC)
	$(Q)tests/compile-fail/run.sh $(CLANG)

# The generator's golden, bad-spec, op-id and header tests, then a short
# fuzz of the spec loader: the first cases of a fixed seed (400, or what
# 20 s allow).  gen-fuzz runs it for FUZZ_SECONDS from a random seed; a
# failing case is kept in $(BUILD)/fuzz-failures/.
FUZZ_SECONDS ?= 600
gen-tests:
	$(Q)$(PYTHON) tests/gen/run_tests.py
	$(Q)BUILD=$(BUILD) $(PYTHON) tests/gen/fuzz.py --seed 1 --cases 400 --seconds 20

gen-fuzz:
	$(Q)BUILD=$(BUILD) $(PYTHON) tests/gen/fuzz.py --cases 1000000 --seconds $(FUZZ_SECONDS)

# Public headers, as `make install` puts them, each compile alone (no
# feature macro asked of the program) and all together in either order:
# gcc and clang in C11, C17, C2x and the GNU modes, g++ and clang++ in
# C++17 and C++20, -pedantic -Wall -Wextra -Werror (tests/headers/check.sh).
HEADERS_ROOT = $(BUILD)/headers-root
headers: installable
	$(Q)rm -rf $(HEADERS_ROOT)
	$(Q)$(MAKE) --no-print-directory install DESTDIR=$(abspath $(HEADERS_ROOT)) LDCONFIG=: >/dev/null
	$(Q)CC="$(CC)" CLANG="$(CLANG)" tests/headers/check.sh $(HEADERS_ROOT)$(INCLUDEDIR)

# The runtime's layers call only downward, no include cycle outside the
# fallback backend, no file over 700 lines, docs/architecture.md in step
# (tests/arch/layers.py); make arch rewrites its generated parts.
check-arch:
	$(Q)$(PYTHON) tests/arch/layers.py --check

arch:
	$(Q)$(PYTHON) tests/arch/layers.py --write

# The README's code: its C blocks compile, its calls have the headers' argument counts.
check-readme: $(GENERATED)
	$(Q)$(PYTHON) tests/readme/check.py --cc $(CC) README.md runtime/include generated/include

# The library and the tests build warning-free with clang too.
clang-build:
	$(Q)$(MAKE) --no-print-directory CC=$(CLANG) BUILD=$(BUILD)/clang lib $(BUILD)/clang/conformance installable \
		$(BUILD)/clang/test_runtime tools examples >/dev/null
	@echo "clang-build: library, tools, examples and tests build with clang -Werror"

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check-sanitize:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/san SAN="$(SANITIZE)" CFLAGS="-O1 -g" \
		$(BUILD)/san/test_runtime $(BUILD)/san/conformance $(BUILD)/san/test_oom >/dev/null
	$(Q)ASAN_OPTIONS=detect_leaks=1 timeout -k 10 $(UNIT_TIMEOUT) $(BUILD)/san/test_runtime >$(BUILD)/san/unit.log 2>&1 || \
		{ tail -40 $(BUILD)/san/unit.log; echo "sanitize: unit failed, or ran past $(UNIT_TIMEOUT) s"; exit 1; }
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(BUILD)/san/test_oom >$(BUILD)/san/oom.log 2>&1 || \
		{ tail -40 $(BUILD)/san/oom.log; exit 1; }
	$(Q)ASAN_OPTIONS=detect_leaks=1 SR_BACKEND=fallback timeout -k 10 $(UNIT_TIMEOUT) $(BUILD)/san/test_runtime \
		>$(BUILD)/san/unit-fallback.log 2>&1 || \
		{ tail -40 $(BUILD)/san/unit-fallback.log; echo "sanitize: unit (fallback) failed, or ran past $(UNIT_TIMEOUT) s"; exit 1; }
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(BUILD)/san/conformance >$(BUILD)/san/conformance.log 2>&1 || \
		{ grep -E "ERROR|FAIL|conformance:" $(BUILD)/san/conformance.log | head -40; exit 1; }
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(BUILD)/san/conformance --matrix >$(BUILD)/san/matrix.log 2>&1 || \
		{ grep -E "ERROR|FAILED|fallback-matrix:" $(BUILD)/san/matrix.log | head -40; exit 1; }
	@echo "sanitize: unit (io_uring and fallback backend), every allocation failing in turn ($$(tail -1 $(BUILD)/san/oom.log)), conformance and fallback matrix pass under ASan + UBSan ($$(tail -1 $(BUILD)/san/conformance.log); $$(tail -1 $(BUILD)/san/matrix.log))"

# The unit suite is clean under valgrind's memcheck, on both backends.
check-valgrind: $(BUILD)/test_runtime
	$(Q)for be in uring fallback; do \
		log=$(BUILD)/valgrind-$$be.log; \
		SR_BACKEND=$$be timeout -k 10 $(VALGRIND_TIMEOUT) $(VALGRIND) $(BUILD)/test_runtime >$$log 2>&1; rc=$$?; \
		[ $$rc = 0 ] && continue; \
		if grep -q "test_runtime: the test" $$log; then \
			awk 'st && !/ (at|by) 0x/ { exit } /test_runtime: the test/ { on = 1 } on { print } \
				/main thread is here/ { st = 1 }' $$log | head -60; \
		else tail -40 $$log; fi; \
		echo "check-valgrind: the unit suite ($$be backend) failed (exit $$rc) under valgrind; the last test it started: $$(grep -o 'Test: .*' $$log | tail -1 | sed 's/ \.\.\..*//')"; \
		exit 1; \
	done
	@echo "valgrind: unit suite clean (io_uring and fallback backend)"

check: deps check-gen gen-tests check-arch all headers check-readme compile-fail unit oom conformance matrix clang-build check-sanitize \
	check-valgrind $(CHECK_EXTRA)
	@echo "check: all passed"

# --- demo -------------------------------------------------------------------------------------

demo: deps generate all
	@echo; echo "== sr-probe: what io_uring offers here =="; echo
	$(Q)$(BUILD)/sr-probe
	@echo; echo "== examples/quickstart: a read through the checked API =="; echo
	$(Q)$(BUILD)/examples/quickstart /etc/os-release
	$(Q)$(if $(DEMO_EXTRA),$(MAKE) --no-print-directory $(DEMO_EXTRA))

# --- install ------------------------------------------------------------------------------------
#
#   make install [PREFIX=/usr/local] [LIBDIR=...] [BINDIR=...] [DESTDIR=/staging/root]
#   make uninstall (with the same directories) removes what install installed
#
# Every install writes the .pc file for its own PREFIX and LIBDIR.  The
# installed programs carry a RUNPATH to LIBDIR when the dynamic linker does
# not search it by itself (as libtool does); RPATH= turns that off.  Run
# as root without DESTDIR, install ends with ldconfig (LDCONFIG=: skips it).

MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
SYSTEM_LIBDIRS := /lib /usr/lib /lib64 /usr/lib64 $(if $(MULTIARCH),/lib/$(MULTIARCH) /usr/lib/$(MULTIARCH))
RPATH ?= $(if $(filter $(SYSTEM_LIBDIRS),$(patsubst %/,%,$(LIBDIR))),,$(LIBDIR))
LDCONFIG ?= ldconfig

INSTALL_VARS := prefix=$(PREFIX) libdir=$(LIBDIR) includedir=$(INCLUDEDIR) rpath=$(RPATH) version=$(VERSION)

# Rewritten only when the directories change, so that what names them is rebuilt then.
$(INSTALL_STAMP): FORCE
	@mkdir -p $(dir $@)
	$(Q)echo '$(INSTALL_VARS)' | cmp -s - $@ 2>/dev/null || echo '$(INSTALL_VARS)' >$@

FORCE:

# ${prefix}-relative where the directories are under PREFIX (pkg-config --define-prefix).
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

$(BUILD)/safer-ring.pc: $(INSTALL_STAMP) Makefile
	@mkdir -p $(BUILD)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call pc_path,$(LIBDIR))' \
		'includedir=$(call pc_path,$(INCLUDEDIR))' '' \
		'Name: safer-ring' 'Description: io_uring with typed, ownership-checked operations' \
		'Version: $(VERSION)' 'Requires.private: liburing' 'Libs: -L$${libdir} -lsafer-ring' \
		'Libs.private: -lpthread' 'Cflags: -I$${includedir}' >$@

$(BUILD)/inst/sr-probe: tools/sr-probe.c $(HEADERS) $(LIB_SO) $(INSTALL_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(LINK_INSTALLED) -DSR_TOOL_VERSION='"$(VERSION)"' $< $(INSTALLED_LIBS)

# The conformance runner, for machines without the source tree: CUnit is
# linked in (only the generated SQE tests use it).  Objects apart, so that
# another install's RUNPATH only relinks it.
SR_CONFORMANCE_SRC := tools/sr-conformance.c $(CONF_SRC)
SR_CONFORMANCE_OBJ := $(patsubst %.c,$(BUILD)/inst/obj/%.o,$(SR_CONFORMANCE_SRC))

$(BUILD)/inst/obj/%.o: %.c $(HEADERS) tests/conformance/conf.h $(wildcard tests/live/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) -Itests/conformance -DCONF_NO_MAIN -DSR_TOOL_VERSION='"$(VERSION)"' $(CFLAGS) \
		-Wno-missing-prototypes -c -o $@ $<

$(BUILD)/inst/obj/tools/sr-conformance.o: $(INSTALL_STAMP)	# the version
$(BUILD)/inst/sr-conformance: $(SR_CONFORMANCE_OBJ) $(LIB_SO) $(INSTALL_STAMP)
	@echo "  CCLD    $@"
	$(Q)$(LINK_INSTALLED) $(SR_CONFORMANCE_OBJ) -Wl,-Bstatic -lcunit -Wl,-Bdynamic $(INSTALLED_LIBS)

# Run from the build tree: LD_LIBRARY_PATH=build build/inst/sr-conformance
sr-conformance: $(BUILD)/inst/sr-conformance

INSTALL_PROGS += $(BUILD)/inst/sr-probe $(BUILD)/inst/sr-conformance
INSTALL_DOCS += README.md:README.md generated/docs/ops.md:ops.md

# Man pages, a section at a time (a command each for hundreds of pages and links).
man_sections = $(sort $(subst .,,$(suffix $(MAN_PAGES) $(MAN_LINKS))))
define install_man
echo "install -m 644 $(words $(filter %.$(1),$(MAN_PAGES))) pages, cp -P $(words $(filter %.$(1),$(MAN_LINKS))) links \
	$(DESTDIR)$(MANDIR)/man$(1)/" && install -d $(DESTDIR)$(MANDIR)/man$(1) && \
	$(if $(filter %.$(1),$(MAN_PAGES)),install -m 644 $(filter %.$(1),$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man$(1)/ &&) \
	$(if $(filter %.$(1),$(MAN_LINKS)),cp -P --remove-destination $(filter %.$(1),$(MAN_LINKS)) $(DESTDIR)$(MANDIR)/man$(1)/ &&) \
	true;
endef
define uninstall_man
echo "rm -f $(words $(filter %.$(1),$(MAN_PAGES) $(MAN_LINKS))) man pages and links in $(DESTDIR)$(MANDIR)/man$(1)/" && \
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man$(1)/,$(notdir $(filter %.$(1),$(MAN_PAGES) $(MAN_LINKS))));
endef

# Everything `make install` installs, built.
installable: lib $(BUILD)/safer-ring.pc $(INSTALL_PROGS) $(MAN_PAGES) $(MAN_LINKS)

install: installable
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/safer-ring $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libsafer-ring.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsafer-ring.so.$(SOVERSION)
	ln -sf libsafer-ring.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libsafer-ring.so
	install -m 644 runtime/include/safer-ring.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/safer-ring/
	install -m 644 $(BUILD)/safer-ring.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 755 $(INSTALL_PROGS) $(DESTDIR)$(BINDIR)/
	$(Q)for d in $(INSTALL_DOCS); do \
		echo "install -m 644 $${d%%:*} $(DESTDIR)$(DOCDIR)/$${d#*:}"; \
		install -m 644 $${d%%:*} $(DESTDIR)$(DOCDIR)/$${d#*:} || exit 1; \
	done
	$(Q)$(foreach s,$(man_sections),$(call install_man,$(s)))
	$(Q)$(if $(INSTALL_EXTRA),$(MAKE) --no-print-directory $(INSTALL_EXTRA))
	$(Q)if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then echo "$(LDCONFIG)"; $(LDCONFIG); fi

# Names only: uninstall builds nothing.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/libsafer-ring.,a so so.$(SOVERSION) so.$(VERSION)) \
		$(DESTDIR)$(INCLUDEDIR)/safer-ring.h $(DESTDIR)$(PKGCONFIGDIR)/safer-ring.pc
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/safer-ring/,$(notdir $(PUBLIC_HEADERS)))
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_PROGS)))
	$(Q)for d in $(INSTALL_DOCS); do echo "rm -f $(DESTDIR)$(DOCDIR)/$${d#*:}"; rm -f $(DESTDIR)$(DOCDIR)/$${d#*:}; done
	$(Q)$(foreach s,$(man_sections),$(call uninstall_man,$(s)))
	$(Q)$(if $(UNINSTALL_EXTRA),$(MAKE) --no-print-directory $(UNINSTALL_EXTRA))
	$(Q)for d in $(DESTDIR)$(INCLUDEDIR)/safer-ring $(DESTDIR)$(DOCDIR); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; done

clean:
	rm -rf $(BUILD) generated/.stamp

.PHONY: all deps generate check-gen lib tools examples conformance unit oom matrix compile-fail gen-tests gen-fuzz \
	headers check-readme check-arch arch clang-build check-sanitize check-valgrind check demo installable install uninstall sr-conformance clean FORCE
