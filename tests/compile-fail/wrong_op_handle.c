/* SPDX-License-Identifier: MIT */
/* Submitting a read into a write's handle. */
// expect: static assert.*sr_submit: the submitted handle is for another op|static_assert failed.*sr_submit
#include "common.h"

int f(void)
{
	struct sr_read_op op = sr_read(0, buf, 0);
	struct sr_write_submitted sub;

	return sr_submit(ring, &op, &sub);
}
