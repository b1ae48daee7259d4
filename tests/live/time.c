/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: timeouts, linked timeouts and cancellation.  Times
 * are a few milliseconds; long timeouts (10 s) only ever appear as the
 * thing that gets removed or cancelled, and the elapsed time proves it
 * did not simply run out.
 */
#include "live.h"

#include <poll.h>

static struct __kernel_timespec ms(long n)
{
	struct __kernel_timespec ts = { .tv_sec = n / 1000, .tv_nsec = (n % 1000) * 1000000 };

	return ts;
}

int live_timeout(struct live *t)
{
	struct __kernel_timespec ts = ms(10);
	struct sr_timeout_submitted sub;
	struct sr_timeout_completed c;
	struct sr_nop_submitted nsub;
	struct sr_nop_completed nc;
	struct sr_timeout_op op;
	struct sr_nop_op nop;
	double t0, dt;

	op = sr_timeout(&ts);
	t0 = lh_now();
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	ts = ms(10000);	/* copied at submit: this must not count */
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	dt = lh_now() - t0;
	LIVE_EQ(t, c.res, -ETIME);
	LIVE_CHECK(t, dt >= 0.009 && dt < 1.0);

	/* With a count: one other completion ends it (res 0), long before the time. */
	ts = ms(10000);
	op = sr_timeout(&ts);
	sr_timeout_set_count(&op, 1);
	t0 = lh_now();
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	nop = sr_nop();
	LIVE_EQ(t, sr_submit(t->ring, &nop, &nsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &nsub, &nc), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_CHECK(t, lh_now() - t0 < 1.0);
	return LIVE_PASS;
}

int live_timeout_multishot(struct live *t)
{
	struct __kernel_timespec ts = ms(5);
	struct sr_timeout_multishot_submitted sub;
	struct sr_timeout_multishot_completed c;
	struct sr_timeout_multishot_op op;
	double t0;
	int n;

	/* Three repeats: three -ETIME items, the last one ending the stream. */
	op = sr_timeout_multishot(&ts);
	sr_timeout_multishot_set_count(&op, 3);
	t0 = lh_now();
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	for (n = 0; n < 3; n++) {
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_EQ(t, c.res, -ETIME);
		LIVE_EQ(t, c.more, n < 2);
	}
	LIVE_CHECK(t, lh_now() - t0 >= 0.014);

	/* No count: it repeats until cancelled. */
	op = sr_timeout_multishot(&ts);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	for (n = 0; n < 2; n++) {
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_EQ(t, c.res, -ETIME);
		LIVE_CHECK(t, c.more);
	}
	LIVE_EQ(t, sr_cancel(t->ring, &sub), 0);
	do {
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		if (c.more)
			LIVE_EQ(t, c.res, -ETIME);	/* expiries that beat the cancel */
	} while (c.more);
	LIVE_EQ(t, c.res, -ECANCELED);
	return LIVE_PASS;
}

int live_timeout_remove(struct live *t)
{
	struct __kernel_timespec ts = ms(10000);
	struct sr_timeout_remove_submitted rsub;
	struct sr_timeout_remove_completed rc;
	struct sr_timeout_remove_op rop;
	struct sr_timeout_submitted sub;
	struct sr_timeout_completed c;
	struct sr_timeout_op op;
	double t0 = lh_now();

	op = sr_timeout(&ts);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	rop = sr_timeout_remove(sub.h);
	LIVE_EQ(t, sr_submit(t->ring, &rop, &rsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &rsub, &rc), 0);
	LIVE_EQ(t, rc.res, 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ECANCELED);
	LIVE_CHECK(t, lh_now() - t0 < 1.0);
	return LIVE_PASS;
}

int live_timeout_update(struct live *t)
{
	struct __kernel_timespec ts = ms(10000);
	struct sr_timeout_update_submitted usub;
	struct sr_timeout_update_completed uc;
	struct sr_timeout_update_op uop;
	struct sr_timeout_submitted sub;
	struct sr_timeout_completed c;
	struct sr_timeout_op op;
	double t0 = lh_now(), dt;

	op = sr_timeout(&ts);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	/* 10 s becomes 5 ms, counted from the update. */
	ts = ms(5);
	uop = sr_timeout_update(&ts, sub.h);
	LIVE_EQ(t, sr_submit(t->ring, &uop, &usub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &usub, &uc), 0);
	LIVE_EQ(t, uc.res, 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	dt = lh_now() - t0;
	LIVE_EQ(t, c.res, -ETIME);
	LIVE_CHECK(t, dt >= 0.004 && dt < 1.0);
	return LIVE_PASS;
}

int live_link_timeout(struct live *t)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct __kernel_timespec ts = ms(10);
	struct sr_link_timeout_submitted lsub;
	struct sr_link_timeout_completed lc;
	struct sr_link_timeout_op lop;
	struct sr_read_submitted rsub;
	struct sr_read_completed rc;
	struct sr_read_op rop;
	struct sr_nop_submitted nsub;
	struct sr_nop_completed nc;
	struct sr_nop_op nop;
	double t0;
	int p[2];

	LIVE_CHECK(t, b && lh_pipe(t, p) == 0);
	/* A read of an empty pipe never completes: the timeout cancels it. */
	rop = sr_read(p[0], b, (__u64)-1);
	LIVE_EQ(t, sr_set_sqe_flags(&rop, SR_IOSQE_IO_LINK), 0);
	lop = sr_link_timeout(&ts);
	t0 = lh_now();
	LIVE_EQ(t, sr_submit(t->ring, &rop, &rsub), 0);
	LIVE_EQ(t, sr_submit(t->ring, &lop, &lsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &rsub, &rc), 0);
	LIVE_EQ(t, rc.res, -ECANCELED);
	LIVE_CHECK(t, rc.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &lsub, &lc), 0);
	LIVE_EQ(t, lc.res, -ETIME);
	LIVE_CHECK(t, lh_now() - t0 >= 0.009);

	/* A nop wins against a 10 s timeout, which is then cancelled. */
	ts = ms(10000);
	nop = sr_nop();
	LIVE_EQ(t, sr_set_sqe_flags(&nop, SR_IOSQE_IO_LINK), 0);
	lop = sr_link_timeout(&ts);
	t0 = lh_now();
	LIVE_EQ(t, sr_submit(t->ring, &nop, &nsub), 0);
	LIVE_EQ(t, sr_submit(t->ring, &lop, &lsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &nsub, &nc), 0);
	LIVE_EQ(t, nc.res, 0);
	LIVE_EQ(t, sr_wait(t->ring, &lsub, &lc), 0);
	LIVE_EQ(t, lc.res, -ECANCELED);
	LIVE_CHECK(t, lh_now() - t0 < 1.0);
	return LIVE_PASS;
}

int live_async_cancel(struct live *t)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_async_cancel_submitted csub;
	struct sr_async_cancel_completed cc;
	struct sr_async_cancel_op cop;
	struct sr_read_submitted rsub;
	struct sr_read_completed rc;
	struct sr_read_op rop;
	int p[2];

	LIVE_CHECK(t, b && lh_pipe(t, p) == 0);
	rop = sr_read(p[0], b, (__u64)-1);
	LIVE_EQ(t, sr_submit(t->ring, &rop, &rsub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &rsub, &rc), -EAGAIN);
	cop = sr_async_cancel(rsub.h);
	LIVE_EQ(t, sr_submit(t->ring, &cop, &csub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &csub, &cc), 0);
	LIVE_EQ(t, cc.res, 0);
	LIVE_EQ(t, sr_wait(t->ring, &rsub, &rc), 0);
	LIVE_EQ(t, rc.res, -ECANCELED);
	LIVE_CHECK(t, rc.buf == b && !sr_buf_is_lent(b));
	/* Nothing was read: the pipe is still empty, and a late write stays there. */
	LIVE_EQ(t, write(p[1], "x", 1), 1);
	LIVE_CHECK(t, lh_readable(p[0], 0));
	return LIVE_PASS;
}

int live_async_cancel_fd(struct live *t)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_async_cancel_fd_submitted csub;
	struct sr_async_cancel_fd_completed cc;
	struct sr_async_cancel_fd_op cop;
	struct sr_poll_add_submitted psub, osub;
	struct sr_poll_add_completed pc;
	struct sr_poll_add_op pop;
	struct sr_read_submitted rsub;
	struct sr_read_completed rc;
	struct sr_read_op rop;
	int p[2], q[2];

	LIVE_CHECK(t, b && lh_pipe(t, p) == 0 && lh_pipe(t, q) == 0);
	/* Two requests on p[0], one on q[0]. */
	rop = sr_read(p[0], b, (__u64)-1);
	LIVE_EQ(t, sr_submit(t->ring, &rop, &rsub), 0);
	pop = sr_poll_add(p[0], POLLIN);
	LIVE_EQ(t, sr_submit(t->ring, &pop, &psub), 0);
	pop = sr_poll_add(q[0], POLLIN);
	LIVE_EQ(t, sr_submit(t->ring, &pop, &osub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &rsub, &rc), -EAGAIN);
	/* All on p[0]: res is how many were found. */
	cop = sr_async_cancel_fd(p[0]);
	sr_async_cancel_fd_set_flags(&cop, SR_IORING_ASYNC_CANCEL_ALL);
	LIVE_EQ(t, sr_submit(t->ring, &cop, &csub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &csub, &cc), 0);
	LIVE_EQ(t, cc.res, 2);
	LIVE_EQ(t, sr_wait(t->ring, &rsub, &rc), 0);
	LIVE_EQ(t, rc.res, -ECANCELED);
	LIVE_CHECK(t, !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &psub, &pc), 0);
	LIVE_EQ(t, pc.res, -ECANCELED);
	/* The poll on the other pipe is untouched and still works. */
	LIVE_EQ(t, sr_poll(t->ring, &osub, &pc), -EAGAIN);
	LIVE_EQ(t, write(q[1], "x", 1), 1);
	LIVE_EQ(t, sr_wait(t->ring, &osub, &pc), 0);
	LIVE_CHECK(t, pc.res & POLLIN);
	return LIVE_PASS;
}
