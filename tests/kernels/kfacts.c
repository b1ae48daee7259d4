/* SPDX-License-Identifier: MIT */
/*
 * sr-kfacts: does the spec's kernel table tell the truth about the
 * running kernel?
 *
 * The library decides what a kernel offers from the versions in the spec
 * (the generated sr_op_table, sr_setup_flag_table, sr_feature_table), and
 * SR_KERNEL simulations share that belief.  An op the spec dates too late
 * is refused before the kernel is ever asked, so running the conformance
 * suite on a real kernel cannot show that mistake; asking the kernel
 * directly can.  For the running kernel (its uname, never SR_KERNEL) this
 * checks:
 *
 *   opcode N   the opcode probe supports it exactly when the earliest op
 *              of the spec using opcode N is dated at or before the
 *              running kernel; a supported opcode the spec lacks is a
 *              finding too;
 *   setup F    io_uring_setup accepts flag F (with the flags it requires)
 *              exactly when the spec dates all of them at or before the
 *              running kernel, and refuses it with EINVAL otherwise;
 *   feature F  io_uring_setup reports feature F exactly when the spec
 *              dates it at or before the running kernel.
 *
 * Ops that share an opcode with an older op (flag variants such as
 * timeout_multishot) cannot be told apart by the probe; the conformance
 * suite's live round trips cover those the spec says are present.
 *
 * Every answer is classified and said what it means:
 *   agree     the kernel has it exactly when the spec's date says so;
 *   ahead     the kernel has it before the spec's (mainline) date: a
 *             stable series carrying later io_uring (Debian's 5.10.y has
 *             shutdown, renameat, unlinkat and FEAT_RSRC_TAGS).  Not a
 *             fault of the spec; the library reads the same facts
 *             (sr__uring_level) and uses what the kernel shows;
 *   DISAGREE  the kernel lacks what the spec dates at or before it, or
 *             has something the spec does not know, or answers setup
 *             with an error that fits neither yes nor no.
 * io_uring_setup's answers: 0 yes; EINVAL no (an unknown flag, or one
 * missing what it needs); EOVERFLOW yes, the kernel knows the flag but
 * not for this ring's size (SQE_MIXED on a one-entry SQ: a 128-byte SQE
 * takes two slots), so it is asked again with 8 entries; anything else
 * (EPERM, ENOMEM, ...) is the machine standing in the way: a DISAGREE
 * naming it, since the guest runs as root with room.
 *
 * Prints one line per check, then
 *   kfacts: kernel=R opcodes=N setup_flags=N features=N agree=N ahead=N disagree=N
 * and exits 1 when anything disagrees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <safer-ring.h>

static unsigned n_agree, n_ahead, n_disagree;

/* have: the kernel has it; spec_has: the spec dates it at or before the kernel. */
static void judge(bool have, bool spec_has, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void judge(bool have, bool spec_has, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (have == spec_has) {
		printf(": agree\n");
		n_agree++;
	} else if (have) {
		printf(": ahead (the kernel has it before its mainline release: a backport)\n");
		n_ahead++;
	} else {
		printf(": DISAGREE\n");
		n_disagree++;
	}
}

static void verdict(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void verdict(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s\n", ok ? "agree" : "DISAGREE");
	if (ok)
		n_agree++;
	else
		n_disagree++;
}

static const char *ver(uint32_t code, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u", code >> 16, (code >> 8) & 0xff);
	return buf;
}

static unsigned check_opcodes(uint32_t running)
{
	uint32_t first[256];
	const char *name[256];
	struct io_uring_probe *p;
	struct io_uring ring;
	unsigned n = 0;
	char v[16];

	for (unsigned i = 0; i < 256; i++) {
		first[i] = UINT32_MAX;
		name[i] = NULL;
	}
	for (unsigned op = 0; op < sr_op_count; op++) {
		const struct sr_op_info *o = &sr_op_table[op];

		if (o->kernel < first[o->opcode]) {
			first[o->opcode] = o->kernel;
			name[o->opcode] = o->name;
		}
	}
	if (io_uring_queue_init(4, &ring, 0)) {
		printf("opcode probe: cannot create a ring: DISAGREE\n");
		n_disagree++;
		return 0;
	}
	p = io_uring_get_probe_ring(&ring);
	if (!p) {
		printf("opcode probe: IORING_REGISTER_PROBE failed: DISAGREE\n");
		n_disagree++;
		io_uring_queue_exit(&ring);
		return 0;
	}
	printf("opcode probe: last_op %u\n", p->last_op);
	for (unsigned i = 0; i < 256; i++) {
		bool have = i <= p->last_op && i < p->ops_len && (p->ops[i].flags & IO_URING_OP_SUPPORTED);

		if (!name[i]) {
			if (have) {
				verdict(false, "opcode %u: the kernel supports it; the spec has no op for it", i);
				n++;
			}
			continue;
		}
		judge(have, first[i] <= running, "opcode %u %s: spec %s, kernel %s", i, name[i],
		      ver(first[i], v, sizeof(v)), have ? "supports it" : "lacks it");
		n++;
	}
	io_uring_free_probe(p);
	io_uring_queue_exit(&ring);
	return n;
}

static const struct sr_flag_info *flag_at(unsigned bit)
{
	for (unsigned i = 0; i < sr_setup_flag_count; i++)
		if (sr_setup_flag_table[i].bit == bit)
			return &sr_setup_flag_table[i];
	return NULL;
}

/* The newest spec date among the flags set in bits. */
static uint32_t newest(uint32_t bits)
{
	uint32_t k = 0;

	for (unsigned b = 0; b < 32; b++) {
		const struct sr_flag_info *f = flag_at(b);

		if ((bits & (1U << b)) && f && f->kernel > k)
			k = f->kernel;
	}
	return k;
}

/*
 * Ask io_uring_setup for flags, giving each flag what it needs to be
 * valid: a CQ size, a ring to attach to, memory for NO_MMAP rings.
 * Returns 0 when the kernel accepted them, else the negative errno.
 */
static int try_setup(uint32_t flags, int wq_fd, unsigned entries)
{
	struct io_uring_params p;
	void *mem[2] = { NULL, NULL };
	long fd;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	if (flags & SR_IORING_SETUP_CQSIZE)
		p.cq_entries = 8;
	if (flags & SR_IORING_SETUP_ATTACH_WQ)
		p.wq_fd = (uint32_t)wq_fd;
	if (flags & SR_IORING_SETUP_NO_MMAP) {
		/* NO_MMAP: rings and SQEs in memory we give, one page
		 * each (a single page needs no huge page); sq_off.user_addr
		 * and cq_off.user_addr were resv2 before 6.5. */
		for (unsigned i = 0; i < 2; i++) {
			mem[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (mem[i] == MAP_FAILED)
				return -ENOMEM;
		}
		p.cq_off.resv2 = (uint64_t)(uintptr_t)mem[0];
		p.sq_off.resv2 = (uint64_t)(uintptr_t)mem[1];
	}
	fd = syscall(__NR_io_uring_setup, entries, &p);
	ret = fd < 0 ? -errno : 0;
	/* With REGISTERED_FD_ONLY the result is a registered index, not an fd. */
	if (fd >= 0 && !(flags & SR_IORING_SETUP_REGISTERED_FD_ONLY))
		close((int)fd);
	for (unsigned i = 0; i < 2; i++)
		if (mem[i] && mem[i] != MAP_FAILED)
			munmap(mem[i], 4096);
	return ret;
}

static unsigned check_setup_flags(uint32_t running)
{
	struct io_uring base;
	unsigned n = 0;
	char v[16], names[400];

	if (io_uring_queue_init(4, &base, 0)) {
		printf("setup flags: cannot create a plain ring: DISAGREE\n");
		n_disagree++;
		return 0;
	}
	for (unsigned i = 0; i < sr_setup_flag_count; i++) {
		const struct sr_flag_info *f = &sr_setup_flag_table[i];
		uint32_t bits = (1U << f->bit) | f->requires_all, spec;
		bool expect;
		int ret;

		if (f->requires_any) {
			/* One of them is needed: the oldest will do. */
			uint32_t pick = 0, k = UINT32_MAX;

			for (unsigned b = 0; b < 32; b++)
				if ((f->requires_any & (1U << b)) && flag_at(b) && flag_at(b)->kernel < k) {
					k = flag_at(b)->kernel;
					pick = 1U << b;
				}
			bits |= pick;
		}
		spec = newest(bits);
		expect = spec <= running;
		ret = try_setup(bits, base.ring_fd, 1);
		sr_flag_names(sr_setup_flag_table, sr_setup_flag_count, bits, names, sizeof(names));
		if (ret == -EOVERFLOW) {
			/* Known, but not for a one-entry ring: ask again with room. */
			printf("setup %s: kernel answers EOVERFLOW for a 1-entry SQ: it knows the flag but not for "
			       "that size; asked again with 8 entries\n", names);
			ret = try_setup(bits, base.ring_fd, 8);
			if (ret == -EOVERFLOW)
				ret = 0;
		}
		if (ret && ret != -EINVAL)
			/* Neither yes nor no: the machine stands in the way. */
			verdict(false, "setup %s: spec %s, kernel fails it with %s, neither accepting nor refusing it",
				names, ver(spec, v, sizeof(v)), strerror(-ret));
		else
			judge(ret == 0, expect, "setup %s: spec %s, kernel %s", names, ver(spec, v, sizeof(v)),
			      ret ? "refuses it (EINVAL)" : "accepts it");
		n++;
	}
	io_uring_queue_exit(&base);
	return n;
}

static unsigned check_features(uint32_t running)
{
	struct io_uring_params p;
	struct io_uring ring;
	uint32_t known = 0;
	unsigned n = 0;
	char v[16];

	memset(&p, 0, sizeof(p));
	if (io_uring_queue_init_params(4, &ring, &p)) {
		printf("features: cannot create a ring: DISAGREE\n");
		n_disagree++;
		return 0;
	}
	io_uring_queue_exit(&ring);
	for (unsigned i = 0; i < sr_feature_count; i++) {
		const struct sr_flag_info *f = &sr_feature_table[i];
		bool have = p.features & (1U << f->bit);

		known |= 1U << f->bit;
		judge(have, f->kernel <= running, "feature %s: spec %s, kernel %s", f->name,
		      ver(f->kernel, v, sizeof(v)), have ? "reports it" : "lacks it");
		n++;
	}
	for (unsigned b = 0; b < 32; b++)
		if ((p.features & ~known) & (1U << b)) {
			verdict(false, "feature bit %u: the kernel reports it; the spec has no such feature", b);
			n++;
		}
	return n;
}

int main(void)
{
	const struct sr_caps *c = sr_caps_get();
	uint32_t running = sr_kver_code(c->running);
	unsigned nops, nflags, nfeat;

	/* The real kernel's facts: SR_KERNEL would only change the belief. */
	printf("kernel %s (checked as %u.%u.%u)\n", c->release, c->running.major, c->running.minor,
	       c->running.patch);
	nops = check_opcodes(running);
	nflags = check_setup_flags(running);
	nfeat = check_features(running);
	printf("kfacts: kernel=%s opcodes=%u setup_flags=%u features=%u agree=%u ahead=%u disagree=%u\n", c->release,
	       nops, nflags, nfeat, n_agree, n_ahead, n_disagree);
	return n_disagree ? 1 : 0;
}
