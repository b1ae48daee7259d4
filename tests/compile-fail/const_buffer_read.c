/* SPDX-License-Identifier: MIT */
/* A read writes into its buffer: a const buffer is refused. */
// expect: _Generic|not compatible with any association|controlling expression type
#include "common.h"

int f(void)
{
	struct sr_read_op op = sr_read(0, cbuf, 0);
	struct sr_read_submitted sub;

	return sr_submit(ring, &op, &sub);
}
