/* SPDX-License-Identifier: MIT */
/* Waiting on a read with a write's completion struct. */
// expect: static assert.*sr_wait: the completion is for another op|static_assert failed.*sr_wait
#include "common.h"

int f(void)
{
	struct sr_read_op op = sr_read(0, buf, 0);
	struct sr_read_submitted sub;
	struct sr_write_completed done;

	sr_submit(ring, &op, &sub);
	return sr_wait(ring, &sub, &done);
}
