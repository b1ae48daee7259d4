/* SPDX-License-Identifier: MIT */
/*
 * sr-conformance: is this kernel OK for safer-ring?  The conformance tests
 * of tests/conformance, built to be installed: per op, the SQE the library
 * writes is compared with liburing's helper and the reference tables (built
 * in), and the op's live round trip runs on this kernel through the
 * installed library, natively or through the fallback the ring picks.
 *
 * Each op runs in a process of its own with a time limit, so a crash or a
 * hang on a strange kernel is that op's failure and the run goes on.  The
 * child writes its verdict into memory shared with this process and its
 * output into a memfd, which a stray grandchild cannot hold open the way it
 * could a pipe.
 */
#include "conf.h"

#include <getopt.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#ifndef SR_TOOL_VERSION
#define SR_TOOL_VERSION "(version unknown)"
#endif

enum { R_NATIVE, R_FALLBACK, R_UNAVAILABLE, R_SKIPPED, R_FAILED, R__COUNT };
static const char *const r_name[] = { "native", "fallback", "unavailable", "skipped", "failed" };

enum { SQE_UNCHECKED, SQE_EQUAL, SQE_DIFFERS };

/* One op's verdict, written by its children. */
struct result {
	unsigned char state;		/* R_* */
	unsigned char sqe;		/* SQE_* */
	char status[256];		/* sr_op_status on a ring fit for the op */
	char detail[640];		/* the route, why not, what failed */
	char sqe_detail[320];		/* why the SQE check failed */
};

/* Written by the children. */
static struct shared {
	bool done;			/* the child got to the end of its step */
	bool sqe_ok;			/* the SQE checks can run here */
	char sqe_why[256];		/* else why not */
	struct result r[SR_OP__COUNT];
} *shared;

enum { STEP_PRECHECK, STEP_SQE, STEP_LIVE };

static char *output[SR_OP__COUNT];	/* what each op's children printed */
static bool selected[SR_OP__COUNT];

static struct {
	bool json;
	bool quiet;
	unsigned timeout;
} opt = { .timeout = 60 };

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sr-conformance [OPTION]... [OP]...\n"
"       sr-conformance --matrix [--only=OP,OP] [CONFIG]...\n"
"\n"
"Is this kernel OK for safer-ring?  For every io_uring operation (or the OPs\n"
"named), check the SQE the library writes against liburing's helper and the\n"
"reference tables, and run a round trip on the running kernel through the\n"
"installed library.  Each op is reported as\n"
"  native        it ran on io_uring and did what the op does\n"
"  fallback      the ring took the op's fallback (the route is named) and\n"
"                the result was the same\n"
"  unavailable   no route on this ring: the op was refused at submit with\n"
"                an error saying why (e.g. the kernel it needs)\n"
"  skipped       not run here, with the reason (privileges, hardware)\n"
"  failed        a wrong SQE, a wrong result, a crash or a hang\n"
"and the run ends with the line\n"
"  conformance: ops=N native=N fallback=N unavailable=N skipped=N failed=N sqe_equal=N\n"
"\n"
"Options:\n"
"  --json            print the report as one JSON object\n"
"  -q, --quiet       print only ops that failed and the summary line\n"
"  --only=OP,OP      test only these ops (as do OP arguments)\n"
"  --timeout=SECONDS time limit of each op (default 60; 0: none)\n"
"  --list            print the ops with their opcode and kernel, and exit\n"
"  --matrix          every op under every configuration, each in its own\n"
"                    process: this kernel, SR_BACKEND=fallback, SR_KERNEL=5.1\n"
"                    .. 6.1, io_uring_setup blocked by seccomp (ENOSYS, EPERM),\n"
"                    SR_POLICY=strict; CONFIG names some of them (native,\n"
"                    fallback, 5.1, 5.6, 5.11, 5.19, 6.0, 6.1, seccomp-enosys,\n"
"                    seccomp-eperm, strict)\n"
"  -h, --help        print this help and exit\n"
"  --version         print the version and exit\n"
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
"and by this program:\n"
"  CONF_ONLY=OP,OP   the same as --only\n"
"\n"
"Each round trip works in a scratch directory /tmp/sr-live-OP-XXXXXX and on\n"
"loopback sockets, and removes what it made.\n"
"\n"
"Exit status: 0 if nothing failed, 1 if an op failed, 2 on a usage error or\n"
"when the tests cannot run at all.\n");
}

/* --- the child: one op ------------------------------------------------------------------- */

/* The scenario stopped at a submit the library refused, saying why. */
static bool refused_at_submit(const char *lasterr)
{
	for (unsigned op = 0; op < sr_op_count; op++) {
		char pre[80];

		snprintf(pre, sizeof(pre), "sr_%s_submit: ", sr_op_table[op].name);
		if (!strncmp(lasterr, pre, strlen(pre)) && strstr(lasterr, "(EOPNOTSUPP)"))
			return true;
	}
	return false;
}

/* What a ring set up for op (its SQE128 / CQE32 needs) does with it. */
static void fitting_status(unsigned op, char *buf, size_t len)
{
	const struct sr_op_info *info = &sr_op_table[op];
	struct sr_ring_params p = { .entries = 64 };
	struct sr_ring *r;

	if (info->setup_any & SR_IORING_SETUP_SQE128)
		p.flags |= SR_RING_SQE128;
	if (info->setup_any & SR_IORING_SETUP_CQE32)
		p.flags |= SR_RING_CQE32;
	if (sr_ring_create(&r, &p)) {
		snprintf(buf, len, "unavailable: cannot create a ring: %s", sr_last_error());
		return;
	}
	sr_op_status(r, op, buf, len);
	sr_ring_destroy(r);
}

/* The SQE check of op: CUnit runs the generated test. */
static void check_sqe(unsigned op, struct result *res)
{
	const struct conf_test *c = conf_sqe_tests;
	CU_pSuite suite;

	while (c->name && c->op != op)
		c++;
	if (!c->name) {
		res->sqe = SQE_DIFFERS;
		snprintf(res->sqe_detail, sizeof(res->sqe_detail), "no SQE test for this op");
		return;
	}
	if (CU_initialize_registry() != CUE_SUCCESS || !(suite = CU_add_suite("sqe", NULL, NULL)) ||
	    !CU_add_test(suite, c->name, c->fn)) {
		res->sqe = SQE_DIFFERS;
		snprintf(res->sqe_detail, sizeof(res->sqe_detail), "CUnit: %s", CU_get_error_msg());
		return;
	}
	CU_run_all_tests();
	if (CU_get_number_of_failures()) {
		CU_pFailureRecord f = CU_get_failure_list();

		res->sqe = SQE_DIFFERS;
		snprintf(res->sqe_detail, sizeof(res->sqe_detail), "%s:%u: %s", f->strFileName ?: "?",
			 f->uiLineNumber, f->strCondition ?: "?");
	} else {
		res->sqe = SQE_EQUAL;
	}
	CU_cleanup_registry();
}

/* The round trip of op, and what the ring says it does with the op. */
static void check_live(unsigned op, struct result *res)
{
	char msg[512], status[256], lasterr[512], fit[256];
	const char *st, *why;
	int ret;

	fitting_status(op, fit, sizeof(fit));
	ret = conf_live_one(op, true, msg, sizeof(msg), status, sizeof(status), lasterr, sizeof(lasterr));
	/* A spec-skipped op never gets a ring from conf_live_one. */
	st = status[0] ? status : fit;
	why = strchr(st, ':') ? strchr(st, ':') + 2 : st;
	snprintf(res->status, sizeof(res->status), "%s", st);
	if (ret == LIVE_SKIP) {
		res->state = R_SKIPPED;
		snprintf(res->detail, sizeof(res->detail), "%s", msg);
	} else if (ret == LIVE_PASS) {
		if (!strcmp(st, "native")) {
			res->state = R_NATIVE;
		} else if (!strncmp(st, "fallback: ", 10)) {
			res->state = R_FALLBACK;
			snprintf(res->detail, sizeof(res->detail), "%s", why);
		} else {
			res->state = R_FAILED;
			snprintf(res->detail, sizeof(res->detail), "the ring says \"%s\", yet the round trip passed", st);
		}
	} else if (!strncmp(st, "unavailable: ", 13) && refused_at_submit(lasterr)) {
		res->state = R_UNAVAILABLE;
		snprintf(res->detail, sizeof(res->detail), "%s", why);
	} else {
		res->state = R_FAILED;
		snprintf(res->detail, sizeof(res->detail), "%.480s [%.150s]", msg, st);
	}
}

/* Can the SQE checks run?  The capture ring and liburing's ring need io_uring. */
static void check_sqe_possible(void)
{
	struct sr_ring_params p = { .entries = 64, .flags = SR_RING_CAPTURE | SR_RING_NO_LADDER };
	struct io_uring lib;
	struct sr_ring *r;
	int ret;

	if (sr_ring_create(&r, &p)) {
		snprintf(shared->sqe_why, sizeof(shared->sqe_why), "%s", sr_last_error());
		return;
	}
	sr_ring_destroy(r);
	ret = io_uring_queue_init(8, &lib, 0);
	if (ret) {
		snprintf(shared->sqe_why, sizeof(shared->sqe_why), "liburing cannot set up a ring: %s",
			 strerror(-ret));
		return;
	}
	io_uring_queue_exit(&lib);
	shared->sqe_ok = true;
}

/* --- the parent ---------------------------------------------------------------------------- */

static char *read_all(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *s;

	if (end <= 0)
		return NULL;
	s = malloc((size_t)end + 1);
	if (!s || pread(fd, s, (size_t)end, 0) != end) {
		free(s);
		return NULL;
	}
	s[end] = 0;
	return s;
}

/* Add what a child printed to op's output. */
static void keep_output(unsigned op, char *s)
{
	size_t n;
	char *o;

	if (!s)
		return;
	if (!output[op]) {
		output[op] = s;
		return;
	}
	n = strlen(output[op]);
	o = realloc(output[op], n + strlen(s) + 1);
	if (o) {
		strcpy(o + n, s);
		output[op] = o;
	}
	free(s);
}

/*
 * Run one step for op in a child; whatever becomes of the child, the step
 * has a verdict.  -1 only when no child can be made.
 */
static int run_child(int step, unsigned op)
{
	struct result *res = &shared->r[op];
	char why[200];
	int fd, status;
	pid_t pid;

	fd = memfd_create("sr-conformance", MFD_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "sr-conformance: memfd_create: %s\n", strerror(errno));
		return -1;
	}
	shared->done = false;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sr-conformance: fork: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (opt.timeout)
			alarm(opt.timeout);
		if (step == STEP_PRECHECK)
			check_sqe_possible();
		else if (step == STEP_SQE)
			check_sqe(op, res);
		else
			check_live(op, res);
		shared->done = true;
		fflush(NULL);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	keep_output(op, read_all(fd));
	close(fd);
	if (shared->done && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		snprintf(why, sizeof(why), "timed out after %u s", opt.timeout);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "killed by SIG%s%s", sigabbrev_np(WTERMSIG(status)) ?: "?",
			 WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(why, sizeof(why), "exited with status %d%s", WEXITSTATUS(status),
			 shared->done ? "" : " before the end of its test");
	if (step == STEP_PRECHECK) {
		snprintf(shared->sqe_why, sizeof(shared->sqe_why), "checking for io_uring %s", why);
	} else if (step == STEP_SQE) {
		res->sqe = SQE_DIFFERS;
		snprintf(res->sqe_detail, sizeof(res->sqe_detail), "the SQE check %s", why);
	} else {
		res->state = R_FAILED;
		snprintf(res->detail, sizeof(res->detail), "%s", why);
	}
	return 0;
}

/*
 * The library notes a bad SR_* variable on stderr once per process: the
 * report says it once, not under every op.
 */
static void drop_env_note(const struct sr_caps *c)
{
	char note[256];
	size_t n;

	if (!c->env_error[0])
		return;
	n = (size_t)snprintf(note, sizeof(note), "safer-ring: %s\n", c->env_error);
	for (unsigned op = 0; op < sr_op_count; op++) {
		char *p;

		while (output[op] && (p = strstr(output[op], note)))
			memmove(p, p + n, strlen(p + n) + 1);
		if (output[op] && !output[op][0]) {
			free(output[op]);
			output[op] = NULL;
		}
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static const char *policy_name(int policy)
{
	return policy == SR_POLICY_WARN ? "warn" : policy == SR_POLICY_STRICT ? "strict" : "graceful";
}

static void kernel_of(unsigned code, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u", code >> 16, (code >> 8) & 0xff);
}

static void print_output(const char *s)
{
	/* What the op's process printed, indented under its line. */
	while (s && *s) {
		const char *e = strchr(s, '\n');
		int n = e ? (int)(e - s) : (int)strlen(s);

		if (n)
			printf("    | %.*s\n", n, s);
		s = e ? e + 1 : NULL;
	}
}

static void report_text(const struct sr_caps *c, const unsigned *count, unsigned nops, unsigned sqe_equal)
{
	struct utsname u;

	uname(&u);
	if (!opt.quiet) {
		printf("safer-ring %s conformance on Linux %s (%s)\n", SR_TOOL_VERSION, c->release, u.machine);
		if (c->simulated)
			printf("ops checked against Linux %u.%u (SR_KERNEL)\n", c->kernel.major, c->kernel.minor);
		printf("io_uring: %s; backend: %s; policy: %s%s\n", c->setup_errno ? c->setup_why : "available",
		       c->setup_errno || c->force_fallback ? "fallback" : "io_uring", policy_name(c->policy),
		       c->policy < 0 ? " (default)" : " (SR_POLICY)");
		if (c->disable[0])
			printf("disabled: %s (SR_DISABLE)\n", c->disable);
		if (c->env_error[0])
			printf("note: %s\n", c->env_error);
		if (shared->sqe_ok)
			printf("SQE checks: against liburing's helpers (as built) and the reference tables\n");
		else
			printf("SQE checks: not run: %s\n", shared->sqe_why);
		printf("\n%-24s %-6s %s\n", "op", "Linux", "result");
	}
	for (unsigned op = 0; op < sr_op_count; op++) {
		const struct result *r = &shared->r[op];
		char k[16];

		if (!selected[op] || (opt.quiet && r->state != R_FAILED))
			continue;
		kernel_of(sr_op_table[op].kernel, k, sizeof(k));
		printf("%-24s %-6s ", sr_op_table[op].name, k);
		switch (r->state) {
		case R_NATIVE:
			printf("native\n");
			break;
		case R_SKIPPED:
			printf("skipped: %s (the ring says: %s)\n", r->detail, r->status);
			break;
		case R_FAILED:
			printf("FAILED: %s\n", r->detail[0] ? r->detail : "(no detail)");
			if (r->sqe == SQE_DIFFERS)
				printf("    SQE: %s\n", r->sqe_detail);
			break;
		default:
			printf("%s: %s\n", r_name[r->state], r->detail);
		}
		if (r->state == R_FAILED || c->policy == SR_POLICY_WARN || getenv("SR_DEBUG"))
			print_output(output[op]);
	}
	if (!opt.quiet)
		printf("\n");
	printf("conformance: ops=%u native=%u fallback=%u unavailable=%u skipped=%u failed=%u sqe_equal=%u\n", nops,
	       count[R_NATIVE], count[R_FALLBACK], count[R_UNAVAILABLE], count[R_SKIPPED], count[R_FAILED],
	       sqe_equal);
}

static void report_json(const struct sr_caps *c, const unsigned *count, unsigned nops, unsigned sqe_equal)
{
	static const char *const sqe_name[] = { "unchecked", "equal", "differs" };
	struct utsname u;
	bool first = true;

	uname(&u);
	printf("{\n  \"version\": ");
	json_str(SR_TOOL_VERSION);
	printf(",\n  \"kernel\": ");
	json_str(c->release);
	printf(",\n  \"machine\": ");
	json_str(u.machine);
	printf(",\n  \"kernel_checked\": \"%u.%u.%u\",\n  \"simulated\": %s,\n", c->kernel.major, c->kernel.minor,
	       c->kernel.patch, c->simulated ? "true" : "false");
	printf("  \"io_uring_setup\": ");
	json_str(c->setup_errno ? c->setup_why : "ok");
	printf(",\n  \"backend\": \"%s\",\n  \"policy\": \"%s\",\n  \"disable\": ",
	       c->setup_errno || c->force_fallback ? "fallback" : "io_uring", policy_name(c->policy));
	json_str(c->disable);
	printf(",\n  \"note\": ");
	json_str(c->env_error);
	printf(",\n  \"sqe_checks\": ");
	json_str(shared->sqe_ok ? "run" : shared->sqe_why);
	printf(",\n  \"ops\": [\n");
	for (unsigned op = 0; op < sr_op_count; op++) {
		const struct result *r = &shared->r[op];
		char k[16];

		if (!selected[op])
			continue;
		kernel_of(sr_op_table[op].kernel, k, sizeof(k));
		printf("%s    {\"op\": \"%s\", \"opcode\": %u, \"kernel\": \"%s\", \"result\": \"%s\", \"detail\": ",
		       first ? "" : ",\n", sr_op_table[op].name, sr_op_table[op].opcode, k, r_name[r->state]);
		json_str(r->detail);
		printf(", \"status\": ");
		json_str(r->status);
		printf(", \"sqe\": \"%s\"", sqe_name[r->sqe]);
		if (r->sqe == SQE_DIFFERS) {
			printf(", \"sqe_detail\": ");
			json_str(r->sqe_detail);
		}
		if (output[op]) {
			printf(", \"output\": ");
			json_str(output[op]);
		}
		printf("}");
		first = false;
	}
	printf("\n  ],\n  \"summary\": {\"ops\": %u, \"native\": %u, \"fallback\": %u, \"unavailable\": %u, "
	       "\"skipped\": %u, \"failed\": %u, \"sqe_equal\": %u}\n}\n", nops, count[R_NATIVE], count[R_FALLBACK],
	       count[R_UNAVAILABLE], count[R_SKIPPED], count[R_FAILED], sqe_equal);
}

/* Select the ops in a comma-separated list; an unknown name is a usage error. */
static int select_ops(const char *list)
{
	char name[64];

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		int op;

		if (n && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = 0;
			op = sr_op_lookup(name);
			if (op < 0) {
				fprintf(stderr, "sr-conformance: unknown op '%s' (sr-conformance --list names them)\n",
					name);
				return -1;
			}
			selected[op] = true;
		} else if (n) {
			fprintf(stderr, "sr-conformance: unknown op '%.*s'\n", (int)n, p);
			return -1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_JSON = 256, O_ONLY, O_TIMEOUT, O_LIST, O_MATRIX, O_VERSION };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "only", required_argument, NULL, O_ONLY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "list", no_argument, NULL, O_LIST },
		{ "matrix", no_argument, NULL, O_MATRIX },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	unsigned count[R__COUNT] = { 0 }, nops = 0, sqe_equal = 0;
	const struct sr_caps *c;
	bool any = false, list = false;
	char *end, *kernel;
	int ch;

	/* A configuration of the matrix: this program run again by conf_matrix. */
	if (getenv("CONF_MATRIX_CHILD"))
		return conf_matrix_child();
	/* Options end at the first operand: "--matrix 5.1" names a configuration. */
	while ((ch = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
		switch (ch) {
		case O_JSON:
			opt.json = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case O_ONLY:
			if (select_ops(optarg))
				return 2;
			any = true;
			break;
		case O_TIMEOUT:
			errno = 0;
			opt.timeout = (unsigned)strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || opt.timeout > 86400) {
				fprintf(stderr, "sr-conformance: --timeout=%s: give seconds, 0 to 86400\n", optarg);
				return 2;
			}
			break;
		case O_LIST:
			list = true;
			break;
		case O_MATRIX:
			/* conf_matrix takes the rest (--only=, configurations) and runs
			 * this very program again once per configuration. */
			return conf_matrix("/proc/self/exe", argc - optind, argv + optind);
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("sr-conformance (safer-ring) %s\n", SR_TOOL_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'sr-conformance --help'.\n");
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (select_ops(argv[i]))
			return 2;
		any = true;
	}
	if (!any && getenv("CONF_ONLY") && *getenv("CONF_ONLY")) {
		if (select_ops(getenv("CONF_ONLY")))
			return 2;
		any = true;
	}
	if (list) {
		for (unsigned op = 0; op < sr_op_count; op++) {
			char k[16];

			if (any && !selected[op])
				continue;
			kernel_of(sr_op_table[op].kernel, k, sizeof(k));
			printf("%-24s %3u  %s\n", sr_op_table[op].name, sr_op_table[op].opcode, k);
		}
		return 0;
	}
	for (unsigned op = 0; op < sr_op_count; op++)
		if (!any)
			selected[op] = true;
	/* The live scenarios select through CONF_ONLY too; the lists now agree. */
	unsetenv("CONF_ONLY");

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		fprintf(stderr, "sr-conformance: mmap: %s\n", strerror(errno));
		return 2;
	}
	/*
	 * The SQE checks are about the build, not the kernel: they run without
	 * SR_KERNEL (on a simulated kernel before 5.19 the capture ring cannot
	 * make the buffer group some of them need).  So this process leaves
	 * the library's detection to its children until they are done.
	 */
	kernel = getenv("SR_KERNEL") ? strdup(getenv("SR_KERNEL")) : NULL;
	unsetenv("SR_KERNEL");
	if (run_child(STEP_PRECHECK, 0))
		return 2;
	for (unsigned op = 0; op < sr_op_count && shared->sqe_ok; op++)
		if (selected[op] && run_child(STEP_SQE, op))
			return 2;
	if (kernel)
		setenv("SR_KERNEL", kernel, 1);
	for (unsigned op = 0; op < sr_op_count; op++) {
		struct result *r = &shared->r[op];

		if (!selected[op])
			continue;
		if (run_child(STEP_LIVE, op))
			return 2;
		if (r->sqe == SQE_DIFFERS)
			r->state = R_FAILED;
		nops++;
		count[r->state]++;
		sqe_equal += r->sqe == SQE_EQUAL;
	}
	c = sr_caps_get();
	drop_env_note(c);
	if (opt.json)
		report_json(c, count, nops, sqe_equal);
	else
		report_text(c, count, nops, sqe_equal);
	for (unsigned op = 0; op < sr_op_count; op++)
		free(output[op]);
	free(kernel);
	munmap(shared, sizeof(*shared));
	return count[R_FAILED] ? 1 : 0;
}
