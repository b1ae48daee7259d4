# SPDX-License-Identifier: MIT
# Mutation testing (tools/mutate/README.md); not part of `make check`.
#   make mutate                                every mutant of runtime/ and generator/
#   make mutate MUTATE_ONLY=runtime/src/pool.c one file (or directory; comma-separated)
#   make mutate MUTATE_LIMIT=100 MUTATE_SEED=7 a sample of 100, chosen by the seed
#   make mutate MUTATE_OPS=guard,bound         some operators only
#   make mutate-list                           the mutants and their keys, without running
# Mutants are built with ASan + UBSan (MUTATE_SAN=0: without) and run two at
# a time (MUTATE_JOBS, at most 2) in $(BUILD)/mutate; the reports are
# $(BUILD)/mutate/mutate-report.txt and .json.

MUTATE_ONLY ?=
MUTATE_OPS ?=
MUTATE_MATCH ?=
MUTATE_LIMIT ?= 0
MUTATE_SEED ?= 1
MUTATE_JOBS ?= 2
MUTATE_SAN ?= 1
MUTATE_TIMEOUT ?= 10
MUTATE_STAGES ?=
MUTATE_ARGS ?=
MUTATE_FUZZ_SEEDS ?= 1000

MUTATE_CMD = $(PYTHON) tools/mutate/mutate.py --build $(BUILD)/mutate --cc "$(CC)" \
	--cflags "$(CPPFLAGS) -DSR__BUILDING_LIBRARY $(CFLAGS) $(if $(filter 1,$(MUTATE_SAN)),$(SANITIZE))" \
	--test-cflags "$(TEST_CPPFLAGS) $(TEST_CFLAGS) $(if $(filter 1,$(MUTATE_SAN)),$(SANITIZE))" \
	--ldlibs "$(LDLIBS)" --runtime-src "$(RUNTIME_SRC)" --unit-src "$(UNIT_SRC)" --conf-src "$(CONF_SRC)" \
	--oom-src tests/unit/oom.c --fuzz-src "$(FUZZ_SRC)" --fuzz-flags "$(FUZZ_HAVE) $(FUZZ_WRAP)" \
	--fuzz-seeds $(MUTATE_FUZZ_SEEDS) \
	--gen-cmd "$(GEN_CMD)" --python "$(PYTHON)" --only "$(MUTATE_ONLY)" --ops "$(MUTATE_OPS)" \
	--match "$(MUTATE_MATCH)" --limit "$(MUTATE_LIMIT)" --seed "$(MUTATE_SEED)" --jobs "$(MUTATE_JOBS)" \
	--timeout "$(MUTATE_TIMEOUT)" --stages "$(MUTATE_STAGES)" $(MUTATE_ARGS)

mutate:
	$(Q)$(MUTATE_CMD)

mutate-list:
	$(Q)$(MUTATE_CMD) --list

.PHONY: mutate mutate-list
