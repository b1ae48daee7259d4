/* SPDX-License-Identifier: MIT */
/*
 * sr-probe: what io_uring offers here, and what safer-ring does with each op.
 *
 *   sr-probe          a report for people
 *   sr-probe --json   the same for programs
 *
 * Honours SR_BACKEND, SR_KERNEL and SR_DISABLE like every safer-ring program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <safer-ring.h>

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static const char *memlock(uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)(v / 1024));
	return buf;
}

/*
 * Some ops need a ring set up for them (recv_zc: 32-byte CQEs).  Their
 * status on a ring that has what they need, or NULL if none can be made.
 */
static const char *status_on_fitting_ring(unsigned op, char *buf, size_t len, char *how, size_t howlen)
{
	static const struct { uint32_t setup; unsigned flag; } fit[] = {
		{ SR_IORING_SETUP_CQE32, SR_RING_CQE32 },
		{ SR_IORING_SETUP_SQE128, SR_RING_SQE128 },
	};
	const struct sr_op_info *o = &sr_op_table[op];

	for (unsigned i = 0; i < sizeof(fit) / sizeof(fit[0]); i++) {
		struct sr_ring_params p = { .flags = fit[i].flag };
		struct sr_ring *r;

		if (!(o->setup_any & fit[i].setup) || sr_ring_create(&r, &p))
			continue;
		sr_op_status(r, op, buf, len);
		sr_flag_names(sr_setup_flag_table, sr_setup_flag_count, fit[i].setup, how, howlen);
		sr_ring_destroy(r);
		return buf;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	const struct sr_caps *c;
	struct sr_ring *r = NULL;
	unsigned native = 0, fallback = 0, unavailable = 0;
	char buf[512], flags[512], feats[1024], m1[32], m2[32];
	int ret;

	if (argc > 1 && !json) {
		fprintf(stderr, "usage: sr-probe [--json]\n");
		return strcmp(argv[1], "--help") && strcmp(argv[1], "-h") ? 2 : 0;
	}
	c = sr_caps_get();
	ret = sr_ring_create(&r, NULL);
	sr_flag_names(sr_setup_flag_table, sr_setup_flag_count, r ? r->_setup_flags : c->setup_flags, flags,
		      sizeof(flags));
	sr_flag_names(sr_feature_table, sr_feature_count, c->features, feats, sizeof(feats));
	if (json) {
		printf("{\n  \"kernel\": ");
		json_str(c->release);
		printf(",\n  \"kernel_checked\": \"%u.%u.%u\",\n  \"simulated\": %s,\n", c->kernel.major, c->kernel.minor,
		       c->kernel.patch, c->simulated ? "true" : "false");
		printf("  \"backend\": ");
		json_str(r ? sr_ring_backend(r) : "none");
		printf(",\n  \"io_uring_setup\": ");
		json_str(c->setup_errno ? c->setup_why : "ok");
		printf(",\n  \"io_uring_disabled\": %d,\n  \"seccomp\": %d,\n", c->io_uring_disabled, c->seccomp);
		printf("  \"memlock\": ");
		json_str(memlock(c->memlock_cur, m1, sizeof(m1)));
		printf(",\n  \"setup_flags\": ");
		json_str(flags);
		printf(",\n  \"features\": ");
		json_str(feats);
		printf(",\n  \"probe_last_op\": %d,\n  \"ops\": [\n", c->have_probe ? (int)c->last_op : -1);
	} else {
		printf("safer-ring capability report\n\n");
		printf("kernel          %s%s\n", c->release, c->simulated ? "" : "");
		if (c->simulated)
			printf("                ops checked against %u.%u (SR_KERNEL)\n", c->kernel.major, c->kernel.minor);
		printf("io_uring        %s\n", c->setup_errno ? c->setup_why : "available");
		printf("backend         %s\n", r ? sr_ring_backend(r) : "none (ring creation failed)");
		printf("io_uring_disabled %s\n", c->io_uring_disabled < 0 ? "(no sysctl: older kernel)" :
		       c->io_uring_disabled == 0 ? "0 (enabled)" : c->io_uring_disabled == 1 ? "1 (privileged only)" :
		       "2 (disabled)");
		printf("seccomp         %s\n", c->seccomp < 0 ? "unknown" : c->seccomp == 0 ? "off" :
		       c->seccomp == 1 ? "strict" : "filter");
		printf("RLIMIT_MEMLOCK  %s (max %s)\n", memlock(c->memlock_cur, m1, sizeof(m1)),
		       memlock(c->memlock_max, m2, sizeof(m2)));
		printf("setup flags     %s\n", flags);
		printf("features        %s\n", feats);
		if (c->have_probe)
			printf("opcode probe    last_op %u\n", c->last_op);
		if (c->env_error[0])
			printf("note            %s\n", c->env_error);
		printf("\n%-24s %3s  %-6s %s\n", "op", "#", "Linux", "status");
	}
	for (unsigned op = 0; op < sr_op_count; op++) {
		const struct sr_op_info *o = &sr_op_table[op];
		char fitted[512], how[128] = "";

		if (r)
			sr_op_status(r, op, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "unavailable: %s", sr_last_error());
		/* Native where the program sets the ring up for it: say so. */
		if (r && strcmp(buf, "native") && o->setup_any &&
		    status_on_fitting_ring(op, fitted, sizeof(fitted), how, sizeof(how)) && !strcmp(fitted, "native"))
			snprintf(buf, sizeof(buf), "native (on a ring set up with %s)", how);
		if (!strncmp(buf, "native", 6))
			native++;
		else if (!strncmp(buf, "fallback", 8))
			fallback++;
		else
			unavailable++;
		if (json) {
			printf("    {\"op\": \"%s\", \"opcode\": %u, \"kernel\": \"%u.%u\", \"status\": ", o->name, o->opcode,
			       o->kernel >> 16, (o->kernel >> 8) & 0xff);
			json_str(buf);
			printf("}%s\n", op + 1 < sr_op_count ? "," : "");
		} else {
			printf("%-24s %3u  %2u.%-3u %s\n", o->name, o->opcode, o->kernel >> 16, (o->kernel >> 8) & 0xff, buf);
		}
	}
	if (json)
		printf("  ],\n  \"native\": %u,\n  \"fallback\": %u,\n  \"unavailable\": %u\n}\n", native, fallback,
		       unavailable);
	else
		printf("\n%u ops: %u native, %u fallback, %u unavailable\n", sr_op_count, native, fallback, unavailable);
	if (r)
		sr_ring_destroy(r);
	(void)ret;
	return 0;
}
