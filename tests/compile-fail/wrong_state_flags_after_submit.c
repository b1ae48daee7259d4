/* SPDX-License-Identifier: MIT */
/* Setting SQE flags on a submitted op: only builders take flags. */
// expect: _Generic|not compatible with any association|controlling expression type
#include "common.h"

int f(void)
{
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub;

	sr_submit(ring, &op, &sub);
	return sr_set_sqe_flags(&sub, SR_IOSQE_IO_LINK);
}
