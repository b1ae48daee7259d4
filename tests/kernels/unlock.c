/* SPDX-License-Identifier: MIT */
/*
 * Linked into the conformance runner to make sr-variants: the live round
 * trips of the ops the spec dates after the running kernel although the
 * kernel has their opcode (flag variants: timeout_multishot, fadvise64,
 * cmd_sock, ...), run for real.
 *
 * (An opcode's first form the probe lists runs in the normal suite: the
 * library takes the probe's word for it.)
 *
 * The library refuses such an op from its spec date alone, so on a real
 * older kernel the normal suite only repeats the spec's belief.  Here the
 * belief is lifted: before main, the kernel the library checks ops
 * against is raised past any real one, and CONF_ONLY narrows the run to
 * exactly those ops.  Each should then fail on the real kernel (it
 * refuses the flag, or ignores it and the scenario sees the difference);
 * one that passes works on a kernel the spec says is too old, and the
 * spec's date for it is wrong.
 *
 * A kernel that ignores a flag can also leave the scenario waiting for a
 * completion that never comes (Debian's 5.10 takes poll_update's SQE for
 * a plain poll_remove).  So each op runs in a child of its own with
 * VARIANT_TIMEOUT seconds; a child that hangs counts as the op failing,
 * and the parent prints the children's lines and one summary for all.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <safer-ring.h>

#define VARIANT_TIMEOUT 10

static const char *const keys[] = { "ops", "sqe_equal", "live_pass", "skipped", "failed" };
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Run op in a child that goes on into main (true there); fold its summary into sum. */
static bool run_one(const char *op, unsigned long sum[NKEYS])
{
	char line[4096];
	int fds[2], ws;
	bool summary = false;
	FILE *in;
	pid_t pid;

	if (pipe(fds) || (pid = fork()) < 0) {
		printf("FAIL: %s: cannot start its child: %m\n", op);
		sum[0]++, sum[4]++;
		return false;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		setenv("CONF_ONLY", op, 1);
		alarm(VARIANT_TIMEOUT);
		return true;	/* on into main */
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && fgets(line, sizeof(line), in)) {
		unsigned long v[NKEYS];

		if (sscanf(line, "conformance: ops=%lu sqe_equal=%lu live_pass=%lu skipped=%lu failed=%lu", &v[0],
			   &v[1], &v[2], &v[3], &v[4]) == 5) {
			for (unsigned k = 0; k < NKEYS; k++)
				sum[k] += v[k];
			summary = true;
			continue;
		}
		fputs(line, stdout);
	}
	if (in)
		fclose(in);
	waitpid(pid, &ws, 0);
	if (!summary) {
		if (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGALRM)
			printf("FAIL: %s: no completion within %d s: the kernel never answered the scenario\n", op,
			       VARIANT_TIMEOUT);
		else
			printf("FAIL: %s: its run ended without a summary (%s %d)\n", op,
			       WIFSIGNALED(ws) ? "signal" : "exit", WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
		sum[0]++, sum[4]++;
	}
	fflush(stdout);
	return false;
}

/* caps.c: a real kernel's probe lists the op's opcode and it is the
 * opcode's first form, so the library runs it whatever the version. */
bool sr__probe_has(unsigned op);

__attribute__((constructor)) static void unlock(void)
{
	/* caps is the library's own (non-const) static; only the pointer is const. */
	struct sr_caps *c = (struct sr_caps *)sr_caps_get();
	uint32_t running = sr_kver_code(c->running);
	static char only[4096];
	unsigned long sum[NKEYS] = { 0 };
	size_t used = 0;
	unsigned n = 0;

	for (unsigned op = 0; op < sr_op_count; op++) {
		const struct sr_op_info *o = &sr_op_table[op];

		if (o->kernel <= running || !c->have_probe || !c->opcode_ok[o->opcode] || sr__probe_has(op))
			continue;
		used += (size_t)snprintf(only + used, sizeof(only) - used, "%s%s", n ? "," : "", o->name);
		n++;
	}
	printf("sr-variants: running %s; ops the spec dates later whose opcode it has: %u: %s\n", c->release, n,
	       n ? only : "none");
	fflush(stdout);
	c->kernel = (struct sr_kver){ 255, 0, 0 };
	c->simulated = false;
	for (char *save = NULL, *op = n ? strtok_r(only, ",", &save) : NULL; op; op = strtok_r(NULL, ",", &save)) {
		if (run_one(op, sum))
			return;	/* the child */
	}
	printf("conformance: ops=%lu sqe_equal=%lu live_pass=%lu skipped=%lu failed=%lu\n", sum[0], sum[1], sum[2],
	       sum[3], sum[4]);
	fflush(stdout);
	_exit(sum[4] ? 1 : 0);
}
