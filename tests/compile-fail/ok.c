/* SPDX-License-Identifier: MIT */
/* The correct uses of everything the other files get wrong. */
#include "common.h"

static void read_cb(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	(void)r;
	(void)c;
	(void)arg;
}

int ok(void)
{
	struct sr_read_op op = sr_read(0, buf, 0);
	struct sr_read_submitted sub;
	struct sr_read_completed done;
	struct sr_write_op w = sr_write(1, cbuf, 0);
	struct sr_write_submitted ws;
	int ret = 0;

	ret |= sr_set_sqe_flags(&op, SR_IOSQE_IO_LINK);
	ret |= sr_submit(ring, &op, &sub);
	ret |= sr_wait(ring, &sub, &done);
	ret |= sr_poll(ring, &sub, &done);
	ret |= sr_cancel(ring, &sub);
	ret |= sr_submit(ring, &w, &ws);
	op = sr_read(0, buf, 0);
	ret |= sr_submit_cb(ring, &op, read_cb, NULL, &sub);
	op = sr_read(0, NULL, 0);
	return ret;
}
