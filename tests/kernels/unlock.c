/* SPDX-License-Identifier: MIT */
/*
 * Linked into the conformance runner to make sr-variants: the live round
 * trips of the ops the spec dates after the running kernel although the
 * kernel has their opcode (flag variants: timeout_multishot, fadvise64,
 * cmd_sock, ...), run for real.
 *
 * The library refuses such an op from its spec date alone, so on a real
 * older kernel the normal suite only repeats the spec's belief.  Here the
 * belief is lifted: before main, the kernel the library checks ops
 * against is raised past any real one, and CONF_ONLY narrows the run to
 * exactly those ops.  Each should then fail on the real kernel (it
 * refuses the flag, or ignores it and the scenario sees the difference);
 * one that passes works on a kernel the spec says is too old, and the
 * spec's date for it is wrong.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <safer-ring.h>

__attribute__((constructor)) static void unlock(void)
{
	/* caps is the library's own (non-const) static; only the pointer is const. */
	struct sr_caps *c = (struct sr_caps *)sr_caps_get();
	uint32_t running = sr_kver_code(c->running);
	static char only[4096];
	size_t used = 0;
	unsigned n = 0;

	for (unsigned op = 0; op < sr_op_count; op++) {
		const struct sr_op_info *o = &sr_op_table[op];

		if (o->kernel <= running || !c->have_probe || !c->opcode_ok[o->opcode])
			continue;
		used += (size_t)snprintf(only + used, sizeof(only) - used, "%s%s", n ? "," : "", o->name);
		n++;
	}
	/* No such op: a name no op has, so the run is empty, not everything. */
	setenv("CONF_ONLY", n ? only : "-none-", 1);
	printf("sr-variants: running %s; ops the spec dates later whose opcode it has: %u: %s\n", c->release, n,
	       n ? only : "none");
	fflush(stdout);
	c->kernel = (struct sr_kver){ 255, 0, 0 };
	c->simulated = false;
}
