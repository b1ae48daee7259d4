# SPDX-License-Identifier: MIT
# Debian packages (debian/): libsafer-ring0, libsafer-ring-dev, safer-ring-tools.
#   make deb   build them with dpkg-buildpackage -us -uc -b in a copy of the tree
#              ($(BUILD)/deb: the checkout stays clean), lintian (no errors),
#              unpack them with dpkg -x in $(BUILD)/deb/root (nothing is
#              installed on the machine) and run sr-conformance, sr-probe,
#              uring-sync and a program built against them from there

DEPS_EXTRA += build-essential debhelper lintian dpkg-dev

deb:
	$(Q)tests/install/deb.sh $(BUILD)/deb

CHECK_EXTRA += deb

.PHONY: deb
