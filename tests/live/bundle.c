/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: send bundles from a send group.  The caller queues its
 * buffers; a send_bundle sends what is queued, oldest first, and its
 * completions give every buffer it took back, in order.  Checked by the
 * bytes arriving on the other end of a TCP connection, and by each
 * buffer's state (lent while queued, the caller's once given back).
 */
#include "live.h"

/* Read exactly n bytes from fd within a second; 0 on success. */
static int read_all(int fd, char *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		if (!lh_readable(fd, 1000))
			return -1;
		r = recv(fd, out + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/*
 * Run one send_bundle to its last completion: the bytes it sent, and the
 * buffers it gave back (the first, and how many), all completions added.
 */
static int bundle(struct live *t, int fd, struct sr_bufgroup *g, long *sent, struct sr_buf **first,
		  unsigned *n)
{
	struct sr_send_bundle_submitted sub;
	struct sr_send_bundle_completed c;
	struct sr_send_bundle_op op = sr_send_bundle(fd, g);
	int ret = sr_submit(t->ring, &op, &sub);

	*sent = 0;
	*first = NULL;
	*n = 0;
	if (ret)
		return ret;
	do {
		ret = sr_wait(t->ring, &sub, &c);
		if (ret)
			return ret;
		if (c.res < 0 && !*sent)
			*sent = c.res;
		else if (c.res > 0)
			*sent += c.res;
		if (!*first)
			*first = c.buf;
		*n += c.nbufs;
	} while (c.more);
	return 0;
}

int live_send_bundle(struct live *t)
{
	static const char *const part[3] = { "alpha:", "beta:", "gamma!" };
	struct sr_bufgroup *g = sr_bufgroup_create_send(t->ring, 4), *rg;
	struct sr_send_bundle_submitted sub;
	struct sr_send_bundle_op op;
	struct sr_buf *b[3], *first;
	char back[32];
	unsigned n;
	long sent;
	int cl, s, l;

	LIVE_CHECK(t, g);
	LIVE_EQ(t, live_tcp_pair(t, &l, &cl, &s), 0);
	for (int i = 0; i < 3; i++) {
		b[i] = live_buf(t, part[i]);
		LIVE_CHECK(t, b[i]);
		LIVE_EQ(t, sr_bufgroup_queue(g, b[i]), 0);
		/* Queued: the kernel's until a completion gives it back. */
		LIVE_CHECK(t, sr_buf_is_lent(b[i]) && !sr_buf_data(b[i]));
	}
	LIVE_EQ(t, sr_bufgroup_queued(g), 3);
	LIVE_EQ(t, sr_bufgroup_available(g), 1);
	/* A queued buffer cannot be queued again, or freed. */
	LIVE_EQ(t, sr_bufgroup_queue(g, b[0]), -EBUSY);
	LIVE_EQ(t, sr_buf_free(b[0]), -EBUSY);

	/* All three go, in the order queued, and come back. */
	LIVE_EQ(t, bundle(t, cl, g, &sent, &first, &n), 0);
	LIVE_EQ(t, sent, 17);
	LIVE_EQ(t, n, 3);
	LIVE_CHECK(t, first == b[0]);
	for (int i = 0; i < 3; i++)
		LIVE_CHECK(t, !sr_buf_is_lent(b[i]) && sr_buf_data(b[i]));
	LIVE_EQ(t, sr_bufgroup_queued(g), 0);
	LIVE_EQ(t, read_all(s, back, 17), 0);
	LIVE_CHECK(t, memcmp(back, "alpha:beta:gamma!", 17) == 0);

	/* Nothing queued: -ENOBUFS, nothing given back. */
	LIVE_EQ(t, bundle(t, cl, g, &sent, &first, &n), 0);
	LIVE_EQ(t, sent, -ENOBUFS);
	LIVE_CHECK(t, !first && n == 0);

	/* Requeued in another order, they go in that order; the queue wraps. */
	LIVE_EQ(t, sr_bufgroup_queue(g, b[2]), 0);
	LIVE_EQ(t, sr_bufgroup_queue(g, b[0]), 0);
	LIVE_EQ(t, bundle(t, cl, g, &sent, &first, &n), 0);
	LIVE_EQ(t, sent, 12);
	LIVE_CHECK(t, first == b[2] && n == 2);
	LIVE_EQ(t, read_all(s, back, 12), 0);
	LIVE_CHECK(t, memcmp(back, "gamma!alpha:", 12) == 0);

	/* A window sends part of a buffer. */
	LIVE_EQ(t, sr_buf_set_window(b[1], 1, 3), 0);
	LIVE_EQ(t, sr_bufgroup_queue(g, b[1]), 0);
	LIVE_EQ(t, bundle(t, cl, g, &sent, &first, &n), 0);
	LIVE_CHECK(t, sent == 3 && first == b[1] && n == 1);
	LIVE_EQ(t, read_all(s, back, 3), 0);
	LIVE_CHECK(t, memcmp(back, "eta", 3) == 0);

	/* A send that fails still used up what it took: all of it comes back. */
	{
		int l2, c2, s2;

		LIVE_EQ(t, live_tcp_pair(t, &l2, &c2, &s2), 0);
		LIVE_EQ(t, shutdown(c2, SHUT_WR), 0);
		LIVE_EQ(t, sr_bufgroup_queue(g, b[0]), 0);
		LIVE_EQ(t, sr_bufgroup_queue(g, b[2]), 0);
		LIVE_EQ(t, bundle(t, c2, g, &sent, &first, &n), 0);
		LIVE_EQ(t, sent, -EPIPE);
		LIVE_CHECK(t, first == b[0] && n == 2);
		LIVE_CHECK(t, !sr_buf_is_lent(b[0]) && !sr_buf_is_lent(b[2]));
		LIVE_EQ(t, sr_bufgroup_queued(g), 0);
	}

	/*
	 * Cancelled while it waits for room: what it had taken comes back (the
	 * kernel takes buffers for good when it picks them; a backend worker
	 * picks only once the socket has room), the rest stays queued.
	 */
	{
		struct sr_send_bundle_completed c;
		struct sr_buf *big[2];
		int l3, c3, s3, small = 4096;
		unsigned back_n = 0;

		LIVE_EQ(t, live_tcp_pair(t, &l3, &c3, &s3), 0);
		LIVE_EQ(t, setsockopt(c3, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
		LIVE_EQ(t, setsockopt(s3, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
		/* Fill the connection, so the bundle waits. */
		while (send(c3, back, sizeof(back), MSG_DONTWAIT) > 0)
			;
		for (int i = 0; i < 2; i++) {
			big[i] = live_keep_buf(t, sr_buf_alloc(1 << 16));
			LIVE_CHECK(t, big[i] && sr_buf_set_len(big[i], 1 << 16) == 0);
			LIVE_EQ(t, sr_bufgroup_queue(g, big[i]), 0);
		}
		op = sr_send_bundle(c3, g);
		LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
		LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
		LIVE_EQ(t, sr_cancel(t->ring, &sub), 0);
		do {
			LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
			LIVE_CHECK(t, c.res == -ECANCELED || c.res == -EINTR || c.res >= 0);
			if (c.nbufs)
				LIVE_CHECK(t, c.buf == big[back_n]);
			back_n += c.nbufs;
		} while (c.more);
		LIVE_EQ(t, back_n + sr_bufgroup_queued(g), 2);
		for (unsigned i = 0; i < 2; i++)
			LIVE_EQ(t, sr_buf_is_lent(big[i]), i >= back_n);
		/* What stayed queued goes with the next bundle, or comes back now. */
		LIVE_EQ(t, sr_bufgroup_destroy(g), 0);
		LIVE_CHECK(t, !sr_buf_is_lent(big[0]) && !sr_buf_is_lent(big[1]));
		g = sr_bufgroup_create_send(t->ring, 4);
		LIVE_CHECK(t, g);
	}

	/* The queue holds 4: a fifth is refused; nothing sends twice at once. */
	for (int i = 0; i < 4; i++)
		LIVE_EQ(t, sr_bufgroup_queue(g, live_buf(t, "x")), 0);
	LIVE_EQ(t, sr_bufgroup_queue(g, b[0]), -ENOBUFS);
	LIVE_CHECK(t, !sr_buf_is_lent(b[0]));
	op = sr_send_bundle(cl, g);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	{
		struct sr_send_bundle_op again = sr_send_bundle(cl, g);
		struct sr_send_bundle_submitted sub2;

		LIVE_EQ(t, sr_submit(t->ring, &again, &sub2), -EBUSY);
	}
	{
		struct sr_send_bundle_completed c;

		do
			LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		while (c.more);
	}
	LIVE_EQ(t, read_all(s, back, 4), 0);

	/* A group of buffers to fill is not a send group, and the other way round. */
	rg = sr_bufgroup_create(t->ring, 2, 64);
	LIVE_CHECK(t, rg);
	op = sr_send_bundle(cl, rg);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), -EINVAL);
	{
		struct sr_recv_multishot_op rop = sr_recv_multishot(s, g);
		struct sr_recv_multishot_submitted rsub;

		LIVE_EQ(t, sr_submit(t->ring, &rop, &rsub), -EINVAL);
	}
	LIVE_EQ(t, sr_bufgroup_destroy(rg), 0);

	/* Destroying a send group gives back what is still queued. */
	LIVE_EQ(t, sr_bufgroup_queue(g, b[0]), 0);
	LIVE_EQ(t, sr_bufgroup_destroy(g), 0);
	LIVE_CHECK(t, !sr_buf_is_lent(b[0]) && memcmp(sr_buf_data(b[0]), "alpha:", 6) == 0);
	/* So does the ring's teardown, after this scenario (its buffers are
	 * freed then, which fails for a buffer still lent). */
	g = sr_bufgroup_create_send(t->ring, 2);
	LIVE_CHECK(t, g);
	LIVE_EQ(t, sr_bufgroup_queue(g, b[1]), 0);
	return LIVE_PASS;
}
