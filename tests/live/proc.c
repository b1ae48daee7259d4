/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: processes and futexes.  waitid reaps a child that
 * exits with a known status when told to; the futex ops wait on and wake
 * words in this process (futex2 flags, private futexes).
 */
#include "live.h"

#include <signal.h>
#include <sys/wait.h>
#include <linux/futex.h>

/* futex2 flags; the installed uapi headers may predate them. */
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128
#endif
#define F2 (FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)

static int waitid_body(struct live *t, pid_t pid, int go, int *reaped)
{
	struct sr_waitid_submitted sub;
	struct sr_waitid_completed c;
	struct sr_waitid_op op;

	op = sr_waitid(P_PID, (id_t)pid, WEXITED);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	/* The child is waiting for us: nothing to reap yet. */
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	LIVE_EQ(t, write(go, "x", 1), 1);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	*reaped = 1;
	LIVE_EQ(t, c.infop.si_pid, pid);
	LIVE_EQ(t, c.infop.si_code, CLD_EXITED);
	LIVE_EQ(t, c.infop.si_status, 42);
	/* WEXITED without WNOWAIT reaped it: nothing left for waitpid. */
	LIVE_CHECK(t, waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD);
	return LIVE_PASS;
}

int live_waitid(struct live *t)
{
	int p[2], reaped = 0, ret;
	char byte;
	pid_t pid;

	LIVE_CHECK(t, lh_pipe(t, p) == 0);
	pid = fork();
	LIVE_CHECK(t, pid >= 0);
	if (pid == 0) {
		/* Exit 42 once the parent writes (or goes away). */
		close(p[1]);
		(void)!read(p[0], &byte, 1);
		_exit(42);
	}
	ret = waitid_body(t, pid, p[1], &reaped);
	if (!reaped) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return ret;
}

/* Words the kernel may still look at if a scenario fails half way. */
static uint32_t word, words[2];

int live_futex_wait(struct live *t)
{
	struct sr_futex_wait_submitted sub;
	struct sr_futex_wait_completed c;
	struct sr_futex_wait_op op;
	struct sr_futex_wake_submitted wsub;
	struct sr_futex_wake_completed wc;
	struct sr_futex_wake_op wop;

	word = 0;
	/* The word holds the expected value: the wait sleeps until woken. */
	op = sr_futex_wait(&word, 0, FUTEX_BITSET_MATCH_ANY, F2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	wop = sr_futex_wake(&word, 1, FUTEX_BITSET_MATCH_ANY, F2);
	LIVE_EQ(t, sr_submit(t->ring, &wop, &wsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &wsub, &wc), 0);
	LIVE_EQ(t, wc.res, 1);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);

	/* A different value: no sleep at all, -EAGAIN. */
	op = sr_futex_wait(&word, 1, FUTEX_BITSET_MATCH_ANY, F2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EAGAIN);
	return LIVE_PASS;
}

int live_futex_wake(struct live *t)
{
	struct sr_futex_wait_submitted sub[2];
	struct sr_futex_wait_completed c;
	struct sr_futex_wait_op op;
	struct sr_futex_wake_submitted wsub;
	struct sr_futex_wake_completed wc;
	struct sr_futex_wake_op wop;

	word = 0;
	for (int i = 0; i < 2; i++) {
		op = sr_futex_wait(&word, 0, FUTEX_BITSET_MATCH_ANY, F2);
		LIVE_EQ(t, sr_submit(t->ring, &op, &sub[i]), 0);
	}
	LIVE_EQ(t, sr_poll(t->ring, &sub[0], &c), -EAGAIN);
	LIVE_EQ(t, sr_poll(t->ring, &sub[1], &c), -EAGAIN);
	/* val is how many to wake: one of two, then the other, then nobody. */
	wop = sr_futex_wake(&word, 1, FUTEX_BITSET_MATCH_ANY, F2);
	LIVE_EQ(t, sr_submit(t->ring, &wop, &wsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &wsub, &wc), 0);
	LIVE_EQ(t, wc.res, 1);
	wop = sr_futex_wake(&word, 10, FUTEX_BITSET_MATCH_ANY, F2);
	LIVE_EQ(t, sr_submit(t->ring, &wop, &wsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &wsub, &wc), 0);
	LIVE_EQ(t, wc.res, 1);
	for (int i = 0; i < 2; i++) {
		LIVE_EQ(t, sr_wait(t->ring, &sub[i], &c), 0);
		LIVE_EQ(t, c.res, 0);
	}
	wop = sr_futex_wake(&word, 10, FUTEX_BITSET_MATCH_ANY, F2);
	LIVE_EQ(t, sr_submit(t->ring, &wop, &wsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &wsub, &wc), 0);
	LIVE_EQ(t, wc.res, 0);
	return LIVE_PASS;
}

int live_futex_waitv(struct live *t)
{
	struct futex_waitv v[2];
	struct sr_futex_waitv_submitted sub;
	struct sr_futex_waitv_completed c;
	struct sr_futex_waitv_op op;
	struct sr_futex_wake_submitted wsub;
	struct sr_futex_wake_completed wc;
	struct sr_futex_wake_op wop;

	words[0] = words[1] = 0;
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 2; i++) {
		v[i].val = 0;
		v[i].uaddr = (uintptr_t)&words[i];
		v[i].flags = F2;
	}
	op = sr_futex_waitv(v, 2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	memset(v, 0, sizeof(v));	/* copied at submit */
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	/* Wake the second word: res is its index. */
	wop = sr_futex_wake(&words[1], 1, FUTEX_BITSET_MATCH_ANY, F2);
	LIVE_EQ(t, sr_submit(t->ring, &wop, &wsub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &wsub, &wc), 0);
	LIVE_EQ(t, wc.res, 1);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 1);
	return LIVE_PASS;
}
