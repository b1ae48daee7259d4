# SPDX-License-Identifier: MIT
# Man pages: one per op in section 3 and the index safer-ring-ops(7)
# (generated/man, from the spec), the runtime API in section 3, the overview
# safer-ring(7) and the tools in section 1 (docs/man, by hand).
#   make man         build them into $(BUILD)/man: the release filled in
#                    (VERSION, and the date of its debian/changelog entry),
#                    and every other name a page lists in its NAME section a
#                    symlink to it (sr_read_submit.3 -> sr_read.3)
#   make check-man   mandoc -T lint, groff -ww and man --warnings say nothing
#                    about any page; every synopsis compiles against the
#                    headers (prototypes, struct members, constants); every
#                    public function, macro and table has a page; the tools'
#                    pages document every option and variable of their --help;
#                    and mistakes made in a copy of the pages are caught
# `man -M $(BUILD)/man sr_read` reads them from the build tree.

MAN_SRC := $(sort $(wildcard generated/man/man[1-9]/*.[1-9] docs/man/*.[1-9]))
man_out = $(foreach f,$(1),$(BUILD)/man/man$(subst .,,$(suffix $(f)))/$(notdir $(f)))
MAN_OUT := $(call man_out,$(MAN_SRC))

# Every name of each page's NAME section: "man3/sr_read_submit.3:sr_read.3",
# one word per link (the page's own name is not one).
MAN_NAMES := $(shell awk 'FNR == 1 { p = FILENAME; sub(/.*\//, "", p); s = p; sub(/.*\./, "", s); n = 0 } \
	/^\.SH / { n = ($$0 == ".SH NAME"); next } \
	n { d = match($$0, /(^| )\\-( |$$)/); l = d ? substr($$0, 1, d - 1) : $$0; gsub(/\\-/, "-", l); gsub(/,/, " ", l); \
		k = split(l, w, " "); for (i = 1; i <= k; i++) if (w[i] "." s != p) print "man" s "/" w[i] "." s ":" p; \
		if (d) n = 0 }' $(MAN_SRC) /dev/null)
MAN_LINK_OUT := $(addprefix $(BUILD)/man/,$(foreach l,$(MAN_NAMES),$(firstword $(subst :, ,$(l)))))

# The op pages come from the generator, like the headers.
$(filter generated/%,$(MAN_SRC)): generated/.stamp ;

MAN_PAGES += $(MAN_OUT)
MAN_LINKS += $(MAN_LINK_OUT)

# The release, as a sed script for the .TH line: rewritten only when it changes.
MAN_RELEASE := $(BUILD)/man/release.sed
$(MAN_RELEASE): FORCE
	@mkdir -p $(dir $@)
	$(Q)d=$$(sed -n 's/^ -- .*>  \(.*\)$$/\1/p' debian/changelog | head -1) && \
	d=$$(date -u -d "$$d" +%Y-%m-%d) && \
	echo "/^\.TH /{s/@DATE@/$$d/;s/@VERSION@/$(VERSION)/;}" | cmp -s - $@ 2>/dev/null || \
	echo "/^\.TH /{s/@DATE@/$$d/;s/@VERSION@/$(VERSION)/;}" >$@

define man_rule
$(call man_out,$(1)): $(1) $(MAN_RELEASE)
	@mkdir -p $$(dir $$@)
	$$(Q)sed -f $(MAN_RELEASE) $$< >$$@.tmp && chmod 644 $$@.tmp && mv $$@.tmp $$@
endef
$(foreach f,$(MAN_SRC),$(eval $(call man_rule,$(f))))

# All the links at once (a page's NAME section changes them); stale ones go.
$(BUILD)/man/links: $(MAN_OUT)
	@echo "  LN      $(words $(MAN_NAMES)) man page links"
	$(Q)find $(BUILD)/man -type l -delete
	$(Q)cd $(BUILD)/man && for l in $(MAN_NAMES); do \
		ln -s "$${l#*:}" "$${l%%:*}" || exit 1; \
	done
	$(Q)printf '%s\n' $(MAN_NAMES) >$@
$(MAN_LINK_OUT): $(BUILD)/man/links ;

man: $(MAN_OUT) $(BUILD)/man/links

MAN_CHECK_TOOLS := $(BUILD)/sr-probe $(BUILD)/inst/sr-conformance $(BUILD)/uring-sync

check-man: man $(LIB_SO) $(MAN_CHECK_TOOLS)
	$(Q)BUILD=$(BUILD) CC="$(CC)" CLANG="$(CLANG)" $(PYTHON) tests/man/check_man.py $(BUILD)/man \
		--tool sr-probe=$(BUILD)/sr-probe --tool sr-conformance=$(BUILD)/inst/sr-conformance \
		--tool uring-sync=$(BUILD)/uring-sync
	$(Q)BUILD=$(BUILD) CC="$(CC)" CLANG="$(CLANG)" $(PYTHON) tests/man/check_man.py $(BUILD)/man --self-test

DEPS_EXTRA += mandoc groff-base man-db
CHECK_EXTRA += check-man

.PHONY: man check-man
