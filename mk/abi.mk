# SPDX-License-Identifier: MIT
# The shared library's ABI (docs/abi.md):
#   make check-abi      the library against its committed baseline (abi/), with
#                       libabigail's abidiff: anything but additions fails unless
#                       the soname was bumped; the headers' inline code needs
#                       no symbol the version script does not export
#   make abi-baseline   write abi/libsafer-ring.so.$(SOVERSION).abi from the library
#                       (after a deliberate, documented change)
#   make check-abi-regen  a program built against today's headers runs against
#                       a library regenerated with an op and a variant added

DEPS_EXTRA += abigail-tools
CHECK_EXTRA += check-abi check-abi-regen

ABI_BASELINE := abi/libsafer-ring.so.$(SOVERSION).abi
ABI_SUPPRESS := abi/suppressions
ABIDW_FLAGS := --no-corpus-path --drop-private-types --headers-dir runtime/include --headers-dir generated/include

abi-baseline: $(LIB_SO)
	$(Q)abidw $(ABIDW_FLAGS) $(LIB_SO) >$(ABI_BASELINE).tmp && mv $(ABI_BASELINE).tmp $(ABI_BASELINE)
	@echo "abi-baseline: wrote $(ABI_BASELINE); commit it with the change it records"

# Every sr__ function the public headers' inline code calls is exported:
# compile each inline function (-fkeep-inline-functions) and list what the
# object needs from the library.
$(BUILD)/abi/inline-needs.txt: $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)printf '#include <safer-ring.h>\n' | $(CC) -x c -std=gnu11 -O0 -fkeep-inline-functions $(CPPFLAGS) \
		-c -o $(BUILD)/abi/inline.o -
	$(Q)nm -u $(BUILD)/abi/inline.o | awk '$$2 ~ /^sr/ {print $$2}' | sort >$@

check-abi: $(LIB_SO) $(BUILD)/abi/inline-needs.txt
	$(Q)nm -D --defined-only $(LIB_SO) | awk '{sub(/@.*/, "", $$3); print $$3}' | grep '^sr' | sort >$(BUILD)/abi/exported.txt
	$(Q)missing=$$(comm -23 $(BUILD)/abi/inline-needs.txt $(BUILD)/abi/exported.txt); \
	if [ -n "$$missing" ]; then echo "check-abi: inline code of the headers calls unexported: $$missing"; \
		echo "  (add them to runtime/libsafer-ring.map, the inline contract)"; exit 1; fi
	$(Q)base_so=$$(sed -n "s/.*soname='\([^']*\)'.*/\1/p" $(ABI_BASELINE) | head -1); \
	if [ "$$base_so" != "libsafer-ring.so.$(SOVERSION)" ]; then \
		echo "check-abi: the soname is libsafer-ring.so.$(SOVERSION), the baseline's $$base_so: a new ABI;"; \
		echo "  write its baseline with make abi-baseline and commit it"; exit 1; fi; \
	abidiff --no-added-syms --suppressions $(ABI_SUPPRESS) $(ABI_BASELINE) $(LIB_SO) >$(BUILD)/abi/abidiff.txt; \
	rc=$$?; \
	if [ $$rc -ne 0 ]; then cat $(BUILD)/abi/abidiff.txt | head -60; \
		echo "check-abi: libsafer-ring.so.$(SOVERSION) differs from $(ABI_BASELINE) in more than additions"; \
		echo "  (abidiff status $$rc).  An incompatible change needs SOVERSION bumped (Makefile) and a new"; \
		echo "  baseline (make abi-baseline); see docs/abi.md"; exit 1; fi; \
	added=$$(abidiff $(ABI_BASELINE) $(LIB_SO) | grep -c "^  \[A\]"); \
	echo "check-abi: $$(wc -l <$(BUILD)/abi/exported.txt) exported symbols, the inline code's $$(wc -l <$(BUILD)/abi/inline-needs.txt) among them; no incompatible change against $(ABI_BASELINE)$$( [ $$added -gt 0 ] && echo " ($$added added: refresh the baseline with make abi-baseline)")"

check-abi-regen: $(LIB_SO)
	$(Q)$(PYTHON) tests/abi/regen.py --build $(BUILD) --cc $(CC)

.PHONY: abi-baseline check-abi check-abi-regen
