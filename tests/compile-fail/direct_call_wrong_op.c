/* SPDX-License-Identifier: MIT */
/* The per-op functions are typed too; with -Werror a wrong handle does not compile. */
// flags: -Werror
// expect: incompatible pointer type|incompatible-pointer-types
#include "common.h"

int f(void)
{
	struct sr_read_op op = sr_read(0, buf, 0);
	struct sr_write_submitted sub;

	return sr_read_submit(ring, &op, &sub);
}
