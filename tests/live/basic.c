/* SPDX-License-Identifier: MIT */
/* Live round trips: nop and plain file I/O. */
#include "../conformance/conf.h"

int live_nop(struct live *t)
{
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub;
	struct sr_nop_completed c;

	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	return LIVE_PASS;
}

int live_read(struct live *t)
{
	int fd = live_file(t, "f", "hello, ring", 11);
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	struct sr_read_op op;

	LIVE_CHECK(t, fd >= 0 && b);
	op = sr_read(fd, b, 7);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 4);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_buf_len(b), 4);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "ring", 4) == 0);
	return LIVE_PASS;
}
