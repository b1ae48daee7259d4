/* SPDX-License-Identifier: MIT */
/* Bypassing the constructor macro still meets the compiler's const check (-Werror). */
// flags: -Werror
// expect: discards .const. qualifier|discarded-qualifiers|incompatible-pointer-types-discards-qualifiers
#include "common.h"

struct sr_read_op f(void)
{
	return (sr_read)(0, cbuf, 0);
}
