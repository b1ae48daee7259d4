# SPDX-License-Identifier: MIT
# SQE conformance against the newest liburing (issue 16): `make check-liburing`.
#
# Every io_uring_prep_* helper of Debian sid's liburing-dev must have a
# generated counterpart (an op, a variant, a form or a helpers: entry of
# spec/ops.yaml) writing the same SQE bytes; the spec's opcode numbers,
# SQE offsets and constants are checked against the same headers (with
# sid's linux-libc-dev, which liburing.h needs).  The packages come through
# the private apt lists of tests/kernels/fetch-debian.sh into the shared
# cache and are unpacked under $(BUILD)/liburing-next, never installed;
# one that cannot be had fails the check.  The test program is generated
# (generated/tests/conformance_liburing.c) and compiled only against those
# headers.  Prints
#   liburing-2.15: helpers=N sqe_equal=N missing=0 differ=0 (packages)

CHECK_EXTRA += check-liburing

LIBURING_NEXT := $(BUILD)/liburing-next
LIBURING_CACHE ?= $(KERNEL_CACHE)

# Runs every time (cheap once cached); the stamp moves only when the
# packages changed.
$(LIBURING_NEXT)/stamp: FORCE
	$(Q)tests/conformance/liburing-next.sh $(LIBURING_CACHE) $(LIBURING_NEXT)

$(BUILD)/conformance-liburing: generated/tests/conformance_liburing.c $(HEADERS) $(LIBURING_NEXT)/stamp
	@echo "  CCLD    $@ (against $$(cat $(LIBURING_NEXT)/version))"
	$(Q)$(CC) -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes -I$(LIBURING_NEXT) \
		-isystem $(LIBURING_NEXT)/root/usr/include $(CPPFLAGS) -o $@ $<

check-liburing: $(BUILD)/conformance-liburing
	$(Q)$(BUILD)/conformance-liburing

.PHONY: check-liburing
