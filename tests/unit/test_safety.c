/* SPDX-License-Identifier: MIT */
/*
 * The guarantees of docs/safety.md at the boundaries a program crosses:
 * handles, files, groups and registered buffers of another ring (or of a
 * destroyed one), memory given back (pools, groups, a ring destroyed with
 * group buffers out), calls from completion callbacks, other threads,
 * fork(), and teardown that must wait on the kernel.  Each test names the
 * rule it checks; each fails if that rule is broken.  Out of memory is
 * tested by tests/unit/oom.c, which needs a process per failing allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <safer-ring.h>

#include "unit.h"

static void pipe_new(int p[2])
{
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
}

static void pipe_close(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* A read of up to 16 bytes from fd into b, pending until fd has data. */
static void read_start(struct sr_ring *r, int fd, struct sr_buf *b, struct sr_read_submitted *sub)
{
	struct sr_read_op op = sr_read(fd, b, 0);

	CU_ASSERT_FATAL(sr_submit(r, &op, sub) == 0);
	CU_ASSERT_FATAL(sr_ring_submit(r) >= 0);
}

static bool buf_says(struct sr_buf *b, const char *text)
{
	const char *d = sr_buf_data(b);

	return d && sr_buf_len(b) == strlen(text) && !memcmp(d, text, strlen(text));
}

/* --- 1. identity --------------------------------------------------------------- */

/* An op handle of ring A on ring B: refused, never B's op; a handle kept
 * from a destroyed ring: refused on the ring created after it. */
static void test_foreign_op_handles(void)
{
	struct sr_ring *a = unit_ring(8, 0), *b = unit_ring(8, 0);
	struct sr_buf *ba = sr_buf_alloc(16), *bb = sr_buf_alloc(16);
	struct sr_read_submitted sa, sb, sa2, old;
	struct sr_read_completed c;
	int pa[2], pb[2];

	pipe_new(pa);
	pipe_new(pb);
	read_start(a, pa[0], ba, &sa);
	read_start(b, pb[0], bb, &sb);
	CU_ASSERT_EQUAL(write(pa[1], "AAAA", 4), 4);
	CU_ASSERT_EQUAL(write(pb[1], "BBBB", 4), 4);
	CU_ASSERT_EQUAL(sr_wait(b, &sa, &c), -EXDEV);
	CU_ASSERT(unit_said("sr_read_wait") && unit_said("another ring"));
	CU_ASSERT_EQUAL(sr_poll(b, &sa, &c), -EXDEV);
	CU_ASSERT_EQUAL(sr_cancel(b, &sa), -EXDEV);
	CU_ASSERT(sr_buf_is_lent(ba) && sr_buf_is_lent(bb));
	/* Each ring's own op is untouched by the attempts. */
	CU_ASSERT_EQUAL(sr_wait(b, &sb, &c), 0);
	CU_ASSERT(c.res == 4 && c.buf == bb && buf_says(bb, "BBBB"));
	CU_ASSERT_EQUAL(sr_wait(a, &sa, &c), 0);
	CU_ASSERT(c.res == 4 && c.buf == ba && buf_says(ba, "AAAA"));

	/* A's ring goes away with a read pending; the next ring numbers its
	 * slots the same way, but the old handle is not its. */
	read_start(a, pa[0], ba, &old);
	CU_ASSERT_EQUAL(sr_ring_destroy(a), 0);
	CU_ASSERT(!sr_buf_is_lent(ba));
	a = unit_ring(8, 0);
	read_start(a, pa[0], ba, &sa2);
	CU_ASSERT_EQUAL(sr_wait(a, &old, &c), -EXDEV);
	CU_ASSERT_EQUAL(sr_cancel(a, &old), -EXDEV);
	CU_ASSERT(sr_buf_is_lent(ba));
	CU_ASSERT_EQUAL(write(pa[1], "CCCC", 4), 4);
	CU_ASSERT_EQUAL(sr_wait(a, &sa2, &c), 0);
	CU_ASSERT(c.res == 4 && buf_says(ba, "CCCC"));
	/* A zeroed handle is no handle at all. */
	memset(&old, 0, sizeof(old));
	CU_ASSERT_EQUAL(sr_wait(a, &old, &c), -EINVAL);
	sr_ring_destroy(a);
	sr_ring_destroy(b);
	sr_buf_free(ba);
	sr_buf_free(bb);
	pipe_close(pa);
	pipe_close(pb);
}

/* Ops that act on another op (timeout_remove, async_cancel, poll_update)
 * take targets of their own ring only. */
static void test_foreign_targets(void)
{
	struct sr_ring *a = unit_ring(8, 0), *b = unit_ring(8, 0);
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct sr_timeout_op t = sr_timeout(&ts);
	struct sr_timeout_submitted ts_sub;
	struct sr_timeout_completed tc;
	struct sr_timeout_remove_op rm;
	struct sr_timeout_remove_submitted rm_sub;
	struct sr_async_cancel_op ac;
	struct sr_async_cancel_submitted ac_sub;
	struct sr_poll_update_op pu;
	struct sr_poll_update_submitted pu_sub;

	CU_ASSERT_FATAL(sr_submit(a, &t, &ts_sub) == 0);
	rm = sr_timeout_remove(ts_sub.h);
	CU_ASSERT_EQUAL(sr_submit(b, &rm, &rm_sub), -EXDEV);
	CU_ASSERT(unit_said("sr_timeout_remove_submit") && unit_said("another ring"));
	ac = sr_async_cancel(ts_sub.h);
	CU_ASSERT_EQUAL(sr_submit(b, &ac, &ac_sub), -EXDEV);
	pu = sr_poll_update(ts_sub.h, POLLIN);
	CU_ASSERT_EQUAL(sr_submit(b, &pu, &pu_sub), -EXDEV);
	CU_ASSERT_EQUAL(sr_ring_inflight(b), 0);
	/* On its own ring the same target works. */
	CU_ASSERT_EQUAL(sr_cancel(a, &ts_sub), 0);
	CU_ASSERT_EQUAL(sr_wait(a, &ts_sub, &tc), 0);
	CU_ASSERT_EQUAL(tc.res, -ECANCELED);
	sr_ring_destroy(a);
	sr_ring_destroy(b);
}

/* A registered-file handle of ring A never reaches ring B's table, even
 * where B has a file in the same slot with the same generation count. */
static void test_foreign_files(void)
{
	struct sr_ring *a = unit_ring(8, 0), *b = unit_ring(8, 0);
	struct sr_buf *buf = sr_buf_alloc(16);
	struct sr_file fa, fb;
	struct sr_read_op op;
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	int pa[2], pb[2];

	pipe_new(pa);
	pipe_new(pb);
	CU_ASSERT_FATAL(sr_ring_register_files(a, 4) == 0 && sr_ring_register_files(b, 4) == 0);
	CU_ASSERT_FATAL(sr_ring_files_set(a, 0, pa[0], &fa) == 0);
	CU_ASSERT_FATAL(sr_ring_files_set(b, 0, pb[0], &fb) == 0);
	CU_ASSERT_EQUAL(write(pb[1], "Bsecret", 7), 7);
	op = sr_read(0, buf, 0);
	sr_read_set_file(&op, fa);
	CU_ASSERT_EQUAL(sr_submit(b, &op, &sub), -EXDEV);
	CU_ASSERT(unit_said("sr_read_submit") && unit_said("another ring"));
	CU_ASSERT(!sr_buf_is_lent(buf) && sr_ring_inflight(b) == 0);
	/* Destroyed: its handles die with it. */
	CU_ASSERT_EQUAL(sr_ring_destroy(a), 0);
	op = sr_read(0, buf, 0);
	sr_read_set_file(&op, fa);
	CU_ASSERT_EQUAL(sr_submit(b, &op, &sub), -EXDEV);
	/* B's own handle reads B's file. */
	op = sr_read(0, buf, 0);
	sr_read_set_file(&op, fb);
	CU_ASSERT_EQUAL(sr_submit(b, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_wait(b, &sub, &c), 0);
	CU_ASSERT(c.res == 7 && buf_says(buf, "Bsecret"));
	sr_ring_destroy(b);
	sr_buf_free(buf);
	pipe_close(pa);
	pipe_close(pb);
}

/* A buffer group and registered buffers belong to their ring. */
static void test_foreign_groups_and_fixed(void)
{
	struct sr_ring *a = unit_ring(8, 0), *b = unit_ring(8, 0);
	struct sr_bufgroup *g = sr_bufgroup_create(a, 2, 64);
	struct sr_buf *fixed = sr_buf_alloc(64);
	struct sr_recv_multishot_op rm;
	struct sr_recv_multishot_submitted rm_sub;
	struct sr_read_fixed_op rf;
	struct sr_read_fixed_submitted rf_sub;
	int sv[2];

	CU_ASSERT_FATAL(g && fixed && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	rm = sr_recv_multishot(sv[0], g);
	CU_ASSERT_EQUAL(sr_submit(b, &rm, &rm_sub), -EXDEV);
	CU_ASSERT(unit_said("another ring"));
	CU_ASSERT_FATAL(sr_ring_register_buffers(a, &fixed, 1) == 0);
	rf = sr_read_fixed(sv[0], fixed, 0);
	CU_ASSERT_EQUAL(sr_submit(b, &rf, &rf_sub), -EXDEV);
	CU_ASSERT(unit_said("registered with another ring"));
	CU_ASSERT(!sr_buf_is_lent(fixed) && sr_ring_inflight(b) == 0);
	/* Registered with A, it cannot be registered with B as well. */
	CU_ASSERT_EQUAL(sr_ring_register_buffers(b, &fixed, 1), -EBUSY);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	sr_ring_destroy(a);
	/* A's destroy unregistered it: B may take it now. */
	CU_ASSERT_EQUAL(sr_ring_register_buffers(b, &fixed, 1), 0);
	sr_ring_destroy(b);
	CU_ASSERT_EQUAL(sr_buf_free(fixed), 0);
	close(sv[0]);
	close(sv[1]);
}

/* --- 2. ownership -------------------------------------------------------------- */

/* A pool buffer put back is the pool's: no op, no access, no second put. */
static void test_pool_put_back(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_pool *p = sr_pool_create(2, 4096, 0);
	struct sr_buf *b = sr_pool_take(p);
	struct sr_read_op op;
	struct sr_read_submitted sub;
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(p && b && fd >= 0);
	CU_ASSERT_EQUAL(sr_pool_put(b), 0);
	op = sr_read(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), -EINVAL);
	CU_ASSERT(unit_said("back in its pool"));
	CU_ASSERT(!sr_buf_is_lent(b) && sr_ring_inflight(r) == 0);
	CU_ASSERT(sr_buf_data(b) == NULL && unit_said("back in its pool"));
	CU_ASSERT(sr_buf_cdata(b) == NULL);
	CU_ASSERT_EQUAL(sr_buf_set_len(b, 1), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 0, 1), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, true), -EINVAL);
	CU_ASSERT_EQUAL(sr_pool_put(b), -EALREADY);
	CU_ASSERT_EQUAL(sr_pool_available(p), 2);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	sr_ring_destroy(r);
	close(fd);
}

/* A pool with buffers taken or lent is not destroyed; the refusal names
 * the ops that hold them. */
static void test_pool_destroy_busy(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_pool *p = sr_pool_create(3, 4096, 0);
	struct sr_buf *lent = sr_pool_take(p), *held = sr_pool_take(p);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	int pp[2];

	pipe_new(pp);
	CU_ASSERT_FATAL(lent && held);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(lent, true), 0);
	read_start(r, pp[0], lent, &sub);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);
	CU_ASSERT(unit_said("1 lent (to read)") && unit_said("1 taken"));
	CU_ASSERT_EQUAL(sr_pool_put(held), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);	/* the read still has one */
	CU_ASSERT_EQUAL(write(pp[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(sr_pool_available(p), 3);	/* auto-returned */
	/* Only taken: the message has no list of holders. */
	held = sr_pool_take(p);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);
	CU_ASSERT(unit_said("1 buffer(s) are not back: 0 lent, 1 taken;"));
	CU_ASSERT_EQUAL(sr_pool_put(held), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	sr_ring_destroy(r);
	pipe_close(pp);
}

/* Eight buffers lent at once: the destroy's message names six holders and
 * says there are more (pool.c: describe_out). */
static void test_pool_destroy_busy_many(void)
{
	struct sr_ring *r = unit_ring(16, 0);
	struct sr_pool *p = sr_pool_create(8, 4096, 0);
	struct sr_read_submitted sub[8];
	struct sr_read_completed c;
	int pp[2];

	pipe_new(pp);
	CU_ASSERT_FATAL(p != NULL);
	for (int i = 0; i < 8; i++) {
		struct sr_buf *b = sr_pool_take(p);

		CU_ASSERT_FATAL(b != NULL);
		CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, true), 0);
		CU_ASSERT_EQUAL(sr_buf_set_window(b, 0, 1), 0);	/* a byte each */
		read_start(r, pp[0], b, &sub[i]);
	}
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);
	CU_ASSERT(unit_said("8 buffer(s) are not back: 8 lent (to read, read, read, read, read, read, ...), "
			    "0 taken;"));
	CU_ASSERT_EQUAL(write(pp[1], "abcdefgh", 8), 8);
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &sub[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, 1);
	}
	CU_ASSERT_EQUAL(sr_pool_available(p), 8);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	sr_ring_destroy(r);
	pipe_close(pp);
}

/* A ring destroyed while the caller holds group buffers: they stay the
 * caller's, valid until given back; the last one back frees the group. */
static void test_group_outlives_ring(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_bufgroup *g = sr_bufgroup_create(r, 4, 64);
	struct sr_recv_multishot_op op;
	struct sr_recv_multishot_submitted sub;
	struct sr_recv_multishot_completed c;
	struct sr_buf *held[2];
	int sv[2];

	CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	op = sr_recv_multishot(sv[0], g);
	CU_ASSERT_FATAL(sr_submit(r, &op, &sub) == 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(write(sv[1], i ? "second" : "first", i ? 6 : 5), i ? 6 : 5);
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
		CU_ASSERT_FATAL(c.buf != NULL);
		held[i] = c.buf;
	}
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), -EBUSY);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	/* Still the caller's: readable and writable (ASan would see a use
	 * after free). */
	CU_ASSERT(buf_says(held[0], "first") && buf_says(held[1], "second"));
	memset(sr_buf_data(held[0]), 'z', 64);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 2);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), -EBUSY);
	CU_ASSERT(unit_said("the group goes away when the last comes back"));
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, held[0]), 0);
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, held[0]), -EALREADY);
	CU_ASSERT(buf_says(held[1], "second"));
	CU_ASSERT_EQUAL(sr_buf_free(held[1]), 0);	/* the last one: the group goes */
	close(sv[0]);
	close(sv[1]);
}

/* A group buffer is recycled once; a plain buffer cannot pose as one. */
static void test_group_recycle_rules(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_bufgroup *g = sr_bufgroup_create(r, 2, 64), *g2 = sr_bufgroup_create(r, 2, 64);
	struct sr_recv_multishot_op op;
	struct sr_recv_multishot_submitted sub;
	struct sr_recv_multishot_completed c;
	struct sr_buf *plain = sr_buf_alloc(64);
	int sv[2];

	CU_ASSERT_FATAL(g && g2 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	op = sr_recv_multishot(sv[0], g);
	CU_ASSERT_FATAL(sr_submit(r, &op, &sub) == 0);
	CU_ASSERT_EQUAL(write(sv[1], "data", 4), 4);
	CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_FATAL(c.buf != NULL);
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g2, c.buf), -EINVAL);	/* not g2's */
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, plain), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_free(c.buf), -EINVAL);	/* a live group takes it back by recycle */
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, c.buf), 0);
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, c.buf), -EALREADY);
	CU_ASSERT(sr_buf_data(c.buf) == NULL);	/* the kernel's again */
	/* While the stream can pick from it, g stays. */
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), -EBUSY);
	CU_ASSERT_EQUAL(sr_cancel(r, &sub), 0);
	do {
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
		if (c.buf)
			sr_bufgroup_recycle(g, c.buf);
	} while (c.more);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	sr_ring_destroy(r);
	sr_buf_free(plain);
	close(sv[0]);
	close(sv[1]);
}

/* --- 3. callbacks -------------------------------------------------------------- */

struct cb_env {
	struct sr_ring *a, *b;
	struct sr_pool *pool;
	int calls;
	int destroy, run, run_once, release, poll, wait, submit, cancel, pool_ok, group_ok;
	int b_run, nested_destroy_a, nested_destroy_b, nested_run_a;
	bool nested_done;
};

/* A callback of ring B, run from a callback of ring A. */
static void cb_nested(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	struct cb_env *e = arg;

	(void)r;
	(void)c;
	e->nested_destroy_a = sr_ring_destroy(e->a);	/* A's callback is further up */
	e->nested_run_a = sr_ring_run(e->a);
	e->nested_destroy_b = sr_ring_destroy(e->b);	/* B's own */
	e->nested_done = true;
}

static void cb_everything(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	struct cb_env *e = arg;
	struct sr_nop_op nop = sr_nop(), n2 = sr_nop();
	struct sr_nop_submitted sub;
	struct sr_nop_completed nc;
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct sr_timeout_op t = sr_timeout(&ts);
	struct sr_timeout_submitted tsub;
	struct sr_timeout_completed tc;
	struct sr_buf *b;
	struct sr_bufgroup *g;

	(void)c;
	e->calls++;
	e->destroy = sr_ring_destroy(r);
	e->run = sr_ring_run(r);
	e->run_once = sr_ring_run_once(r, 0);
	e->release = sr_ring_release(r);
	e->poll = sr_ring_poll(r);
	/* An op without a callback, submitted and waited for right here. */
	e->submit = sr_submit(r, &nop, &sub);
	e->wait = e->submit ? e->submit : sr_wait(r, &sub, &nc);
	e->cancel = sr_submit(r, &t, &tsub);
	if (!e->cancel)
		e->cancel = sr_cancel(r, &tsub);
	if (!e->cancel)
		e->cancel = sr_wait(r, &tsub, &tc);
	if (!e->cancel && tc.res != -ECANCELED)
		e->cancel = -1;
	b = sr_pool_take(e->pool);
	e->pool_ok = b && sr_pool_put(b) == 0;
	g = sr_bufgroup_create(r, 2, 64);
	e->group_ok = g && sr_bufgroup_destroy(g) == 0;
	/* Another ring, run from here: its callback finds A busy. */
	e->b_run = sr_submit_cb(e->b, &n2, cb_nested, e, NULL);
	if (!e->b_run)
		e->b_run = sr_ring_run(e->b);
}

/* Every call from inside a completion callback has a defined answer,
 * also for a ring whose callback runs further up the stack. */
static void test_callback_reentry(void)
{
	struct cb_env e = { 0 };
	struct sr_nop_op nop = sr_nop();

	e.a = unit_ring(8, 0);
	e.b = unit_ring(8, 0);
	e.pool = sr_pool_create(1, 4096, 0);
	CU_ASSERT_FATAL(sr_submit_cb(e.a, &nop, cb_everything, &e, NULL) == 0);
	CU_ASSERT_EQUAL(sr_ring_run(e.a), 0);
	CU_ASSERT_EQUAL(e.calls, 1);
	CU_ASSERT_EQUAL(e.destroy, -EDEADLK);
	CU_ASSERT_EQUAL(e.run, -EDEADLK);
	CU_ASSERT_EQUAL(e.run_once, -EDEADLK);
	CU_ASSERT_EQUAL(e.release, -EDEADLK);
	CU_ASSERT(e.poll >= 0);
	CU_ASSERT_EQUAL(e.submit, 0);
	CU_ASSERT_EQUAL(e.wait, 0);
	CU_ASSERT_EQUAL(e.cancel, 0);
	CU_ASSERT(e.pool_ok && e.group_ok);
	CU_ASSERT_EQUAL(e.b_run, 0);
	CU_ASSERT(e.nested_done);
	CU_ASSERT_EQUAL(e.nested_destroy_a, -EDEADLK);
	CU_ASSERT_EQUAL(e.nested_run_a, -EDEADLK);
	CU_ASSERT_EQUAL(e.nested_destroy_b, -EDEADLK);
	CU_ASSERT_EQUAL(sr_ring_destroy(e.b), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(e.a), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(e.pool), 0);
}

/* After sr_ring_stop from a callback, run returns; destroy then works. */
static void cb_stop(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	sr_ring_stop(r);
}

static void test_callback_stop_then_destroy(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	int n = 0;

	for (int i = 0; i < 3; i++) {
		struct sr_nop_op nop = sr_nop();

		CU_ASSERT_FATAL(sr_submit_cb(r, &nop, cb_stop, &n, NULL) == 0);
	}
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT(n >= 1);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);	/* the rest complete in teardown */
	CU_ASSERT_EQUAL(n, 3);
}

/* --- 4. threads ---------------------------------------------------------------- */

struct foreign {
	struct sr_ring *r;
	struct sr_buf *b;
	struct sr_read_submitted *sub;
	int fd;
	int submit, wait, cancel, destroy, poll, run, discard, files, raw_nop, raw_reap, acquire;
	bool buf_lent_after;
	unsigned inflight_before;
};

static void *foreign_calls(void *arg)
{
	struct foreign *f = arg;
	struct sr_read_op op = sr_read(f->fd, f->b, 0);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	struct io_uring_cqe cqe;

	f->submit = sr_submit(f->r, &op, &sub);
	f->buf_lent_after = sr_buf_is_lent(f->b);
	f->wait = sr_wait(f->r, f->sub, &c);
	f->cancel = sr_cancel(f->r, f->sub);
	f->poll = sr_ring_poll(f->r);
	f->run = sr_ring_run_once(f->r, 0);
	f->discard = sr_ring_discard(f->r);
	f->files = sr_ring_register_files(f->r, 2);
	f->raw_nop = sr_nop_raw(f->r, 1);
	f->raw_reap = sr_raw_reap(f->r, &cqe, 1);
	f->acquire = sr_ring_acquire(f->r);
	f->destroy = sr_ring_destroy(f->r);
	sr_ring_stop(f->r);	/* allowed from anywhere */
	return NULL;
}

/* A ring used from a thread that does not own it: every call fails at
 * once, nothing is queued or lent; the owner goes on as if nothing happened. */
static void test_foreign_thread(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *mine = sr_buf_alloc(16), *theirs = sr_buf_alloc(16);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	struct foreign f = { 0 };
	pthread_t t;
	int pp[2];

	pipe_new(pp);
	read_start(r, pp[0], mine, &sub);
	f.r = r;
	f.b = theirs;
	f.sub = &sub;
	f.fd = pp[0];
	CU_ASSERT_FATAL(pthread_create(&t, NULL, foreign_calls, &f) == 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(f.submit, -EPERM);
	CU_ASSERT(!f.buf_lent_after);
	CU_ASSERT_EQUAL(f.wait, -EPERM);
	CU_ASSERT_EQUAL(f.cancel, -EPERM);
	CU_ASSERT_EQUAL(f.poll, -EPERM);
	CU_ASSERT_EQUAL(f.run, -EPERM);
	CU_ASSERT_EQUAL(f.discard, -EPERM);
	CU_ASSERT_EQUAL(f.files, -EPERM);
	CU_ASSERT_EQUAL(f.raw_nop, -EPERM);
	CU_ASSERT_EQUAL(f.raw_reap, -EPERM);
	CU_ASSERT_EQUAL(f.acquire, -EBUSY);
	CU_ASSERT_EQUAL(f.destroy, -EPERM);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 1);
	CU_ASSERT(sr_buf_is_lent(mine) && !sr_buf_is_lent(theirs));
	CU_ASSERT_EQUAL(write(pp[1], "mine", 4), 4);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT(c.res == 4 && buf_says(mine, "mine"));
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(mine);
	sr_buf_free(theirs);
	pipe_close(pp);
}

struct handover {
	struct sr_ring *r;
	struct sr_read_submitted *sub;
	int fd_w;
	int acquire, wait, res, destroy;
	char got[8];
	struct sr_buf *b;
};

static void *take_over(void *arg)
{
	struct handover *h = arg;
	struct sr_read_completed c;

	h->acquire = sr_ring_acquire(h->r);
	if (write(h->fd_w, "moved", 5) != 5)
		h->res = -1;
	h->wait = sr_wait(h->r, h->sub, &c);
	h->res = c.res;
	if (!h->wait && c.res > 0)
		memcpy(h->got, sr_buf_data(c.buf), 5);
	h->destroy = sr_ring_destroy(h->r);
	return NULL;
}

/* A movable ring handed to another thread with an op in flight: the new
 * owner completes it and destroys the ring. */
static void test_handover(void)
{
	struct sr_ring *r = unit_ring(8, SR_RING_MOVABLE);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_read_submitted sub;
	struct handover h = { 0 };
	struct sr_nop_op nop = sr_nop();
	struct sr_nop_submitted ns;
	pthread_t t;
	int pp[2];

	pipe_new(pp);
	read_start(r, pp[0], b, &sub);
	CU_ASSERT_EQUAL(sr_ring_release(r), 0);
	/* Released: not even the former owner may use it now. */
	CU_ASSERT_EQUAL(sr_submit(r, &nop, &ns), -EPERM);
	CU_ASSERT(unit_said("released"));
	h.r = r;
	h.sub = &sub;
	h.fd_w = pp[1];
	CU_ASSERT_FATAL(pthread_create(&t, NULL, take_over, &h) == 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(h.acquire, 0);
	CU_ASSERT_EQUAL(h.wait, 0);
	CU_ASSERT_EQUAL(h.res, 5);
	CU_ASSERT(!memcmp(h.got, "moved", 5));
	CU_ASSERT_EQUAL(h.destroy, 0);
	CU_ASSERT(!sr_buf_is_lent(b));
	sr_buf_free(b);
	pipe_close(pp);
}

/* A released ring belongs to nobody until sr_ring_acquire: every call that
 * uses it fails with EPERM, even from the thread that released it, and
 * changes nothing (the op in flight is still there, no buffer is lent, no
 * SQE queued); acquired again, it goes on. */
static void test_released_refuses(void)
{
	struct sr_ring *r = unit_ring(8, SR_RING_MOVABLE);
	struct sr_buf *b = sr_buf_alloc(16), *other = sr_buf_alloc(16);
	struct sr_read_submitted sub, sub2;
	struct sr_read_completed c;
	struct sr_read_op op;
	struct io_uring_cqe cqe;
	int pp[2];

	pipe_new(pp);
	read_start(r, pp[0], b, &sub);
	CU_ASSERT_EQUAL(sr_ring_release(r), 0);
	op = sr_read(pp[0], other, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub2), -EPERM);
	CU_ASSERT(unit_said("sr_read_submit") && unit_said("released"));
	CU_ASSERT(!sr_buf_is_lent(other));
	CU_ASSERT_EQUAL(sr_ring_submit(r), -EPERM);
	CU_ASSERT(unit_said("sr_ring_submit") && unit_said("released"));
	CU_ASSERT_EQUAL(sr_ring_poll(r), -EPERM);
	CU_ASSERT_EQUAL(sr_ring_run_once(r, 0), -EPERM);
	CU_ASSERT_EQUAL(sr_ring_run(r), -EPERM);
	CU_ASSERT_EQUAL(sr_ring_discard(r), -EPERM);
	CU_ASSERT_EQUAL(sr_ring_eventfd(r), -EPERM);
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 2), -EPERM);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), -EPERM);
	CU_ASSERT_EQUAL(sr_cancel(r, &sub), -EPERM);
	CU_ASSERT_EQUAL(sr_ring_cancel_all(r), -EPERM);
	CU_ASSERT_EQUAL(sr_nop_raw(r, 1), -EPERM);
	CU_ASSERT_EQUAL(sr_raw_reap(r, &cqe, 1), -EPERM);
	CU_ASSERT_PTR_NULL(sr_ring_uring(r));
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);	/* nothing to say to a non-owner */
	CU_ASSERT_EQUAL(sr_ring_release(r), -EPERM);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), -EPERM);
	CU_ASSERT(unit_said("sr_ring_destroy") && unit_said("released"));
	/* Taken back: the read is still in flight and completes. */
	CU_ASSERT_EQUAL_FATAL(sr_ring_acquire(r), 0);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 1);
	CU_ASSERT(sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(write(pp[1], "again", 5), 5);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT(c.res == 5 && buf_says(b, "again"));
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	sr_buf_free(other);
	pipe_close(pp);
}

static void *try_acquire(void *arg)
{
	struct sr_ring *r = arg;

	return (void *)(intptr_t)sr_ring_acquire(r);
}

/* The kernel ties a single-issuer ring to its creator: refused, and said so. */
static void test_single_issuer_stays(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct io_uring *u = sr_ring_uring(r);
	pthread_t t;
	void *ret;

	if (!u || !(u->flags & SR_IORING_SETUP_SINGLE_ISSUER)) {
		printf("\n    skip: this ring is not single-issuer (%s)\n", sr_ring_backend(r));
		sr_ring_destroy(r);
		return;
	}
	CU_ASSERT_EQUAL(sr_ring_release(r), 0);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, try_acquire, r) == 0);
	pthread_join(t, &ret);
	CU_ASSERT_EQUAL((int)(intptr_t)ret, -EPERM);
	CU_ASSERT_EQUAL(sr_ring_acquire(r), 0);	/* its creator takes it back */
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

struct race {
	struct sr_ring *r;
	int owners, max_owners, stop;
	long wins;
};

/* Acquire, hold for a moment, release, as fast as possible. */
static void *acquire_race(void *arg)
{
	struct race *a = arg;
	long wins = 0;

	while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
		int n;

		if (sr_ring_acquire(a->r))
			continue;
		n = __atomic_add_fetch(&a->owners, 1, __ATOMIC_ACQ_REL);
		if (n > __atomic_load_n(&a->max_owners, __ATOMIC_RELAXED))
			__atomic_store_n(&a->max_owners, n, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&a->owners, 1, __ATOMIC_ACQ_REL);
		wins++;
		if (sr_ring_release(a->r))
			__atomic_store_n(&a->max_owners, 99, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&a->wins, wins, __ATOMIC_RELAXED);
	return NULL;
}

/* Two threads racing to acquire a released ring: never both at once
 * (ring.c: sr_ring_acquire's compare-and-swap). */
static void test_acquire_race(void)
{
	struct race a = { .r = unit_ring(8, SR_RING_MOVABLE) };
	pthread_t t[2];

	CU_ASSERT_EQUAL(sr_ring_release(a.r), 0);
	for (int i = 0; i < 2; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, acquire_race, &a) == 0);
	usleep(500000);	/* the race's window is a few instructions: many rounds */
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(a.max_owners, 1);
	CU_ASSERT(a.wins > 0);
	CU_ASSERT_EQUAL(sr_ring_acquire(a.r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(a.r), 0);
}

struct loop_arg {
	struct sr_ring *r;
	int ops;
	int err;
	struct sr_pool *pool;
};

static void *own_ring_loop(void *arg)
{
	struct loop_arg *a = arg;
	struct sr_ring *r;
	struct sr_ring_params p = { .entries = 8 };
	int fd = unit_tmp_fd();

	if (sr_ring_create(&r, &p)) {
		a->err = -1;
		return NULL;
	}
	for (int i = 0; i < a->ops && !a->err; i++) {
		struct sr_buf *b = sr_pool_take(a->pool);
		struct sr_write_op w;
		struct sr_write_submitted s;
		struct sr_write_completed c;

		if (!b) {
			i--;
			continue;	/* the other thread has them */
		}
		memset(sr_buf_data(b), 'a' + (i % 26), 64);
		sr_buf_set_len(b, 64);
		w = sr_write(fd, b, (uint64_t)i * 64);
		if (sr_submit(r, &w, &s) || sr_wait(r, &s, &c) || c.res != 64 || sr_pool_put(b))
			a->err = i + 1;
	}
	sr_ring_destroy(r);
	close(fd);
	return NULL;
}

/* Threads with rings of their own share a pool. */
static void test_threads_share_pool(void)
{
	struct sr_pool *pool = sr_pool_create(3, 4096, 0);
	struct loop_arg a[3];
	pthread_t t[3];

	for (int i = 0; i < 3; i++) {
		a[i] = (struct loop_arg){ .ops = 300, .pool = pool };
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, own_ring_loop, &a[i]) == 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(a[i].err, 0);
	}
	CU_ASSERT_EQUAL(sr_pool_available(pool), 3);
	CU_ASSERT_EQUAL(sr_pool_destroy(pool), 0);
}

/* sr_ring_stop from another thread ends sr_ring_run at its next wake-up. */
static void tick(struct sr_ring *r, struct sr_timeout_multishot_completed *c, void *arg)
{
	(void)r;
	(void)c;
	(*(int *)arg)++;
}

static void *stopper(void *arg)
{
	struct sr_ring *r = arg;

	usleep(20000);
	sr_ring_stop(r);
	return NULL;
}

static void test_stop_from_thread(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct __kernel_timespec ts = { .tv_nsec = 5000000 };
	struct sr_timeout_multishot_op t = sr_timeout_multishot(&ts);
	struct sr_timeout_multishot_submitted sub;
	pthread_t th;
	int n = 0;

	CU_ASSERT_FATAL(sr_submit_cb(r, &t, tick, &n, &sub) == 0);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, stopper, r) == 0);
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);	/* returns: stopped */
	pthread_join(th, NULL);
	CU_ASSERT(n >= 1);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* --- 5. fork() ------------------------------------------------------------------ */

/* The child can neither use nor disturb the parent's ring; it may release
 * its copy, and the lent buffer becomes its own again.  The parent's read
 * completes as if nothing happened. */
static void fork_case(unsigned flags)
{
	struct sr_ring *r = unit_ring(8, flags);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_bufgroup *g = sr_bufgroup_create(r, 2, 16);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	int pp[2], sv[2], status = -1;
	pid_t pid;

	CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pipe_new(pp);
	read_start(r, pp[0], b, &sub);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct sr_nop_op nop = sr_nop();
		struct sr_nop_submitted ns;
		int bad = 0;

		alarm(10);
		bad |= sr_submit(r, &nop, &ns) != -EPERM;
		bad |= !strstr(sr_last_error(), "inherited across fork") << 1;
		bad |= (sr_wait(r, &sub, &c) != -EPERM) << 2;
		bad |= (sr_cancel(r, &sub) != -EPERM) << 3;
		bad |= (sr_ring_poll(r) != -EPERM) << 4;
		bad |= (sr_ring_acquire(r) != -EPERM) << 5;
		bad |= (sr_buf_free(b) != -EBUSY) << 6;	/* lent, until the copy is released */
		bad |= (sr_ring_destroy(r) != 0) << 7;
		bad |= (sr_buf_free(b) != 0) << 8;
		_exit(bad);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		printf("\n    child failed checks 0x%x\n", WEXITSTATUS(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	/* The parent's read still waits for data, and gets it. */
	CU_ASSERT(sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(write(pp[1], "after", 5), 5);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT(c.res == 5 && buf_says(b, "after"));
	/* The child's release left the parent's buffer group in its kernel
	 * (group.c: group_unregister is not for a fork child). */
	{
		struct sr_recv_multishot_op op = sr_recv_multishot(sv[0], g);
		struct sr_recv_multishot_submitted ms;
		struct sr_recv_multishot_completed mc;

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &ms), 0);
		CU_ASSERT_EQUAL(write(sv[1], "grp", 3), 3);
		CU_ASSERT_EQUAL(sr_wait(r, &ms, &mc), 0);
		CU_ASSERT(mc.res == 3 && mc.buf && !memcmp(sr_buf_data(mc.buf), "grp", 3));
		if (mc.buf)
			sr_bufgroup_recycle(g, mc.buf);
		unit_stream_cancel(r, g, &ms, &mc);
	}
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	pipe_close(pp);
	close(sv[0]);
	close(sv[1]);
}

/* On a ring of one task (the default) and on a movable one, whose kernel
 * ring another task could change: the child changes nothing either way. */
static void test_fork(void)
{
	fork_case(0);
	fork_case(SR_RING_MOVABLE);
}

static volatile bool churn_stop;

static void *pool_churn(void *arg)
{
	struct sr_pool *p = arg;

	while (!churn_stop) {
		struct sr_buf *b = sr_pool_take(p);

		if (b)
			sr_pool_put(b);
	}
	return NULL;
}

/* fork() while another thread works a pool: the child's pool is usable
 * (no lock left held by a thread the child does not have). */
static void test_fork_pool(void)
{
	struct sr_pool *p = sr_pool_create(2, 4096, 0);
	pthread_t t;
	int bad = 0;

	churn_stop = false;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, pool_churn, p) == 0);
	for (int i = 0; i < 50; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			struct sr_buf *b;

			alarm(5);
			b = sr_pool_take(p);
			_exit(!b || sr_pool_put(b) != 0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	churn_stop = true;
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
}

/*
 * fork() from a completion callback: the callback returns in the child
 * too, into the runtime's delivery loop.  There the ring is the parent's:
 * no other callback runs in the child, the wait it was in (sr_ring_run or
 * sr_wait) ends with EPERM (on a movable ring it would otherwise go on
 * reaping the parent's completions),
 * releasing the copy from inside the callback is refused (it would free
 * the loop's ring under it), and after it every buffer is the child's:
 * the delivered read's, the completed ones' waiting for their callbacks
 * (a readv whose pool buffer went home at its completion: not twice; a
 * read whose buffer comes back with its callback) and the in-flight
 * recv's.  The parent's callbacks all run, each with its data.
 */
static struct {
	struct sr_pool *pool;
	struct sr_buf *rd[2], *rv, *rc;
	unsigned seen, child_bad;
	bool child;
	int sv[2];
} fcb;

static void fcb_read(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	fcb.seen++;
	CU_ASSERT(c->res == 4 && buf_says(c->buf, "file"));
	if (!arg)
		return;
	if (fork() == 0) {
		alarm(10);
		fcb.child = true;
		fcb.child_bad = sr_ring_destroy(r) != -EDEADLK;
		fcb.child_bad |= !strstr(sr_last_error(), "from a completion callback") << 1;
		return;
	}
	/* The parent: the wait it is in ends (run) or its op completes (wait). */
	sr_ring_stop(r);
	CU_ASSERT_EQUAL(send(fcb.sv[1], "net", 3, 0), 3);
}

static void fcb_readv(struct sr_ring *r, struct sr_readv_completed *c, void *arg)
{
	(void)r;
	(void)arg;
	fcb.seen++;
	CU_ASSERT_EQUAL(c->res, 4);
}

static void fcb_recv(struct sr_ring *r, struct sr_recv_completed *c, void *arg)
{
	(void)r;
	(void)arg;
	fcb.seen++;
	/* Cancelled when the ring is destroyed first. */
	CU_ASSERT((c->res == 3 && buf_says(c->buf, "net")) || c->res == -ECANCELED);
}

/* What the parent is in when the callback forks: sr_ring_run (the recv has
 * a callback), sr_wait for the recv, sr_wait for a multishot recv's next
 * completion, or sr_ring_destroy (the recv has a callback). */
enum { FCB_RUN, FCB_WAIT, FCB_STREAM, FCB_DESTROY };

static void fork_in_callback_case(unsigned flags, int mode)
{
	static const char *const why[] = {
		[FCB_RUN] = "sr_ring_run: the ring was inherited across fork",
		[FCB_WAIT] = "sr_recv_wait: the ring was inherited across fork",
		[FCB_STREAM] = "sr_recv_multishot_wait: the ring was inherited across fork",
		[FCB_DESTROY] = "sr_ring_destroy: the ring was inherited across fork",
	};
	struct sr_ring *r = unit_ring(16, flags);
	struct sr_bufgroup *g = sr_bufgroup_create(r, 2, 64);
	int fd = unit_tmp_fd(), pp[2], status = -1, ret;
	bool wait = mode == FCB_WAIT || mode == FCB_STREAM;
	struct sr_recv_multishot_op ms;
	struct sr_recv_multishot_submitted mss;
	struct sr_recv_multishot_completed msc;
	struct sr_recv_submitted rs;
	struct sr_recv_completed rcd;
	struct sr_read_op rd0, rd1;
	struct sr_readv_op rv;
	struct sr_recv_op rc;

	memset(&fcb, 0, sizeof(fcb));
	CU_ASSERT_FATAL(fd >= 0 && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fcb.sv) == 0);
	CU_ASSERT_FATAL(pwrite(fd, "file", 4, 0) == 4);
	pipe_new(pp);
	CU_ASSERT_FATAL(write(pp[1], "pipe", 4) == 4);
	fcb.pool = sr_pool_create(1, 4096, 0);
	fcb.rv = sr_pool_take(fcb.pool);
	CU_ASSERT_FATAL(fcb.rv && sr_buf_set_auto_return(fcb.rv, true) == 0);
	for (int i = 0; i < 2; i++)
		fcb.rd[i] = sr_buf_alloc(16);
	fcb.rc = sr_buf_alloc(16);
	rd0 = sr_read(fd, fcb.rd[0], 0);
	rv = sr_readv(pp[0], &fcb.rv, 1, (__u64)-1);
	rd1 = sr_read(fd, fcb.rd[1], 0);
	rc = sr_recv(fcb.sv[0], fcb.rc);
	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &rd0, fcb_read, (void *)1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &rv, fcb_readv, NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &rd1, fcb_read, NULL, NULL), 0);
	CU_ASSERT_FATAL(g != NULL);
	ms = sr_recv_multishot(fcb.sv[0], g);
	if (mode == FCB_STREAM)
		ret = sr_submit(r, &ms, &mss);
	else
		ret = wait ? sr_submit(r, &rc, &rs) : sr_submit_cb(r, &rc, fcb_recv, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	/* The first three completions wait together, so the callback that
	 * forks has two more queued behind it. */
	CU_ASSERT(sr_ring_submit(r) >= 0);
	for (int t = 0; t < 2000 && io_uring_cq_ready(sr_ring_uring(r)) < 3; t++)
		usleep(500);
	CU_ASSERT_EQUAL(io_uring_cq_ready(sr_ring_uring(r)), 3);
	if (mode == FCB_STREAM)
		ret = sr_wait(r, &mss, &msc);
	else if (mode == FCB_DESTROY)
		ret = sr_bufgroup_destroy(g) ?: sr_ring_destroy(r);
	else
		ret = wait ? sr_wait(r, &rs, &rcd) : sr_ring_run(r);
	if (fcb.child) {
		unsigned bad = fcb.child_bad;

		bad |= (fcb.seen != 1) << 2;	/* the queued callbacks did not run here */
		bad |= (ret != -EPERM) << 3;
		bad |= !strstr(sr_last_error(), why[mode]) << 4;
		bad |= (sr_ring_destroy(r) != 0) << 5;	/* after a failed one, too */
		bad |= (sr_pool_available(fcb.pool) != 1) << 6;	/* home once */
		for (int i = 0; i < 2; i++)
			bad |= (sr_buf_free(fcb.rd[i]) != 0) << 7;
		bad |= (sr_buf_free(fcb.rc) != 0) << 8;
		_exit((int)bad);
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(waitpid(-1, &status, 0) > 0 && WIFEXITED(status));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		printf("\n    child failed checks 0x%x (mode %d)\n", WEXITSTATUS(status), mode);
	CU_ASSERT_EQUAL(status, 0);
	if (mode == FCB_DESTROY) {
		CU_ASSERT_EQUAL(fcb.seen, 4);
		goto out;
	}
	if (mode == FCB_WAIT)
		CU_ASSERT(rcd.res == 3 && buf_says(rcd.buf, "net"));
	if (mode == FCB_STREAM) {
		CU_ASSERT(msc.res == 3 && msc.buf && buf_says(msc.buf, "net"));
		if (msc.buf)
			sr_bufgroup_recycle(g, msc.buf);
		CU_ASSERT_EQUAL(sr_cancel(r, &mss), 0);
		while (msc.more && sr_wait(r, &mss, &msc) == 0)
			if (msc.buf)
				sr_bufgroup_recycle(g, msc.buf);
	}
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(fcb.seen, wait ? 3 : 4);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
out:
	CU_ASSERT_EQUAL(sr_pool_available(fcb.pool), 1);
	CU_ASSERT_EQUAL(sr_pool_destroy(fcb.pool), 0);
	for (int i = 0; i < 2; i++)
		sr_buf_free(fcb.rd[i]);
	sr_buf_free(fcb.rc);
	pipe_close(pp);
	close(fcb.sv[0]);
	close(fcb.sv[1]);
	close(fd);
}

static void test_fork_in_callback(void)
{
	struct sr_ring *r = unit_ring(4, 0);

	if (unit_needs_uring(r, "completions reaped together"))
		return;
	sr_ring_destroy(r);
	for (int mode = FCB_RUN; mode <= FCB_DESTROY; mode++) {
		fork_in_callback_case(0, mode);
		fork_in_callback_case(SR_RING_MOVABLE, mode);
	}
}

/*
 * fork() while a fallback worker holds a send group's lock (set by hand
 * here, as a worker picking the queue at that moment would): the child's
 * release of its copy takes no group lock (its holder is not in the
 * child: it would spin for ever), and the parent's bundle goes on.
 */
static void test_fork_group_lock(void)
{
	struct sr_ring *r = unit_ring(8, SR_RING_FALLBACK);
	struct sr_bufgroup *g = sr_bufgroup_create_send(r, 2);
	struct sr_buf *b = sr_buf_alloc(4096);
	struct sr_send_bundle_submitted sub;
	struct sr_send_bundle_completed c;
	struct sr_send_bundle_op op;
	int sv[2], small = 4096, status = -1;
	char fill[4096] = { 0 };
	long sent = 0;
	pid_t pid;

	CU_ASSERT_FATAL(g && b);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
	while (send(sv[0], fill, sizeof(fill), MSG_DONTWAIT) > 0)
		;	/* full: the bundle waits for room */
	memset(sr_buf_data(b), 'g', sizeof(fill));
	sr_buf_set_len(b, sizeof(fill));
	CU_ASSERT_EQUAL_FATAL(sr_bufgroup_queue(g, b), 0);
	op = sr_send_bundle(sv[0], g);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	usleep(20000);
	g->_lock = 1;
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		alarm(10);
		/* the queued buffer is the child's again */
		int bad = sr_ring_destroy(r) != 0;

		if (sr_buf_free(b)) {
			printf("\n    child: %s\n", sr_last_error());
			bad |= 2;
		}
		_exit(bad);
	}
	g->_lock = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (WIFSIGNALED(status))
		printf("\n    the child died of signal %d (SIGALRM: it hung)\n", WTERMSIG(status));
	else if (WEXITSTATUS(status))
		printf("\n    the child's checks failed: 0x%x\n", WEXITSTATUS(status));
	/* The parent's bundle goes once the peer reads. */
	do {
		while (recv(sv[1], fill, sizeof(fill), MSG_DONTWAIT) > 0)
			;
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
		if (c.res > 0)
			sent += c.res;
	} while (c.more);
	CU_ASSERT_EQUAL(sent, (long)sizeof(fill));
	CU_ASSERT(!sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	close(sv[0]);
	close(sv[1]);
}

/* --- 7. teardown ---------------------------------------------------------------- */

/* A destroy with a deadline: a zero-copy send the peer does not read
 * keeps its buffer; the destroy gives up, frees nothing, says why, and a
 * later destroy finishes once the peer has the data. */
static void test_destroy_deadline(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	size_t size = 4 << 20;
	struct sr_buf *b = sr_buf_alloc(size);
	struct sr_send_zc_op op;
	struct sr_send_zc_submitted sub;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s, peer, ret;
	struct sr_bufgroup *sg;
	char sink[65536];

	if (!sr_ring_uring(r)) {
		/* No kernel to wait on: the deadline is met once cancels land. */
		int pp[2];
		struct sr_read_submitted rs;

		pipe_new(pp);
		read_start(r, pp[0], b, &rs);
		ret = sr_ring_destroy_timeout(r, 0);
		CU_ASSERT(ret == 0 || ret == -ETIMEDOUT);
		if (ret == -ETIMEDOUT) {
			CU_ASSERT(sr_buf_is_lent(b));
			CU_ASSERT(unit_said("gave up") && unit_said("read"));
			CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
		}
		CU_ASSERT(!sr_buf_is_lent(b));
		sr_buf_free(b);
		pipe_close(pp);
		close(l);
		return;
	}
	CU_ASSERT_FATAL(b && l >= 0);
	CU_ASSERT_FATAL(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 1) == 0);
	CU_ASSERT_FATAL(getsockname(l, (struct sockaddr *)&a, &al) == 0);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	peer = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CU_ASSERT_FATAL(peer >= 0);
	memset(sr_buf_data(b), 'z', size);
	sr_buf_set_len(b, size);
	sg = sr_bufgroup_create_send(r, 2);	/* NULL where send groups cannot be had */
	op = sr_send_zc(s, b);
	CU_ASSERT_FATAL(sr_submit(r, &op, &sub) == 0);
	sr_ring_submit(r);
	usleep(20000);
	ret = sr_ring_destroy_timeout(r, 100);
	if (ret == 0) {
		printf("\n    note: the kernel finished the zero-copy send without the peer (nothing to wait for)\n");
		goto out;
	}
	CU_ASSERT_EQUAL(ret, -ETIMEDOUT);
	CU_ASSERT(unit_said("gave up after 100 ms") && unit_said("send_zc") && unit_said("nothing was freed"));
	CU_ASSERT(sr_buf_is_lent(b));	/* the kernel may still read it */
	CU_ASSERT_EQUAL(sr_buf_free(b), -EBUSY);
	/* Closing: no new ops. */
	{
		struct sr_nop_op nop = sr_nop();
		struct sr_nop_submitted ns;
		struct sr_buf *fixed = sr_buf_alloc(4096);
		struct sr_pool *pool = sr_pool_create(2, 4096, 0);

		CU_ASSERT_EQUAL(sr_submit(r, &nop, &ns), -ESHUTDOWN);
		/* nor groups to feed them */
		CU_ASSERT_PTR_NULL(sr_bufgroup_create(r, 4, 4096));
		CU_ASSERT(unit_said("sr_bufgroup_create") && unit_said("being destroyed"));
		CU_ASSERT_PTR_NULL(sr_bufgroup_create_send(r, 4));
		CU_ASSERT(unit_said("sr_bufgroup_create_send") && unit_said("being destroyed"));
		/* nor registrations: the destroy would only undo them */
		CU_ASSERT_EQUAL(sr_ring_register_buffers(r, &fixed, 1), -ESHUTDOWN);
		CU_ASSERT(unit_said("sr_ring_register_buffers") && unit_said("being destroyed"));
		CU_ASSERT_EQUAL(sr_ring_register_pool(r, pool), -ESHUTDOWN);
		CU_ASSERT(unit_said("sr_ring_register_pool"));
		CU_ASSERT_EQUAL(sr_ring_register_files(r, 4), -ESHUTDOWN);
		CU_ASSERT(unit_said("sr_ring_register_files"));
		/* nor buffers queued to send */
		if (sg) {
			sr_buf_set_len(fixed, 16);
			CU_ASSERT_EQUAL(sr_bufgroup_queue(sg, fixed), -ESHUTDOWN);
			CU_ASSERT(unit_said("sr_bufgroup_queue") && unit_said("being destroyed"));
		}
		/* None of them is held by the ring. */
		CU_ASSERT(!sr_buf_is_lent(fixed));
		CU_ASSERT_EQUAL(sr_buf_free(fixed), 0);
		CU_ASSERT_EQUAL(sr_pool_destroy(pool), 0);
	}
	/* The peer reads some and goes away: the kernel lets go of the
	 * pages, and the destroy goes through. */
	CU_ASSERT(read(peer, sink, sizeof(sink)) > 0);
	close(peer);
	peer = -1;
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
out:
	CU_ASSERT(!sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	if (peer >= 0)
		close(peer);
	close(s);
	close(l);
}

/*
 * A destroy that waits on many alike ops says so in one line: "10 ops in
 * flight: 10 send_zc (sent; ...)", not a list cut off at the message's
 * length.  (teardown.c: describe_busy.)
 */
static void test_destroy_names_alike(void)
{
	enum { N = 10 };
	struct sr_ring *r = unit_ring(32, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	size_t size = 4 << 20;
	struct sr_buf *b[N];
	int l, s[N], peer[N], ret;
	char sink[65536];

	if (unit_needs_uring(r, "a zero-copy send's notification"))
		return;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, N) == 0);
	CU_ASSERT_FATAL(getsockname(l, (struct sockaddr *)&a, &al) == 0);
	for (int i = 0; i < N; i++) {
		struct sr_send_zc_submitted sub;
		struct sr_send_zc_op op;

		s[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CU_ASSERT_FATAL(connect(s[i], (struct sockaddr *)&a, sizeof(a)) == 0);
		peer[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		b[i] = sr_buf_alloc(size);
		CU_ASSERT_FATAL(peer[i] >= 0 && b[i]);
		memset(sr_buf_data(b[i]), 'z', size);
		sr_buf_set_len(b[i], size);
		op = sr_send_zc(s[i], b[i]);
		CU_ASSERT_FATAL(sr_submit(r, &op, &sub) == 0);
	}
	sr_ring_submit(r);
	usleep(20000);
	ret = sr_ring_destroy_timeout(r, 100);
	if (ret == 0) {
		printf("\n    note: the kernel finished the zero-copy sends without the peers (nothing to wait for)\n");
	} else {
		CU_ASSERT_EQUAL(ret, -ETIMEDOUT);
		CU_ASSERT(unit_said("with 10 ops in flight: 10 send_zc (") && unit_said("nothing was freed"));
		for (int i = 0; i < N; i++)
			CU_ASSERT(read(peer[i], sink, sizeof(sink)) > 0);
		for (int i = 0; i < N; i++) {
			close(peer[i]);
			peer[i] = -1;
		}
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	}
	for (int i = 0; i < N; i++) {
		CU_ASSERT(!sr_buf_is_lent(b[i]));
		sr_buf_free(b[i]);
		if (peer[i] >= 0)
			close(peer[i]);
		close(s[i]);
	}
	close(l);
}

/* A chain member cancelled while it waits for its turn ends there: when
 * the op before it completes, it is not started after all (it was, and
 * its freed job later ran on a worker: api-fuzz seed 493). */
static void test_cancelled_chain_member(void)
{
	struct sr_ring *r = unit_ring(8, SR_RING_FALLBACK);
	struct sr_buf *b1 = sr_buf_alloc(16), *b2 = sr_buf_alloc(16);
	struct sr_read_submitted s1, s2;
	struct sr_read_completed c;
	struct sr_chain ch;
	struct sr_read_op r1, r2;
	int p1[2], p2[2];

	pipe_new(p1);
	pipe_new(p2);
	r1 = sr_read(p1[0], b1, 0);
	r2 = sr_read(p2[0], b2, 0);
	sr_chain_begin(r, &ch, 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &r1, &s1), 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &r2, &s2), 0);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	/* The first read completes (its worker posts), then the second is
	 * cancelled; the owner sees both only now, the first one first. */
	CU_ASSERT_EQUAL(write(p1[1], "one", 3), 3);
	usleep(50000);
	CU_ASSERT_EQUAL(sr_cancel(r, &s2), 0);
	/* Data for the cancelled read: started by mistake, it would run at once. */
	CU_ASSERT_EQUAL(write(p2[1], "two", 3), 3);
	CU_ASSERT_EQUAL(sr_wait(r, &s1, &c), 0);
	CU_ASSERT_EQUAL(c.res, 3);
	CU_ASSERT_EQUAL(sr_wait(r, &s2, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	/* The cancelled read's job is reused by these: none may run twice. */
	for (int i = 0; i < 50; i++) {
		struct sr_nop_op nop = sr_nop();
		struct sr_nop_submitted ns;
		struct sr_nop_completed nc;

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &nop, &ns), 0);
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &ns, &nc), 0);
	}
	CU_ASSERT(!sr_buf_is_lent(b2));
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b1);
	sr_buf_free(b2);
	pipe_close(p1);
	pipe_close(p2);
}

/* A flag that would turn an op into its variant of another completion
 * shape (a repeating timeout) is refused: the ring would track a stream
 * as one completion. */
static void test_shape_flags_refused(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct __kernel_timespec ts = { .tv_nsec = 1000 };
	struct sr_timeout_op t = sr_timeout(&ts);
	struct sr_timeout_submitted sub;

	sr_timeout_set_flags(&t, SR_IORING_TIMEOUT_MULTISHOT);
	CU_ASSERT_EQUAL(sr_submit(r, &t, &sub), -EINVAL);
	CU_ASSERT(unit_said("use sr_timeout_multishot()"));
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* --- 8. scale ------------------------------------------------------------------- */

/* Many jobs at once on the fallback backend, through a small CQ: the job
 * table grows by doubling (one allocation per job plus a few, not two). */
static void test_many_jobs(void)
{
	struct sr_ring_params p = { .entries = 8, .cq_entries = 8, .flags = SR_RING_FALLBACK };
	enum { N = 20000 };
	static struct sr_nop_submitted subs[N];
	struct sr_nop_completed c;
	struct sr_ring *r;
	int ok = 0;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	for (int i = 0; i < N; i++) {
		struct sr_nop_op nop = sr_nop();

		CU_ASSERT_FATAL(sr_submit(r, &nop, &subs[i]) == 0);
	}
	for (int i = 0; i < N; i++)
		ok += sr_wait(r, &subs[i], &c) == 0 && c.res == 0;
	CU_ASSERT_EQUAL(ok, N);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* --- waiting on a callback's op ----------------------------------------------------- */

static void count_read_cb(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	(void)r;
	if (c->res == 5 && buf_says(c->buf, "hello"))
		++*(int *)arg;
}

/*
 * Waiting on an op submitted with a callback is refused with an error that
 * names the op, whether its CQE is still to come or already at the CQ head
 * (the inline fast path of waiting must not take it), and the callback
 * still runs once.
 */
static void test_wait_on_callback_op_refused(void)
{
	struct sr_ring *r;
	int fds[2], hits = 0;
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_read_submitted sub;
	struct sr_read_completed c;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0);
	for (int head = 0; head < 2; head++) {
		struct sr_read_op op = sr_read(fds[0], b, 0);

		CU_ASSERT_FATAL(sr_submit_cb(r, &op, count_read_cb, &hits, &sub) == 0);
		if (head) {
			/* Its CQE first in the CQ before the wait. */
			CU_ASSERT_FATAL(write(fds[1], "hello", 5) == 5);
			CU_ASSERT(sr_ring_submit(r) >= 0);
			usleep(10000);
		}
		CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(sr_last_error(), "sr_read_wait"));
		CU_ASSERT_PTR_NOT_NULL(strstr(sr_last_error(), "callback"));
		CU_ASSERT_EQUAL(c.res, 0);
		if (!head)
			CU_ASSERT_FATAL(write(fds[1], "hello", 5) == 5);
		CU_ASSERT_EQUAL(sr_ring_run(r), 0);
		CU_ASSERT_EQUAL(hits, head + 1);
		CU_ASSERT_FALSE(sr_buf_is_lent(b));
	}
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	close(fds[0]);
	close(fds[1]);
}

void safety_tests(CU_pSuite s)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "identity: op handles of another or a destroyed ring", test_foreign_op_handles },
		{ "identity: targets of another ring", test_foreign_targets },
		{ "identity: registered files of another ring", test_foreign_files },
		{ "identity: groups and fixed buffers of another ring", test_foreign_groups_and_fixed },
		{ "ownership: a pool buffer put back", test_pool_put_back },
		{ "ownership: pool destroy with buffers out", test_pool_destroy_busy },
		{ "ownership: pool destroy with eight buffers lent names six", test_pool_destroy_busy_many },
		{ "ownership: group buffers outlive their ring", test_group_outlives_ring },
		{ "ownership: group recycle rules", test_group_recycle_rules },
		{ "callbacks: every call from a callback", test_callback_reentry },
		{ "callbacks: stop, then destroy", test_callback_stop_then_destroy },
		{ "callbacks: waiting on a callback's op is refused", test_wait_on_callback_op_refused },
		{ "threads: calls from a thread that is not the owner", test_foreign_thread },
		{ "threads: handing a movable ring over", test_handover },
		{ "threads: a released ring refuses every call", test_released_refuses },
		{ "threads: a single-issuer ring stays", test_single_issuer_stays },
		{ "threads: two racing to acquire a released ring", test_acquire_race },
		{ "threads: rings of their own, one pool", test_threads_share_pool },
		{ "threads: sr_ring_stop from another thread", test_stop_from_thread },
		{ "fork: the child cannot touch the parent's ring", test_fork },
		{ "fork: pools across fork", test_fork_pool },
		{ "fork: from a completion callback", test_fork_in_callback },
		{ "fork: a send group's lock held at fork()", test_fork_group_lock },
		{ "teardown: destroy with a deadline", test_destroy_deadline },
		{ "teardown: alike ops waited for are counted", test_destroy_names_alike },
		{ "shape: a flag that makes another op is refused", test_shape_flags_refused },
		{ "fallback: a cancelled chain member never starts", test_cancelled_chain_member },
		{ "scale: 20000 fallback jobs through an 8-entry CQ", test_many_jobs },
	};

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
}
