/* SPDX-License-Identifier: MIT */
/*
 * sr-probe: what io_uring offers here, and what safer-ring does with each op.
 *
 *   sr-probe          a report for people
 *   sr-probe --json   the same for programs
 *
 * Honours SR_BACKEND, SR_KERNEL, SR_POLICY and SR_DISABLE like every
 * safer-ring program (the library reads them).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <safer-ring.h>

#ifndef SR_TOOL_VERSION
#define SR_TOOL_VERSION "(version unknown)"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sr-probe [--json]\n"
"\n"
"What io_uring offers on this machine and what safer-ring does with each\n"
"operation.  The report gives the kernel, whether io_uring can be set up\n"
"(and why not: seccomp, kernel.io_uring_disabled, RLIMIT_MEMLOCK), the\n"
"backend a ring gets, the setup flags the kernel accepted, the IORING_FEAT_*\n"
"bits and the opcode probe; then, per op, its opcode, the Linux release that\n"
"added it and its status on a ring:\n"
"  native              io_uring runs it\n"
"  fallback: ROUTE     the ring takes this fallback (another opcode, the\n"
"                      system call on a worker thread, an emulation)\n"
"  unavailable: WHY    submitting it fails with this reason\n"
"It ends with the counts.  sr-conformance runs every op to check the same.\n"
"\n"
"Options:\n"
"  --json        print the report as one JSON object\n"
"  -h, --help    print this help and exit\n"
"  --version     print the version and exit\n"
"\n"
"Environment (read by the library, so by every safer-ring program):\n"
"  SR_KERNEL=X.Y     treat ops newer than Linux X.Y as missing, to see what a\n"
"                    program does on an older kernel (not newer than this one)\n"
"  SR_BACKEND=uring|fallback\n"
"                    fallback: run every ring without io_uring (system calls\n"
"                    on worker threads, epoll)\n"
"  SR_POLICY=graceful|warn|strict\n"
"                    what a ring does with an op it cannot run natively: take\n"
"                    the fallback, take it and say so on stderr once, or fail\n"
"  SR_DISABLE=OP,OP  treat these ops as missing\n"
"  SR_DEBUG=1        print every error the library reports on stderr\n"
"A value the library cannot use is reported (\"note\") and ignored.\n"
"\n"
"Exit status: 0 when the report was printed, 2 on a usage error.\n");
}

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
	enum { O_JSON = 256, O_VERSION };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const struct sr_caps *c;
	struct sr_ring *r = NULL;
	unsigned native = 0, fallback = 0, unavailable = 0;
	char buf[512], flags[512], feats[1024], m1[32], m2[32];
	int ret, ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("sr-probe (safer-ring) %s\n", SR_TOOL_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'sr-probe --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sr-probe: unexpected argument '%s'\nTry 'sr-probe --help'.\n", argv[optind]);
		return 2;
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
