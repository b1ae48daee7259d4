/* SPDX-License-Identifier: MIT */
/*
 * The fallback matrix: every op's live scenario under every configuration
 * safer-ring has to cope with, each in its own process:
 *   native              this kernel, as it is
 *   fallback            SR_BACKEND=fallback (no io_uring at all)
 *   5.1 ... 6.1         SR_KERNEL: ops newer than that take their fallback
 *   seccomp-enosys/-eperm  a real seccomp filter makes io_uring_setup fail,
 *                       so detection has to find out and use the backend
 *   strict              SR_POLICY=strict: what the kernel lacks fails at
 *                       submit, naming the kernel it needs and the one running
 * SR_KERNEL set for the whole run stands for the kernel in the columns that
 * do not set their own.
 * Per op and configuration the ring says what it does (sr_op_status), and
 * the scenario must agree: native and fallback ops pass; an op with no
 * route fails at submit with an error that names it (or the unavailable op
 * its scenario needs first).  Anything else counts as failed.
 */
#include "conf.h"

#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

struct config {
	const char *name;
	const char *column;	/* the matrix's column header */
	const char *kernel;	/* SR_KERNEL */
	const char *backend;	/* SR_BACKEND */
	int seccomp_errno;	/* io_uring_* fail with this under a seccomp filter */
	const char *policy;	/* SR_POLICY */
};

static const struct config configs[] = {
	{ "native", "native", NULL, NULL, 0, NULL },
	{ "fallback", "SR_BACK", NULL, "fallback", 0, NULL },
	{ "5.1", "5.1", "5.1", NULL, 0, NULL },
	{ "5.6", "5.6", "5.6", NULL, 0, NULL },
	{ "5.11", "5.11", "5.11", NULL, 0, NULL },
	{ "5.19", "5.19", "5.19", NULL, 0, NULL },
	{ "6.0", "6.0", "6.0", NULL, 0, NULL },
	{ "6.1", "6.1", "6.1", NULL, 0, NULL },
	{ "seccomp-enosys", "ENOSYS", NULL, NULL, ENOSYS, NULL },
	{ "seccomp-eperm", "EPERM", NULL, NULL, EPERM, NULL },
	{ "strict", "STRICT", NULL, NULL, 0, "strict" },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

enum { C_NONE, C_NATIVE, C_FALLBACK, C_ERROR, C_SKIP, C_FAILED };
static const char cell_char[] = " NFESX";

/* --- the child: one configuration -------------------------------------------------- */

#if defined(__x86_64__)
#define SR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

static int seccomp_block_io_uring(int err)
{
#ifdef SR_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SR_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __NR_io_uring_setup, 0, 2),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, __NR_io_uring_register, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0))
		return -errno;
	return 0;
#else
	(void)err;
	return -EOPNOTSUPP;
#endif
}

/*
 * An op this configuration cannot run: its scenario must stop at a submit
 * the library refused with an explanation (this op's, or a step before it
 * that cannot be done here either), never at a wrong result.
 */
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

/*
 * EXPECTED, from the spec alone (the generated tables) and the kernel's
 * own answers, never from the library's verdict: does this configuration
 * run op natively?  Its date at or before the kernel (SR_KERNEL's, or the
 * release; on a real kernel also an opcode's first form its probe lists),
 * its opcode in the probe, the ring set up as it needs, and every op that
 * can act on it native too (a timeout_update on the fallback backend
 * takes its timeouts there).  An op the ring calls anything else is
 * wrongly demoted; one it calls native against this, wrongly promoted.
 */
/* The spec dates op at or before the kernel, or (a real kernel) the probe
 * lists its opcode and op is the opcode's first form. */
static bool expect_dated(const struct sr_caps *c, unsigned op)
{
	const struct sr_op_info *o = &sr_op_table[op];

	if (o->kernel <= sr_kver_code(c->kernel))
		return true;
	if (c->simulated || !c->have_probe || !c->opcode_ok[o->opcode])
		return false;
	for (unsigned x = 0; x < sr_op_count; x++)
		if (sr_op_table[x].opcode == o->opcode && sr_op_table[x].kernel < o->kernel)
			return false;
	return true;
}

static bool expect_own(const struct sr_ring *r, unsigned op, char *why, size_t len)
{
	const struct sr_caps *c = sr_caps_get();
	const struct sr_op_info *o = &sr_op_table[op];

	if (!r->_uring_up)
		return snprintf(why, len, "no io_uring in this configuration"), false;
	if (!expect_dated(c, op))
		return snprintf(why, len, "spec: Linux %u.%u, kernel %u.%u", o->kernel >> 16, (o->kernel >> 8) & 0xff,
				c->kernel.major, c->kernel.minor), false;
	if (c->have_probe && !c->opcode_ok[o->opcode])
		return snprintf(why, len, "the probe lacks opcode %u", o->opcode), false;
	if (o->setup_any) {
		/* The scenario asks for SQE128 and CQE32 (conf_live_one): the
		 * ring has them where the kernel does; others from the ladder. */
		uint32_t have = r->_setup_flags;

		for (unsigned i = 0; i < sr_setup_flag_count; i++) {
			const struct sr_flag_info *f = &sr_setup_flag_table[i];

			if ((1U << f->bit) & (SR_IORING_SETUP_SQE128 | SR_IORING_SETUP_CQE32) &&
			    f->kernel <= sr_kver_code(c->kernel))
				have |= 1U << f->bit;
		}
		if (!(have & o->setup_any))
			return snprintf(why, len, "the ring lacks the setup flag it needs"), false;
	}
	return snprintf(why, len, "spec: Linux %u.%u, kernel %u.%u, opcode %u probed", o->kernel >> 16,
			(o->kernel >> 8) & 0xff, c->kernel.major, c->kernel.minor, o->opcode), true;
}

static bool expect_native(const struct sr_ring *r, unsigned op, char *why, size_t len)
{
	char xwhy[160];

	if (!expect_own(r, op, why, len))
		return false;
	/* STRICT takes no fallback, so nothing drags op to the backend. */
	if (r->_policy == SR_POLICY_STRICT)
		return true;
	for (unsigned x = 0; x < sr_op_count; x++)
		for (unsigned k = 0; k < sr_op_table[x].ntargets; k++)
			if (sr_op_table[x].targets[k] == op && !expect_own(r, x, xwhy, sizeof(xwhy)))
				return snprintf(why, len, "%s acts on it and cannot run natively (%s)",
						sr_op_table[x].name, xwhy), false;
	return true;
}

int conf_matrix_child(void)
{
	const char *name = getenv("CONF_MATRIX_CHILD");
	const char *sec = getenv("CONF_SECCOMP");
	struct sr_ring *probe = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sec && *sec) {
		int err = atoi(sec), ret = seccomp_block_io_uring(err);
		const struct sr_caps *c;
		bool ok;

		if (ret) {
			printf("config %s skip cannot install a seccomp filter: %s\n", name, strerror(-ret));
			return 0;
		}
		/* Detection must see the real failure and say what it is. */
		c = sr_caps_get();
		ok = c->setup_errno == -err && c->seccomp == 2 &&
		     strstr(c->setup_why, err == ENOSYS ? "seccomp" : "EPERM");
		printf("detect %s %s: setup_errno=%d seccomp=%d: %s\n", name, ok ? "ok" : "FAILED", c->setup_errno,
		       c->seccomp, c->setup_why);
	}
	/* A kernel cannot be simulated newer than it is: the column does not
	 * exist here (on a real 5.10, SR_KERNEL=6.1 would quietly be 5.10). */
	if (getenv("SR_KERNEL") && sr_caps_get()->env_error[0] && strstr(sr_caps_get()->env_error, "SR_KERNEL")) {
		printf("config %s skip %s\n", name, sr_caps_get()->env_error);
		return 0;
	}
	if (sr_ring_create(&probe, NULL)) {
		printf("config %s failed cannot create a ring: %s\n", name, sr_last_error());
		return 0;
	}
	printf("config %s backend %s\n", name, sr_ring_backend(probe));
	if (sec && *sec && strcmp(sr_ring_backend(probe), "fallback"))
		printf("detect %s FAILED: the ring did not take the fallback backend\n", name);
	for (unsigned op = 0; op < sr_op_count; op++) {
		char msg[512], status[256], lasterr[512], ewhy[200];
		const char *cls;
		int ret;

		if (!conf_selected(sr_op_table[op].name))
			continue;
		ret = conf_live_one(op, true, msg, sizeof(msg), status, sizeof(status), lasterr, sizeof(lasterr));
		if (!strcmp(status, "native"))
			cls = "native";
		else if (!strncmp(status, "fallback", 8))
			cls = "fallback";
		else
			cls = "error";
		if (status[0] && expect_native(probe, op, ewhy, sizeof(ewhy)) != !strcmp(cls, "native")) {
			printf("op %s failed EXPECTED %s (%s), but the ring says \"%s\"\n", sr_op_table[op].name,
			       strcmp(cls, "native") ? "native" : "not native", ewhy, status);
			continue;
		}
		if (ret == LIVE_SKIP) {
			printf("op %s skip %s: %s\n", sr_op_table[op].name, cls, msg);
		} else if (ret == LIVE_PASS) {
			if (!strcmp(cls, "error"))
				printf("op %s failed the ring says \"%s\", yet the scenario passed\n",
				       sr_op_table[op].name, status);
			else
				printf("op %s %s %s\n", sr_op_table[op].name, cls, status);
		} else if (!strcmp(cls, "error") && refused_at_submit(lasterr)) {
			printf("op %s error %s\n", sr_op_table[op].name, lasterr);
		} else {
			printf("op %s failed [%s] %s\n", sr_op_table[op].name, status, msg);
		}
	}
	sr_ring_destroy(probe);
	printf("done %s\n", name);
	return 0;
}

/* --- the parent: run every configuration, print the matrix --------------------------- */

struct cell {
	unsigned char cls;
	char *text;
};

static struct cell cells[SR_OP__COUNT][NCONFIGS];

static unsigned op_index(const char *name)
{
	for (unsigned op = 0; op < sr_op_count; op++)
		if (!strcmp(sr_op_table[op].name, name))
			return op;
	return SR__NONE;
}

/* Run one configuration; returns problems found outside the op cells. */
static unsigned run_config(const char *self, unsigned k, char *note, size_t notelen)
{
	const struct config *c = &configs[k];
	char line[2048], sec[16];
	unsigned problems = 0;
	bool done = false;
	int fds[2], status;
	pid_t pid;
	FILE *in;

	note[0] = 0;
	/* SR_KERNEL given to the whole run is the kernel: a column newer
	 * than it does not exist, as on a real kernel of that version. */
	if (c->kernel && getenv("SR_KERNEL")) {
		struct sr_kver want, run;

		if (!sr_kernel_parse(c->kernel, &want) && !sr_kernel_parse(getenv("SR_KERNEL"), &run) &&
		    sr_kver_code(want) > sr_kver_code(run))
			return snprintf(note, notelen, "%s skip SR_KERNEL=%s is newer than the kernel of this run (%s)",
					c->name, c->kernel, getenv("SR_KERNEL")), 0;
	}
	if (pipe(fds))
		return snprintf(note, notelen, "pipe: %s", strerror(errno)), 1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		/* An SR_KERNEL given to the whole run is this run's kernel
		 * (check-kernels simulates a guest that way). */
		unsetenv("SR_BACKEND");
		unsetenv("SR_DISABLE");
		unsetenv("SR_POLICY");
		if (c->policy)
			setenv("SR_POLICY", c->policy, 1);
		if (c->kernel)
			setenv("SR_KERNEL", c->kernel, 1);
		if (c->backend)
			setenv("SR_BACKEND", c->backend, 1);
		snprintf(sec, sizeof(sec), "%d", c->seccomp_errno);
		setenv("CONF_SECCOMP", c->seccomp_errno ? sec : "", 1);
		setenv("CONF_MATRIX_CHILD", c->name, 1);
		alarm(300);	/* a hung scenario fails the configuration, not the build */
		execl(self, self, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		char *p = strchr(line, '\n'), opname[64], cls[16];
		int n = 0;

		if (p)
			*p = 0;
		if (!strncmp(line, "done ", 5)) {
			done = true;
		} else if (!strncmp(line, "detect ", 7)) {
			if (strstr(line, " FAILED")) {
				problems++;
				snprintf(note, notelen, "%.400s", line + 7);
			} else if (!note[0]) {
				snprintf(note, notelen, "%.400s", line + 7);
			}
		} else if (!strncmp(line, "config ", 7)) {
			if (strstr(line, " failed ") || strstr(line, " skip ")) {
				problems += strstr(line, " failed ") != NULL;
				snprintf(note, notelen, "%.400s", line + 7);
				done = true;
			}
		} else if (sscanf(line, "op %63s %15s %n", opname, cls, &n) == 2) {
			unsigned op = op_index(opname);
			struct cell *x;

			if (op == SR__NONE)
				continue;
			x = &cells[op][k];
			x->cls = !strcmp(cls, "native") ? C_NATIVE : !strcmp(cls, "fallback") ? C_FALLBACK :
				 !strcmp(cls, "error") ? C_ERROR : !strcmp(cls, "skip") ? C_SKIP : C_FAILED;
			free(x->text);
			x->text = strdup(line + n);
		}
	}
	if (in)
		fclose(in);
	waitpid(pid, &status, 0);
	if (!done || !WIFEXITED(status) || WEXITSTATUS(status)) {
		problems++;
		snprintf(note, notelen, "the run ended early (%s %d)", WIFSIGNALED(status) ? "signal" : "exit",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	return problems;
}

/* Run the named configurations (all without names); --only=op,op narrows the ops. */
int conf_matrix(const char *self, int argc, char **argv)
{
	unsigned counts[C_FAILED + 1] = { 0 }, problems = 0, nconfigs = 0, nops = 0;
	char notes[NCONFIGS][512];
	bool ran[NCONFIGS] = { false }, want[NCONFIGS];
	int named = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned k = 0; k < NCONFIGS; k++)
		want[k] = true;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "--only=", 7)) {
			setenv("CONF_ONLY", argv[i] + 7, 1);
			continue;
		}
		if (!named++)
			memset(want, 0, sizeof(want));
		for (unsigned k = 0; k < NCONFIGS; k++)
			if (!strcmp(argv[i], configs[k].name))
				want[k] = true;
	}
	for (unsigned k = 0; k < NCONFIGS; k++) {
		notes[k][0] = 0;
		if (!want[k])
			continue;
		problems += run_config(self, k, notes[k], sizeof(notes[k]));
		ran[k] = !strstr(notes[k], " skip ");
		nconfigs += ran[k];
	}
	printf("\nfallback matrix: N native, F fallback, E error (the op says why), S skipped, X failed\n");
	printf("columns: this kernel; SR_BACKEND=fallback; SR_KERNEL=5.1 .. 6.1; io_uring_setup failing with\n"
	       "ENOSYS and with EPERM under a seccomp filter; SR_POLICY=strict\n\n");
	printf("%-24s", "op");
	for (unsigned k = 0; k < NCONFIGS; k++)
		printf(" %7s", configs[k].column);
	printf("\n");
	for (unsigned op = 0; op < sr_op_count; op++) {
		if (!conf_selected(sr_op_table[op].name))
			continue;
		nops++;
		printf("%-24s", sr_op_table[op].name);
		for (unsigned k = 0; k < NCONFIGS; k++) {
			struct cell *x = &cells[op][k];

			if (ran[k] && x->cls == C_NONE)
				x->cls = C_FAILED;	/* the run never reported it */
			printf(" %7c", ran[k] ? cell_char[x->cls] : '-');
			if (ran[k])
				counts[x->cls]++;
		}
		printf("\n");
	}
	printf("\nconfigurations:\n");
	for (unsigned k = 0; k < NCONFIGS; k++)
		if (want[k])
			printf("  %-15s %s\n", configs[k].name, notes[k][0] ? notes[k] : "ok");
	/* Why each op that cannot run somewhere cannot, once; every failure. */
	printf("\nerrors and failures:\n");
	for (unsigned op = 0; op < sr_op_count; op++) {
		const char *why = NULL;

		for (unsigned k = 0; k < NCONFIGS; k++) {
			struct cell *x = &cells[op][k];

			if (x->cls == C_FAILED)
				printf("  FAILED %s [%s]: %s\n", sr_op_table[op].name, configs[k].name,
				       x->text ? x->text : "no result");
			else if (x->cls == C_ERROR && !why)
				why = x->text;
		}
		if (why)
			printf("  %s: %s\n", sr_op_table[op].name, why);
	}
	if (counts[C_SKIP])
		printf("\nskipped=%u (the reasons are in the scenarios: privileges, hardware)\n", counts[C_SKIP]);
	printf("fallback-matrix: configs=%u ops=%u native=%u fallback=%u error=%u failed=%u\n", nconfigs,
	       nops, counts[C_NATIVE], counts[C_FALLBACK], counts[C_ERROR], counts[C_FAILED] + problems);
	for (unsigned op = 0; op < sr_op_count; op++)
		for (unsigned k = 0; k < NCONFIGS; k++)
			free(cells[op][k].text);
	return counts[C_FAILED] + problems ? 1 : 0;
}
