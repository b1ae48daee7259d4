/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: readiness.  poll_add and friends on pipes and
 * socketpairs, epoll_ctl and epoll_wait on an epoll instance.  Each op is
 * shown pending before the event (sr_poll says -EAGAIN) and complete
 * after it, with the events the kernel reported.
 */
#include "live.h"

#include <poll.h>
#include <sys/epoll.h>

int live_poll_add(struct live *t)
{
	struct sr_poll_add_submitted sub;
	struct sr_poll_add_completed c;
	struct sr_poll_add_op op;
	int p[2];

	LIVE_CHECK(t, lh_pipe(t, p) == 0);
	op = sr_poll_add(p[0], POLLIN);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	/* An empty pipe: the poll is armed and waits. */
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	LIVE_EQ(t, write(p[1], "x", 1), 1);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_CHECK(t, c.res > 0 && (c.res & POLLIN));
	return LIVE_PASS;
}

int live_poll_multishot(struct live *t)
{
	struct sr_poll_multishot_submitted sub;
	struct sr_poll_multishot_completed c;
	struct sr_poll_multishot_op op;
	char byte;
	int p[2];

	LIVE_CHECK(t, lh_pipe(t, p) == 0);
	op = sr_poll_multishot(p[0], POLLIN);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	/* Two events, each drained before the next: one completion each. */
	for (int i = 0; i < 2; i++) {
		LIVE_EQ(t, write(p[1], "x", 1), 1);
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_CHECK(t, c.res > 0 && (c.res & POLLIN));
		LIVE_CHECK(t, c.more);
		LIVE_EQ(t, read(p[0], &byte, 1), 1);
	}
	/* Still armed, nothing ready. */
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	LIVE_EQ(t, sr_cancel(t->ring, &sub), 0);
	do {
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	} while (c.more);
	LIVE_EQ(t, c.res, -ECANCELED);
	return LIVE_PASS;
}

int live_poll_remove(struct live *t)
{
	struct sr_poll_remove_submitted rsub;
	struct sr_poll_remove_completed rc;
	struct sr_poll_remove_op rop;
	struct sr_poll_add_submitted sub;
	struct sr_poll_add_completed c;
	struct sr_poll_add_op op;
	int p[2];

	LIVE_CHECK(t, lh_pipe(t, p) == 0);
	op = sr_poll_add(p[0], POLLIN);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	rop = sr_poll_remove(sub.h);
	LIVE_EQ(t, sr_submit(t->ring, &rop, &rsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &rsub, &rc), 0);
	LIVE_EQ(t, rc.res, 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ECANCELED);
	return LIVE_PASS;
}

int live_poll_update(struct live *t)
{
	struct sr_poll_update_submitted usub;
	struct sr_poll_update_completed uc;
	struct sr_poll_update_op uop;
	struct sr_poll_add_submitted sub;
	struct sr_poll_add_completed c;
	struct sr_poll_add_op op;
	int sv[2];

	LIVE_CHECK(t, lh_socketpair(t, sv) == 0);
	/* Nothing to read: POLLIN waits.  The socket is writable, though. */
	op = sr_poll_add(sv[0], POLLIN);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	/* Switching the mask to POLLOUT makes the poll fire at once. */
	uop = sr_poll_update(sub.h, POLLOUT);
	LIVE_EQ(t, sr_submit(t->ring, &uop, &usub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &usub, &uc), 0);
	LIVE_EQ(t, uc.res, 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_CHECK(t, c.res > 0 && (c.res & POLLOUT) && !(c.res & POLLIN));
	return LIVE_PASS;
}

int live_epoll_ctl(struct live *t)
{
	int ep = live_keep_fd(t, epoll_create1(EPOLL_CLOEXEC)), p[2];
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x5eed }, got[4];
	struct sr_epoll_ctl_submitted sub;
	struct sr_epoll_ctl_completed c;
	struct sr_epoll_ctl_op op;

	LIVE_CHECK(t, ep >= 0 && lh_pipe(t, p) == 0);
	op = sr_epoll_ctl(ep, p[0], EPOLL_CTL_ADD, &ev);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	ev.data.u64 = 0;	/* copied at submit */
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, epoll_wait(ep, got, 4, 0), 0);
	LIVE_EQ(t, write(p[1], "x", 1), 1);
	LIVE_EQ(t, epoll_wait(ep, got, 4, 0), 1);
	LIVE_EQ(t, got[0].data.u64, 0x5eed);
	LIVE_CHECK(t, got[0].events & EPOLLIN);

	/* And out again: no more events. */
	op = sr_epoll_ctl(ep, p[0], EPOLL_CTL_DEL, NULL);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, epoll_wait(ep, got, 4, 0), 0);
	return LIVE_PASS;
}

int live_epoll_wait(struct live *t)
{
	int ep = live_keep_fd(t, epoll_create1(EPOLL_CLOEXEC)), p[2];
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0xfeed };
	struct sr_buf *events = live_keep_buf(t, sr_buf_alloc(4 * sizeof(struct epoll_event)));
	struct sr_epoll_wait_submitted sub;
	struct sr_epoll_wait_completed c;
	struct sr_epoll_wait_op op;
	struct epoll_event got;

	LIVE_CHECK(t, ep >= 0 && events && lh_pipe(t, p) == 0);
	LIVE_EQ(t, epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	op = sr_epoll_wait(ep, events);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(events));
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	LIVE_EQ(t, write(p[1], "x", 1), 1);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 1);
	LIVE_CHECK(t, c.events == events && !sr_buf_is_lent(events));
	LIVE_EQ(t, sr_buf_len(events), sizeof(struct epoll_event));
	memcpy(&got, sr_buf_data(events), sizeof(got));
	LIVE_EQ(t, got.data.u64, 0xfeed);
	LIVE_CHECK(t, got.events & EPOLLIN);
	return LIVE_PASS;
}
