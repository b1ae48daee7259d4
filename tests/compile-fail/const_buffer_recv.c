/* SPDX-License-Identifier: MIT */
/* recv writes into its buffer too. */
// expect: _Generic|not compatible with any association|controlling expression type
#include "common.h"

int f(void)
{
	struct sr_recv_op op = sr_recv(0, cbuf);
	struct sr_recv_submitted sub;

	return sr_submit(ring, &op, &sub);
}
