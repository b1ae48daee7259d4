/* SPDX-License-Identifier: MIT */
/*
 * The fallback backend where the per-op scenarios do not reach: IO_LINK
 * chains that mix fallback and native ops, emulated link timeouts,
 * cancelling a system call a worker is blocked in, teardown with jobs in
 * flight, the policies (WARN logs once, STRICT refuses), what
 * sr_op_status says, and a ring without io_uring in an outer event loop.
 * Per-ring disable lists make chosen ops take their fallback here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <safer-ring.h>

#include "unit.h"

static struct sr_ring *ring_with(const char *disable, unsigned flags, enum sr_policy policy)
{
	struct sr_ring_params p = { .disable = disable, .flags = flags, .policy = policy };
	struct sr_ring *r = NULL;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	return r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* write (fallback) -> read (native): the read runs after the write and sees it. */
static void test_chain_fallback_first(void)
{
	struct sr_ring *r = ring_with("write", 0, SR_POLICY_GRACEFUL);
	struct sr_buf *src = sr_buf_alloc(16), *dst = sr_buf_alloc(16);
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_write_op w;
	struct sr_read_op rd;
	int fd = unit_tmp_fd();

	if (unit_needs_uring(r, "a chain of a fallback op and a native one")) {
		sr_buf_free(src);
		sr_buf_free(dst);
		close(fd);
		return;
	}
	CU_ASSERT_FATAL(fd >= 0 && src && dst);
	CU_ASSERT(!sr_ring_native(r, SR_OP_WRITE) && sr_ring_native(r, SR_OP_READ));
	memcpy(sr_buf_data(src), "chained", 7);
	sr_buf_set_len(src, 7);
	w = sr_write(fd, src, 0);
	CU_ASSERT_EQUAL(sr_write_set_sqe_flags(&w, IOSQE_IO_LINK), 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	rd = sr_read(fd, dst, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 7);
	CU_ASSERT(rc.res == 7 && !memcmp(sr_buf_data(dst), "chained", 7));
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 7);
	sr_ring_destroy(r);
	sr_buf_free(src);
	sr_buf_free(dst);
	close(fd);
}

/* write (native, queued with LINK) -> fsync (fallback) -> read (native). */
static void test_chain_native_first(void)
{
	struct sr_ring *r = ring_with("fsync", 0, SR_POLICY_GRACEFUL);
	struct sr_buf *src = sr_buf_alloc(16), *dst = sr_buf_alloc(16);
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_fsync_submitted fs;
	struct sr_fsync_completed fc;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_write_op w;
	struct sr_fsync_op f;
	struct sr_read_op rd;
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(fd >= 0 && src && dst);
	memcpy(sr_buf_data(src), "abc", 3);
	sr_buf_set_len(src, 3);
	w = sr_write(fd, src, 0);
	sr_write_set_sqe_flags(&w, IOSQE_IO_LINK);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	f = sr_fsync(fd);
	sr_fsync_set_sqe_flags(&f, IOSQE_IO_LINK);
	CU_ASSERT_EQUAL(sr_submit(r, &f, &fs), 0);
	rd = sr_read(fd, dst, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 3);
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), 0);
	CU_ASSERT_EQUAL(fc.res, 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 3);
	sr_ring_destroy(r);
	sr_buf_free(src);
	sr_buf_free(dst);
	close(fd);
}

/* A failed link cancels the rest; a hard link does not. */
static void test_chain_failure(void)
{
	struct sr_ring *r = ring_with("fsync", 0, SR_POLICY_GRACEFUL);
	struct sr_fsync_submitted fs;
	struct sr_fsync_completed fc;
	struct sr_nop_submitted ns;
	struct sr_nop_completed nc;
	struct sr_fsync_op f;
	struct sr_nop_op n;

	f = sr_fsync(-1);
	sr_fsync_set_sqe_flags(&f, IOSQE_IO_LINK);
	CU_ASSERT_EQUAL(sr_submit(r, &f, &fs), 0);
	n = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &n, &ns), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL(nc.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), 0);
	CU_ASSERT_EQUAL(fc.res, -EBADF);

	f = sr_fsync(-1);
	sr_fsync_set_sqe_flags(&f, IOSQE_IO_HARDLINK);
	CU_ASSERT_EQUAL(sr_submit(r, &f, &fs), 0);
	n = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &n, &ns), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL(nc.res, 0);
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), 0);
	CU_ASSERT_EQUAL(fc.res, -EBADF);
	sr_ring_destroy(r);
}

/* An emulated link timeout: it fires and cancels the op, or the op wins. */
static void test_link_timeout(void)
{
	struct sr_ring *r = ring_with("link_timeout,read", 0, SR_POLICY_GRACEFUL);
	struct __kernel_timespec ts = { .tv_nsec = 20 * 1000000 };
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_link_timeout_submitted ls;
	struct sr_link_timeout_completed lc;
	struct sr_link_timeout_op lt;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_read_op rd;
	double t0;
	int p[2];

	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	for (int round = 0; round < 2; round++) {
		/* Round 0: nothing to read, the timer fires.  Round 1: data is
		 * there, and the read wins against a long timer (even slowed
		 * down by valgrind). */
		if (round == 1) {
			CU_ASSERT_EQUAL(write(p[1], "y", 1), 1);
			ts.tv_sec = 5;
		}
		rd = sr_read(p[0], b, (__u64)-1);
		sr_read_set_sqe_flags(&rd, IOSQE_IO_LINK);
		t0 = now();
		CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
		lt = sr_link_timeout(&ts);
		CU_ASSERT_EQUAL(sr_submit(r, &lt, &ls), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &ls, &lc), 0);
		if (round == 0) {
			CU_ASSERT_EQUAL(rc.res, -ECANCELED);
			CU_ASSERT_EQUAL(lc.res, -ETIME);
			CU_ASSERT(now() - t0 >= 0.019);
		} else {
			CU_ASSERT_EQUAL(rc.res, 1);
			CU_ASSERT_EQUAL(lc.res, -ECANCELED);
		}
		CU_ASSERT(!sr_buf_is_lent(b));
	}
	sr_ring_destroy(r);
	close(p[0]);
	close(p[1]);
	sr_buf_free(b);
}

/* A native read timed by an emulated link timeout: the kernel read is cancelled. */
static void test_link_timeout_native_op(void)
{
	struct sr_ring *r = ring_with("link_timeout", 0, SR_POLICY_GRACEFUL);
	struct __kernel_timespec ts = { .tv_nsec = 10 * 1000000 };
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_link_timeout_submitted ls;
	struct sr_link_timeout_completed lc;
	struct sr_link_timeout_op lt;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_read_op rd;
	int p[2];

	if (unit_needs_uring(r, "a native op timed by an emulated link timeout")) {
		sr_buf_free(b);
		return;
	}
	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	CU_ASSERT(sr_ring_native(r, SR_OP_READ) && !sr_ring_native(r, SR_OP_LINK_TIMEOUT));
	rd = sr_read(p[0], b, (__u64)-1);
	sr_read_set_sqe_flags(&rd, IOSQE_IO_LINK);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	lt = sr_link_timeout(&ts);
	CU_ASSERT_EQUAL(sr_submit(r, &lt, &ls), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ls, &lc), 0);
	CU_ASSERT_EQUAL(lc.res, -ETIME);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT(rc.res == -ECANCELED || rc.res == -EINTR);
	CU_ASSERT(!sr_buf_is_lent(b));
	sr_ring_destroy(r);
	close(p[0]);
	close(p[1]);
	sr_buf_free(b);
}

/* A ring whose futex_wait takes its fallback (futex(2) on a worker), or
 * NULL (skipped, saying why) where it has none. */
static struct sr_ring *futex_ring(void)
{
	struct sr_ring *r = ring_with("futex_wait", 0, SR_POLICY_GRACEFUL);

	if (!strncmp(sr_op_status(r, SR_OP_FUTEX_WAIT, (char[128]){ 0 }, 128), "unavailable", 11)) {
		printf("\n    skip: futex_wait has no fallback here\n");
		sr_ring_destroy(r);
		return NULL;
	}
	return r;
}

/* A worker blocked in futex(2) is interrupted when the op is cancelled
 * (by its handle; not by a descriptor it does not have). */
static void test_cancel_blocked_syscall(void)
{
	struct sr_ring *r = futex_ring();
	static uint32_t word;
	struct sr_futex_wait_submitted s;
	struct sr_futex_wait_completed c;
	struct sr_futex_wait_op op;
	double t0;
	int ret;

	if (!r)
		return;
	word = 0;
	op = sr_futex_wait(&word, 0, FUTEX_BITSET_MATCH_ANY, 2 | 128);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_poll(r, &s, &c), -EAGAIN);
	/* The futex flags in its SQE's fd field (130) are no descriptor: a
	 * cancel by descriptor 130 (open, so the kernel looks) finds nothing. */
	ret = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(ret >= 0 && dup3(ret, 2 | 128, O_CLOEXEC) == (2 | 128));
	close(ret);
	CU_ASSERT_EQUAL(sr_ring_cancel_fd(r, 2 | 128), 0);
	close(2 | 128);
	CU_ASSERT_EQUAL(sr_poll(r, &s, &c), -EAGAIN);
	t0 = now();
	CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	CU_ASSERT(now() - t0 < 1.0);
	sr_ring_destroy(r);
}

/* r's dump into text; its fallback line, or NULL. */
static const char *fb_line(struct sr_ring *r, char *text, size_t len)
{
	FILE *f = fmemopen(text, len - 1, "w");

	CU_ASSERT_FATAL(f != NULL);
	text[0] = 0;
	CU_ASSERT_EQUAL(sr_ring_dump(r, f), 0);
	fclose(f);
	text[len - 1] = 0;
	return strstr(text, "\nfallback ");
}

/* The backend's worker counters from the dump's fallback line. */
static bool fb_counts(struct sr_ring *r, unsigned *threads, unsigned *idle, unsigned *cancelling)
{
	char text[16384];
	const char *at = fb_line(r, text, sizeof(text));

	if (at && sscanf(at, "\nfallback active=yes jobs=%*u threads=%u idle=%u cancelling=%u",
			 threads, idle, cancelling) == 3)
		return true;
	printf("\n    no fallback counters in:\n%s\n", text);
	return false;
}

/*
 * Two system calls blocked at once get a worker each, also when a worker
 * is idle from a job before: the second waiter is woken while the first
 * still sleeps.  Once both are done (one woken, one
 * cancelled) every worker is idle again and no cancel is left counted (a
 * count left over keeps the poller repeating signals for ever).
 */
static void test_two_blocked_workers(void)
{
	struct sr_ring *r = futex_ring();
	static uint32_t w[2];
	struct sr_futex_wait_submitted s[2];
	struct sr_futex_wait_completed c;
	unsigned threads = 0, idle = 0, cancelling = 0;
	double t0;
	int ret;

	if (!r)
		return;
	/* a worker that has run a job (the word is not 0: -EAGAIN at once) and idles */
	w[0] = 1;
	{
		struct sr_futex_wait_op op = sr_futex_wait(&w[0], 0, FUTEX_BITSET_MATCH_ANY, 2 | 128);

		CU_ASSERT_FATAL(sr_submit(r, &op, &s[0]) == 0);
		CU_ASSERT_EQUAL(sr_wait(r, &s[0], &c), 0);
		CU_ASSERT_EQUAL(c.res, -EAGAIN);
	}
	for (int i = 0; i < 2; i++) {
		struct sr_futex_wait_op op = sr_futex_wait(&w[i], 0, FUTEX_BITSET_MATCH_ANY, 2 | 128);

		w[i] = 0;
		CU_ASSERT_FATAL(sr_submit(r, &op, &s[i]) == 0);
		CU_ASSERT_EQUAL(sr_poll(r, &s[i], &c), -EAGAIN);	/* hands it over */
	}
	CU_ASSERT(fb_counts(r, &threads, &idle, &cancelling));
	CU_ASSERT(threads >= 2);
	CU_ASSERT_EQUAL(idle, threads - 2);
	CU_ASSERT_EQUAL(cancelling, 0);
	/* the hand-over returns once the waiter sleeps, so one wake finds it */
	CU_ASSERT_EQUAL(syscall(SYS_futex, &w[1], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 1);
	t0 = now();
	while ((ret = sr_poll(r, &s[1], &c)) == -EAGAIN && now() - t0 < 2.0)
		usleep(1000);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(c.res, 0);
	CU_ASSERT_EQUAL(sr_cancel(r, &s[0]), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s[0], &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	t0 = now();
	while (fb_counts(r, &threads, &idle, &cancelling) && (idle != threads || cancelling) && now() - t0 < 2.0)
		usleep(1000);
	CU_ASSERT_EQUAL(idle, threads);
	CU_ASSERT_EQUAL(cancelling, 0);
	if (ret == -EAGAIN) {	/* the waiter never woke: cancel it so destroy returns */
		sr_cancel(r, &s[1]);
		sr_wait(r, &s[1], &c);
	}
	sr_ring_destroy(r);
}

/*
 * A poll on a regular file: always ready, as poll(2) and the kernel say.
 * epoll cannot watch one (EPERM); the emulated poll answers at once.
 */
static void test_poll_regular_file(void)
{
	struct sr_ring *rings[2] = { ring_with(NULL, SR_RING_FALLBACK, SR_POLICY_GRACEFUL),
				     ring_with(NULL, 0, SR_POLICY_GRACEFUL) };
	char path[] = "/tmp/sr-poll-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	for (int i = 0; i < 2; i++) {
		struct sr_poll_add_op op = sr_poll_add(fd, POLLIN);
		struct sr_poll_add_submitted s;
		struct sr_poll_add_completed c = { 0 };
		double t0 = now();
		int ret;

		CU_ASSERT_EQUAL_FATAL(sr_submit(rings[i], &op, &s), 0);
		while ((ret = sr_poll(rings[i], &s, &c)) == -EAGAIN && now() - t0 < 2.0)
			usleep(1000);
		CU_ASSERT_EQUAL(ret, 0);
		CU_ASSERT_EQUAL(c.res, POLLIN);
		if (ret == -EAGAIN) {	/* never answered: cancel it so destroy returns */
			sr_cancel(rings[i], &s);
			sr_wait(rings[i], &s, &c);
		}
		sr_ring_destroy(rings[i]);
	}
	close(fd);
}

/* The dump's count of the backend's live jobs. */
static unsigned fb_jobs(struct sr_ring *r)
{
	char text[16384];
	const char *at = fb_line(r, text, sizeof(text));
	unsigned n = ~0u;

	CU_ASSERT(at && sscanf(at, "\nfallback active=yes jobs=%u", &n) == 1);
	return n;
}

/* A submit refused at max_inflight gives back the job it had taken: the
 * backend holds one job per op in flight, and none once they are done. */
static void test_refused_submit_job(void)
{
	struct sr_ring_params p = { .flags = SR_RING_FALLBACK, .max_inflight = 2 };
	struct sr_read_submitted s[3];
	struct sr_read_completed c;
	struct sr_buf *b[3];
	struct sr_ring *r = NULL;
	int fds[2];

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	CU_ASSERT_FATAL(pipe2(fds, O_CLOEXEC) == 0);
	for (int i = 0; i < 3; i++) {
		struct sr_read_op op;

		b[i] = sr_buf_alloc(8);
		CU_ASSERT_FATAL(b[i] != NULL);
		op = sr_read(fds[0], b[i], (__u64)-1);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s[i]), i < 2 ? 0 : -EBUSY);
	}
	CU_ASSERT(!sr_buf_is_lent(b[2]));
	CU_ASSERT_EQUAL(fb_jobs(r), 2);
	CU_ASSERT_EQUAL(write(fds[1], "abcdefgh12345678", 16), 16);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, 8);
	}
	CU_ASSERT_EQUAL(fb_jobs(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	for (int i = 0; i < 3; i++)
		sr_buf_free(b[i]);
	close(fds[0]);
	close(fds[1]);
}

/*
 * sr_ring_cancel_fd on a ring with io_uring cancels the ops on fd that took
 * their fallback too (the kernel's cancel cannot see them), and only
 * those: a recv on another socket goes on, and another ring's recv on the
 * same socket too.  The same on a ring without io_uring, whose cancel is
 * emulated.
 */
static void test_cancel_fd_fallback_jobs(void)
{
	struct sr_ring *r = ring_with("recv", 0, SR_POLICY_GRACEFUL);
	struct sr_recv_submitted s[2], os;
	struct sr_recv_completed c;
	struct sr_buf *b[2], *ob;
	struct sr_ring *other;
	struct sr_recv_op oop;
	int sv[2][2], ret;
	double t0;

	for (int i = 0; i < 2; i++) {
		struct sr_recv_op op;

		CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]) == 0);
		b[i] = sr_buf_alloc(16);
		CU_ASSERT_FATAL(b[i] != NULL);
		op = sr_recv(sv[i][0], b[i]);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s[i]), 0);
		CU_ASSERT_EQUAL(sr_poll(r, &s[i], &c), -EAGAIN);
	}
	/* Another ring's op on the same socket is that ring's to cancel. */
	other = ring_with("recv", 0, SR_POLICY_GRACEFUL);
	ob = sr_buf_alloc(16);
	CU_ASSERT_FATAL(ob != NULL);
	oop = sr_recv(sv[0][0], ob);
	CU_ASSERT_EQUAL(sr_submit(other, &oop, &os), 0);
	CU_ASSERT_EQUAL(sr_poll(other, &os, &c), -EAGAIN);
	CU_ASSERT_EQUAL(sr_ring_cancel_fd(r, sv[0][0]), 1);
	t0 = now();
	while ((ret = sr_poll(r, &s[0], &c)) == -EAGAIN && now() - t0 < 2.0)
		sr_ring_run_once(r, 10);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	if (ret == -EAGAIN) {	/* never cancelled: end it so destroy returns */
		shutdown(sv[0][1], SHUT_WR);
		sr_wait(r, &s[0], &c);
	}
	CU_ASSERT_EQUAL(sr_poll(r, &s[1], &c), -EAGAIN);
	CU_ASSERT_EQUAL(write(sv[1][1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s[1], &c), 0);
	CU_ASSERT_EQUAL(c.res, 1);
	CU_ASSERT_EQUAL(sr_ring_cancel_fd(r, -1), -EBADF);
	CU_ASSERT_EQUAL(sr_poll(other, &os, &c), -EAGAIN);
	CU_ASSERT_EQUAL(sr_ring_cancel_fd(other, sv[0][0]), 1);
	CU_ASSERT_EQUAL(sr_wait(other, &os, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_ring_destroy(other), 0);
	CU_ASSERT_EQUAL(sr_buf_free(ob), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(sr_buf_free(b[i]), 0);
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

/* Destroying a ring with fallback jobs waiting (recv on a quiet socket)
 * cancels them; their buffers come back. */
static void test_teardown_jobs(void)
{
	struct sr_ring *r = ring_with(NULL, SR_RING_FALLBACK, SR_POLICY_GRACEFUL);
	struct sr_buf *b[4];
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_STRING_EQUAL(sr_ring_backend(r), "fallback");
	for (int i = 0; i < 4; i++) {
		struct sr_recv_submitted s;
		struct sr_recv_op op;

		b[i] = sr_buf_alloc(64);
		op = sr_recv(sv[0], b[i]);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
		CU_ASSERT(sr_buf_is_lent(b[i]));
	}
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 4);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT(!sr_buf_is_lent(b[i]));
		CU_ASSERT_EQUAL(sr_buf_free(b[i]), 0);
	}
	close(sv[0]);
	close(sv[1]);
}

/* WARN says once per op which fallback it takes; STRICT refuses with the reason. */
static void test_policies(void)
{
	struct sr_ring *r = ring_with("nop", 0, SR_POLICY_WARN);
	struct sr_nop_submitted s;
	struct sr_nop_completed c;
	struct sr_nop_op op;
	char log[1024] = "", status[256], want[128];
	int p[2], saved = dup(2);
	/* Why nop is not native: SR_DISABLE, or no io_uring at all. */
	const char *why = sr_ring_uring(r) ? "nop is disabled" : "nop: SR_BACKEND=fallback";
	ssize_t n;

	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0 && saved >= 0);
	dup2(p[1], 2);
	for (int i = 0; i < 2; i++) {
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT_EQUAL(c.res, 0);
	}
	dup2(saved, 2);
	close(saved);
	n = read(p[0], log, sizeof(log) - 1);
	log[n > 0 ? n : 0] = 0;
	CU_ASSERT(strstr(log, why) && strstr(log, "emulated (complete)"));
	/* Once, for two submits. */
	CU_ASSERT(strstr(log, why) && !strstr(strstr(log, why) + 1, why));
	CU_ASSERT_STRING_EQUAL(sr_op_status(r, SR_OP_NOP, status, sizeof(status)), "fallback: emulated (complete)");
	sr_ring_destroy(r);
	close(p[0]);
	close(p[1]);

	r = ring_with("nop", 0, SR_POLICY_STRICT);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EOPNOTSUPP);
	snprintf(want, sizeof(want), "sr_nop_submit: %s", why);
	CU_ASSERT(strstr(sr_last_error(), want) && strstr(sr_last_error(), "STRICT"));
	snprintf(want, sizeof(want), "unavailable: %s", why);
	CU_ASSERT(!strncmp(sr_op_status(r, SR_OP_NOP, status, sizeof(status)), want, strlen(want)));
	sr_ring_destroy(r);

	/* A fallback ring asked for (SR_RING_FALLBACK) is no news: WARN says
	 * nothing at create. */
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	saved = dup(2);
	dup2(p[1], 2);
	r = ring_with(NULL, SR_RING_FALLBACK, SR_POLICY_WARN);
	dup2(saved, 2);
	close(saved);
	n = read(p[0], log, sizeof(log) - 1);
	log[n > 0 ? n : 0] = 0;
	CU_ASSERT(!strstr(log, "runs on the fallback backend"));
	sr_ring_destroy(r);
	close(p[0]);
	close(p[1]);

	/* An op with no route says why. */
	r = ring_with("msg_ring", 0, SR_POLICY_GRACEFUL);
	sr_op_status(r, SR_OP_MSG_RING, status, sizeof(status));
	CU_ASSERT(strstr(status, "unavailable:") && strstr(status, "no fallback: posting into another ring"));
	sr_ring_destroy(r);

	/* One whose routes all fail here: a multishot recv re-arms a native
	 * recv (disabled too), and picks from the kernel's buffer groups on a
	 * ring with io_uring, which the backend's recv(2) cannot. */
	r = ring_with("recv_multishot,recv", 0, SR_POLICY_GRACEFUL);
	if (sr_ring_uring(r))
		CU_ASSERT_STRING_EQUAL(sr_op_status(r, SR_OP_RECV_MULTISHOT, status, sizeof(status)),
				       "unavailable: recv_multishot is disabled (SR_DISABLE or the ring's disable list); "
				       "no fallback: none of its routes works on this ring");
	sr_ring_destroy(r);
}

/* A ring without io_uring in an outer loop: its fd and its eventfd say when to poll. */
static void test_outer_loop(void)
{
	struct sr_ring *r = ring_with(NULL, SR_RING_FALLBACK | SR_RING_EVENTFD, SR_POLICY_GRACEFUL);
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op op;
	struct pollfd pf[2];
	int p[2];

	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);	/* as with io_uring: handed over before one waits */
	pf[0] = (struct pollfd){ .fd = sr_ring_fd(r), .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = sr_ring_eventfd(r), .events = POLLIN };
	CU_ASSERT(pf[0].fd >= 0 && pf[1].fd >= 0);
	CU_ASSERT_EQUAL(poll(pf, 2, 50), 0);
	CU_ASSERT_EQUAL(write(p[1], "z", 1), 1);
	/* Both say so (the backend writes one, then the other). */
	CU_ASSERT_EQUAL(poll(&pf[0], 1, 2000), 1);
	CU_ASSERT_EQUAL(poll(&pf[1], 1, 2000), 1);
	CU_ASSERT(sr_ring_poll(r) >= 1);
	CU_ASSERT_EQUAL(sr_poll(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 1);
	sr_ring_destroy(r);
	close(p[0]);
	close(p[1]);
	sr_buf_free(b);
}

/* multishot_accept re-armed as accept: one fd per connection, F_MORE, then cancel. */
struct inline_seen {
	int calls, res;
};

static void inline_cb(struct sr_ring *r, struct sr_openat_completed *c, void *arg)
{
	struct inline_seen *seen = arg;

	(void)r;
	seen->calls++;
	seen->res = c->res;
}

/* The thread that opened fd: /proc/thread-self resolves to /proc/PID/task/TID. */
static long opener_tid(int fd)
{
	char link[64], to[128];
	ssize_t n;
	long tid = -1;
	char *t;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, to, sizeof(to) - 1);
	if (n <= 0)
		return -1;
	to[n] = 0;
	t = strstr(to, "/task/");
	if (t)
		tid = strtol(t + 6, NULL, 10);
	return tid;
}

/* Open /proc/thread-self/stat through ring r: which thread made the call. */
static long open_on(struct sr_ring *r, bool expect_inline)
{
	struct inline_seen seen = { 0, 0 };
	struct sr_openat_submitted s;
	struct sr_openat_op op = sr_openat(AT_FDCWD, "/proc/thread-self/stat", O_RDONLY | O_CLOEXEC, 0);
	long tid;
	double t0;

	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op, inline_cb, &seen, &s), 0);
	CU_ASSERT_EQUAL(seen.calls, 0);		/* never inside the submit */
	t0 = now();
	while (!seen.calls && now() - t0 < 5)
		CU_ASSERT(sr_ring_run_once(r, expect_inline ? 0 : 100) >= 0);
	CU_ASSERT_EQUAL_FATAL(seen.calls, 1);
	CU_ASSERT_FATAL(seen.res >= 0);
	tid = opener_tid(seen.res);
	close(seen.res);
	return tid;
}

static void *drain_later(void *arg)
{
	char buf[4096];
	int fd = *(int *)arg;

	usleep(300000);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

/*
 * Reads and writes on an FB_INLINE ring (read and write disabled): a
 * regular file's are made at once and right; a write to a pipe with less
 * room than it needs goes to a worker, so a run that does not wait does
 * not wait for the reader.
 */
static void inline_files(struct sr_ring *r)
{
	char path[] = "/tmp/sr-fbinline-XXXXXX";
	struct sr_buf *w = sr_buf_alloc(256 << 10), *b = sr_buf_alloc(4096);
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_write_op wop;
	struct sr_read_op rop;
	int fd = mkstemp(path), p[2];
	pthread_t t;
	double t0;

	CU_ASSERT_FATAL(fd >= 0 && w && b);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(pwrite(fd, "inline", 6, 100), 6);
	rop = sr_read(fd, b, 100);
	CU_ASSERT_EQUAL(sr_submit(r, &rop, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 6);
	CU_ASSERT(rc.res == 6 && !memcmp(sr_buf_data(rc.buf), "inline", 6));
	CU_ASSERT_EQUAL(sr_buf_free(rc.buf), 0);
	close(fd);

	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	memset(sr_buf_data(w), 'p', 256 << 10);
	sr_buf_set_len(w, 256 << 10);
	wop = sr_write(p[1], w, (uint64_t)-1);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, drain_later, &p[0]) == 0);
	t0 = now();
	CU_ASSERT_EQUAL(sr_submit(r, &wop, &ws), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	CU_ASSERT(sr_ring_run_once(r, 0) >= 0);
	CU_ASSERT(now() - t0 < 0.2);		/* the reader was not waited for */
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 256 << 10);
	CU_ASSERT_EQUAL(sr_buf_free(wc.buf), 0);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
}

/*
 * SR_RING_FB_INLINE: a call that does not sleep runs on the owner's
 * thread when the ring submits, delivered by the next run (a run that does
 * not wait finds it); without the flag a worker makes it; a call that
 * sleeps (waitid) still goes to a worker, so neither the submit nor a run
 * that does not wait waits for the child; unknown
 * flags are refused.  On a ring with io_uring (the ops disabled) and on
 * the fallback backend.
 */
static void test_fb_inline(void)
{
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };
	struct sr_ring_params bad = { .flags = 1u << 20 };
	struct sr_ring *r;

	CU_ASSERT_EQUAL(sr_ring_create(&r, &bad), -EINVAL);
	CU_ASSERT(strstr(sr_last_error(), "unknown flags 0x100000") != NULL);
	for (unsigned k = 0; k < 2; k++) {
		long me = (long)gettid(), tid;
		struct sr_waitid_submitted ws;
		struct sr_waitid_completed wc;
		struct sr_waitid_op wop;
		pid_t child;
		double t0;

		r = ring_with("openat,waitid", kinds[k], SR_POLICY_GRACEFUL);
		tid = open_on(r, false);
		CU_ASSERT(tid > 0 && tid != me);	/* a worker */
		sr_ring_destroy(r);

		r = ring_with("openat,waitid,read,write", kinds[k] | SR_RING_FB_INLINE, SR_POLICY_GRACEFUL);
		CU_ASSERT_EQUAL(open_on(r, true), me);
		CU_ASSERT_EQUAL(open_on(r, true), me);
		child = fork();
		if (child == 0) {
			usleep(300000);
			_exit(7);
		}
		CU_ASSERT_FATAL(child > 0);
		wop = sr_waitid(P_PID, (id_t)child, WEXITED);
		t0 = now();
		CU_ASSERT_EQUAL(sr_submit(r, &wop, &ws), 0);
		CU_ASSERT(sr_ring_submit(r) >= 0);	/* the job starts here */
		CU_ASSERT_EQUAL(sr_ring_run_once(r, 0), 0);
		CU_ASSERT(now() - t0 < 0.2);		/* the child was not waited for */
		CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
		CU_ASSERT_EQUAL(wc.res, 0);
		CU_ASSERT_EQUAL(wc.infop.si_status, 7);
		inline_files(r);
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	}
}

static void test_rearm_stream(void)
{
	struct sr_ring *r = ring_with("multishot_accept", 0, SR_POLICY_GRACEFUL);
	struct sr_multishot_accept_submitted s;
	struct sr_multishot_accept_completed c;
	struct sr_multishot_accept_op op;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cl[3];
	char status[256];

	CU_ASSERT_FATAL(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 8) == 0);
	getsockname(l, (struct sockaddr *)&a, &len);
	sr_op_status(r, SR_OP_MULTISHOT_ACCEPT, status, sizeof(status));
	/* Natively the kernel's accept is re-armed; the backend re-arms accept4(2). */
	if (sr_ring_uring(r)) {
		CU_ASSERT_STRING_EQUAL(status, "fallback: accept (re-armed)");
	} else {
		CU_ASSERT(!strncmp(status, "fallback: accept4(2)", 20) && strstr(status, "(re-armed)"));
	}
	op = sr_multishot_accept(l);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	for (int i = 0; i < 3; i++) {
		cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CU_ASSERT(connect(cl[i], (struct sockaddr *)&a, sizeof(a)) == 0);
	}
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT(c.res >= 0 && c.more);
		if (c.res >= 0)
			close(c.res);
	}
	CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
	do {
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &s, &c), 0);
	} while (c.more);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	for (int i = 0; i < 3; i++)
		close(cl[i]);
	close(l);
	sr_ring_destroy(r);
}

static unsigned rearm_seen;
static int rearm_final = 1;

static void rearm_cb(struct sr_ring *r, struct sr_multishot_accept_completed *c, void *arg)
{
	(void)r;
	(void)arg;
	rearm_seen++;
	if (c->res >= 0)
		close(c->res);
	if (!c->more)
		rearm_final = c->res;
}

/* The same stream delivered to a callback: after each item the backend
 * asks again, so the next connection, made only then, is delivered too. */
static void test_rearm_stream_cb(void)
{
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };

	for (unsigned k = 0; k < 2; k++) {
		struct sr_ring *r = ring_with("multishot_accept", kinds[k], SR_POLICY_GRACEFUL);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct sr_multishot_accept_submitted s;
		struct sr_multishot_accept_op op;
		socklen_t len = sizeof(a);
		int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cl[3];

		CU_ASSERT_FATAL(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 8) == 0);
		getsockname(l, (struct sockaddr *)&a, &len);
		rearm_seen = 0;
		rearm_final = 1;
		op = sr_multishot_accept(l);
		CU_ASSERT_EQUAL(sr_submit_cb(r, &op, rearm_cb, NULL, &s), 0);
		for (unsigned i = 0; i < 3; i++) {
			double t0 = now();

			cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			CU_ASSERT(connect(cl[i], (struct sockaddr *)&a, sizeof(a)) == 0);
			while (rearm_seen < i + 1 && now() - t0 < 5)
				CU_ASSERT(sr_ring_run_once(r, 100) >= 0);
			CU_ASSERT_EQUAL(rearm_seen, i + 1);
		}
		CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
		CU_ASSERT_EQUAL(sr_ring_run(r), 0);
		CU_ASSERT_EQUAL(rearm_final, -ECANCELED);
		for (int i = 0; i < 3; i++)
			close(cl[i]);
		close(l);
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	}
}

/*
 * A re-armed readiness stream reports each readiness once: its item is
 * taken, the fd drained, and only then does it ask again.  The worker
 * posts the item before the owner looks (the sleep makes it so): the
 * owner's look must not re-arm while that item is still unseen, or the
 * same byte is reported twice (the matrix's poll_multishot at 5.6 did, one
 * run in four).  The worker's route (both ops disabled) and the kernel's
 * poll_add re-armed, on a ring with io_uring and on the backend.
 */
static void test_rearm_poll_once(void)
{
	static const char *const disable[] = { "poll_multishot,poll_add", "poll_multishot" };
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };

	for (unsigned k = 0; k < 2; k++) {
		for (unsigned d = 0; d < 2; d++) {
			struct sr_ring *r = ring_with(disable[d], kinds[k], SR_POLICY_GRACEFUL);
			struct sr_poll_multishot_submitted sub;
			struct sr_poll_multishot_completed c;
			struct sr_poll_multishot_op op;
			char byte;
			int p[2];

			CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
			op = sr_poll_multishot(p[0], POLLIN);
			CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
			CU_ASSERT_EQUAL(sr_poll(r, &sub, &c), -EAGAIN);
			for (int i = 0; i < 3; i++) {
				CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
				usleep(20000);
				CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
				CU_ASSERT(c.res > 0 && (c.res & POLLIN) && c.more);
				CU_ASSERT_EQUAL(read(p[0], &byte, 1), 1);
				usleep(20000);
				if (sr_poll(r, &sub, &c) != -EAGAIN) {
					CU_FAIL("the drained pipe was reported again");
					printf("\n    %s ring, %s disabled, event %d: res %d\n",
					       sr_ring_backend(r), disable[d], i, c.res);
				}
			}
			CU_ASSERT_EQUAL(sr_cancel(r, &sub), 0);
			do {
				CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
			} while (c.more);
			CU_ASSERT_EQUAL(c.res, -ECANCELED);
			CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
			close(p[0]);
			close(p[1]);
		}
	}
}

/*
 * Cancelling a fallback op whose system call is done but whose completion
 * was not taken yet: nothing to stop, the result stands (not -ECANCELED),
 * the buffer comes back with the data.  On the fallback backend and for a
 * native ring's op the spec routes to a worker (read disabled).
 */
static void test_cancel_after_done(void)
{
	struct sr_ring *rings[2] = { ring_with(NULL, SR_RING_FALLBACK, SR_POLICY_GRACEFUL),
				     ring_with("read", 0, SR_POLICY_GRACEFUL) };

	for (int k = 0; k < 2; k++) {
		struct sr_ring *r = rings[k];
		struct sr_buf *b = sr_buf_alloc(16);
		struct sr_read_submitted sub;
		struct sr_read_completed c;
		struct sr_read_op op;
		int fd = unit_tmp_fd();

		CU_ASSERT_FATAL(b && fd >= 0);
		CU_ASSERT_EQUAL(pwrite(fd, "done", 4, 0), 4);
		op = sr_read(fd, b, 0);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
		CU_ASSERT(sr_ring_submit(r) >= 0);
		usleep(50000);	/* the worker's pread is done, its completion posted */
		CU_ASSERT_EQUAL(sr_cancel(r, &sub), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
		CU_ASSERT_EQUAL(c.res, 4);
		CU_ASSERT(c.buf == b && !memcmp(sr_buf_data(b), "done", 4));
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
		CU_ASSERT_EQUAL(sr_buf_free(b), 0);
		close(fd);
	}
}

struct cancel_other {
	struct sr_read_submitted sub[2];
	int ran[2], res[2], cancels;
};

struct cancel_arg {
	struct cancel_other *co;
	int i;
};

static void on_read_cancel_other(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	struct cancel_arg *a = arg;
	struct cancel_other *co = a->co;

	co->ran[a->i] = 1;
	co->res[a->i] = c->res;
	if (!co->ran[1 - a->i]) {
		CU_ASSERT_EQUAL(sr_cancel(r, &co->sub[1 - a->i]), 0);
		co->cancels++;
	}
}

/*
 * The same for a callback op whose completion was taken and waits for its
 * callback: cancelled from the callback run before it (its worker's job
 * is gone by then), it changes nothing.
 */
static void test_cancel_queued_callback(void)
{
	struct sr_ring *r = ring_with(NULL, SR_RING_FALLBACK, SR_POLICY_GRACEFUL);
	struct sr_buf *b[2] = { sr_buf_alloc(16), sr_buf_alloc(16) };
	struct cancel_other co;
	struct cancel_arg a[2] = { { &co, 0 }, { &co, 1 } };
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(b[0] && b[1] && fd >= 0);
	memset(&co, 0, sizeof(co));
	CU_ASSERT_EQUAL(pwrite(fd, "done", 4, 0), 4);
	for (int i = 0; i < 2; i++) {
		struct sr_read_op op = sr_read(fd, b[i], 0);

		CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op, on_read_cancel_other, &a[i], &co.sub[i]), 0);
	}
	CU_ASSERT(sr_ring_submit(r) >= 0);
	usleep(50000);	/* both system calls done */
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT(co.ran[0] && co.ran[1]);
	CU_ASSERT(co.res[0] == 4 && co.res[1] == 4);
	CU_ASSERT_EQUAL(co.cancels, 1);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b[0]), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b[1]), 0);
	close(fd);
}

/*
 * A timeout with a count, emulated by the fallback backend (a timerfd):
 * ended by the count, not the clock, it closes its timer at once and
 * leaves no descriptor open.
 */
static void test_counted_timeout_closes(void)
{
	struct sr_ring *r = ring_with(NULL, SR_RING_FALLBACK, SR_POLICY_GRACEFUL);
	int fds = unit_open_fds();

	for (int round = 0; round < 3; round++) {
		struct __kernel_timespec ts = { .tv_sec = 10 };
		struct sr_timeout_op op = sr_timeout(&ts);
		struct sr_timeout_submitted sub;
		struct sr_timeout_completed c;
		struct sr_nop_op nop = sr_nop();
		struct sr_nop_submitted nsub;
		struct sr_nop_completed nc;

		sr_timeout_set_count(&op, 1);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &nop, &nsub), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &nsub, &nc), 0);
		/* ended when the NOP was seen: its timer is gone before its
		 * completion is taken */
		CU_ASSERT_EQUAL(unit_open_fds(), fds);
		CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
		CU_ASSERT_EQUAL(c.res, 0);
		CU_ASSERT_EQUAL(unit_open_fds(), fds);
	}
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/*
 * A timeout's timespec as the kernel takes it, on either backend: negative
 * seconds or nanoseconds complete with -EINVAL (no timer armed, nothing
 * left open); 10^9 ns and more are not refused but added up (1 s here).
 */
static void test_timeout_timespec(void)
{
	static const struct __kernel_timespec cases[] = {
		{ .tv_sec = -1 }, { .tv_nsec = -1 }, { .tv_nsec = 1000000000 },
	};
	struct sr_ring *rings[2] = { ring_with(NULL, SR_RING_FALLBACK, SR_POLICY_GRACEFUL),
				     ring_with(NULL, 0, SR_POLICY_GRACEFUL) };

	for (int k = 0; k < 2; k++) {
		int fds = unit_open_fds();

		for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct __kernel_timespec ts = cases[i];
			struct sr_timeout_op op = sr_timeout(&ts);
			struct sr_timeout_submitted sub;
			struct sr_timeout_completed c;
			double t0 = now();

			CU_ASSERT_EQUAL_FATAL(sr_submit(rings[k], &op, &sub), 0);
			CU_ASSERT_EQUAL(sr_wait(rings[k], &sub, &c), 0);
			if (i < 2) {
				CU_ASSERT_EQUAL(c.res, -EINVAL);
			} else {
				CU_ASSERT_EQUAL(c.res, -ETIME);
				CU_ASSERT(now() - t0 >= 0.99);
			}
		}
		CU_ASSERT_EQUAL(unit_open_fds(), fds);
		CU_ASSERT_EQUAL(sr_ring_destroy(rings[k]), 0);
	}
}

void fallback_tests(CU_pSuite s)
{
	CU_add_test(s, "fallback: a timeout's timespec taken as the kernel takes it", test_timeout_timespec);
	CU_add_test(s, "fallback: a timeout ended by its count closes its timer", test_counted_timeout_closes);
	CU_add_test(s, "fallback: a taken callback op cancelled from another's callback", test_cancel_queued_callback);
	CU_add_test(s, "fallback: cancel after the system call is done", test_cancel_after_done);
	CU_add_test(s, "fallback: chain, fallback op first", test_chain_fallback_first);
	CU_add_test(s, "fallback: a re-armed poll reports a readiness once", test_rearm_poll_once);
	CU_add_test(s, "fallback: chain, native ops queued first", test_chain_native_first);
	CU_add_test(s, "fallback: chain failure and hard links", test_chain_failure);
	CU_add_test(s, "fallback: emulated link timeout", test_link_timeout);
	CU_add_test(s, "fallback: emulated link timeout on a native op", test_link_timeout_native_op);
	CU_add_test(s, "fallback: cancel a blocked system call", test_cancel_blocked_syscall);
	CU_add_test(s, "fallback: two blocked system calls, a worker each", test_two_blocked_workers);
	CU_add_test(s, "fallback: a poll on a regular file answers at once", test_poll_regular_file);
	CU_add_test(s, "fallback: a submit refused at max_inflight holds no job", test_refused_submit_job);
	CU_add_test(s, "fallback: sr_ring_cancel_fd reaches fallback ops on io_uring", test_cancel_fd_fallback_jobs);
	CU_add_test(s, "fallback: teardown with jobs in flight", test_teardown_jobs);
	CU_add_test(s, "fallback: WARN, STRICT and sr_op_status", test_policies);
	CU_add_test(s, "fallback: ring fd and eventfd without io_uring", test_outer_loop);
	CU_add_test(s, "fallback: multishot re-armed", test_rearm_stream);
	CU_add_test(s, "fallback: multishot re-armed, to a callback", test_rearm_stream_cb);
	CU_add_test(s, "fallback: SR_RING_FB_INLINE", test_fb_inline);
}
