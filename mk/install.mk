# SPDX-License-Identifier: MIT
# make install / uninstall as users run them (tests/install/check-install.sh):
#   make check-install   DESTDIR staging, another PREFIX and LIBDIR, PREFIX=/usr;
#                        the installed sr-conformance, sr-probe, uring-sync and a
#                        program built with pkg-config, run from the installed
#                        trees; uninstall leaves nothing
# The install rules themselves are in the Makefile (after every part has added
# its INSTALL_PROGS, INSTALL_DOCS and MAN_PAGES).

check-install: installable
	$(Q)MAKE="$(MAKE)" BUILD="$(BUILD)" VERSION=$(VERSION) SOVERSION=$(SOVERSION) CC="$(CC)" \
		tests/install/check-install.sh

CHECK_EXTRA += check-install

.PHONY: check-install
