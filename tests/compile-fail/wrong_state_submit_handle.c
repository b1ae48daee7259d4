/* SPDX-License-Identifier: MIT */
/* Submitting a handle (an op already submitted) instead of a builder. */
// expect: _Generic|not compatible with any association|controlling expression type
#include "common.h"

int f(void)
{
	struct sr_read_op op = sr_read(0, buf, 0);
	struct sr_read_submitted sub;

	sr_submit(ring, &op, &sub);
	return sr_submit(ring, &sub, &sub);
}
