/* SPDX-License-Identifier: MIT */
/*
 * Live round trips of the helpers that are not one op's prep: sr_prep_rw
 * (any opcode) and the modifier sr_prep_send_set_addr.  The raw preps fill
 * SQEs of a plain liburing ring, as a caller managing lifetimes would; the
 * modifier's setter on the checked send_zc runs on the scenario's ring.
 */
#include "live.h"

#include <liburing.h>

/* A plain liburing ring; 1 if io_uring cannot be set up here (why says). */
static int plain_ring(struct io_uring *ring, char *why, size_t wlen)
{
	int ret = io_uring_queue_init(8, ring, 0);

	if (ret) {
		snprintf(why, wlen, "io_uring_queue_init: %s (io_uring is not available here)", strerror(-ret));
		return 1;
	}
	return 0;
}

/* An SQE of ring (never NULL here: each scenario uses one at a time of 8). */
static struct io_uring_sqe *sqe_of(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		abort();
	return sqe;
}

/* Submit the prepared SQE and take its completion (the first one). */
static int run_one(struct io_uring *ring, struct io_uring_cqe *out)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, 1);

	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

int live_rw(struct live *t)
{
	static const char text[] = "generic prep, any opcode";
	struct io_uring ring;
	struct io_uring_cqe cqe;
	char buf[64], why[160];
	int fd = live_file(t, "f", text, sizeof(text) - 1);

	LIVE_CHECK(t, fd >= 0);
	if (plain_ring(&ring, why, sizeof(why)))
		LIVE_SKIP(t, "%s", why);
	/* READ (22) at an offset: the file's bytes. */
	memset(buf, 0, sizeof(buf));
	sr_prep_rw(SR_IORING_OP_READ, sqe_of(&ring), fd, buf, 10, 8);
	if (run_one(&ring, &cqe) || cqe.res != 10 || memcmp(buf, text + 8, 10)) {
		io_uring_queue_exit(&ring);
		LIVE_FAIL(t, "sr_prep_rw(READ): res %d, read '%.10s'", cqe.res, buf);
	}
	/* NOP: fd -1, res 0. */
	sr_prep_rw(SR_IORING_OP_NOP, sqe_of(&ring), -1, NULL, 0, 0);
	if (run_one(&ring, &cqe) || cqe.res != 0) {
		io_uring_queue_exit(&ring);
		LIVE_FAIL(t, "sr_prep_rw(NOP): res %d", cqe.res);
	}
	/* An opcode no kernel has: refused, nothing else happens. */
	sr_prep_rw(0xfe, sqe_of(&ring), fd, buf, 1, 0);
	if (run_one(&ring, &cqe) || cqe.res != -EINVAL) {
		io_uring_queue_exit(&ring);
		LIVE_FAIL(t, "sr_prep_rw(0xfe): res %d, want -EINVAL", cqe.res);
	}
	io_uring_queue_exit(&ring);
	return LIVE_PASS;
}

/* An unconnected UDP sender and a receiver bound to *to. */
static int udp(struct live *t, int *tx, int *rx, struct sockaddr_in *to)
{
	socklen_t len = sizeof(*to);

	*tx = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	*rx = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	*to = lh_loopback(0);
	if (*tx < 0 || *rx < 0 || bind(*rx, (struct sockaddr *)to, sizeof(*to)) ||
	    getsockname(*rx, (struct sockaddr *)to, &len))
		return -1;
	return 0;
}

/* One datagram on rx within a second: its length, or -1. */
static ssize_t datagram(int rx, char *out, size_t cap)
{
	return lh_readable(rx, 1000) ? recv(rx, out, cap, MSG_DONTWAIT) : -1;
}

int live_send_set_addr(struct live *t)
{
	struct sr_buf *b = live_buf(t, "addressed");
	struct sr_send_zc_submitted sub;
	struct sr_send_zc_completed c;
	struct sr_send_zc_op op;
	struct sockaddr_in to;
	char back[32], why[256];
	int tx, rx;

	LIVE_CHECK(t, b);
	LIVE_EQ(t, udp(t, &tx, &rx, &to), 0);
	/* The checked setter: the address is copied at submit, so it may change after. */
	op = sr_send_zc(tx, b);
	sr_send_zc_set_addr(&op, (const struct sockaddr *)&to, sizeof(to));
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	{
		struct sockaddr_in keep = to;

		memset(&to, 0, sizeof(to));
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		to = keep;
	}
	LIVE_EQ(t, c.res, 9);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, datagram(rx, back, sizeof(back)), 9);
	LIVE_CHECK(t, memcmp(back, "addressed", 9) == 0);

	/* The raw modifier on a raw SEND_ZC, on a plain ring: where the kernel has it. */
	if (!sr_op_unavailable(t->ring, SR_OP_SEND_ZC, why, sizeof(why))) {
		struct io_uring ring;
		struct io_uring_cqe cqe;
		struct io_uring_sqe *sqe;
		static const char raw[] = "raw zc to";

		if (plain_ring(&ring, why, sizeof(why)))
			LIVE_FAIL(t, "send_zc is native, yet %s", why);
		sqe = sqe_of(&ring);
		sr_prep_send_zc(sqe, tx, raw, sizeof(raw) - 1, 0, 0);
		sr_prep_send_set_addr(sqe, (const struct sockaddr *)&to, sizeof(to));
		if (run_one(&ring, &cqe) || cqe.res != (int)sizeof(raw) - 1) {
			io_uring_queue_exit(&ring);
			LIVE_FAIL(t, "raw send_zc with sr_prep_send_set_addr: res %d", cqe.res);
		}
		/* Its notification: the data is the caller's again. */
		if (cqe.flags & IORING_CQE_F_MORE)
			run_one(&ring, &cqe);
		io_uring_queue_exit(&ring);
		LIVE_EQ(t, datagram(rx, back, sizeof(back)), sizeof(raw) - 1);
		LIVE_CHECK(t, memcmp(back, raw, sizeof(raw) - 1) == 0);
	}
	return LIVE_PASS;
}
