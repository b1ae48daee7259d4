/* SPDX-License-Identifier: MIT */
/*
 * Guarantees `make mutate` found no test for (issue 21, item 11): each
 * test checks what the documentation promises (docs/safety.md, the man
 * pages), and names the mutants it kills, so a survivor list can be read
 * against it.  Run on both backends, like the rest of the unit suite.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <safer-ring.h>

#include "unit.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* --- completions ----------------------------------------------------------------- */

/* A zero-copy send that fails at once gets no notification: its result is
 * the error, its notification word 0 (not the error again), nothing was
 * copied, and the buffer is back.  (complete.c: `res = 0` for a final
 * result without a notification.) */
static void test_send_zc_fails_at_once(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_send_zc_submitted s;
	struct sr_send_zc_completed c;
	struct sr_send_zc_op op;
	int fd = unit_tmp_fd();	/* not a socket */

	CU_ASSERT_FATAL(b && fd >= 0);
	memcpy(sr_buf_data(b), "nowhere", 7);
	sr_buf_set_len(b, 7);
	op = sr_send_zc(fd, b);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT(c.res < 0);
	CU_ASSERT_EQUAL(c.notif, 0);
	CU_ASSERT(!c.copied);
	CU_ASSERT(c.buf == b && !sr_buf_is_lent(b));
	CU_ASSERT(sr_buf_len(b) == 7 && !memcmp(sr_buf_data(b), "nowhere", 7));
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	close(fd);
}

struct ticks {
	int n;
	int more[8];
	int res[8];
};

static void on_tick(struct sr_ring *r, struct sr_timeout_multishot_completed *c, void *arg)
{
	struct ticks *t = arg;

	(void)r;
	if (t->n < 8) {
		t->more[t->n] = c->more;
		t->res[t->n] = c->res;
	}
	t->n++;
}

/* A multishot op with a callback: one call per completion, `more` on all
 * but the last, and sr_ring_run returns once the stream has ended (its
 * slot is given back only then).  (complete.c: the multishot branch of
 * sr__deliver_pending.) */
static void test_multishot_callbacks(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct __kernel_timespec ts = { .tv_nsec = 1000000 };
	struct sr_timeout_multishot_op op = sr_timeout_multishot(&ts);
	struct ticks t = { 0 };

	sr_timeout_multishot_set_count(&op, 3);
	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op, on_tick, &t, NULL), 0);
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(t.n, 3);
	CU_ASSERT(t.more[0] && t.more[1] && !t.more[2]);
	CU_ASSERT(t.res[0] == -ETIME && t.res[1] == -ETIME && t.res[2] == -ETIME);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

struct order {
	struct sr_ring *r;
	int depth, max_depth, n, seq[8], poll;
};

static void on_nop(struct sr_ring *r, struct sr_nop_completed *c, void *arg);

struct order_arg {
	struct order *o;
	int id;
};

static void on_nop(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	struct order_arg *a = arg;
	struct order *o = a->o;

	(void)c;
	if (++o->depth > o->max_depth)
		o->max_depth = o->depth;
	if (o->n < 8)
		o->seq[o->n] = a->id;
	o->n++;
	if (a->id == 0)
		o->poll = sr_ring_poll(r);	/* reaps; runs none of the others here */
	o->depth--;
}

/* sr_ring_poll from a callback: the callbacks it finds run after the
 * current one returns, in order, never inside it (docs/safety.md, 3).
 * (complete.c: the `delivering` guard of sr__deliver_pending.) */
static void test_callbacks_do_not_nest(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct order o = { .r = r };
	struct order_arg a[4];

	for (int i = 0; i < 4; i++) {
		struct sr_nop_op nop = sr_nop();

		a[i] = (struct order_arg){ &o, i };
		CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &nop, on_nop, &a[i], NULL), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(o.n, 4);
	CU_ASSERT_EQUAL(o.max_depth, 1);
	CU_ASSERT(o.poll >= 0);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(o.seq[i], i);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* --- streams ------------------------------------------------------------------------- */

/* Waiting for a stream's next item through a handle that names none: a
 * zeroed handle, the handle of a stream that delivers to a callback, a
 * stream that has ended and been consumed.  Refused, never a read of a
 * slot that is not the stream's.  (complete.c: sr__next's handle check.) */
static void test_stream_bad_handles(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct __kernel_timespec ts = { .tv_nsec = 1000000 };
	struct sr_timeout_multishot_op op;
	struct sr_timeout_multishot_submitted zero = { 0 }, cbsub, sub;
	struct sr_timeout_multishot_completed c;
	struct ticks t = { 0 };

	CU_ASSERT_EQUAL(sr_wait(r, &zero, &c), -EINVAL);
	op = sr_timeout_multishot(&ts);
	sr_timeout_multishot_set_count(&op, 2);
	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op, on_tick, &t, &cbsub), 0);
	CU_ASSERT(sr_wait(r, &cbsub, &c) < 0);	/* its completions go to the callback */
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(t.n, 2);
	op = sr_timeout_multishot(&ts);
	sr_timeout_multishot_set_count(&op, 2);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT(c.more);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT(!c.more);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), -ESTALE);	/* ended, and consumed */
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal interrupts a wait for a stream's next item as it does any
 * wait: -EINTR, said so; the stream goes on.  (complete.c: sr__next's
 * error check.) */
static void test_stream_wait_interrupted(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_poll_multishot_op op;
	struct sr_poll_multishot_submitted sub;
	struct sr_poll_multishot_completed c;
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	struct sigaction sa, old;
	int p[2];

	if (RUNNING_ON_VALGRIND) {
		printf("\n    skip: under valgrind a timer signal does not interrupt a blocked wait\n");
		sr_ring_destroy(r);
		return;
	}
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	op = sr_poll_multishot(p[0], POLLIN);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	/* Submitted first: an enter that submits returns the count even when
	 * its wait is interrupted (as in test_interrupted_waits_say_so). */
	CU_ASSERT(sr_ring_submit(r) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &it, NULL);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), -EINTR);
	CU_ASSERT(unit_said("interrupted by a signal"));
	sigaction(SIGALRM, &old, NULL);
	/* The stream goes on. */
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT(c.res > 0 && (c.res & POLLIN) && c.more);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 1);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);	/* cancels it */
	close(p[0]);
	close(p[1]);
}

/* --- fixed buffers ------------------------------------------------------------------ */

/* A fixed vectored op or fixed-buffer message takes only buffers
 * registered with its ring, each of them, not only the first; a
 * fixed-buffer message needs a data buffer.  Refused at submit, nothing
 * lent.  (buf.c: the fixed checks of sr__bufvec_check and sr__msg_check.) */
static void test_fixed_every_buffer(void)
{
	struct sr_ring *r = unit_ring(8, 0), *r2 = unit_ring(8, 0);
	struct sr_buf *reg = sr_buf_alloc(64), *plain = sr_buf_alloc(64), *other = sr_buf_alloc(64);
	struct sr_buf *v[2];
	struct sr_readv_fixed_submitted vs;
	struct sr_readv_fixed_op vop;
	struct sr_sendmsg_zc_fixed_submitted ms;
	struct sr_sendmsg_zc_fixed_op mop;
	struct sr_msg m = { 0 };
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(reg && plain && other && fd >= 0);
	CU_ASSERT_EQUAL_FATAL(sr_ring_register_buffers(r, &reg, 1), 0);
	CU_ASSERT_EQUAL_FATAL(sr_ring_register_buffers(r2, &other, 1), 0);
	/* The second of two not registered at all. */
	v[0] = reg;
	v[1] = plain;
	vop = sr_readv_fixed(fd, v, 2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &vop, &vs), -EINVAL);
	CU_ASSERT(unit_said("not registered with this ring"));
	CU_ASSERT(!sr_buf_is_lent(reg) && !sr_buf_is_lent(plain));
	/* The second registered with another ring. */
	v[1] = other;
	vop = sr_readv_fixed(fd, v, 2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &vop, &vs), -EXDEV);
	CU_ASSERT(!sr_buf_is_lent(reg) && !sr_buf_is_lent(other));
	/* Messages: no data buffer; then the second not registered. */
	mop = sr_sendmsg_zc_fixed(fd, &m);
	CU_ASSERT_EQUAL(sr_submit(r, &mop, &ms), -EINVAL);
	CU_ASSERT(unit_said("at least one data buffer"));
	m.iov[0] = reg;
	m.iov[1] = plain;
	m.iovlen = 2;
	mop = sr_sendmsg_zc_fixed(fd, &m);
	CU_ASSERT_EQUAL(sr_submit(r, &mop, &ms), -EINVAL);
	CU_ASSERT(unit_said("not registered with this ring"));
	CU_ASSERT(!sr_buf_is_lent(reg) && !sr_buf_is_lent(plain));
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r2), 0);
	sr_buf_free(reg);
	sr_buf_free(plain);
	sr_buf_free(other);
	close(fd);
}

/* --- who holds a buffer ------------------------------------------------------------ */

/* A buffer queued in a send group: lent, and sr_buf_holder and the refusal
 * to free it say to what (the queue, not an op).  (buf.c: op_name.) */
static void test_holder_send_queue(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_bufgroup *g = sr_bufgroup_create_send(r, 2);
	struct sr_buf *b = sr_buf_alloc(16);

	if (!g) {
		printf("\n    skip: no send group here (%s)\n", sr_last_error());
		sr_buf_free(b);
		sr_ring_destroy(r);
		return;
	}
	sr_buf_set_len(b, 4);
	CU_ASSERT_EQUAL_FATAL(sr_bufgroup_queue(g, b), 0);
	CU_ASSERT(sr_buf_is_lent(b));
	CU_ASSERT_PTR_NOT_NULL_FATAL(sr_buf_holder(b));
	CU_ASSERT(strstr(sr_buf_holder(b), "send group") != NULL);
	CU_ASSERT_EQUAL(sr_buf_free(b), -EBUSY);
	CU_ASSERT(unit_said("send group"));
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);	/* gives the queue back */
	CU_ASSERT(!sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
}

/* --- descriptors ------------------------------------------------------------------- */

/* A program that closed stdin gets descriptor 0 for the next file it
 * opens: a ring's eventfd can be 0, and sr_ring_destroy closes it all the
 * same.  (teardown.c: `if (r->_eventfd >= 0)`.) */
static void test_eventfd_zero(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	int keep = dup(0), efd;

	CU_ASSERT_FATAL(keep >= 0);
	close(0);
	efd = sr_ring_eventfd(r);
	CU_ASSERT_EQUAL(efd, 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT(fcntl(0, F_GETFD) < 0 && errno == EBADF);
	CU_ASSERT_EQUAL(dup2(keep, 0), 0);
	close(keep);
}

/* Descriptor 0 is a file like any other in a registered slot: the op
 * through the slot reads it.  (files.c: sr_ring_files_set's `fd >= 0`.) */
static void test_file_slot_zero(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_file f;
	int keep = dup(0), fd, res = 0;

	CU_ASSERT_FATAL(keep >= 0 && b);
	close(0);
	fd = unit_tmp_fd();
	CU_ASSERT_EQUAL(fd, 0);
	CU_ASSERT_EQUAL(pwrite(fd, "zero", 4, 0), 4);
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 2), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, fd, &f), 0);
	CU_ASSERT(sr_file_valid(f));
	CU_ASSERT_EQUAL(unit_read_file(r, f, b, &res), 0);
	CU_ASSERT_EQUAL(res, 4);
	CU_ASSERT(res == 4 && !memcmp(sr_buf_data(b), "zero", 4));
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	CU_ASSERT_EQUAL(dup2(keep, 0), 0);
	close(keep);
}

/* A ring acquired by one thread: another's sr_ring_acquire is refused with
 * EBUSY (not taken from under the owner), also on a ring that could move;
 * once released, it may.  (ring.c: sr_ring_acquire's owner checks.) */
struct acq {
	struct sr_ring *r;
	int first, second, asked;
	pthread_mutex_t *m;
};

static void *acquire_twice(void *arg)
{
	struct acq *a = arg;

	a->first = sr_ring_acquire(a->r);	/* the owner has it */
	__atomic_store_n(&a->asked, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(a->m);		/* until the owner let go */
	a->second = sr_ring_acquire(a->r);
	pthread_mutex_unlock(a->m);
	if (!a->second)
		a->second = sr_ring_release(a->r);
	return NULL;
}

static void test_acquire_owned(void)
{
	struct sr_ring *r = unit_ring(8, SR_RING_MOVABLE);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct acq a = { .r = r, .m = &m };
	pthread_t t;

	pthread_mutex_lock(&m);
	CU_ASSERT_EQUAL(sr_ring_acquire(r), 0);	/* its own: nothing to do */
	CU_ASSERT_FATAL(pthread_create(&t, NULL, acquire_twice, &a) == 0);
	while (!__atomic_load_n(&a.asked, __ATOMIC_ACQUIRE))
		usleep(1000);
	CU_ASSERT_EQUAL(sr_ring_release(r), 0);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(a.first, -EBUSY);
	CU_ASSERT_EQUAL(a.second, 0);
	CU_ASSERT_EQUAL(sr_ring_acquire(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* An op given no group, or a group struct that is not one: refused at
 * submit, naming the op, nothing in flight.  (group.c: sr__group_check.) */
static void test_op_without_group(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_bufgroup fake;
	struct sr_recv_multishot_submitted rs;
	struct sr_recv_multishot_op rop = sr_recv_multishot(0, NULL);
	struct sr_send_bundle_submitted ss;
	struct sr_send_bundle_op sop = sr_send_bundle(1, NULL);

	CU_ASSERT_EQUAL(sr_submit(r, &rop, &rs), -EINVAL);
	CU_ASSERT(unit_said("recv_multishot") && unit_said("not a live buffer group"));
	CU_ASSERT_EQUAL(sr_submit(r, &sop, &ss), -EINVAL);
	CU_ASSERT(unit_said("send_bundle") && unit_said("not a live buffer group"));
	memset(&fake, 0, sizeof(fake));
	rop = sr_recv_multishot(0, &fake);
	CU_ASSERT_EQUAL(sr_submit(r, &rop, &rs), -EINVAL);
	CU_ASSERT(unit_said("not a live buffer group"));
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* sr_bufgroup_destroy of no group, or from a thread that does not own the
 * group's ring: refused, and the group stays usable.  (group.c.) */
static void *destroy_group(void *arg)
{
	return (void *)(intptr_t)sr_bufgroup_destroy(arg);
}

static void test_group_destroy_refused(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_bufgroup *g = sr_bufgroup_create(r, 4, 64);
	pthread_t t;
	void *ret;

	CU_ASSERT_EQUAL(sr_bufgroup_destroy(NULL), -EINVAL);
	CU_ASSERT(unit_said("not a live buffer group"));
	CU_ASSERT_FATAL(g != NULL);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, destroy_group, g) == 0);
	pthread_join(t, &ret);
	CU_ASSERT_EQUAL((int)(intptr_t)ret, -EPERM);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 4);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* The file table: a slot set again and again holds one descriptor (the
 * one it had is let go), a descriptor that is not open is refused, and a
 * thread that does not own the ring cannot unregister the table.
 * (files.c: sr_ring_files_set, sr_ring_unregister_files.) */
static void *unregister_files(void *arg)
{
	return (void *)(intptr_t)sr_ring_unregister_files(arg);
}

static void test_file_table_slots(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_file f;
	pthread_t t;
	void *ret;
	int p[2], before;

	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	CU_ASSERT_EQUAL_FATAL(sr_ring_register_files(r, 4), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, p[0], &f), 0);
	before = unit_open_fds();
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, i % 2 ? p[0] : p[1], &f), 0);
	CU_ASSERT_EQUAL(unit_open_fds(), before);
	CU_ASSERT(sr_ring_files_set(r, 2, 1000, &f) < 0);	/* not open */
	CU_ASSERT_FATAL(pthread_create(&t, NULL, unregister_files, r) == 0);
	pthread_join(t, &ret);
	CU_ASSERT_EQUAL((int)(intptr_t)ret, -EPERM);
	CU_ASSERT_EQUAL(sr_ring_files_count(r), 4);
	CU_ASSERT_EQUAL(sr_ring_unregister_files(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	close(p[0]);
	close(p[1]);
}

/* sr_bufgroup_create_send: the queue's size is a power of two from 1 to
 * 32768, both ends included; a thread that does not own the ring cannot
 * make one.  (group.c: sr_bufgroup_create_send's checks.) */
static void *create_send(void *arg)
{
	return sr_bufgroup_create_send(arg, 4);
}

static void test_send_group_sizes(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_bufgroup *g;
	pthread_t t;
	void *ret;

	CU_ASSERT_PTR_NULL(sr_bufgroup_create_send(r, 0));
	CU_ASSERT(unit_said("power of two"));
	CU_ASSERT_PTR_NULL(sr_bufgroup_create_send(r, 3));
	CU_ASSERT_PTR_NULL(sr_bufgroup_create_send(r, 65536));
	CU_ASSERT(unit_said("power of two"));
	g = sr_bufgroup_create_send(r, 1);
	if (!g) {
		printf("\n    skip: no send group here (%s)\n", sr_last_error());
		sr_ring_destroy(r);
		return;
	}
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	g = sr_bufgroup_create_send(r, 32768);
	CU_ASSERT_PTR_NOT_NULL(g);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	/* A group to fill has the same bounds (the kernel's buffer ring holds 32768). */
	CU_ASSERT_PTR_NULL(sr_bufgroup_create(r, 65536, 16));
	CU_ASSERT(unit_said("power of two"));
	g = sr_bufgroup_create(r, 32768, 16);
	CU_ASSERT_PTR_NOT_NULL(g);
	if (g)
		CU_ASSERT_EQUAL(sr_bufgroup_available(g), 32768);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, create_send, r) == 0);
	pthread_join(t, &ret);
	CU_ASSERT_PTR_NULL(ret);
	if (ret)
		sr_bufgroup_destroy(ret);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* Registered buffers and send-group queues belong to the ring's owner:
 * another thread's register, unregister and queue are refused with EPERM
 * and change nothing; a queue refuses no group, an empty buffer and a
 * full queue.  (files.c: sr_ring_register_buffers and _unregister_buffers;
 * group.c: sr_bufgroup_queue's checks.) */
struct foreign {
	struct sr_ring *r;
	struct sr_bufgroup *g;
	struct sr_buf *b;
	int reg, unreg, queue;
};

static void *foreign_calls(void *arg)
{
	struct foreign *f = arg;

	f->reg = sr_ring_register_buffers(f->r, &f->b, 1);
	f->unreg = sr_ring_unregister_buffers(f->r);
	f->queue = f->g ? sr_bufgroup_queue(f->g, f->b) : -EPERM;
	return NULL;
}

static void test_foreign_register_queue(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *fixed = sr_buf_alloc(64), *b = sr_buf_alloc(16), *empty = sr_buf_alloc(16);
	struct sr_buf *third = sr_buf_alloc(16);
	struct foreign f = { .r = r, .b = b };
	pthread_t t;

	CU_ASSERT_FATAL(fixed && b && empty && third);
	CU_ASSERT_EQUAL_FATAL(sr_ring_register_buffers(r, &fixed, 1), 0);
	f.g = sr_bufgroup_create_send(r, 2);
	sr_buf_set_len(b, 4);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, foreign_calls, &f) == 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(f.reg, -EPERM);
	CU_ASSERT_EQUAL(f.unreg, -EPERM);
	CU_ASSERT_EQUAL(f.queue, -EPERM);
	CU_ASSERT(!sr_buf_is_lent(b));
	/* Still registered: registering again is refused until unregistered. */
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, &b, 1), -EBUSY);
	CU_ASSERT(!sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_bufgroup_queue(NULL, b), -EINVAL);
	if (f.g) {
		CU_ASSERT_EQUAL(sr_bufgroup_queued(f.g), 0);
		CU_ASSERT_EQUAL(sr_bufgroup_queue(f.g, empty), -EINVAL);
		CU_ASSERT(unit_said("nothing to send"));
		CU_ASSERT(!sr_buf_is_lent(empty));
		sr_buf_set_len(empty, 1);
		CU_ASSERT_EQUAL(sr_bufgroup_queue(f.g, b), 0);
		CU_ASSERT_EQUAL(sr_bufgroup_queue(f.g, empty), 0);
		CU_ASSERT_EQUAL(sr_bufgroup_queued(f.g), 2);
		sr_buf_set_len(third, 1);
		CU_ASSERT_EQUAL(sr_bufgroup_queue(f.g, third), -ENOBUFS);
		CU_ASSERT(unit_said("queue is full"));
		CU_ASSERT(!sr_buf_is_lent(third));
		CU_ASSERT_EQUAL(sr_bufgroup_destroy(f.g), 0);
	} else {
		printf("\n    skip: the send-group part: no send group here (%s)\n", sr_last_error());
	}
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr_buf_free(fixed), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	CU_ASSERT_EQUAL(sr_buf_free(empty), 0);
	CU_ASSERT_EQUAL(sr_buf_free(third), 0);
}

static void on_reuse_nop(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	(void)r;
	CU_ASSERT_EQUAL(c->res, 0);
	(*(int *)arg)++;
}

/*
 * A slot's reserved completion item goes with its op: a callback op that
 * completed, or one refused half-way (the same buffer twice in a vector),
 * leaves none on the slot, so a later op refused on the same slot gives
 * back nothing twice.  A completion item given back twice would be handed
 * to two ops at once: callbacks lost or run for the wrong op.
 * (complete.c sr__complete and slots.c sr__abort clear _resv.)
 */
static void on_reuse_readv(struct sr_ring *r, struct sr_readv_completed *c, void *arg)
{
	(void)r;
	(void)c;
	(void)arg;
	CU_FAIL("a refused op's callback ran");
}

static void test_slot_item_not_reused(void)
{
	struct sr_ring *r = NULL;
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_buf *v[2] = { b, b };
	int fd = unit_tmp_fd(), n[4] = { 0, 0, 0, 0 };

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0 && b && fd >= 0);
	for (int round = 0; round < 3; round++) {
		struct sr_nop_op nop = sr_nop();
		struct sr_readv_op rv = sr_readv(fd, v, 2, 0);
		struct sr_readv_submitted rs;

		CU_ASSERT_EQUAL(sr_submit_cb(r, &nop, on_reuse_nop, &n[0], NULL), 0);
		CU_ASSERT_EQUAL(sr_ring_run(r), 0);
		/* the slot the callback op had, refused on its way */
		CU_ASSERT_EQUAL(sr_submit(r, &rv, &rs), -EINVAL);
		CU_ASSERT(unit_said("appears twice"));
		/* the same, as a callback op (it reserves an item), then again plain */
		rv = sr_readv(fd, v, 2, 0);
		CU_ASSERT_EQUAL(sr_submit_cb(r, &rv, on_reuse_readv, NULL, NULL), -EINVAL);
		rv = sr_readv(fd, v, 2, 0);
		CU_ASSERT_EQUAL(sr_submit(r, &rv, &rs), -EINVAL);
		CU_ASSERT(!sr_buf_is_lent(b));
	}
	CU_ASSERT_EQUAL(n[0], 3);
	n[0] = 0;
	for (int i = 0; i < 4; i++) {
		struct sr_nop_op nop = sr_nop();

		CU_ASSERT_EQUAL(sr_submit_cb(r, &nop, on_reuse_nop, &n[i], NULL), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(n[i], 1);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(fd);
}

void guard_tests(CU_pSuite s)
{
	CU_add_test(s, "a refused op on a reused slot gives back no item twice", test_slot_item_not_reused);
	CU_add_test(s, "groups: an op without a live group is refused", test_op_without_group);
	CU_add_test(s, "another thread registers, unregisters, queues: EPERM; queue checks", test_foreign_register_queue);
	CU_add_test(s, "send_zc failing at once: no notification word", test_send_zc_fails_at_once);
	CU_add_test(s, "multishot callbacks: one per completion, the last ends it", test_multishot_callbacks);
	CU_add_test(s, "callbacks found by a poll in a callback run after it", test_callbacks_do_not_nest);
	CU_add_test(s, "a stream's next item through a bad handle", test_stream_bad_handles);
	CU_add_test(s, "a wait for a stream's next item interrupted", test_stream_wait_interrupted);
	CU_add_test(s, "fixed ops check every buffer", test_fixed_every_buffer);
	CU_add_test(s, "a buffer queued in a send group: its holder", test_holder_send_queue);
	CU_add_test(s, "group sizes: 1 to 32768, powers of two; the owner only", test_send_group_sizes);
	CU_add_test(s, "an eventfd that is descriptor 0 is closed too", test_eventfd_zero);
	CU_add_test(s, "descriptor 0 in a registered file slot", test_file_slot_zero);
	CU_add_test(s, "file table: a slot set again, a closed fd, not the owner", test_file_table_slots);
	CU_add_test(s, "sr_ring_acquire of a ring another thread owns: EBUSY", test_acquire_owned);
	CU_add_test(s, "sr_bufgroup_destroy refused: no group, not the owner", test_group_destroy_refused);
}
