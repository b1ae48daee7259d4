/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: legacy provided buffers.  A read that selects one
 * (IOSQE_BUFFER_SELECT) is out of reach of the checked API, so the
 * buffers are proved by taking them back: remove_buffers says how many
 * the group held.
 */
#include "live.h"

/* A group id no sr_bufgroup uses (those count up from 1). */
#define BGID 0x7e

/*
 * The kernel owns provided memory until it is removed; static storage
 * outlives the ring even if a scenario fails half way.
 */
static char region[8][64];

static int provide(struct live *t, void *addr, int len, int nr, int bid)
{
	struct sr_provide_buffers_submitted sub;
	struct sr_provide_buffers_completed c;
	struct sr_provide_buffers_op op;

	op = sr_provide_buffers(addr, len, nr, BGID, bid);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	/* Success is 0; Debian's 5.10.y gives the number added when the
	 * group already existed (and 0 when the call created it). */
	LIVE_CHECK(t, c.res == 0 || c.res == nr);
	return LIVE_PASS;
}

/* A group emptied by remove_buffers: still there (0 removed), or, on
 * kernels that free a group with its last buffer (Debian's 5.10.y),
 * gone (-ENOENT). */
static bool empty_group(int res)
{
	return res == 0 || res == -ENOENT;
}

/* remove_buffers(nr) from group bgid; the kernel's result in *res. */
static int remove_bufs(struct live *t, int nr, int bgid, int *res)
{
	struct sr_remove_buffers_submitted sub;
	struct sr_remove_buffers_completed c;
	struct sr_remove_buffers_op op;

	op = sr_remove_buffers(nr, bgid);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	*res = c.res;
	return LIVE_PASS;
}

int live_provide_buffers(struct live *t)
{
	int res = 0;

	/* 3 buffers, then 2 more with the next ids: the group holds 5. */
	if (provide(t, region[0], 64, 3, 0) != LIVE_PASS || provide(t, region[3], 64, 2, 3) != LIVE_PASS)
		return LIVE_FAIL;
	if (remove_bufs(t, 8, BGID, &res) != LIVE_PASS)
		return LIVE_FAIL;
	LIVE_EQ(t, res, 5);
	/* All taken back: nothing left to remove. */
	if (remove_bufs(t, 8, BGID, &res) != LIVE_PASS)
		return LIVE_FAIL;
	LIVE_CHECK(t, empty_group(res));
	return LIVE_PASS;
}

int live_remove_buffers(struct live *t)
{
	int res = 0;

	if (provide(t, region[0], 64, 3, 0) != LIVE_PASS)
		return LIVE_FAIL;
	/* At most nr at a time, then what is left, then none. */
	if (remove_bufs(t, 2, BGID, &res) != LIVE_PASS)
		return LIVE_FAIL;
	LIVE_EQ(t, res, 2);
	if (remove_bufs(t, 2, BGID, &res) != LIVE_PASS)
		return LIVE_FAIL;
	LIVE_EQ(t, res, 1);
	if (remove_bufs(t, 2, BGID, &res) != LIVE_PASS)
		return LIVE_FAIL;
	LIVE_CHECK(t, empty_group(res));
	/* A group that was never provided does not exist. */
	if (remove_bufs(t, 2, BGID + 1, &res) != LIVE_PASS)
		return LIVE_FAIL;
	LIVE_EQ(t, res, -ENOENT);
	return LIVE_PASS;
}
