/* SPDX-License-Identifier: MIT */
/*
 * Runtime behaviour and misuse: what happens when a program does the wrong
 * thing with a ring, a buffer or a handle.  Every misuse must return an
 * error naming the op and the problem, never crash or corrupt memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <execinfo.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_PRINTF_BACKTRACE(...) ((void)0)
#endif
#include <CUnit/Basic.h>
#include <safer-ring.h>

#include <sys/time.h>

#include "unit.h"

static struct sr_ring *ring(void)
{
	struct sr_ring *r = NULL;

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0);
	return r;
}

static void pipe_pair(int p[2])
{
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
}

/* A lent buffer's bytes are out of reach; free is refused; the names are in the message. */
static void test_lent_buffer(void)
{
	struct sr_ring *r = ring();
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	struct sr_read_op op;
	int p[2];

	pipe_pair(p);
	op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT(sr_buf_is_lent(b));
	CU_ASSERT_STRING_EQUAL(sr_buf_holder(b), "read");
	CU_ASSERT_PTR_NULL(sr_buf_data(b));
	CU_ASSERT(unit_said("lent to read"));
	CU_ASSERT_EQUAL(sr_buf_free(b), -EBUSY);
	CU_ASSERT(unit_said("sr_buf_free") && unit_said("read"));
	CU_ASSERT_EQUAL(sr_buf_set_len(b, 3), -EBUSY);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);
	CU_ASSERT_EQUAL(write(p[1], "abc", 3), 3);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, 3);
	CU_ASSERT_FALSE(sr_buf_is_lent(b));
	CU_ASSERT_PTR_NOT_NULL(sr_buf_data(b));
	CU_ASSERT_EQUAL(memcmp(sr_buf_data(b), "abc", 3), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

/* A buffer lent to one op cannot be lent to another. */
static void test_buffer_twice(void)
{
	struct sr_ring *r = ring();
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_read_submitted s1, s2;
	struct sr_read_completed c;
	struct sr_write_submitted ws;
	struct sr_read_op r1, r2;
	struct sr_write_op w;
	int p[2];

	pipe_pair(p);
	r1 = sr_read(p[0], b, (__u64)-1);
	r2 = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &r1, &s1), 0);
	CU_ASSERT_EQUAL(sr_submit(r, &r2, &s2), -EBUSY);
	CU_ASSERT(unit_said("sr_read_submit: buf") && unit_said("lent to read"));
	w = sr_write(p[1], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), -EBUSY);
	CU_ASSERT(unit_said("sr_write_submit"));
	/* The refused builder is still usable once the buffer is back. */
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s1, &c), 0);
	CU_ASSERT_EQUAL(c.res, 1);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

/* A builder is spent once submitted; a handle is consumed once waited. */
static void test_resubmit_and_stale(void)
{
	struct sr_ring *r = ring();
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub, copy;
	struct sr_nop_completed c;

	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), -EALREADY);
	CU_ASSERT(unit_said("sr_nop_submit") && unit_said("already submitted"));
	copy = sub;
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, 0);
	CU_ASSERT_EQUAL(sr_wait(r, &copy, &c), -ESTALE);
	CU_ASSERT(unit_said("sr_nop_wait") && unit_said("stale"));
	CU_ASSERT_EQUAL(sr_poll(r, &copy, &c), -ESTALE);
	CU_ASSERT_EQUAL(sr_cancel(r, &copy), -ESTALE);
	/* The slot is reused by the next op: the old handle stays stale. */
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sub.h._ud & SR__UD_SLOT_MASK, copy.h._ud & SR__UD_SLOT_MASK);
	CU_ASSERT_EQUAL(sr_wait(r, &copy, &c), -ESTALE);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	sr_ring_destroy(r);
}

/* A handle forged for another op, or out of range, is an error. */
static void test_bad_handles(void)
{
	struct sr_ring *r = ring();
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub;
	struct sr_nop_completed c;
	struct sr_fsync_submitted fs;
	struct sr_fsync_completed fc;
	struct sr_op garbage;

	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	fs.h = sub.h;	/* only possible by reaching into the struct */
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), -EINVAL);
	CU_ASSERT(unit_said("nop op, not fsync"));
	/* Also with the nop's CQE next in the CQ, where waits take it directly. */
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), -EINVAL);
	CU_ASSERT(unit_said("nop op, not fsync"));
	CU_ASSERT_EQUAL(sr_poll(r, &fs, &fc), -EINVAL);
	fs.h._ud = SR__UD_TRACKED | ((uint64_t)SR_OP_FSYNC << SR__UD_OP_SHIFT) | SR__UD_SLOT_MASK;
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), -EINVAL);
	CU_ASSERT(unit_said("not a handle"));
	fs.h._ud = 12345;
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), -EINVAL);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	memset(&garbage, 0, sizeof(garbage));
	CU_ASSERT_EQUAL(sr__op_state_error(&garbage, "sr_nop_submit"), -EINVAL);
	sr_ring_destroy(r);
}

/* Only the link/drain/async flags are set by hand. */
static void test_sqe_flags(void)
{
	struct sr_read_op op = sr_read(0, NULL, 0);

	CU_ASSERT_EQUAL(sr_set_sqe_flags(&op, SR_IOSQE_IO_LINK | SR_IOSQE_ASYNC), 0);
	CU_ASSERT_EQUAL(op.base._sqe_flags, SR_IOSQE_IO_LINK | SR_IOSQE_ASYNC);
	CU_ASSERT_EQUAL(sr_set_sqe_flags(&op, SR_IOSQE_BUFFER_SELECT), -EINVAL);
	CU_ASSERT(unit_said("sr_read_set_sqe_flags"));
	CU_ASSERT_EQUAL(sr_set_sqe_flags(&op, SR_IOSQE_CQE_SKIP_SUCCESS), -EINVAL);
}

/* NULL, freed and read-only buffers are refused at submit, before anything is queued. */
static void test_bad_buffers(void)
{
	struct sr_ring *r = ring();
	static const char ro[] = "read only";
	struct sr_buf *c = sr_buf_wrap_const(ro, sizeof(ro));
	struct sr_read_submitted sub;
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_op op = sr_read(0, NULL, 0);
	struct sr_write_op w;
	int p[2];

	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), -EINVAL);
	CU_ASSERT(unit_said("sr_read_submit: buf: NULL buffer"));
	op = sr_read(0, c, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), -EINVAL);
	CU_ASSERT(unit_said("read-only"));
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	/* A read-only buffer is fine for a write. */
	pipe_pair(p);
	w = sr_write(p[1], c, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, (int)sizeof(ro));
	CU_ASSERT_EQUAL(sr_buf_free(c), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

/*
 * An op the kernel lacks: under STRICT it fails at submit with the kernel
 * it needs; by default it takes its fallback and completes as the spec says.
 */
static void test_unavailable(void)
{
	struct sr_ring_params p = { .policy = SR_POLICY_STRICT };
	struct sr_ring *r = NULL;
	struct sr_nop128_op op = sr_nop128();
	struct sr_nop128_submitted sub;
	struct sr_nop128_completed c;
	char why[200];
	bool native;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	if (!sr_op_unavailable(r, SR_OP_NOP128, why, sizeof(why))) {
		printf("\n    skip: this kernel runs nop128 natively\n");
		sr_ring_destroy(r);
		return;
	}
	native = sr_ring_uring(r) != NULL;
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), -EOPNOTSUPP);
	/* The reason: the kernel, or (SR_BACKEND=fallback) no io_uring at all. */
	CU_ASSERT(unit_said(native ? "nop128 needs Linux 6.19" : "nop128: SR_BACKEND=fallback"));
	CU_ASSERT(unit_said("STRICT"));
	CU_ASSERT_EQUAL(sr_nop128_raw(r, 1), -EOPNOTSUPP);
	CU_ASSERT(unit_said("sr_nop128_raw"));
	sr_ring_destroy(r);

	r = ring();
	op = sr_nop128();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, 0);
	CU_ASSERT(!strncmp(sr_op_status(r, SR_OP_NOP128, why, sizeof(why)),
			   native ? "fallback: nop" : "fallback: ", native ? 13 : 10));
	sr_ring_destroy(r);
}

/*
 * Teardown with ops in flight: the ring cancels and drains them, so after
 * sr_ring_destroy returns nothing writes into the buffers any more.  The
 * canary: unmap the buffer's pages after destroy, then feed the pipe the
 * read was waiting on; a write after free would fault (or, with the page
 * kept, change the canary).
 */
static void test_teardown_canary(void)
{
	struct sr_ring *r = ring();
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *mem = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sr_buf *b = sr_buf_wrap(mem, (size_t)page, 0);
	struct sr_read_submitted sub[4];
	struct sr_buf *more[3];
	int p[2];

	CU_ASSERT_FATAL(mem != MAP_FAILED);
	memset(mem, 0x5a, (size_t)page);
	pipe_pair(p);
	struct sr_read_op op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub[0]), 0);
	for (int i = 0; i < 3; i++) {
		more[i] = sr_buf_alloc(128);
		op = sr_read(p[0], more[i], (__u64)-1);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &sub[i + 1]), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_submit(r), 4);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 4);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	/* Every buffer came back. */
	CU_ASSERT_FALSE(sr_buf_is_lent(b));
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(sr_buf_free(more[i]), 0);
	for (long i = 0; i < page; i++)
		if (mem[i] != 0x5a) {
			CU_FAIL("canary changed before the data arrived");
			break;
		}
	/* Keep the page and write: the canary must not move. */
	CU_ASSERT_EQUAL(write(p[1], "poison", 6), 6);
	usleep(20000);
	CU_ASSERT_EQUAL(memcmp(mem, "\x5a\x5a\x5a\x5a\x5a\x5a", 6), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	munmap(mem, (size_t)page);
	close(p[0]);
	close(p[1]);
}

static int cb_count;
static int cb_last_res;

static void nop_cb(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	(void)r;
	cb_count++;
	cb_last_res = c->res;
	*(int *)arg += 1;
}

/* Callbacks run from sr_ring_run; a callback-delivered op cannot be waited. */
static void test_callbacks(void)
{
	struct sr_ring *r = ring();
	struct sr_nop_submitted sub;
	struct sr_nop_completed c;
	int hits = 0;

	cb_count = 0;
	for (int i = 0; i < 100; i++) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL(sr_submit_cb(r, &op, nop_cb, &hits, &sub), 0);
	}
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), -EINVAL);
	CU_ASSERT(unit_said("callback"));
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(cb_count, 100);
	CU_ASSERT_EQUAL(hits, 100);
	CU_ASSERT_EQUAL(cb_last_res, 0);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	sr_ring_destroy(r);
}

struct chain {
	int left;
	int done;
};

static void chain_cb(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	struct chain *ch = arg;

	(void)c;
	ch->done++;
	if (--ch->left > 0) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL(sr_submit_cb(r, &op, chain_cb, ch, NULL), 0);
	}
}

/* A callback may submit more work; the run loop follows it. */
static void test_callback_chain(void)
{
	struct sr_ring *r = ring();
	struct chain ch = { .left = 1000, .done = 0 };
	struct sr_nop_op op = sr_nop();

	CU_ASSERT_EQUAL(sr_submit_cb(r, &op, chain_cb, &ch, NULL), 0);
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(ch.done, 1000);
	sr_ring_destroy(r);
}

/* The eventfd fires when completions arrive: an outer event loop can wait on it. */
static void test_eventfd(void)
{
	struct sr_ring *r = ring();
	int efd = sr_ring_eventfd(r);
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub;
	struct sr_nop_completed c;
	struct pollfd pfd;

	CU_ASSERT_FATAL(efd >= 0);
	CU_ASSERT_EQUAL(sr_ring_eventfd(r), efd);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);
	pfd.fd = efd;
	pfd.events = POLLIN;
	CU_ASSERT_EQUAL(poll(&pfd, 1, 1000), 1);
	CU_ASSERT_EQUAL(sr_poll(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, 0);
	CU_ASSERT(sr_ring_fd(r) >= 0);
	sr_ring_destroy(r);
}

/* More ops than SQ entries and slots: the SQ is flushed and the slot table grows. */
static void test_sq_full_and_growth(void)
{
	struct sr_ring_params p = { .entries = 8 };
	struct sr_nop_submitted *subs = calloc(5000, sizeof(*subs));
	struct sr_nop_completed c;
	struct sr_ring *r;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	for (int i = 0; i < 5000; i++) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &subs[i]), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 5000);
	for (int i = 4999; i >= 0; i--) {
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &subs[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, 0);
	}
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	free(subs);
	sr_ring_destroy(r);
}

/* A tiny CQ and thousands of completions in flight at once: none is lost. */
static void test_cq_overflow(void)
{
	struct sr_ring_params p = { .entries = 4, .cq_entries = 8 };
	struct sr_nop_submitted *subs = calloc(4096, sizeof(*subs));
	struct sr_nop_completed c;
	struct sr_ring *r;
	int got = 0;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	for (int i = 0; i < 4096; i++) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &subs[i]), 0);
	}
	CU_ASSERT(sr_ring_submit(r) >= 0);
	for (int i = 0; i < 4096; i++)
		if (sr_wait(r, &subs[i], &c) == 0 && c.res == 0)
			got++;
	CU_ASSERT_EQUAL(got, 4096);
	free(subs);
	sr_ring_destroy(r);
}

/* Queued ops can be dropped before they reach the kernel; they complete -ECANCELED. */
static void test_discard(void)
{
	struct sr_ring *r = ring();
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_read_op op = sr_read(0, b, 0);
	struct sr_read_submitted sub;
	struct sr_read_completed c;

	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_ring_discard(r), 1);
	CU_ASSERT_FALSE(sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	sr_ring_destroy(r);
}

/* Cancel by handle: the buffer returns only with the kernel's own CQE. */
static void test_cancel(void)
{
	struct sr_ring *r = ring();
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	struct sr_read_op op;
	int p[2];

	pipe_pair(p);
	op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);
	CU_ASSERT_EQUAL(sr_cancel(r, &sub), 0);
	CU_ASSERT(sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	CU_ASSERT_FALSE(sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

/* Raw ops share the ring with tracked ones; each completion goes to its side. */
static void test_raw_mix(void)
{
	struct sr_ring *r = ring();
	struct sr_nop_submitted sub;
	struct sr_nop_completed c;
	struct io_uring_cqe cqes[4];
	struct sr_nop_op op = sr_nop();
	int n = 0;

	if (!sr_ring_uring(r)) {
		/* Without io_uring raw ops are refused, and waiting for one is an error, not forever. */
		CU_ASSERT_EQUAL(sr_nop_raw(r, 41), -EOPNOTSUPP);
		CU_ASSERT(unit_said("sr_nop_raw") && unit_said("checked sr_nop() can take its fallback"));
		CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
		CU_ASSERT_EQUAL(sr_raw_wait(r, cqes, 4), -EOPNOTSUPP);
		CU_ASSERT(unit_said("sr_raw_wait: no raw op can be in flight"));
		CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
		sr_ring_destroy(r);
		return;
	}
	CU_ASSERT_EQUAL(sr_nop_raw(r, 41), 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_nop_raw(r, 42), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	while (n < 2) {
		int got = sr_raw_wait(r, cqes + n, 4 - (unsigned)n);

		CU_ASSERT_FATAL(got > 0);
		n += got;
	}
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(cqes[0].user_data, 41);
	CU_ASSERT_EQUAL(cqes[1].user_data, 42);
	sr_ring_destroy(r);
}

/* Kernel version strings: the forms distributions use, and refusals. */
static void test_kernel_parse(void)
{
	static const struct { const char *s; unsigned a, b, c; } ok[] = {
		{ "6.11.2-arch1-1", 6, 11, 2 }, { "5.15.0-105-generic", 5, 15, 0 },
		{ "6.18.44-fc-v445", 6, 18, 44 }, { "6.1", 6, 1, 0 }, { "5.10.0+", 5, 10, 0 },
		{ "6.19-rc1", 6, 19, 0 },
	};
	static const char *bad[] = { "", "linux", "6", "6.", "6.x", ".6.1", "6..1", "6.1.2.3", "99999999.1" };
	struct sr_kver v;

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(sr_kernel_parse(ok[i].s, &v), 0);
		CU_ASSERT(v.major == ok[i].a && v.minor == ok[i].b && v.patch == ok[i].c);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(sr_kernel_parse(bad[i], &v), -EINVAL);
		CU_ASSERT(unit_said("kernel version"));
	}
}

/* Copied arguments: the caller's memory may change right after submit. */
static void test_copy_at_submit(void)
{
	struct sr_ring *r = ring();
	char path[64];
	struct sr_openat_submitted sub;
	struct sr_openat_completed c;
	struct sr_openat_op op;

	snprintf(path, sizeof(path), "/proc/self/status");
	op = sr_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	memset(path, 'X', sizeof(path) - 1);	/* before the kernel ever saw it */
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT(c.res >= 0);
	if (c.res >= 0)
		close(c.res);
	sr_ring_destroy(r);
}

/* Fixed buffers: unregistering while one is lent is refused. */
static void test_unregister_while_lent(void)
{
	struct sr_ring *r = ring();
	struct sr_buf *b = sr_buf_alloc(4096);
	struct sr_read_fixed_submitted sub;
	struct sr_read_fixed_completed c;
	struct sr_read_fixed_op op;
	int p[2];

	pipe_pair(p);
	CU_ASSERT_EQUAL_FATAL(sr_ring_register_buffers(r, &b, 1), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), -EBUSY);
	op = sr_read_fixed(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), -EBUSY);
	CU_ASSERT(unit_said("lent to read_fixed"));
	CU_ASSERT_EQUAL(write(p[1], "z", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, 1);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void read_cb(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	(void)r;
	(void)c;
	(void)arg;
}

/* A wait a signal interrupts fails with -EINTR and says so (issue 17). */
static void test_interrupted_waits_say_so(void)
{
	struct sigaction sa, old;
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	struct sr_ring *r = ring();
	struct sr_buf *b = sr_buf_alloc(64), *b2 = sr_buf_alloc(64);
	struct sr_read_op op = sr_read(0, b, 0);
	struct sr_read_op op2;
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	int p[2];

	if (RUNNING_ON_VALGRIND) {
		/* valgrind keeps a thread blocked in io_uring_enter from seeing the signal */
		printf("\n    skip: under valgrind a timer signal does not interrupt a blocked wait\n");
		sr_ring_destroy(r);
		sr_buf_free(b);
		sr_buf_free(b2);
		return;
	}
	pipe_pair(p);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, &old);
	op = sr_read(p[0], b, 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	op2 = sr_read(p[0], b2, 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op2, read_cb, NULL, NULL), 0);

	/* Submitted first: an enter that submits returns the count even
	 * when its wait is interrupted. */
	CU_ASSERT(sr_ring_submit(r) >= 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), -EBUSY);	/* some other message first */
	setitimer(ITIMER_REAL, &it, NULL);
	CU_ASSERT_EQUAL(sr_ring_run_once(r, -1), -EINTR);
	CU_ASSERT(unit_said("sr_ring_run_once: interrupted by a signal"));

	CU_ASSERT_EQUAL(sr_buf_free(b), -EBUSY);
	setitimer(ITIMER_REAL, &it, NULL);
	CU_ASSERT_EQUAL(sr_ring_run(r), -EINTR);
	CU_ASSERT(unit_said("sr_ring_run: interrupted by a signal"));

	CU_ASSERT_EQUAL(sr_buf_free(b), -EBUSY);
	setitimer(ITIMER_REAL, &it, NULL);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), -EINTR);
	CU_ASSERT(unit_said("sr_read_wait: interrupted by a signal"));

	sigaction(SIGALRM, &old, NULL);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);	/* cancels both reads */
	close(p[0]);
	close(p[1]);
	sr_buf_free(b);
	sr_buf_free(b2);
}

/*
 * A test that hangs is named, with what each thread waits in, and the main
 * thread prints its stack and aborts, instead of
 * the whole run being killed by a timeout that says nothing.  Every test
 * runs through watched(), which finds its own function by the test
 * CUnit is running (on the main thread).  SR_UNIT_TEST_LIMIT: seconds
 * one test may take (default 300).
 */
#define WATCH_SIGNAL (SIGRTMAX - 1)

static struct { CU_pTest t; CU_TestFunc fn; } *watch_fns;
static unsigned watch_nfns;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond = PTHREAD_COND_INITIALIZER;
static const char *watch_name;
static unsigned long watch_seq;
static pthread_t watch_main;

/* The test now running (NULL: none). */
static void watch_set(const char *name)
{
	pthread_mutex_lock(&watch_lock);
	watch_name = name;
	watch_seq++;
	pthread_cond_signal(&watch_cond);
	pthread_mutex_unlock(&watch_lock);
}

static void watched(void)
{
	CU_pTest t = CU_get_current_test();

	watch_set(t->pName);
	for (unsigned i = 0; i < watch_nfns; i++)
		if (watch_fns[i].t == t)
			watch_fns[i].fn();
	watch_set(NULL);	/* (a failed CU_ASSERT_FATAL skips this: the next test sets its own) */
}

/* Each thread of this process and the system call it is in. */
static void watch_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[300], line[256] = "", comm[64] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r"))) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%s/syscall", e->d_name);
		if ((f = fopen(path, "r"))) {
			if (fgets(line, sizeof(line), f))
				line[strcspn(line, "\n")] = 0;
			fclose(f);
		}
		fprintf(stderr, "  thread %s (%s): syscall %s\n", e->d_name, comm, line);
	}
	if (d)
		closedir(d);
}

/* On the main thread: where it waits, then abort. */
static void watch_stack(int sig)
{
	void *at[64];
	int n;

	(void)sig;
	if (RUNNING_ON_VALGRIND) {
		VALGRIND_PRINTF_BACKTRACE("test_runtime: the main thread is here:\n");
	} else {
		fprintf(stderr, "test_runtime: the main thread is here (addr2line -f -e test_runtime):\n");
		n = backtrace(at, 64);
		backtrace_symbols_fd(at, n, 2);
	}
	abort();
}

static void *watchdog(void *arg)
{
	long limit = (long)(intptr_t)arg;

	pthread_mutex_lock(&watch_lock);
	for (;;) {
		unsigned long seq;
		struct timespec until;
		int ret = 0;

		while (!watch_name)
			pthread_cond_wait(&watch_cond, &watch_lock);
		seq = watch_seq;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += limit;
		while (seq == watch_seq && ret != ETIMEDOUT)
			ret = pthread_cond_timedwait(&watch_cond, &watch_lock, &until);
		if (seq != watch_seq)
			continue;
		fprintf(stderr, "test_runtime: the test \"%s\" is still running after %ld s; its threads:\n",
			watch_name, limit);
		watch_threads();
		pthread_kill(watch_main, WATCH_SIGNAL);
		sleep(10);
		fprintf(stderr, "test_runtime: the main thread did not take the signal\n");
		abort();
	}
	return NULL;
}

static void watch_tests(void)
{
	const char *env = getenv("SR_UNIT_TEST_LIMIT");
	long limit = env ? atol(env) : 300;
	pthread_t dog;
	void *first[1];
	sigset_t all, old;
	unsigned n = 0;

	if (limit <= 0)
		return;
	for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
		for (CU_pTest t = s->pTest; t; t = t->pNext)
			n++;
	watch_fns = calloc(n, sizeof(*watch_fns));
	if (!watch_fns)
		return;
	for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
		for (CU_pTest t = s->pTest; t; t = t->pNext) {
			watch_fns[watch_nfns].t = t;
			watch_fns[watch_nfns++].fn = t->pTestFunc;
			t->pTestFunc = watched;
		}
	watch_main = pthread_self();
	backtrace(first, 1);	/* loads the unwinder now, not in the signal handler */
	signal(WATCH_SIGNAL, watch_stack);
	/* The tests' signals (timers, the fallback's) are not the watchdog's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (!pthread_create(&dog, NULL, watchdog, (void *)(intptr_t)limit))
		pthread_detach(dog);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* test_runtime [words]: only the tests whose suite/name holds one of the words. */
static void only_named(int argc, char **argv)
{
	CU_set_fail_on_inactive(CU_FALSE);
	for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
		for (CU_pTest t = s->pTest; t; t = t->pNext) {
			char full[512];
			bool on = false;

			snprintf(full, sizeof(full), "%s/%s", s->pName, t->pName);
			for (int i = 1; i < argc; i++)
				on |= strstr(full, argv[i]) != NULL;
			CU_set_test_active(t, on ? CU_TRUE : CU_FALSE);
		}
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "lent buffer is out of reach", test_lent_buffer },
		{ "buffer lent twice is refused", test_buffer_twice },
		{ "resubmit and stale handles", test_resubmit_and_stale },
		{ "bad handles", test_bad_handles },
		{ "hand-set SQE flags", test_sqe_flags },
		{ "bad buffers", test_bad_buffers },
		{ "unavailable op", test_unavailable },
		{ "teardown with ops in flight (canary)", test_teardown_canary },
		{ "callbacks and the run loop", test_callbacks },
		{ "callbacks submitting more", test_callback_chain },
		{ "eventfd integration", test_eventfd },
		{ "SQ full and slot growth", test_sq_full_and_growth },
		{ "tiny CQ, thousands of completions", test_cq_overflow },
		{ "discard queued ops", test_discard },
		{ "cancel by handle", test_cancel },
		{ "raw and tracked ops together", test_raw_mix },
		{ "kernel version parsing", test_kernel_parse },
		{ "copied arguments", test_copy_at_submit },
		{ "unregister while lent", test_unregister_while_lent },
		{ "interrupted waits say so", test_interrupted_waits_say_so },
	};
	CU_pSuite s;
	unsigned failed;

	if (argc == 3 && !strcmp(argv[1], "--refuse"))
		return refusal_child(argv[2]);
	refusal_self(argv[0]);
	/* Tests of descriptor 0 close and reuse it: it must be open to start with
	 * (CI may start the suite with stdin closed). */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return 2;
	/* Line by line, so that a run killed by a timeout shows the test it hung in. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("runtime", NULL, NULL);
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	fallback_tests(CU_add_suite("fallback", NULL, NULL));
	buffer_tests(CU_add_suite("buffers", NULL, NULL));
	safety_tests(CU_add_suite("safety", NULL, NULL));
	bounds_tests(CU_add_suite("bounds", NULL, NULL));
	observe_tests(CU_add_suite("observe", NULL, NULL));
	dump_tests(CU_add_suite("dump", NULL, NULL));
	guard_tests(CU_add_suite("guards", NULL, NULL));
	refusal_tests(CU_add_suite("refusals", NULL, NULL));
	if (argc > 1)
		only_named(argc, argv);
	watch_tests();
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	watch_set(NULL);
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	free(watch_fns);
	return failed ? 1 : 0;
}
