# SPDX-License-Identifier: MIT
# Conformance on real kernels under qemu (issue 8): `make check-kernels`.
#
# The guest runs static programs from an initramfs, so everything it runs
# is built here with -static: the conformance runner, sr-probe, sr-kfacts
# (the spec's kernel dates against the kernel's own answers), sr-variants
# (the conformance runner told to try ops the spec dates later),
# sr-disabled (kernel.io_uring_disabled for real), sr-ktls with the https
# example (kTLS for real) and the init that runs them.  tests/kernels/guest-tests lists what runs;
# tests/kernels/run.sh boots, simulates and compares.
#
#   KERNELS=debian-5.10 debian-sid /path/bzImage name=/path/dir ...
#           (default: debian-5.10 debian-6.1 debian-6.12 debian-sid debian-experimental)
#   KERNEL_CACHE=~/.cache/safer-ring/kernels   KERNEL_JOBS=2
#   KERNEL_TIMEOUT=240   KERNEL_DISK=nvme|virtio|sata   QEMU=qemu-system-x86_64

DEPS_EXTRA += qemu-system-x86 cpio e2fsprogs xz-utils libssl-dev openssl
CHECK_EXTRA += check-kernels

KERNELS ?= debian-5.10 debian-6.1 debian-6.12 debian-sid debian-experimental
KERNEL_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/safer-ring/kernels
KERNEL_JOBS ?= 2
KERNEL_TIMEOUT ?= 240
KERNEL_DISK ?= nvme
QEMU ?= qemu-system-x86_64

KBUILD := $(BUILD)/kernels
KBIN := $(KBUILD)/bin
KERNEL_MANIFEST := tests/kernels/guest-tests

# The top Makefile defines CONF_SRC after including this file, so the
# conformance sources are named again here (prerequisites expand at once).
KCONF_SRC := tests/conformance/conf.c tests/conformance/matrix.c $(wildcard tests/live/*.c) \
	generated/tests/conformance_sqe.c generated/tests/conformance_live.c
KCONF_OBJ := $(patsubst %.c,$(KBUILD)/obj/%.o,$(KCONF_SRC))
# Our own flags, not TEST_CFLAGS: a sanitizer runtime cannot link -static.
KCFLAGS := -O1 -g -std=gnu11 $(WARN) -Wno-missing-prototypes
KLIBS := -lcunit -luring -lpthread
KERNEL_PROGS := $(KBIN)/init $(KBIN)/conformance $(KBIN)/sr-variants $(KBIN)/sr-probe $(KBIN)/sr-kfacts \
	$(KBIN)/sr-disabled $(KBIN)/sr-ktls $(KBIN)/https_server $(KBIN)/ktls-cert.pem

$(KBUILD)/obj/%.o: %.c $(HEADERS) tests/conformance/conf.h $(wildcard tests/live/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) -Itests/conformance $(KCFLAGS) -c -o $@ $<

$(KBIN)/conformance: $(KCONF_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -o $@ $(KCONF_OBJ) $(LIB_A) $(KLIBS)

$(KBIN)/sr-variants: $(KCONF_OBJ) $(KBUILD)/obj/tests/kernels/unlock.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -o $@ $(KCONF_OBJ) $(KBUILD)/obj/tests/kernels/unlock.o $(LIB_A) $(KLIBS)

$(KBIN)/sr-probe: $(KBUILD)/obj/tools/sr-probe.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -o $@ $< $(LIB_A) $(KLIBS)

$(KBIN)/sr-kfacts: $(KBUILD)/obj/tests/kernels/kfacts.o $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -o $@ $< $(LIB_A) $(KLIBS)

$(KBIN)/sr-disabled: tests/kernels/disabled.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -O2 -std=gnu11 $(WARN) -o $@ $<

# kTLS in the guest (ktls.c): the https example and an OpenSSL client,
# static (Debian's libssl-dev has the archives), and a certificate for
# localhost made here.
KSSL := -lssl -lcrypto -lpthread -ldl
$(KBIN)/sr-ktls: tests/kernels/ktls.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -O2 -std=gnu11 $(WARN) -o $@ $< $(KSSL)

KHTTPS_OBJ := $(patsubst %.c,$(KBUILD)/obj/%.o,$(wildcard examples/https_server/*.c))
$(KBUILD)/obj/examples/https_server/%.o: examples/https_server/%.c $(HEADERS) $(wildcard examples/https_server/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(KCFLAGS) -c -o $@ $<

$(KBIN)/https_server: $(KHTTPS_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -o $@ $(KHTTPS_OBJ) $(LIB_A) -luring $(KSSL)

$(KBIN)/ktls-cert.pem:
	@mkdir -p $(dir $@)
	@echo "  OPENSSL $@"
	$(Q)openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout $(KBIN)/ktls-key.pem -out $@.tmp 2>/dev/null && \
		mv $@.tmp $@

$(KBIN)/init: tests/kernels/init.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@ (static)"
	$(Q)$(CC) -static -O2 -std=gnu11 $(WARN) -o $@ $<

kernel-progs: $(KERNEL_PROGS)

# compare.py is first shown to fail on made-up runs where something went
# wrong, then judges the real ones.
check-kernels: $(KERNEL_PROGS)
	$(Q)$(PYTHON) tests/kernels/selftest.py $(KBUILD)/selftest
	$(Q)KERNELS="$(KERNELS)" KERNEL_TIMEOUT="$(KERNEL_TIMEOUT)" KERNEL_DISK="$(KERNEL_DISK)" QEMU="$(QEMU)" \
		KERNEL_CACHE="$(KERNEL_CACHE)" KERNEL_JOBS="$(KERNEL_JOBS)" \
		PYTHON="$(PYTHON)" tests/kernels/run.sh $(KBUILD) $(KBIN) $(KERNEL_MANIFEST)

.PHONY: kernel-progs check-kernels
