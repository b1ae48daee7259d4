/* SPDX-License-Identifier: MIT */
/* A callback for another op's completions. */
// expect: static assert.*sr_submit_cb|static_assert failed.*sr_submit_cb
#include "common.h"

static void write_cb(struct sr_ring *r, struct sr_write_completed *c, void *arg)
{
	(void)r;
	(void)c;
	(void)arg;
}

int f(void)
{
	struct sr_read_op op = sr_read(0, buf, 0);

	return sr_submit_cb(ring, &op, write_cb, NULL, NULL);
}
