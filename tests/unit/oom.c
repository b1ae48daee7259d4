/* SPDX-License-Identifier: MIT */
/*
 * Out of memory, at every allocation (docs/safety.md, "Out of memory").
 *
 * One scenario (a pool, a ring, a read, callbacks, a buffer group with a
 * multishot stream, a send group, a chain, teardown) runs once per allocation the
 * library makes in it, with that allocation failing (SR_FAIL_ALLOC=N), in
 * a process of its own, on io_uring and on the fallback backend.  Every
 * call must succeed or return -ENOMEM with a message; nothing may crash
 * or abort; every completion still arrives (a stall is retried), every
 * buffer comes back, and (sanitizer builds) nothing leaks.
 *
 *	test_oom              the whole sweep, both backends
 *	test_oom --run        the scenario once (SR_FAIL_ALLOC, SR_BACKEND from
 *	                      the environment); prints "allocations N"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <safer-ring.h>

long sr__alloc_count(void);	/* runtime/src/mem.c: allocations so far */
long sr__mappings(void);	/* runtime/src/mem.c: the library's live mappings */

static int failures;

static void bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "oom: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (last error: %s)\n", sr_last_error());
	va_end(ap);
	failures++;
}

/* ret is fine: 0 (or a count), or -ENOMEM saying so. */
static bool ok_or_nomem(int ret, const char *what)
{
	if (ret >= 0)
		return true;
	if (ret != -ENOMEM)
		bad("%s returned %d, not 0 or -ENOMEM", what, ret);
	else if (!strstr(sr_last_error(), "memory"))
		bad("%s: -ENOMEM without a message about memory", what);
	return false;
}

/* Retry a call that may stall for want of memory (one failure at most). */
#define RETRY(call, what) ({					\
	int r_ = (call);					\
	for (int i_ = 0; r_ == -ENOMEM && i_ < 3; i_++)	\
		r_ = (call);					\
	ok_or_nomem(r_, what);					\
	r_;							\
})

static int cb_count;

static void on_nop(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	(void)r;
	(void)arg;
	if (c->res == 0)
		cb_count++;
}

static void scenario(void)
{
	struct sr_pool *pool = sr_pool_create(4, 4096, 0);
	struct sr_ring *r;
	/* 64 op slots (the burst below grows them), a CQ for the 300 ticks at once */
	struct sr_ring_params params = { .entries = 16, .cq_entries = 512 };
	struct sr_buf *b = NULL, *pb = NULL;
	struct sr_bufgroup *g = NULL;
	struct sr_read_submitted rs;
	struct sr_recv_multishot_submitted ms;
	bool reading = false, streaming = false;
	int pp[2], sv[2], tmp, cbs = 0, ret;

	if (!pool && !ok_or_nomem(-ENOMEM, "sr_pool_create"))
		return;
	ret = sr_ring_create(&r, &params);
	if (!ok_or_nomem(ret, "sr_ring_create")) {
		if (pool && sr_pool_destroy(pool))
			bad("sr_pool_destroy of an untouched pool failed");
		return;
	}
	if (pipe2(pp, O_CLOEXEC) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	tmp = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	/* A read that waits for data. */
	b = sr_buf_alloc(64);
	if (b) {
		struct sr_read_op op = sr_read(pp[0], b, 0);

		reading = ok_or_nomem(sr_submit(r, &op, &rs), "sr_submit(read)");
		if (!reading && sr_buf_is_lent(b))
			bad("a failed submit left the buffer lent");
	} else {
		ok_or_nomem(-ENOMEM, "sr_buf_alloc");
	}
	/* Callbacks. */
	for (int i = 0; i < 3; i++) {
		struct sr_nop_op op = sr_nop();

		cbs += ok_or_nomem(sr_submit_cb(r, &op, on_nop, NULL, NULL), "sr_submit_cb(nop)");
	}
	/* A pool buffer written through a chain with an fsync. */
	if (pool && (pb = sr_pool_take(pool)) && tmp >= 0) {
		struct sr_chain ch;
		struct sr_write_op w;
		struct sr_fsync_op f = sr_fsync(tmp);
		struct sr_write_submitted ws;
		struct sr_fsync_submitted fs;
		struct sr_write_completed wc;
		struct sr_fsync_completed fc;
		int added = 0;

		memset(sr_buf_data(pb), 'p', 100);
		sr_buf_set_len(pb, 100);
		w = sr_write(tmp, pb, 0);
		sr_chain_begin(r, &ch, 0);
		added += sr_chain_add(&ch, &w, &ws) == 0;
		added += added && sr_chain_add(&ch, &f, &fs) == 0;
		ok_or_nomem(sr_chain_end(&ch), "sr_chain_*");
		if (added >= 1 && RETRY(sr_wait(r, &ws, &wc), "sr_wait(write)") == 0 && wc.res != 100)
			bad("chained write: %d", wc.res);
		if (added == 2 && RETRY(sr_wait(r, &fs, &fc), "sr_wait(fsync)") == 0 && fc.res != 0)
			bad("chained fsync: %d", fc.res);
		if (sr_pool_put(pb))
			bad("the pool buffer did not come back from the chain");
	}
	/* A provided-buffer stream: five chunks, each item recycled. */
	g = sr_bufgroup_create(r, 4, 64);
	if (g) {
		struct sr_recv_multishot_op op = sr_recv_multishot(sv[0], g);

		streaming = ok_or_nomem(sr_submit(r, &op, &ms), "sr_submit(recv_multishot)");
	} else {
		ok_or_nomem(-ENOMEM, "sr_bufgroup_create");
	}
	if (streaming) {
		int got = 0;

		for (int i = 0; i < 5; i++) {
			struct sr_recv_multishot_completed c;

			if (write(sv[1], "chunk", 5) != 5)
				abort();
			ret = RETRY(sr_wait(r, &ms, &c), "sr_wait(recv_multishot)");
			if (ret)
				break;
			if (c.res == 5 && c.buf) {
				got++;
				if (sr_bufgroup_recycle(g, c.buf))
					bad("recycle failed");
			} else if (c.res < 0 || !c.more) {
				bad("stream item %d: res %d more %d", i, c.res, c.more);
				break;
			}
		}
		if (got != 5 && !failures)
			bad("the stream delivered %d of 5 chunks", got);
	}
	/* A stream that runs ahead of its reader: 300 timer ticks queued
	 * before any is taken (items are taken as they come, so this is
	 * where a completion can find no memory: it waits, and is retried). */
	{
		struct __kernel_timespec ts = { .tv_nsec = 20000 };
		struct sr_timeout_multishot_op op = sr_timeout_multishot(&ts);
		struct sr_timeout_multishot_submitted ts_sub;
		struct sr_timeout_multishot_completed c;
		int ticks = 0;

		sr_timeout_multishot_set_count(&op, 300);
		if (ok_or_nomem(sr_submit(r, &op, &ts_sub), "sr_submit(timeout multishot)")) {
			usleep(20000);
			for (;;) {
				ret = RETRY(sr_wait(r, &ts_sub, &c), "sr_wait(timeout multishot)");
				if (ret)
					break;
				ticks += c.res == -ETIME;
				if (!c.more)
					break;
			}
			if (!ret && ticks != 300)
				bad("the multishot timeout ticked %d times of 300", ticks);
		}
	}
	/* A burst: up to 300 datagrams (what the socket takes) already queued when a multishot recv starts,
	 * so the kernel posts them all at once. */
	{
		struct sr_bufgroup *bg = sr_bufgroup_create(r, 512, 16);
		int dg[2], got = 0, sent = 0;

		if (!bg)
			ok_or_nomem(-ENOMEM, "sr_bufgroup_create(512)");
		if (bg && !socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, dg)) {
			struct sr_recv_multishot_op op = sr_recv_multishot(dg[0], bg);
			struct sr_recv_multishot_submitted sub;
			struct sr_recv_multishot_completed c;

			for (; sent < 300; sent++)
				if (write(dg[1], "d", 1) != 1)
					break;
			if (ok_or_nomem(sr_submit(r, &op, &sub), "sr_submit(recv_multishot burst)")) {
				while (got < sent) {
					if (RETRY(sr_wait(r, &sub, &c), "sr_wait(recv_multishot burst)"))
						break;
					if (c.res != 1 || !c.buf) {
						bad("burst item %d: res %d", got, c.res);
						break;
					}
					got++;
					sr_bufgroup_recycle(bg, c.buf);
				}
				if (got != sent && !failures)
					bad("the burst delivered %d of %d", got, sent);
				if (!sr_cancel(r, &sub))
					do {
						if (RETRY(sr_wait(r, &sub, &c), "sr_wait(burst, cancelled)"))
							break;
						if (c.buf)
							sr_bufgroup_recycle(bg, c.buf);
					} while (c.more);
			}
			close(dg[0]);
			close(dg[1]);
		}
		if (bg && sr_bufgroup_destroy(bg))
			bad("sr_bufgroup_destroy(512): %s", sr_last_error());
	}
	/* A send group: two buffers queued, a bundle sends them, the group
	 * goes (what is still queued comes back to the caller). */
	{
		struct sr_bufgroup *sg = sr_bufgroup_create_send(r, 4);
		struct sr_buf *q[2] = { sr_buf_alloc(8), sr_buf_alloc(8) };
		int ss[2], queued = 0;
		long sent = 0;

		if (!sg)
			ok_or_nomem(-ENOMEM, "sr_bufgroup_create_send");
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ss))
			abort();
		for (int i = 0; sg && i < 2; i++) {
			if (!q[i])
				continue;
			memcpy(sr_buf_data(q[i]), "ab", 2);
			sr_buf_set_len(q[i], 2);
			queued += ok_or_nomem(sr_bufgroup_queue(sg, q[i]), "sr_bufgroup_queue");
		}
		if (queued) {
			struct sr_send_bundle_op op = sr_send_bundle(ss[0], sg);
			struct sr_send_bundle_submitted sub;
			struct sr_send_bundle_completed c;

			if (ok_or_nomem(sr_submit(r, &op, &sub), "sr_submit(send_bundle)")) {
				do {
					if (RETRY(sr_wait(r, &sub, &c), "sr_wait(send_bundle)"))
						break;
					sent += c.res > 0 ? c.res : 0;
				} while (c.more);
				if (sent != 2 * queued)
					bad("the bundle sent %ld of %d bytes", sent, 2 * queued);
			}
		}
		if (sg && sr_bufgroup_destroy(sg))
			bad("sr_bufgroup_destroy(send): %s", sr_last_error());
		for (int i = 0; i < 2; i++) {
			if (q[i] && sr_buf_is_lent(q[i]))
				bad("a queued buffer did not come back");
			if (q[i])
				sr_buf_free(q[i]);
			else
				ok_or_nomem(-ENOMEM, "sr_buf_alloc(send)");
		}
		close(ss[0]);
		close(ss[1]);
	}
	/* Raw ops, whose completions the runtime keeps while it reaps for
	 * tracked ones (io_uring only). */
	if (sr_ring_native(r, SR_OP_NOP) && sr_ring_uring(r)) {
		struct io_uring_cqe cqes[100];
		struct sr_nop_op op = sr_nop();
		struct sr_nop_submitted ns;
		struct sr_nop_completed nc;
		int queued = 0, got = 0;

		for (int i = 0; i < 100; i++)
			queued += sr_nop_raw(r, (uint64_t)i + 1) == 0;
		if (ok_or_nomem(sr_submit(r, &op, &ns), "sr_submit(nop)"))
			RETRY(sr_wait(r, &ns, &nc), "sr_wait(nop) behind raw ops");
		while (got < queued) {
			ret = RETRY(sr_raw_wait(r, cqes, 100), "sr_raw_wait");
			if (ret <= 0)
				break;
			got += ret;
		}
		if (got != queued)
			bad("raw completions: %d of %d", got, queued);
	}
	/* More ops in flight than the slot table holds: it grows. */
	{
		enum { MANY = 80 };
		static struct sr_nop_submitted subs[MANY];
		struct sr_nop_completed c;
		int n = 0;

		while (n < MANY) {
			struct sr_nop_op op = sr_nop();

			if (!ok_or_nomem(sr_submit(r, &op, &subs[n]), "sr_submit(nop, many)"))
				break;
			n++;
		}
		for (int i = 0; i < n; i++)
			if (RETRY(sr_wait(r, &subs[i], &c), "sr_wait(nop, many)") == 0 && c.res)
				bad("nop %d: %d", i, c.res);
	}
	/* The callbacks run; the read completes. */
	while (cb_count < cbs) {
		ret = sr_ring_run_once(r, 1000);
		if (ret < 0 && ret != -ENOMEM) {
			bad("sr_ring_run_once: %d", ret);
			break;
		}
	}
	if (reading) {
		struct sr_read_completed c;

		if (write(pp[1], "data", 4) != 4)
			abort();
		if (RETRY(sr_wait(r, &rs, &c), "sr_wait(read)") == 0 && (c.res != 4 || c.buf != b))
			bad("read: res %d", c.res);
	}
	/* Teardown, with the stream still running: never fails. */
	ret = sr_ring_destroy(r);
	if (ret)
		bad("sr_ring_destroy: %d", ret);
	/* The group went with the ring: nothing of it was out. */
	if (b && sr_buf_free(b))
		bad("the read's buffer is not back");
	if (pool && sr_pool_destroy(pool))
		bad("pool buffers are not back");
	/* Pools and buffer rings are mapped: LSan does not see a lost mapping. */
	if (sr__mappings())
		bad("%ld mapping(s) of the library left after everything was destroyed", sr__mappings());
	close(pp[0]);
	close(pp[1]);
	close(sv[0]);
	close(sv[1]);
	if (tmp >= 0)
		close(tmp);
}

/* One run with the N-th allocation failing: 0 ok, 1 failed, 2 crashed. */
static int run_one(const char *self, long n, const char *backend, long *allocs)
{
	char env[32], out[64] = "";
	int pfd[2], status;
	pid_t pid;
	ssize_t len;

	if (pipe2(pfd, O_CLOEXEC))
		return 2;
	pid = fork();
	if (pid == 0) {
		snprintf(env, sizeof(env), "%ld", n);
		setenv("SR_FAIL_ALLOC", env, 1);
		setenv("SR_BACKEND", backend, 1);
		dup2(pfd[1], 1);
		execl(self, self, "--run", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	len = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	if (len > 0)
		out[len] = 0;
	if (waitpid(pid, &status, 0) != pid)
		return 2;
	if (sscanf(out, "allocations %ld", allocs) != 1)
		*allocs = -1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "oom: SR_FAIL_ALLOC=%ld SR_BACKEND=%s: killed by signal %d\n", n, backend,
			WTERMSIG(status));
		return 2;
	}
	return WEXITSTATUS(status) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const char *const backends[] = { "uring", "fallback" };
	int bad_runs = 0, runs = 0;

	if (argc > 1 && !strcmp(argv[1], "--run")) {
		alarm(60);	/* a hang is a failure too (SIGALRM) */
		scenario();
		printf("allocations %ld\n", sr__alloc_count());
		fflush(stdout);
		return failures ? 1 : 0;
	}
	for (unsigned k = 0; k < 2; k++) {
		long total = -1;

		/* N = 0 injects nothing: how many allocations there are. */
		for (long n = 0; total < 0 || n <= total; n++) {
			long allocs = 0;
			int ret = run_one("/proc/self/exe", n, backends[k], &allocs);

			runs++;
			if (ret) {
				bad_runs++;
				fprintf(stderr, "oom: reproduce with SR_FAIL_ALLOC=%ld SR_BACKEND=%s %s --run\n", n,
					backends[k], argv[0]);
			}
			if (n == 0) {
				if (allocs <= 0) {
					fprintf(stderr, "oom: the scenario made no allocation (%ld)?\n", allocs);
					return 1;
				}
				total = allocs;
			}
		}
		printf("oom: %s: %ld allocations in the scenario, each failed in turn\n", backends[k], total);
	}
	printf("oom: runs=%d failed=%d\n", runs, bad_runs);
	return bad_runs ? 1 : 0;
}
