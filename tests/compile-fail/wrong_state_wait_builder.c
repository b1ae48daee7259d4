/* SPDX-License-Identifier: MIT */
/* Waiting on an op that was never submitted: a Building value is not a Submitted one. */
// expect: _Generic|not compatible with any association|controlling expression type
#include "common.h"

int f(void)
{
	struct sr_read_op op = sr_read(0, buf, 0);
	struct sr_read_completed done;

	return sr_wait(ring, &op, &done);
}
