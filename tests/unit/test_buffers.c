/* SPDX-License-Identifier: MIT */
/*
 * Buffers at scale and the advanced op shapes, on the running kernel:
 * pools (exhaustion, auto return on success, failure and cancellation,
 * sharing between threads), registered pools in fixed vectored ops, I/O
 * windows, registered-file handles, provided-buffer streams that run dry
 * (ending, or pausing and going on), zero-copy usage reports, typed link
 * chains, cancelling by fd and everything, cancellation racing
 * completion, and a full SQ that is not flushed when asked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <safer-ring.h>

#include "unit.h"

/* Taking never allocates; an empty pool says so; puts are checked. */
static void test_pool_basics(void)
{
	struct sr_pool *p = sr_pool_create(4, 1000, 0);
	struct sr_buf *b[5];
	struct mallinfo2 m0, m1;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(sr_pool_buf_size(p), (size_t)sysconf(_SC_PAGESIZE));
	CU_ASSERT_EQUAL(sr_pool_available(p), 4);
	m0 = mallinfo2();
	for (int i = 0; i < 4; i++)
		CU_ASSERT((b[i] = sr_pool_take(p)) != NULL);
	m1 = mallinfo2();
	CU_ASSERT_EQUAL(m0.uordblks, m1.uordblks);	/* not a byte allocated */
	b[4] = sr_pool_take(p);
	CU_ASSERT(b[4] == NULL);
	CU_ASSERT(unit_said("all 4 buffers are taken"));
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);
	CU_ASSERT_EQUAL(sr_buf_free(b[0]), -EINVAL);	/* it belongs to the pool */
	CU_ASSERT_EQUAL(sr_pool_put(b[0]), 0);
	CU_ASSERT_EQUAL(sr_pool_put(b[0]), -EALREADY);
	CU_ASSERT_EQUAL(sr_pool_available(p), 1);
	for (int i = 1; i < 4; i++)
		CU_ASSERT_EQUAL(sr_pool_put(b[i]), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);

	p = sr_pool_create(2, 4096, SR_POOL_LOCKED);
	if (p) {
		CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	} else {
		printf("\n    note: SR_POOL_LOCKED refused here: %s\n", sr_last_error());
	}
	CU_ASSERT(sr_pool_create(0, 10, 0) == NULL);
}

/* Auto return: back in the pool when the op ends, however it ends. */
static void test_pool_auto_return(void)
{
	struct sr_ring *r = unit_ring(16, 0);
	struct sr_pool *p = sr_pool_create(4, 4096, 0);
	struct sr_buf *b;
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_write_op w;
	struct sr_read_op rd;
	int fd = unit_tmp_fd(), pfd[2];

	CU_ASSERT_FATAL(p && fd >= 0 && pipe2(pfd, O_CLOEXEC) == 0);
	/* Success. */
	b = sr_pool_take(p);
	memcpy(sr_buf_data(b), "pooled", 6);
	sr_buf_set_len(b, 6);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, true), 0);
	w = sr_write(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_pool_put(b), -EBUSY);	/* lent: not yet */
	CU_ASSERT_EQUAL(sr_pool_available(p), 3);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 6);
	CU_ASSERT_EQUAL(sr_pool_available(p), 4);
	/* Failure. */
	b = sr_pool_take(p);
	sr_buf_set_auto_return(b, true);
	w = sr_write(-1, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, -EBADF);
	CU_ASSERT_EQUAL(sr_pool_available(p), 4);
	/* Cancellation: back only after the kernel's own CQE. */
	b = sr_pool_take(p);
	sr_buf_set_auto_return(b, true);
	rd = sr_read(pfd[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_cancel(r, &rs), 0);
	CU_ASSERT_EQUAL(sr_pool_available(p), 3);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_pool_available(p), 4);
	sr_ring_destroy(r);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	close(fd);
	close(pfd[0]);
	close(pfd[1]);
}

struct shared {
	struct sr_pool *pool;
	int fd;
	unsigned done;
};

static void *pool_thread(void *arg)
{
	struct shared *sh = arg;
	struct sr_ring *r;
	unsigned done = 0;

	if (sr_ring_create(&r, NULL))
		return NULL;
	for (int i = 0; i < 2000; i++) {
		struct sr_buf *b = sr_pool_take(sh->pool);
		struct sr_write_submitted s;
		struct sr_write_completed c;
		struct sr_write_op w;

		if (!b)
			continue;	/* another thread has them all: fine */
		sr_buf_set_len(b, 64);
		sr_buf_set_auto_return(b, true);
		w = sr_write(sh->fd, b, (__u64)-1);
		if (sr_submit(r, &w, &s) == 0 && sr_wait(r, &s, &c) == 0 && c.res == 64)
			done++;
	}
	sr_ring_destroy(r);
	__atomic_add_fetch(&sh->done, done, __ATOMIC_RELAXED);
	return NULL;
}

/* Four threads, four rings, one pool. */
static void test_pool_threads(void)
{
	struct shared sh = { .pool = sr_pool_create(8, 4096, 0), .fd = open("/dev/null", O_WRONLY | O_CLOEXEC) };
	pthread_t t[4];

	CU_ASSERT_FATAL(sh.pool && sh.fd >= 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, pool_thread, &sh);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT(sh.done > 4000);
	CU_ASSERT_EQUAL(sr_pool_available(sh.pool), 8);
	CU_ASSERT_EQUAL(sr_pool_destroy(sh.pool), 0);
	close(sh.fd);
}

struct contend {
	struct sr_pool *pool;
	int held[4];		/* per buffer: 1 while a thread has it */
	unsigned bad, takes;
};

static void *contend_thread(void *arg)
{
	struct contend *k = arg;
	unsigned takes = 0;

	for (int i = 0; i < 50000; i++) {
		struct sr_buf *b = sr_pool_take(k->pool);
		int *held;

		if (!b)
			continue;
		/* The pool's buffers are consecutive pages: one flag each. */
		held = &k->held[((uintptr_t)sr_buf_data(b) >> 12) % 4];
		if (__atomic_exchange_n(held, 1, __ATOMIC_ACQ_REL))
			__atomic_add_fetch(&k->bad, 1, __ATOMIC_RELAXED);
		((volatile char *)sr_buf_data(b))[0]++;
		__atomic_store_n(held, 0, __ATOMIC_RELEASE);
		if (sr_pool_put(b))
			__atomic_add_fetch(&k->bad, 1, __ATOMIC_RELAXED);
		takes++;
	}
	__atomic_add_fetch(&k->takes, takes, __ATOMIC_RELAXED);
	return NULL;
}

/* Four threads taking and putting back the four buffers of one pool as fast
 * as they can: a buffer is never out twice, and all are back at the end. */
static void test_pool_contended(void)
{
	struct contend k = { .pool = sr_pool_create(4, 4096, 0) };
	pthread_t t[4];

	CU_ASSERT_FATAL(k.pool != NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, contend_thread, &k);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(k.bad, 0);
	CU_ASSERT(k.takes > 0);
	CU_ASSERT_EQUAL(sr_pool_available(k.pool), 4);
	CU_ASSERT_EQUAL(sr_pool_destroy(k.pool), 0);
}

/* A registered pool: fixed ops take its buffers, two of them in one vectored op. */
static void test_registered_pool(void)
{
	struct sr_ring *r = unit_ring(16, 0);
	struct sr_pool *p = sr_pool_create(4, 4096, 0);
	struct sr_buf *a, *b, *vec[2];
	struct sr_write_fixed_submitted ws;
	struct sr_write_fixed_completed wc;
	struct sr_readv_fixed_submitted rs;
	struct sr_readv_fixed_completed rc;
	struct sr_write_fixed_op w;
	struct sr_readv_fixed_op rv;
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(p && fd >= 0);
	CU_ASSERT_EQUAL(sr_ring_register_pool(r, p), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);
	CU_ASSERT(unit_said("registered"));
	a = sr_pool_take(p);
	b = sr_pool_take(p);
	memset(sr_buf_data(a), 'x', 4096);
	sr_buf_set_len(a, 4096);
	w = sr_write_fixed(fd, a, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), -EBUSY);	/* a is lent */
	CU_ASSERT(unit_said("is lent to write_fixed"));
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 4096);
	if (sr_ring_native(r, SR_OP_READV_FIXED)) {
		/* Two pool buffers in one fixed vectored read: one registered region. */
		sr_buf_set_window(a, 0, 100);
		sr_buf_set_window(b, 0, 200);
		vec[0] = a;
		vec[1] = b;
		rv = sr_readv_fixed(fd, vec, 2, 0);
		CU_ASSERT_EQUAL(sr_submit(r, &rv, &rs), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
		CU_ASSERT_EQUAL(rc.res, 300);
		CU_ASSERT_EQUAL(sr_buf_len(a), 100);
		CU_ASSERT_EQUAL(sr_buf_len(b), 200);
	}
	sr_pool_put(a);
	sr_pool_put(b);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	sr_ring_destroy(r);
	close(fd);
}

/* A window: read into the middle, write a part. */
static void test_windows(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_op rd;
	struct sr_write_op w;
	char back[8] = "";
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(b && fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "abcdefgh", 8, 0), 8);
	memcpy(sr_buf_data(b), "0123", 4);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 4, 3), 0);
	rd = sr_read(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 3);		/* no more than the window */
	CU_ASSERT_EQUAL(sr_buf_len(b), 7);	/* the start, then what was read */
	CU_ASSERT(!memcmp(sr_buf_data(b), "0123abc", 7));
	/* The window was for that op: the next one has none. */
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 2, 3), 0);
	w = sr_write(fd, b, 100);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 3);
	CU_ASSERT_EQUAL(pread(fd, back, 3, 100), 3);
	CU_ASSERT(!memcmp(back, "23a", 3));
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 10, 10), -EINVAL);
	sr_ring_destroy(r);
	sr_buf_free(b);
	close(fd);
}

/* Registered-file handles: replaced, cleared or unregistered slots refuse old handles. */
static void test_file_handles(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_file h1, h2, h3;
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op rd;
	int fa = unit_tmp_fd(), fb = unit_tmp_fd();

	CU_ASSERT_FATAL(b && fa >= 0 && fb >= 0);
	CU_ASSERT_EQUAL(pwrite(fa, "AAAA", 4, 0), 4);
	CU_ASSERT_EQUAL(pwrite(fb, "BBBB", 4, 0), 4);
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 4), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, fa, &h1), 0);
	CU_ASSERT(sr_file_valid(h1) && sr_file_slot(h1) == 1);
	rd = sr_read(0, b, 0);
	sr_read_set_file(&rd, h1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT(c.res == 4 && !memcmp(sr_buf_data(b), "AAAA", 4));
	/* Slot 1 now holds another file: the old handle must not reach it. */
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, fb, &h2), 0);
	rd = sr_read(0, b, 0);
	sr_read_set_file(&rd, h1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &s), -EBADF);
	CU_ASSERT(unit_said("slot 1 has changed"));
	rd = sr_read(0, b, 0);
	sr_read_set_file(&rd, h2);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT(c.res == 4 && !memcmp(sr_buf_data(b), "BBBB", 4));
	/* Unregistered and registered again: every old handle is dead. */
	CU_ASSERT_EQUAL(sr_ring_unregister_files(r), 0);
	rd = sr_read(0, b, 0);
	sr_read_set_file(&rd, h2);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &s), -EBADF);
	CU_ASSERT(unit_said("no file table"));
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 4), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, fa, &h3), 0);
	rd = sr_read(0, b, 0);
	sr_read_set_file(&rd, h2);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &s), -EBADF);
	sr_ring_destroy(r);
	sr_buf_free(b);
	close(fa);
	close(fb);
}

/* A provided-buffer stream that runs dry: it ends with -ENOBUFS, or (asked)
 * pauses and goes on when a buffer is recycled. */
static void test_enobufs(void)
{
	for (int rearm = 0; rearm < 2; rearm++) {
		struct sr_ring *r = unit_ring(16, 0);
		struct sr_bufgroup *g = sr_bufgroup_create(r, 2, 64);
		struct sr_recv_multishot_submitted s;
		struct sr_recv_multishot_completed c;
		struct sr_recv_multishot_op op;
		struct sr_buf *held[2];
		int sv[2], got = 0;

		CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		op = sr_recv_multishot(sv[0], g);
		sr_recv_multishot_set_rearm_on_enobufs(&op, rearm);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
		/* Two chunks take both buffers (kept, not recycled). */
		for (int i = 0; i < 2; i++) {
			CU_ASSERT_EQUAL(write(sv[1], "chunk", 5), 5);
			CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
			CU_ASSERT(c.res == 5 && c.buf && c.more);
			held[i] = c.buf;
		}
		CU_ASSERT_EQUAL(write(sv[1], "third", 5), 5);
		CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT_EQUAL(c.res, -ENOBUFS);
		CU_ASSERT(!c.buf);
		if (!rearm) {
			CU_ASSERT(!c.more);	/* the kernel's behaviour: the stream ended */
		} else {
			CU_ASSERT(c.more);	/* paused */
			CU_ASSERT_EQUAL(sr_poll(r, &s, &c), -EAGAIN);
			CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, held[0]), 0);
			held[0] = NULL;
			/* Going on: the data that waited arrives. */
			CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
			CU_ASSERT(c.res == 5 && c.buf && c.more);
			if (c.buf && c.res == 5)
				got = !memcmp(sr_buf_data(c.buf), "third", 5);
			CU_ASSERT(got);
			if (c.buf)
				sr_bufgroup_recycle(g, c.buf);
			CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
			do {
				CU_ASSERT_EQUAL_FATAL(sr_wait(r, &s, &c), 0);
			} while (c.more);
		}
		for (int i = 0; i < 2; i++)
			if (held[i])
				sr_bufgroup_recycle(g, held[i]);
		CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
		sr_ring_destroy(r);
		close(sv[0]);
		close(sv[1]);
	}
}

/* A connected loopback TCP pair. */
static int tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || sv[0] < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len) || connect(sv[0], (struct sockaddr *)&a, sizeof(a)))
		return -1;
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	return sv[1] < 0 ? -1 : 0;
}

/* Zero-copy send: both completions, the buffer back at the notification,
 * the kernel's copy reported (loopback copies). */
static void test_send_zc_usage(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *b = sr_buf_alloc(4096);
	struct sr_send_zc_submitted s;
	struct sr_send_zc_completed c;
	struct sr_send_zc_op op;
	int sv[2] = { -1, -1 };
	char back[16];

	CU_ASSERT_FATAL(b && tcp_pair(sv) == 0);
	memcpy(sr_buf_data(b), "zero copy", 9);
	sr_buf_set_len(b, 9);
	op = sr_send_zc(sv[0], b);
	sr_send_zc_set_zc_flags(&op, SR_IORING_SEND_ZC_REPORT_USAGE);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT(sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 9);
	CU_ASSERT(c.flags & IORING_CQE_F_MORE);	/* the result said a notification follows */
	CU_ASSERT(!sr_buf_is_lent(b));		/* back with the notification */
	CU_ASSERT(c.copied);			/* loopback copies, and the kernel says so */
	CU_ASSERT_EQUAL(recv(sv[1], back, sizeof(back), 0), 9);
	sr_ring_destroy(r);
	sr_buf_free(b);
	close(sv[0]);
	close(sv[1]);
}

/* Typed chains: in order, a failure cancels the rest (their buffers come
 * back), a link timeout bounds the op before it. */
static void test_chains(void)
{
	struct sr_ring *r = unit_ring(32, 0);
	struct __kernel_timespec ts = { .tv_nsec = 20 * 1000000 };
	struct sr_buf *src = sr_buf_alloc(16), *dst = sr_buf_alloc(16);
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_link_timeout_submitted ls;
	struct sr_link_timeout_completed lc;
	struct sr_fsync_submitted fs;
	struct sr_fsync_completed fc;
	struct sr_write_op w;
	struct sr_read_op rd;
	struct sr_fsync_op f;
	struct sr_chain ch;
	int fd = unit_tmp_fd(), p[2];

	CU_ASSERT_FATAL(src && dst && fd >= 0 && pipe2(p, O_CLOEXEC) == 0);
	memcpy(sr_buf_data(src), "link", 4);
	sr_buf_set_len(src, 4);
	/* write -> fsync -> read: the read sees the write. */
	sr_chain_begin(r, &ch, 0);
	w = sr_write(fd, src, 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &w, &ws), 0);
	f = sr_fsync(fd);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &f, &fs), 0);
	rd = sr_read(fd, dst, 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 4);
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 4);
	/* A failing write cancels the read; the read's buffer comes back. */
	sr_chain_begin(r, &ch, 0);
	w = sr_write(-1, src, 0);
	sr_chain_add(&ch, &w, &ws);
	rd = sr_read(fd, dst, 0);
	sr_chain_add(&ch, &rd, &rs);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, -ECANCELED);
	CU_ASSERT(!sr_buf_is_lent(dst));
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, -EBADF);
	/* A read of an empty pipe, bounded: the timeout wins. */
	sr_chain_begin(r, &ch, 0);
	rd = sr_read(p[0], dst, (__u64)-1);
	sr_chain_add(&ch, &rd, &rs);
	CU_ASSERT_EQUAL(sr_chain_timeout(&ch, &ts, &ls), 0);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_wait(r, &ls, &lc), 0);
	CU_ASSERT_EQUAL(lc.res, -ETIME);
	/* An op after the chain is not part of it. */
	w = sr_write(fd, src, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 4);
	/* An empty chain cannot take a timeout. */
	sr_chain_begin(r, &ch, 0);
	CU_ASSERT_EQUAL(sr_chain_timeout(&ch, &ts, &ls), -EINVAL);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), -EINVAL);
	sr_ring_destroy(r);
	sr_buf_free(src);
	sr_buf_free(dst);
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* Cancel by fd and everything; each op still completes, then its buffer is back. */
static void test_cancel_many(void)
{
	struct sr_ring *r = unit_ring(16, 0);
	struct sr_buf *b[4];
	struct sr_read_submitted s[4];
	struct sr_read_completed c;
	struct sr_read_op rd;
	int p[2], q[2];

	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0 && pipe2(q, O_CLOEXEC) == 0);
	for (int i = 0; i < 4; i++) {
		b[i] = sr_buf_alloc(8);
		rd = sr_read(i < 3 ? p[0] : q[0], b[i], (__u64)-1);
		CU_ASSERT_EQUAL(sr_submit(r, &rd, &s[i]), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_cancel_fd(r, p[0]), 3);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, -ECANCELED);
		CU_ASSERT(!sr_buf_is_lent(b[i]));
	}
	CU_ASSERT_EQUAL(sr_poll(r, &s[3], &c), -EAGAIN);
	CU_ASSERT(sr_buf_is_lent(b[3]));
	CU_ASSERT_EQUAL(sr_ring_cancel_all(r), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s[3], &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(sr_buf_free(b[i]), 0);
	sr_ring_destroy(r);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* Cancel right after the data arrives: the op wins or is cancelled, its
 * buffer comes back either way, and nothing is lost. */
static void test_cancel_race(void)
{
	struct sr_ring *r = unit_ring(16, 0);
	struct sr_buf *b = sr_buf_alloc(8);
	unsigned won = 0, cancelled = 0;
	int p[2];

	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	for (int i = 0; i < 500; i++) {
		struct sr_read_submitted s;
		struct sr_read_completed c;
		struct sr_read_op rd = sr_read(p[0], b, (__u64)-1);
		char drain[8];

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &rd, &s), 0);
		sr_ring_submit(r);
		CU_ASSERT_EQUAL(write(p[1], "r", 1), 1);
		CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT(!sr_buf_is_lent(b));
		if (c.res == 1) {
			won++;
		} else {
			CU_ASSERT_EQUAL(c.res, -ECANCELED);
			cancelled++;
			CU_ASSERT_EQUAL(read(p[0], drain, 1), 1);	/* the byte is still there */
		}
	}
	CU_ASSERT_EQUAL(won + cancelled, 500);
	sr_ring_destroy(r);
	sr_buf_free(b);
	close(p[0]);
	close(p[1]);
}

/* A chain longer than the SQ fails where it stops fitting, instead of being
 * split by a flush into two unordered halves. */
static void test_chain_too_long(void)
{
	struct sr_ring *r = unit_ring(4, SR_RING_NO_LADDER);
	struct sr_nop_submitted s[6];
	struct sr_nop_completed c;
	struct sr_nop_op op;
	struct sr_chain ch;

	if (unit_needs_uring(r, "a chain filling the kernel's SQ"))
		return;
	/* Exactly the SQ's size fits, also behind two queued ops: those are
	 * submitted when the SQ runs full, the chain stays queued whole. */
	for (int i = 4; i < 6; i++) {
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s[i]), 0);
	}
	sr_chain_begin(r, &ch, 0);
	for (int i = 0; i < 4; i++) {
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s[i]), 0);
	}
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	CU_ASSERT_EQUAL(io_uring_sq_ready(sr_ring_uring(r)), 4);
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, 0);
	}
	/* One more does not: the fifth add fails, the four run. */
	sr_chain_begin(r, &ch, 0);
	for (int i = 0; i < 4; i++) {
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s[i]), 0);
	}
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s[4]), -EBUSY);
	CU_ASSERT(unit_said("sr_chain_add: the SQ is full after 4 ops of the chain"));
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s[5]), -EBUSY);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), -EBUSY);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, 0);
	}
	/* Outside a chain a full SQ is flushed as usual. */
	for (int i = 0; i < 6; i++) {
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	sr_ring_destroy(r);
}

/* SR_RING_SQ_NOFLUSH: a full SQ fails the submit instead of being flushed. */
static void test_sq_noflush(void)
{
	struct sr_ring *r = unit_ring(4, SR_RING_SQ_NOFLUSH | SR_RING_NO_LADDER);
	struct sr_nop_submitted s[5];
	struct sr_nop_completed c;
	struct sr_nop_op op;

	/* The backend queues ops until sr_ring_submit and never flushes early. */
	if (unit_needs_uring(r, "the kernel's SQ running full"))
		return;
	for (int i = 0; i < 4; i++) {
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s[i]), 0);
	}
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s[4]), -EBUSY);
	CU_ASSERT(unit_said("the SQ is full"));
	CU_ASSERT_EQUAL(sr_ring_submit(r), 4);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s[4]), 0);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, 0);
	}
	sr_ring_destroy(r);
}

/* A NULL pool (a failed sr_pool_create not checked): every pool call
 * refuses it and says so; none dereferences it. */
static void test_pool_null(void)
{
	struct sr_ring *r = unit_ring(8, 0);

	CU_ASSERT_PTR_NULL(sr_pool_take(NULL));
	CU_ASSERT(unit_said("not a live pool"));
	CU_ASSERT_EQUAL(sr_pool_available(NULL), 0);
	CU_ASSERT_EQUAL(sr_pool_count(NULL), 0);
	CU_ASSERT_EQUAL(sr_pool_buf_size(NULL), 0);
	CU_ASSERT_EQUAL(sr_ring_register_pool(r, NULL), -EINVAL);
	CU_ASSERT(unit_said("not a live pool"));
	CU_ASSERT_EQUAL(sr_pool_put(NULL), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(NULL, true), -EINVAL);
	CU_ASSERT_EQUAL(sr_pool_destroy(NULL), 0);	/* like free(NULL) */
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

void buffer_tests(CU_pSuite s)
{
	CU_add_test(s, "pool: take, exhaustion, put", test_pool_basics);
	CU_add_test(s, "pool: auto return on success, failure, cancel", test_pool_auto_return);
	CU_add_test(s, "pool: shared by four rings on four threads", test_pool_threads);
	CU_add_test(s, "pool: four threads contending for four buffers", test_pool_contended);
	CU_add_test(s, "pool: registered, fixed vectored op over two buffers", test_registered_pool);
	CU_add_test(s, "buffer windows", test_windows);
	CU_add_test(s, "registered-file handles and generations", test_file_handles);
	CU_add_test(s, "provided buffers run dry: ENOBUFS, and re-armed", test_enobufs);
	CU_add_test(s, "zero-copy send: usage report", test_send_zc_usage);
	CU_add_test(s, "typed link chains", test_chains);
	CU_add_test(s, "cancel by fd and all", test_cancel_many);
	CU_add_test(s, "cancellation racing completion", test_cancel_race);
	CU_add_test(s, "chain longer than the SQ", test_chain_too_long);
	CU_add_test(s, "SQ full without flushing", test_sq_noflush);
	CU_add_test(s, "pool: a NULL pool is refused", test_pool_null);
}
