/* SPDX-License-Identifier: MIT */
/*
 * sr_ready: can an example run here, under the SR_BACKEND, SR_KERNEL and
 * SR_DISABLE settings in the environment?  The example tests ask before
 * they start a program, so that a backend or kernel the library cannot
 * serve yet is a skip with the library's own reason, not a failure.
 *
 *   sr_ready [--bufgroup] OP...
 *
 * Prints "ready (backend, op: status, ...)" and exits 0, or prints the
 * reason and exits 77 when the ring cannot be made, a buffer group cannot
 * be made (--bufgroup), or an op is neither native nor has a fallback.
 */
#include <stdio.h>
#include <string.h>
#include <safer-ring.h>

static int find_op(const char *name)
{
	for (unsigned i = 0; i < sr_op_count; i++)
		if (!strcmp(sr_op_table[i].name, name))
			return (int)i;
	return -1;
}

int main(int argc, char **argv)
{
	struct sr_ring *ring;
	char status[256], summary[2048];
	size_t used;
	int first = 1;

	if (sr_ring_create(&ring, NULL) < 0) {
		printf("the library cannot make a ring here: %s\n", sr_last_error());
		return 77;
	}
	used = (size_t)snprintf(summary, sizeof(summary), "ready (%s backend", sr_ring_backend(ring));
	if (argc > 1 && !strcmp(argv[1], "--bufgroup")) {
		struct sr_bufgroup *g = sr_bufgroup_create(ring, 8, 4096);

		if (!g) {
			printf("the library cannot make a buffer group here: %s\n", sr_last_error());
			sr_ring_destroy(ring);
			return 77;
		}
		sr_bufgroup_destroy(g);
		argv++;
		argc--;
	}
	for (int i = 1; i < argc; i++) {
		int op = find_op(argv[i]);

		if (op < 0) {
			fprintf(stderr, "sr_ready: no op named '%s'\n", argv[i]);
			sr_ring_destroy(ring);
			return 2;
		}
		sr_op_status(ring, (unsigned)op, status, sizeof(status));
		if (!strncmp(status, "unavailable", 11)) {
			printf("%s\n", status);
			sr_ring_destroy(ring);
			return 77;
		}
		if (used < sizeof(summary))
			used += (size_t)snprintf(summary + used, sizeof(summary) - used, "%s %s: %s",
						 first ? ";" : ",", argv[i], status);
		first = 0;
	}
	printf("%s)\n", summary);
	sr_ring_destroy(ring);
	return 0;
}
