/* SPDX-License-Identifier: MIT */
/*
 * Boundaries inside one ring, where `make mutate` found the suite blind:
 * buffer lengths and windows at and one past the capacity, a window reset
 * when its op gives the buffer back, the same buffer twice in one op (and
 * the buffers given back on that error path), re-taken pool buffers, a
 * pool or buffer registered with one ring and used on another, registering
 * twice, file-table slots at the table's end and cleared, buffer-group
 * items recycled twice and groups destroyed too early, requests aimed at
 * a stale handle, the slot table at max_inflight, a chain after its first
 * failure, and capabilities at exactly the running kernel's version (in a
 * child process: the environment is read once per process).
 *
 * Each test says which mutant class it kills.  known_bugs[] holds the
 * tests of real bugs this suite found (the code, not a mutant, was
 * wrong); they are fixed and run with the rest.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <safer-ring.h>

#include "unit.h"

#if defined(__SANITIZE_ADDRESS__)
#define BOUNDS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BOUNDS_ASAN 1
#endif
#endif
#ifdef BOUNDS_ASAN
int __asan_address_is_poisoned(void const volatile *addr);
#endif

static struct sr_ring *bring(unsigned entries, unsigned max_inflight, const char *disable)
{
	struct sr_ring_params p = { .entries = entries, .max_inflight = max_inflight, .disable = disable };
	struct sr_ring *r = NULL;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	return r;
}

/* Is the buffer usable by its owner again: not lent, bytes reachable (and, under
 * ASan, not poisoned: the memset would be reported)? */
static bool usable(struct sr_buf *b)
{
	void *d;

	if (sr_buf_is_lent(b))
		return false;
	d = sr_buf_data(b);
	if (!d)
		return false;
	memset(d, 0x11, sr_buf_cap(b));
	return true;
}

/* Under ASan a buffer lent to a native op is poisoned (the fallback
 * backend's system calls need it readable); elsewhere nothing to see. */
static bool poisoned_while_lent(struct sr_ring *r, struct sr_buf *b)
{
#ifdef BOUNDS_ASAN
	return !sr_ring_uring(r) || __asan_address_is_poisoned(b->_data) != 0;
#else
	(void)r;
	(void)b;
	return true;
#endif
}

static int pread_all(int fd, char *out, size_t n, off_t off)
{
	return (int)pread(fd, out, n, off);
}

/* --- lengths and windows ---------------------------------------------------------------- */

/* bound / guard mutants of sr_buf_wrap, _set_len, _set_window: exactly the
 * capacity is fine, one more is not. */
static void test_lengths_at_capacity(void)
{
	static char mem[16];
	struct sr_buf *b = sr_buf_wrap(mem, 16, 16), *c;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(sr_buf_len(b), 16);
	CU_ASSERT_PTR_NULL(sr_buf_wrap(mem, 16, 17));
	CU_ASSERT(unit_said("len 17 exceeds capacity 16"));
	CU_ASSERT_PTR_NULL(sr_buf_wrap(NULL, 1, 0));
	c = sr_buf_wrap(NULL, 0, 0);	/* no memory and no capacity: an empty buffer */
	CU_ASSERT_PTR_NOT_NULL(c);
	sr_buf_free(c);
	CU_ASSERT_PTR_NULL(sr_buf_wrap_const(NULL, 1));
	c = sr_buf_wrap_const(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL(c);
	sr_buf_free(c);

	CU_ASSERT_EQUAL(sr_buf_set_len(b, 16), 0);
	CU_ASSERT_EQUAL(sr_buf_set_len(b, 17), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_len(b), 16);
	CU_ASSERT_EQUAL(sr_buf_set_len(b, 0), 0);

	CU_ASSERT_EQUAL(sr_buf_set_window(b, 0, 16), 0);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 15, 1), 0);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 16, 0), 0);	/* empty, at the end */
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 0, 17), -EINVAL);
	CU_ASSERT(unit_said("17 bytes at 0 run past the capacity 16"));
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 15, 2), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 1, 16), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 17, 0), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, SIZE_MAX, 1), -EINVAL);	/* no wrap-around */
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 1, SIZE_MAX), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_window(NULL, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	CU_ASSERT_EQUAL(sr_buf_free(NULL), 0);
}

/* reset_del mutants of sr__buf_return: a window is for one op; the next op
 * (a write: from the start, the valid length; a read: to the capacity)
 * has none, whether the op succeeded or failed. */
static void test_window_reset(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_buf *b = sr_buf_alloc(16), *v[2];
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_writev_submitted vs;
	struct sr_writev_completed vc;
	struct sr_write_op w;
	struct sr_read_op rd;
	struct sr_writev_op wv;
	char back[32];
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(b && fd >= 0);
	memcpy(sr_buf_data(b), "0123456789abcdef", 16);
	CU_ASSERT_EQUAL(sr_buf_set_len(b, 16), 0);
	/* A window of 3 at 4, then no window: the whole valid length from 0. */
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 4, 3), 0);
	w = sr_write(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 3);
	w = sr_write(fd, b, 3);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 16);
	CU_ASSERT_EQUAL(pread_all(fd, back, sizeof(back), 0), 19);
	CU_ASSERT(!memcmp(back, "4560123456789abcdef", 19));
	/* A failed op gives the buffer back without its window too. */
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 8, 2), 0);
	w = sr_write(-1, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, -EBADF);
	CU_ASSERT_EQUAL(sr_buf_len(b), 16);
	w = sr_write(fd, b, 100);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 16);
	/* A read into a window: the valid length is the window's start plus
	 * what was read; the next read fills from 0 to the capacity. */
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 2, 2), 0);
	rd = sr_read(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 2);
	CU_ASSERT_EQUAL(sr_buf_len(b), 4);
	CU_ASSERT(!memcmp(sr_buf_data(b), "0145", 4));
	rd = sr_read(fd, b, 3);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 16);
	CU_ASSERT_EQUAL(sr_buf_len(b), 16);
	CU_ASSERT(!memcmp(sr_buf_data(b), "0123456789abcdef", 16));
	/* Vectored: each buffer's window goes with its op. */
	v[0] = b;
	v[1] = sr_buf_alloc(8);
	CU_ASSERT_FATAL(v[1] != NULL);
	memcpy(sr_buf_data(v[1]), "ABCDEFGH", 8);
	sr_buf_set_len(v[1], 8);
	CU_ASSERT_EQUAL(sr_buf_set_window(v[0], 14, 2), 0);
	CU_ASSERT_EQUAL(sr_buf_set_window(v[1], 0, 1), 0);
	wv = sr_writev(fd, v, 2, 200);
	CU_ASSERT_EQUAL(sr_submit(r, &wv, &vs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &vs, &vc), 0);
	CU_ASSERT_EQUAL(vc.res, 3);
	wv = sr_writev(fd, v, 2, 203);
	CU_ASSERT_EQUAL(sr_submit(r, &wv, &vs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &vs, &vc), 0);
	CU_ASSERT_EQUAL(vc.res, 24);
	CU_ASSERT_EQUAL(pread_all(fd, back, 27, 200), 27);
	CU_ASSERT(!memcmp(back, "efA0123456789abcdefABCDEFGH", 27));
	sr_ring_destroy(r);
	sr_buf_free(v[1]);
	sr_buf_free(b);
	close(fd);
}

/* A vectored read splits the result over the buffers by their room, each
 * buffer's length is what landed in it (bound / arith mutants of
 * sr__bufvec_return), and a short read leaves the last ones empty. */
static void test_vectored_lengths(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_buf *v[3] = { sr_buf_alloc(4), sr_buf_alloc(4), sr_buf_alloc(4) };
	struct sr_readv_submitted s;
	struct sr_readv_completed c;
	struct sr_readv_op op;
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(v[0] && v[1] && v[2] && fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "abcdefghij", 10, 0), 10);
	for (int i = 0; i < 3; i++)
		sr_buf_set_len(v[i], 3);
	op = sr_readv(fd, v, 3, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 10);
	CU_ASSERT_EQUAL(sr_buf_len(v[0]), 4);
	CU_ASSERT_EQUAL(sr_buf_len(v[1]), 4);
	CU_ASSERT_EQUAL(sr_buf_len(v[2]), 2);
	CU_ASSERT(!memcmp(sr_buf_data(v[2]), "ij", 2));
	/* Exactly the room of the first: the others get nothing. */
	op = sr_readv(fd, v, 3, 6);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 4);
	CU_ASSERT_EQUAL(sr_buf_len(v[0]), 4);
	CU_ASSERT_EQUAL(sr_buf_len(v[1]), 0);
	CU_ASSERT_EQUAL(sr_buf_len(v[2]), 0);
	/* A failed read: nothing landed anywhere. */
	op = sr_readv(-1, v, 3, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, -EBADF);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(sr_buf_len(v[i]), 0);
		CU_ASSERT(usable(v[i]));
	}
	/* No buffers, or too many, is refused before anything is lent. */
	op = sr_readv(fd, v, 0, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EINVAL);
	CU_ASSERT(unit_said("no buffers"));
	op = sr_readv(fd, NULL, 1, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EINVAL);
	op = sr_readv(fd, v, IOV_MAX + 1, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EINVAL);
	CU_ASSERT(unit_said("at most IOV_MAX"));
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	sr_ring_destroy(r);
	for (int i = 0; i < 3; i++)
		sr_buf_free(v[i]);
	close(fd);
}

/* --- the same buffer twice ---------------------------------------------------------------- */

/* The error path of sr__bufvec_take / sr__msg_take (call_del of untake,
 * guard of the duplicate check): refused, nothing stays lent or poisoned,
 * and the slot taken for the op is given back (sr__abort). */
static void test_same_buffer_twice(void)
{
	struct sr_ring *r = bring(8, 64, NULL);
	struct sr_buf *a = sr_buf_alloc(64), *b = sr_buf_alloc(64), *n = sr_buf_alloc(64);
	struct sr_buf *v[3];
	struct sr_readv_submitted rs;
	struct sr_readv_completed rc;
	struct sr_writev_submitted ws;
	struct sr_sendmsg_submitted ss;
	struct sr_sendmsg_completed sc;
	struct sr_recvmsg_submitted ms;
	struct sr_readv_op rv;
	struct sr_writev_op wv;
	struct sr_sendmsg_op so;
	struct sr_recvmsg_op ro;
	struct sr_nop_submitted nops[64];
	struct sr_nop_completed nc;
	struct sr_msg m;
	int fd = unit_tmp_fd(), sv[2];

	CU_ASSERT_FATAL(a && b && n && fd >= 0 && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_EQUAL(pwrite(fd, "twice", 5, 0), 5);
	v[0] = a;
	v[1] = a;
	rv = sr_readv(fd, v, 2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rv, &rs), -EINVAL);
	CU_ASSERT(unit_said("sr_readv_submit: iovecs: buffer 1 appears twice"));
	CU_ASSERT(usable(a));
	v[0] = a;
	v[1] = b;
	v[2] = a;
	sr_buf_set_len(a, 4);
	sr_buf_set_len(b, 4);
	wv = sr_writev(fd, v, 3, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &wv, &ws), -EINVAL);
	CU_ASSERT(unit_said("buffer 2 appears twice"));
	CU_ASSERT(usable(a) && usable(b));
	/* Messages: twice among the data, as name and control, data and name, data and control. */
	memset(&m, 0, sizeof(m));
	m.iov[0] = a;
	m.iov[1] = a;
	m.iovlen = 2;
	so = sr_sendmsg(sv[0], &m);
	CU_ASSERT_EQUAL(sr_submit(r, &so, &ss), -EINVAL);
	CU_ASSERT(usable(a));
	memset(&m, 0, sizeof(m));
	m.iov[0] = a;
	m.iovlen = 1;
	m.name = n;
	m.control = n;
	so = sr_sendmsg(sv[0], &m);
	CU_ASSERT_EQUAL(sr_submit(r, &so, &ss), -EINVAL);
	CU_ASSERT(unit_said("a buffer appears twice in the message"));
	CU_ASSERT(usable(a) && usable(n));
	m.name = a;
	m.control = NULL;
	so = sr_sendmsg(sv[0], &m);
	CU_ASSERT_EQUAL(sr_submit(r, &so, &ss), -EINVAL);
	CU_ASSERT(usable(a));
	m.name = n;
	m.control = a;
	ro = sr_recvmsg(sv[1], &m);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &ms), -EINVAL);
	CU_ASSERT(usable(a) && usable(n));
	m.name = b;
	m.control = n;
	m.iov[0] = a;
	m.iov[1] = n;
	m.iovlen = 2;
	ro = sr_recvmsg(sv[1], &m);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &ms), -EINVAL);
	CU_ASSERT(usable(a) && usable(n) && usable(b));
	/* Nothing is in flight, and every slot taken for those was given back:
	 * the whole max_inflight is still there. */
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	for (int i = 0; i < 64; i++) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &nops[i]), 0);
	}
	for (int i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(sr_wait(r, &nops[i], &nc), 0);
	/* The same buffers, each once, work. */
	v[0] = a;
	v[1] = b;
	rv = sr_readv(fd, v, 2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rv, &rs), 0);
	CU_ASSERT(poisoned_while_lent(r, a));
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 5);
	memset(&m, 0, sizeof(m));
	memcpy(sr_buf_data(a), "msg", 3);
	sr_buf_set_len(a, 3);
	m.iov[0] = a;
	m.iovlen = 1;
	so = sr_sendmsg(sv[0], &m);
	CU_ASSERT_EQUAL(sr_submit(r, &so, &ss), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ss, &sc), 0);
	CU_ASSERT_EQUAL(sc.res, 3);
	/* The SQEs taken for the refused ops were given back too: none ran. */
	if (sr_ring_uring(r)) {
		struct io_uring_cqe stray[4];

		CU_ASSERT_EQUAL(sr_raw_reap(r, stray, 4), 0);
	}
	sr_ring_destroy(r);
	sr_buf_free(a);
	sr_buf_free(b);
	sr_buf_free(n);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/* --- pools -------------------------------------------------------------------------------- */

/* sr_pool_take resets what the last holder left (reset_del mutants): a
 * re-taken buffer has no valid bytes, no window, and does not go back to
 * the pool by itself because its last holder asked for that. */
static void test_pool_retake(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_pool *p = sr_pool_create(1, 4096, 0);
	struct sr_buf *b, *b2;
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_write_op w;
	struct sr_read_op rd;
	int fd = unit_tmp_fd();
	char *big = malloc(5000);

	CU_ASSERT_FATAL(p && fd >= 0 && big);
	memset(big, 'p', 5000);
	CU_ASSERT_EQUAL(pwrite(fd, big, 5000, 0), 5000);
	CU_ASSERT_EQUAL(sr_pool_count(p), 1);
	b = sr_pool_take(p);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(sr_pool_available(p), 0);
	CU_ASSERT_EQUAL(sr_buf_set_len(b, 100), 0);
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 10, 20), 0);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, true), 0);
	CU_ASSERT_EQUAL(sr_pool_put(b), 0);
	CU_ASSERT_EQUAL(sr_pool_available(p), 1);
	b2 = sr_pool_take(p);
	CU_ASSERT_FATAL(b2 == b);
	CU_ASSERT_EQUAL(sr_buf_len(b2), 0);
	/* No window, not even its offset: the first op after the take (no op
	 * in between gave the buffer back, which resets windows too) reads
	 * into the whole capacity from byte 0. */
	rd = sr_read(fd, b2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 4096);
	CU_ASSERT_EQUAL(sr_buf_len(b2), 4096);
	CU_ASSERT_EQUAL(((char *)sr_buf_data(b2))[0], 'p');
	CU_ASSERT_EQUAL(sr_pool_available(p), 0);	/* the old auto return is gone */
	CU_ASSERT_EQUAL(sr_buf_set_len(b2, 0), 0);
	w = sr_write(fd, b2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, 0);
	CU_ASSERT_EQUAL(sr_pool_available(p), 0);
	CU_ASSERT_EQUAL(sr_pool_put(b2), 0);
	CU_ASSERT_EQUAL(sr_pool_put(b2), -EALREADY);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(b2, true), -EINVAL);	/* in the pool, not taken */
	CU_ASSERT(unit_said("not taken"));
	CU_ASSERT_EQUAL(sr_pool_available(p), 1);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	sr_ring_destroy(r);
	free(big);
	close(fd);
}

/* Bounds of sr_pool_create, and the checks of put / auto return. */
static void test_pool_bounds(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_pool *p;
	struct sr_buf *b, *plain = sr_buf_alloc(8);
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_read_op rd;
	int pfd[2];

	CU_ASSERT_FATAL(plain && pipe2(pfd, O_CLOEXEC) == 0);
	CU_ASSERT_PTR_NULL(sr_pool_create(0, 4096, 0));
	CU_ASSERT_PTR_NULL(sr_pool_create(1, 0, 0));
	CU_ASSERT_PTR_NULL(sr_pool_create(1, (1UL << 30) + 1, 0));
	CU_ASSERT(unit_said("1 byte..1 GiB"));
	CU_ASSERT_PTR_NULL(sr_pool_create(1, 4096, 1U << 5));
	/* 1 GiB is allowed (address space only: nothing is touched). */
	p = sr_pool_create(1, 1UL << 30, 0);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(sr_pool_buf_size(p), 1UL << 30);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	p = sr_pool_create(3, 1, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(sr_pool_buf_size(p), (size_t)sysconf(_SC_PAGESIZE));
	CU_ASSERT_EQUAL(sr_pool_available(p), 3);
	CU_ASSERT_EQUAL(sr_pool_put(plain), -EINVAL);
	CU_ASSERT(unit_said("not a buffer of a live pool"));
	CU_ASSERT_EQUAL(sr_pool_put(NULL), -EINVAL);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(plain, true), -EINVAL);
	b = sr_pool_take(p);
	CU_ASSERT_FATAL(b != NULL);
	{
		/* A copy of a taken buffer's struct is not the buffer: putting it
		 * back would hand the original out again while it is held. */
		struct sr_buf copy = *b;

		CU_ASSERT_EQUAL(sr_pool_put(&copy), -EINVAL);
		CU_ASSERT(unit_said("a copy of a pool buffer"));
		CU_ASSERT_EQUAL(sr_buf_set_auto_return(&copy, true), -EINVAL);
		CU_ASSERT_EQUAL(sr_pool_available(p), 2);
		/* The pool's own struct, spoilt (memory overwritten). */
		b->_self = NULL;
		CU_ASSERT_EQUAL(sr_pool_put(b), -EINVAL);
		CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, true), -EINVAL);
		b->_self = b;
		CU_ASSERT_EQUAL(sr_pool_available(p), 2);
	}
	rd = sr_read(pfd[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_pool_put(b), -EBUSY);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, true), -EBUSY);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);
	CU_ASSERT_EQUAL(write(pfd[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 1);
	CU_ASSERT_EQUAL(sr_pool_available(p), 2);	/* no auto return was set */
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, true), 0);
	CU_ASSERT_EQUAL(sr_buf_set_auto_return(b, false), 0);	/* and taken back */
	rd = sr_read(pfd[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(write(pfd[1], "y", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(sr_pool_available(p), 2);
	CU_ASSERT_EQUAL(sr_pool_put(b), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(NULL), 0);
	sr_ring_destroy(r);
	sr_buf_free(plain);
	close(pfd[0]);
	close(pfd[1]);
}

/* A pool is registered with one ring at a time, and its buffers are fixed
 * buffers of that ring only (guard mutants of sr_ring_register_pool and
 * sr__buf_check_fixed). */
static void test_pool_two_rings(void)
{
	struct sr_ring *ra = bring(8, 0, NULL), *rb = bring(8, 0, NULL);
	struct sr_pool *p = sr_pool_create(2, 4096, 0);
	struct sr_buf *b, *x = sr_buf_alloc(64);
	struct sr_write_fixed_submitted s;
	struct sr_write_fixed_completed c;
	struct sr_write_fixed_op w;
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(p && x && fd >= 0);
	CU_ASSERT_EQUAL(sr_ring_register_pool(ra, p), 0);
	CU_ASSERT_EQUAL(sr_ring_register_pool(rb, p), -EBUSY);
	CU_ASSERT(unit_said("registered with another ring"));
	CU_ASSERT_EQUAL(sr_ring_register_pool(ra, p), -EBUSY);
	CU_ASSERT(unit_said("already has fixed buffers"));
	CU_ASSERT_EQUAL(sr_ring_register_buffers(ra, &x, 1), -EBUSY);
	b = sr_pool_take(p);
	CU_ASSERT_FATAL(b != NULL);
	memset(sr_buf_data(b), 'f', 8);
	sr_buf_set_len(b, 8);
	w = sr_write_fixed(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(rb, &w, &s), -EXDEV);
	CU_ASSERT(unit_said("registered with another ring"));
	CU_ASSERT(usable(b));
	sr_buf_set_len(b, 8);
	w = sr_write_fixed(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(ra, &w, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(ra, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 8);
	/* Moved to the other ring: now it is the other way round. */
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(ra), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(ra), -ENXIO);
	CU_ASSERT_EQUAL(sr_ring_register_pool(rb, p), 0);
	w = sr_write_fixed(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(ra, &w, &s), -EXDEV);
	w = sr_write_fixed(fd, b, 8);
	CU_ASSERT_EQUAL(sr_submit(rb, &w, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(rb, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 8);
	/* A ring with a pool takes no buffers, and the pool outlives neither registration. */
	CU_ASSERT_EQUAL(sr_ring_register_buffers(rb, &x, 1), -EBUSY);
	CU_ASSERT_EQUAL(sr_pool_put(b), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), -EBUSY);
	CU_ASSERT(unit_said("registered"));
	/* Destroying the ring unregisters the pool. */
	sr_ring_destroy(rb);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	sr_ring_destroy(ra);
	sr_buf_free(x);
	close(fd);
}

/* --- fixed buffers ------------------------------------------------------------------------ */

/* Registering twice, the count's bounds, a buffer registered with another
 * ring, a fixed vectored op over two registered buffers. */
static void test_register_buffers(void)
{
	struct sr_ring *r = bring(8, 0, NULL), *r2 = bring(8, 0, NULL);
	static const char ro[] = "ro";
	struct sr_buf *a = sr_buf_alloc(64), *b = sr_buf_alloc(64), *c = sr_buf_wrap_const(ro, 2);
	struct sr_buf *two[2] = { a, b }, *bad[2] = { a, NULL }, **many;
	struct sr_read_fixed_submitted s;
	struct sr_read_fixed_completed rc;
	struct sr_readv_fixed_submitted vs;
	struct sr_read_fixed_op op;
	struct sr_readv_fixed_op vop;
	static char one[1];
	int fd = unit_tmp_fd(), n = 16384;

	CU_ASSERT_FATAL(a && b && c && fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "fixed!", 6, 0), 6);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), -ENXIO);
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, two, 0), -EINVAL);
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, two, 16385), -EINVAL);
	CU_ASSERT(unit_said("1..16384"));
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, bad, 2), -EINVAL);
	CU_ASSERT(unit_said("bufs[1] is not a live buffer"));
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, &c, 1), -EINVAL);
	CU_ASSERT(unit_said("read-only"));
	CU_ASSERT(usable(a));
	/* Not registered anywhere: a fixed op refuses it. */
	op = sr_read_fixed(fd, a, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EINVAL);
	CU_ASSERT(unit_said("not registered with this ring"));
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, two, 2), 0);
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, two, 2), -EBUSY);
	CU_ASSERT(unit_said("already has fixed buffers"));
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r2, two, 1), -EBUSY);	/* a is r's */
	CU_ASSERT(unit_said("bufs[0] is already registered with another ring"));
	op = sr_read_fixed(fd, a, 0);
	CU_ASSERT_EQUAL(sr_submit(r2, &op, &s), -EXDEV);
	CU_ASSERT(unit_said("registered with another ring"));
	CU_ASSERT(usable(a));
	op = sr_read_fixed(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 6);
	CU_ASSERT(!memcmp(sr_buf_data(b), "fixed!", 6));
	/* Two different registered buffers in one fixed vectored op: refused. */
	vop = sr_readv_fixed(fd, two, 2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &vop, &vs), -EINVAL);
	CU_ASSERT(unit_said("different registered buffers"));
	CU_ASSERT(usable(a) && usable(b));
	CU_ASSERT_EQUAL(sr_buf_free(a), -EBUSY);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), -ENXIO);
	/* Unregistered: r2 may take them now. */
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r2, two, 2), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r2), 0);
	/* The most the kernel takes: 16384 (one byte each, of one page). */
	many = calloc((size_t)n, sizeof(*many));
	CU_ASSERT_FATAL(many != NULL);
	for (int i = 0; i < n; i++)
		many[i] = sr_buf_wrap(one, 1, 0);
	{
		int ret = sr_ring_register_buffers(r, many, (unsigned)n);

		/* Pinning counts against RLIMIT_MEMLOCK, which root is not held to. */
		if (ret == -ENOMEM && geteuid() != 0) {
			printf("\n    skip: %d fixed buffers: %s (not root)\n", n, sr_last_error());
		} else {
			CU_ASSERT_EQUAL(ret, 0);
			CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
		}
	}
	for (int i = 0; i < n; i++)
		sr_buf_free(many[i]);
	free(many);
	sr_ring_destroy(r);
	sr_ring_destroy(r2);
	CU_ASSERT_EQUAL(sr_buf_free(a), 0);
	sr_buf_free(b);
	sr_buf_free(c);
	close(fd);
}

/* --- registered files --------------------------------------------------------------------- */

/*
 * files_update into slots the kernel picks (IORING_FILE_INDEX_ALLOC): which
 * ones is not kept, so every handle to the table is retired (one might
 * otherwise reach a file that took its slot's place); a handle asked for
 * again works.  (files.c: sr__files_all_changed.)
 */
static void test_file_alloc_retires(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_files_update_submitted us;
	struct sr_files_update_completed uc;
	struct sr_files_update_op op;
	struct sr_file h, h2;
	int fa = unit_tmp_fd(), fb = unit_tmp_fd(), res = 0, ret;

	CU_ASSERT_FATAL(b && fa >= 0 && fb >= 0);
	CU_ASSERT_EQUAL(pwrite(fa, "AAAA", 4, 0), 4);
	CU_ASSERT_EQUAL_FATAL(sr_ring_register_files(r, 4), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 0, fa, &h), 0);
	CU_ASSERT_EQUAL(unit_read_file(r, h, b, &res), 0);
	CU_ASSERT_EQUAL(res, 4);
	op = sr_files_update(&fb, 1, (int)SR_IORING_FILE_INDEX_ALLOC);
	ret = sr_submit(r, &op, &us);
	if (ret) {
		printf("\n    skip: files_update into picked slots: %s\n", sr_last_error());
		goto out;
	}
	CU_ASSERT_EQUAL(sr_wait(r, &us, &uc), 0);
	CU_ASSERT_EQUAL(uc.res, 1);
	CU_ASSERT_EQUAL(unit_read_file(r, h, b, &res), -EBADF);
	CU_ASSERT(unit_said("has changed"));
	CU_ASSERT_EQUAL(sr_ring_file_handle(r, 0, &h2), 0);
	CU_ASSERT_EQUAL(unit_read_file(r, h2, b, &res), 0);
	CU_ASSERT(res == 4 && !memcmp(sr_buf_data(b), "AAAA", 4));
out:
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	close(fa);
	close(fb);
}

/* The table's last slot and one past it, clearing a slot, replacing it,
 * handles asked for by slot (bound / call_del / incdec mutants of files.c). */
/* The fallback backend's file table holds a duplicate of each descriptor
 * set.  With no descriptor left to duplicate into, setting a slot fails
 * (descriptor 0 too) and the slot stays empty; a duplicate that is
 * descriptor 0 (stdin was closed) is closed when its slot is cleared;
 * descriptor 0 itself can be set (files.c: sr_ring_files_set). */
static void test_fallback_file_dups(void)
{
	struct sr_ring_params fp = { .flags = SR_RING_FALLBACK };
	struct sr_ring *r = NULL;
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_file f;
	struct rlimit rl = { 0, 0 }, low;
	int fd = unit_tmp_fd(), in = fcntl(0, F_DUPFD_CLOEXEC, 3), lowest, res = 0;

	CU_ASSERT_FATAL(b && fd >= 0 && in >= 0 && pwrite(fd, "dup", 3, 0) == 3);
	CU_ASSERT_FATAL(sr_ring_create(&r, &fp) == 0 && sr_ring_register_files(r, 2) == 0);
	/* No descriptor free below the limit. */
	lowest = fcntl(0, F_DUPFD_CLOEXEC, 0);
	CU_ASSERT_FATAL(lowest > 0 && close(lowest) == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0);
	low = rl;
	low.rlim_cur = (rlim_t)lowest;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 0, 0, &f), -EMFILE);
	CU_ASSERT(unit_said("cannot hold fd 0 for slot 0"));
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, fd, &f), -EMFILE);
	CU_ASSERT_EQUAL(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CU_ASSERT(!sr_file_valid(f));
	CU_ASSERT_EQUAL(sr_ring_file_handle(r, 1, &f), 0);
	CU_ASSERT_EQUAL(unit_read_file(r, f, b, &res), 0);	/* the slot stayed empty */
	CU_ASSERT_EQUAL(res, -EBADF);
	/* Its duplicate is descriptor 0: cleared, the slot closes it. */
	CU_ASSERT_FATAL(close(0) == 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 0, fd, &f), 0);
	CU_ASSERT_EQUAL(fcntl(0, F_GETFD), FD_CLOEXEC);	/* the table's copy */
	CU_ASSERT_EQUAL(unit_read_file(r, f, b, &res), 0);
	CU_ASSERT_EQUAL(res, 3);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 0, -1, NULL), 0);
	CU_ASSERT(fcntl(0, F_GETFD) == -1 && errno == EBADF);
	/* Descriptor 0 set into a slot is a file like any other. */
	CU_ASSERT_FATAL(dup2(fd, 0) == 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, 0, &f), 0);
	CU_ASSERT(sr_file_valid(f));
	CU_ASSERT_EQUAL(unit_read_file(r, f, b, &res), 0);
	CU_ASSERT_EQUAL(res, 3);
	CU_ASSERT_FATAL(dup2(in, 0) == 0);
	close(in);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(fd);
}

/* A fallback recv that picked a group buffer and got nothing (the peer
 * closed) puts it back as the group keeps its buffers: under ASan,
 * poisoned, so a stray access is reported (group.c: sr__group_unpick). */
static void test_group_unpick_poisoned(void)
{
	struct sr_ring_params fp = { .flags = SR_RING_FALLBACK };
	struct sr_recv_multishot_submitted s;
	struct sr_recv_multishot_completed c;
	struct sr_recv_multishot_op op;
	struct sr_ring *r = NULL;
	struct sr_bufgroup *g;
	int sv[2];

	CU_ASSERT_FATAL(sr_ring_create(&r, &fp) == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	g = sr_bufgroup_create(r, 4, 64);
	CU_ASSERT_FATAL(g != NULL);
	close(sv[1]);
	op = sr_recv_multishot(sv[0], g);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT(c.res == 0 && !c.more && !c.buf);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 4);
#ifdef BOUNDS_ASAN
	for (unsigned i = 0; i < g->_nbufs; i++)
		CU_ASSERT(__asan_address_is_poisoned(g->_bufs[i]._data));
#else
	printf("\n    note: whether the buffer is poisoned again is seen under ASan (make check-sanitize)\n");
#endif
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	close(sv[0]);
}

/* Wait for stream s's next item: n bytes saying what, given back to g. */
static void stream_item(struct sr_ring *r, struct sr_bufgroup *g, struct sr_recv_multishot_submitted *s,
			const char *what)
{
	struct sr_recv_multishot_completed c;

	CU_ASSERT_EQUAL_FATAL(sr_wait(r, s, &c), 0);
	CU_ASSERT(c.res == (int)strlen(what) && c.more && c.buf && !memcmp(sr_buf_data(c.buf), what, strlen(what)));
	if (c.buf)
		CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, c.buf), 0);
}

/* A stream's next item is its own CQE, never the one at the CQ's head when
 * that belongs to another op (complete.c: next_at_head's check): a NOP's,
 * waiting in the CQ; another stream's, posted in the same enter (both
 * orders of waiting, so one of them meets the other's first). */
static void test_stream_not_head(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_bufgroup *g = sr_bufgroup_create(r, 8, 64);
	struct sr_recv_multishot_submitted s[2];
	struct sr_recv_multishot_completed c;
	struct sr_recv_multishot_op op;
	struct sr_nop_submitted ns;
	struct sr_nop_completed nc;
	struct sr_nop_op nop = sr_nop();
	int sv[2][2];

	CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[0]) == 0 &&
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[1]) == 0);
	for (int i = 0; i < 2; i++) {
		op = sr_recv_multishot(sv[i][0], g);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s[i]), 0);
	}
	CU_ASSERT(sr_ring_submit(r) >= 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &nop, &ns), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);	/* the NOP's CQE is first */
	CU_ASSERT_EQUAL(write(sv[0][1], "abc", 3), 3);
	stream_item(r, g, &s[0], "abc");
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL(nc.res, 0);
	for (int first = 0; first < 2; first++) {
		CU_ASSERT_EQUAL(write(sv[1][1], "xyz12", 5), 5);
		CU_ASSERT_EQUAL(write(sv[0][1], "abc", 3), 3);
		stream_item(r, g, &s[first], first ? "xyz12" : "abc");
		stream_item(r, g, &s[!first], first ? "abc" : "xyz12");
	}
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(sr_cancel(r, &s[i]), 0);
		do {
			CU_ASSERT_EQUAL_FATAL(sr_wait(r, &s[i], &c), 0);
			if (c.buf)
				sr_bufgroup_recycle(g, c.buf);
		} while (c.more);
	}
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	for (int i = 0; i < 2; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

/* A buffer queued to a send group while a bundle is out (after the kernel,
 * or the fallback's worker, took the two before it) is not that bundle's:
 * its completion gives back two, and the third stays queued for the next
 * bundle (group.c: sr__group_take_sent's end). */
static void test_send_group_queued_during(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_bufgroup *g = sr_bufgroup_create_send(r, 4);
	static const char *const part[3] = { "ab", "cd", "ef" };
	struct sr_send_bundle_submitted sub;
	struct sr_send_bundle_completed c;
	struct sr_send_bundle_op op;
	struct sr_buf *b[3];
	unsigned n = 0;
	long sent = 0;
	char back[8] = "";
	int sv[2], ready = 0;

	CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	for (int i = 0; i < 3; i++) {
		b[i] = sr_buf_alloc(8);
		CU_ASSERT_FATAL(b[i] != NULL);
		memcpy(sr_buf_data(b[i]), part[i], 2);
		sr_buf_set_len(b[i], 2);
	}
	CU_ASSERT_EQUAL(sr_bufgroup_queue(g, b[0]), 0);
	CU_ASSERT_EQUAL(sr_bufgroup_queue(g, b[1]), 0);
	op = sr_send_bundle(sv[0], g);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	/* The four bytes have gone out: the two buffers were taken. */
	for (int i = 0; i < 2000 && ready < 4; i++) {
		CU_ASSERT_FATAL(ioctl(sv[1], FIONREAD, &ready) == 0);
		if (ready < 4)
			usleep(1000);
	}
	CU_ASSERT_FATAL(ready == 4);
	CU_ASSERT_EQUAL(sr_bufgroup_queue(g, b[2]), 0);
	do {
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
		sent += c.res > 0 ? c.res : 0;
		n += c.nbufs;
	} while (c.more);
	CU_ASSERT(sent == 4 && n == 2);
	CU_ASSERT_EQUAL(sr_bufgroup_queued(g), 1);
	CU_ASSERT(!sr_buf_is_lent(b[0]) && !sr_buf_is_lent(b[1]) && sr_buf_is_lent(b[2]));
	op = sr_send_bundle(sv[0], g);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	do {
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
	} while (c.more);
	CU_ASSERT_EQUAL(sr_bufgroup_queued(g), 0);
	CU_ASSERT(!sr_buf_is_lent(b[2]));
	CU_ASSERT_EQUAL(recv(sv[1], back, sizeof(back), MSG_DONTWAIT), 6);
	CU_ASSERT(!memcmp(back, "abcdef", 6));
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(sr_buf_free(b[i]), 0);
	close(sv[0]);
	close(sv[1]);
}

/* Where a send group lives follows its ops: on a ring whose send_bundle runs
 * on the fallback (disabled here), the group is the backend's and the
 * bundle goes out; a capture ring (which never submits) registers nothing
 * with the kernel, so the group's id is still free there
 * (group.c: sr__send_groups_native). */
static void test_send_group_routes(void)
{
	struct sr_ring_params cp = { .entries = 4, .flags = SR_RING_CAPTURE };
	struct sr_ring *r = bring(8, 0, "send_bundle");
	struct sr_bufgroup *g = sr_bufgroup_create_send(r, 2);
	struct sr_send_bundle_submitted sub;
	struct sr_send_bundle_completed c;
	struct sr_send_bundle_op op;
	struct sr_buf *b = sr_buf_alloc(8);
	struct io_uring_buf_reg reg;
	char back[8] = "";
	void *br;
	int sv[2];

	CU_ASSERT_FATAL(g && b && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	memcpy(sr_buf_data(b), "route", 5);
	sr_buf_set_len(b, 5);
	CU_ASSERT_EQUAL(sr_bufgroup_queue(g, b), 0);
	op = sr_send_bundle(sv[0], g);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	do {
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
	} while (c.more);
	CU_ASSERT_EQUAL(c.res, 5);
	CU_ASSERT_EQUAL(recv(sv[1], back, sizeof(back), MSG_DONTWAIT), 5);
	CU_ASSERT(!sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	r = NULL;
	if (sr_caps_get()->setup_errno) {
		printf("\n    skip: a capture ring needs io_uring (%s)\n", sr_caps_get()->setup_why);
	} else {
		CU_ASSERT_FATAL(sr_ring_create(&r, &cp) == 0);
		g = sr_bufgroup_create_send(r, 2);
		CU_ASSERT_FATAL(g != NULL);
		br = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CU_ASSERT_FATAL(br != MAP_FAILED);
		memset(&reg, 0, sizeof(reg));
		reg.ring_addr = (unsigned long)br;
		reg.ring_entries = 1;
		reg.bgid = (uint16_t)sr_bufgroup_id(g);
		CU_ASSERT_EQUAL(io_uring_register_buf_ring(sr_ring_uring(r), &reg, 0), 0);
		CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
		sr_ring_destroy(r);
		munmap(br, 4096);
	}
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(sv[0]);
	close(sv[1]);
}

static void test_file_slots(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_file h, h2, h3, hq;
	int fa = unit_tmp_fd(), fb = unit_tmp_fd(), res = 0, ret;

	CU_ASSERT_FATAL(b && fa >= 0 && fb >= 0);
	CU_ASSERT_EQUAL(pwrite(fa, "AAAA", 4, 0), 4);
	CU_ASSERT_EQUAL(pwrite(fb, "BBBB", 4, 0), 4);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 0, fa, &h), -EINVAL);	/* no table */
	CU_ASSERT_EQUAL(sr_ring_unregister_files(r), -ENXIO);
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 0), -EINVAL);
	CU_ASSERT_EQUAL(sr_ring_register_files(r, (1U << 20) + 1), -EINVAL);
	CU_ASSERT(unit_said("1..1048576"));
	/* The largest table: allowed here (the kernel may still say no:
	 * RLIMIT_NOFILE), but not refused as too large. */
	ret = sr_ring_register_files(r, 1U << 20);
	if (ret == 0) {
		CU_ASSERT_EQUAL(sr_ring_unregister_files(r), 0);
	} else {
		CU_ASSERT(strstr(sr_last_error(), "1..1048576") == NULL);
	}
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 4), 0);
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 4), -EBUSY);
	CU_ASSERT_EQUAL(sr_ring_files_count(r), 4);
	/* Slot 4 of 4 is outside; slot 3 is the last. */
	h._gen = 99;
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 4, fa, &h), -EINVAL);
	CU_ASSERT(unit_said("slot 4 is outside the table (4 slots)"));
	CU_ASSERT(!sr_file_valid(h));
	CU_ASSERT_EQUAL(sr_ring_file_handle(r, 4, &hq), -EINVAL);
	CU_ASSERT(!sr_file_valid(hq));
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 3, fa, &h), 0);
	CU_ASSERT(sr_file_valid(h) && sr_file_slot(h) == 3);
	CU_ASSERT_EQUAL(sr_ring_file_handle(r, 3, &hq), 0);
	CU_ASSERT(hq._slot == h._slot && hq._gen == h._gen);
	CU_ASSERT_EQUAL(unit_read_file(r, h, b, &res), 0);
	CU_ASSERT(res == 4 && !memcmp(sr_buf_data(b), "AAAA", 4));
	/* Cleared: the old handle is refused before the kernel sees it. */
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 3, -1, &h2), 0);
	CU_ASSERT(!sr_file_valid(h2));
	CU_ASSERT_EQUAL(unit_read_file(r, h, b, &res), -EBADF);
	CU_ASSERT(unit_said("slot 3 has changed"));
	CU_ASSERT(usable(b));
	/* Asked for by slot, the empty slot gets a new generation: the old handle stays dead. */
	CU_ASSERT_EQUAL(sr_ring_file_handle(r, 3, &hq), 0);
	CU_ASSERT(sr_file_valid(hq) && hq._gen != h._gen);
	CU_ASSERT_EQUAL(unit_read_file(r, h, b, &res), -EBADF);
	/* Filled again, and twice in a row: every handle differs, only the newest works. */
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 3, fb, &h2), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 3, fb, &h3), 0);
	CU_ASSERT(h2._gen != h._gen && h3._gen != h2._gen && h3._gen != hq._gen);
	CU_ASSERT_EQUAL(unit_read_file(r, h2, b, &res), -EBADF);
	CU_ASSERT_EQUAL(unit_read_file(r, h3, b, &res), 0);
	CU_ASSERT(res == 4 && !memcmp(sr_buf_data(b), "BBBB", 4));
	/* Another slot is not disturbed by these. */
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 0, fa, &h), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 1, -1, NULL), 0);
	CU_ASSERT_EQUAL(unit_read_file(r, h, b, &res), 0);
	CU_ASSERT(res == 4 && !memcmp(sr_buf_data(b), "AAAA", 4));
	/* An empty handle. */
	memset(&hq, 0, sizeof(hq));
	CU_ASSERT_EQUAL(unit_read_file(r, hq, b, &res), -EBADF);
	CU_ASSERT(unit_said("handle is empty"));
	CU_ASSERT_EQUAL(sr_ring_unregister_files(r), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_files(r), -ENXIO);
	CU_ASSERT_EQUAL(sr_ring_files_count(r), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 0, fa, &h), -EINVAL);
	sr_ring_destroy(r);
	sr_buf_free(b);
	close(fa);
	close(fb);
}

/* --- buffer groups ------------------------------------------------------------------------ */

/* Recycling an item twice, a buffer from elsewhere, destroying the group
 * with an item out or with a stream still able to pick (guard / incdec /
 * call_del mutants of group.c), and the size bounds. */
static void test_group_misuse(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_bufgroup *g = sr_bufgroup_create(r, 2, 64), *g2;
	struct sr_buf *plain = sr_buf_alloc(64), *item, *item2;
	struct sr_recv_multishot_submitted s;
	struct sr_recv_multishot_completed c;
	struct sr_recv_multishot_op op;
	struct sr_write_submitted ws;
	struct sr_write_op w;
	int sv[2];

	CU_ASSERT_FATAL(g && plain && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 2);
	op = sr_recv_multishot(sv[0], g);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(write(sv[1], "one", 3), 3);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_FATAL(c.res == 3 && c.buf && c.more);
	item = c.buf;
	CU_ASSERT_EQUAL(sr_buf_len(item), 3);
	CU_ASSERT(!memcmp(sr_buf_data(item), "one", 3));
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 1);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), -EBUSY);
	CU_ASSERT(unit_said("1 buffer(s) are still out"));
	CU_ASSERT_EQUAL(sr_buf_free(item), -EINVAL);
	/* An item lent to an op cannot be recycled until it is back. */
	w = sr_write(sv[1], item, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, item), -EBUSY);
	CU_ASSERT(unit_said("lent to write"));
	{
		struct sr_write_completed wc;

		CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
		CU_ASSERT_EQUAL(wc.res, 3);
	}
	/* The item came back to the caller, not to the group. */
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 1);
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, item), 0);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 2);
	CU_ASSERT_PTR_NULL(sr_buf_data(item));	/* the group's again */
	CU_ASSERT(unit_said("lent to its provided-buffer group"));
	CU_ASSERT_EQUAL(sr_buf_len(item), 0);	/* nothing in it is the caller's */
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, item), -EALREADY);
	CU_ASSERT(unit_said("already back in group"));
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 2);
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, plain), -EINVAL);
	CU_ASSERT(unit_said("not from group"));
	/* Just past the group's buffers (their array is in the public struct). */
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, g->_bufs + g->_nbufs), -EINVAL);
	CU_ASSERT(unit_said("not from group"));
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, NULL), -EINVAL);
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(NULL, item), -EINVAL);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 2);
	/* Both buffers still go round: the echo arrived at sv[0], as the next item. */
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_FATAL(c.res == 3 && c.buf && c.more);
	item2 = c.buf;
	CU_ASSERT(!memcmp(sr_buf_data(item2), "one", 3));
	CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, item2), 0);
	/* The stream can still pick from the group: destroy refuses. */
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), -EBUSY);
	CU_ASSERT(unit_said("can still pick"));
	CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
	do {
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &s, &c), 0);
		if (c.buf)
			sr_bufgroup_recycle(g, c.buf);
	} while (c.more);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g), 2);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(NULL), -EINVAL);
	/* Counts: powers of two up to 32768; sizes 1..2 GiB. */
	CU_ASSERT_PTR_NULL(sr_bufgroup_create(r, 0, 64));
	CU_ASSERT_PTR_NULL(sr_bufgroup_create(r, 3, 64));
	CU_ASSERT_PTR_NULL(sr_bufgroup_create(r, 65536, 1));
	CU_ASSERT(unit_said("power of two up to 32768"));
	CU_ASSERT_PTR_NULL(sr_bufgroup_create(r, 1, 0));
	CU_ASSERT_PTR_NULL(sr_bufgroup_create(r, 1, (size_t)INT32_MAX + 1));
	g2 = sr_bufgroup_create(r, 32768, 1);
	CU_ASSERT_PTR_NOT_NULL(g2);
	if (g2) {
		CU_ASSERT_EQUAL(sr_bufgroup_available(g2), 32768);
		CU_ASSERT_EQUAL(sr_bufgroup_destroy(g2), 0);
	}
	g2 = sr_bufgroup_create(r, 1, 8);
	CU_ASSERT_PTR_NOT_NULL(g2);
	CU_ASSERT_EQUAL(sr_bufgroup_available(g2), 1);
	sr_ring_destroy(r);	/* takes the group with it */
	sr_buf_free(plain);
	close(sv[0]);
	close(sv[1]);
}

/* --- stale targets ------------------------------------------------------------------------ */

/* Requests that act on another op refuse a handle whose op is done, also
 * when its slot now holds a new op (the generation, not the slot, decides). */
static void test_stale_targets(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct __kernel_timespec ts = { .tv_nsec = 1000000 }, later = { .tv_sec = 10 };
	struct sr_poll_add_submitted ps, live;
	struct sr_poll_add_completed pc;
	struct sr_timeout_submitted ts_sub, tlive;
	struct sr_timeout_completed tc;
	struct sr_poll_add_op pa;
	struct sr_timeout_op to;
	struct sr_poll_update_op pu;
	struct sr_poll_update_submitted pus;
	struct sr_poll_update_completed puc;
	struct sr_poll_remove_op pr;
	struct sr_poll_remove_submitted prs;
	struct sr_poll_remove_completed prc;
	struct sr_timeout_remove_op tr;
	struct sr_timeout_remove_submitted trs;
	struct sr_timeout_remove_completed trc;
	struct sr_timeout_update_op tu;
	struct sr_timeout_update_submitted tus;
	struct sr_async_cancel_op ac;
	struct sr_async_cancel_submitted acs;
	int p[2];

	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	/* A poll that completed and was consumed: stale. */
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	pa = sr_poll_add(p[0], POLLIN);
	CU_ASSERT_EQUAL(sr_submit(r, &pa, &ps), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ps, &pc), 0);
	CU_ASSERT(pc.res & POLLIN);
	pu = sr_poll_update(ps.h, POLLIN | POLLOUT);
	CU_ASSERT_EQUAL(sr_submit(r, &pu, &pus), -ESTALE);
	CU_ASSERT(unit_said("stale handle"));
	pr = sr_poll_remove(ps.h);
	CU_ASSERT_EQUAL(sr_submit(r, &pr, &prs), -ESTALE);
	ac = sr_async_cancel(ps.h);
	CU_ASSERT_EQUAL(sr_submit(r, &ac, &acs), -ESTALE);
	CU_ASSERT_EQUAL(sr_cancel(r, &ps), -ESTALE);
	/* Its slot now holds a live poll of an empty pipe: the old handle still misses. */
	{
		char drain;

		CU_ASSERT_EQUAL(read(p[0], &drain, 1), 1);
	}
	pa = sr_poll_add(p[0], POLLIN);
	CU_ASSERT_EQUAL(sr_submit(r, &pa, &live), 0);
	CU_ASSERT_EQUAL(live.h._ud & SR__UD_SLOT_MASK, ps.h._ud & SR__UD_SLOT_MASK);
	pr = sr_poll_remove(ps.h);
	CU_ASSERT_EQUAL(sr_submit(r, &pr, &prs), -ESTALE);
	pu = sr_poll_update(ps.h, POLLIN);
	CU_ASSERT_EQUAL(sr_submit(r, &pu, &pus), -ESTALE);
	ac = sr_async_cancel(ps.h);
	CU_ASSERT_EQUAL(sr_submit(r, &ac, &acs), -ESTALE);
	CU_ASSERT_EQUAL(sr_cancel(r, &ps), -ESTALE);
	CU_ASSERT_EQUAL(sr_ring_submit(r) >= 0, 1);
	CU_ASSERT_EQUAL(sr_poll(r, &live, &pc), -EAGAIN);	/* untouched */
	/* The live one is reached. */
	pu = sr_poll_update(live.h, POLLIN);
	CU_ASSERT_EQUAL(sr_submit(r, &pu, &pus), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &pus, &puc), 0);
	CU_ASSERT_EQUAL(puc.res, 0);
	pr = sr_poll_remove(live.h);
	CU_ASSERT_EQUAL(sr_submit(r, &pr, &prs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &prs, &prc), 0);
	CU_ASSERT_EQUAL(prc.res, 0);
	CU_ASSERT_EQUAL(sr_wait(r, &live, &pc), 0);
	CU_ASSERT_EQUAL(pc.res, -ECANCELED);
	/* Timeouts: one that fired and was consumed is stale for remove and update. */
	to = sr_timeout(&ts);
	CU_ASSERT_EQUAL(sr_submit(r, &to, &ts_sub), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ts_sub, &tc), 0);
	CU_ASSERT_EQUAL(tc.res, -ETIME);
	tr = sr_timeout_remove(ts_sub.h);
	CU_ASSERT_EQUAL(sr_submit(r, &tr, &trs), -ESTALE);
	tu = sr_timeout_update(&later, ts_sub.h);
	CU_ASSERT_EQUAL(sr_submit(r, &tu, &tus), -ESTALE);
	to = sr_timeout(&later);
	CU_ASSERT_EQUAL(sr_submit(r, &to, &tlive), 0);
	CU_ASSERT_EQUAL(tlive.h._ud & SR__UD_SLOT_MASK, ts_sub.h._ud & SR__UD_SLOT_MASK);
	tr = sr_timeout_remove(ts_sub.h);
	CU_ASSERT_EQUAL(sr_submit(r, &tr, &trs), -ESTALE);
	tr = sr_timeout_remove(tlive.h);
	CU_ASSERT_EQUAL(sr_submit(r, &tr, &trs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &trs, &trc), 0);
	CU_ASSERT_EQUAL(trc.res, 0);
	CU_ASSERT_EQUAL(sr_wait(r, &tlive, &tc), 0);
	CU_ASSERT_EQUAL(tc.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	sr_ring_destroy(r);
	close(p[0]);
	close(p[1]);
}

/* --- the slot table ----------------------------------------------------------------------- */

static int submit_nops(struct sr_ring *r, struct sr_nop_submitted *subs, int n)
{
	for (int i = 0; i < n; i++) {
		struct sr_nop_op op = sr_nop();
		int ret = sr_submit(r, &op, &subs[i]);

		if (ret)
			return ret;
	}
	return 0;
}

/* The table grows up to max_inflight and no further (bound mutants of
 * sr__slot_grow), at a doubling (128) and between two (100). */
static void test_max_inflight(void)
{
	static const unsigned limits[] = { 100, 128 };
	struct sr_nop_submitted subs[130];
	struct sr_nop_completed c;

	for (unsigned k = 0; k < 2; k++) {
		unsigned lim = limits[k];
		struct sr_ring *r = bring(8, lim, NULL);
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL(submit_nops(r, subs, (int)lim), 0);
		CU_ASSERT_EQUAL(sr_ring_inflight(r), lim);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &subs[lim]), -EBUSY);
		CU_ASSERT(unit_said("ops in flight, the limit"));
		CU_ASSERT_EQUAL(sr_wait(r, &subs[7], &c), 0);
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_submit(r, &op, &subs[7]), 0);
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_submit(r, &op, &subs[lim]), -EBUSY);
		for (unsigned i = 0; i < lim; i++) {
			CU_ASSERT_EQUAL(sr_wait(r, &subs[i], &c), 0);
			CU_ASSERT_EQUAL(c.res, 0);
		}
		CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
		sr_ring_destroy(r);
	}
}

/* --- chains ------------------------------------------------------------------------------- */

/* After a chain's first failure nothing more is submitted: the next op's
 * builder is untouched and the chain reports the first error (guard
 * mutants of sr__chain_prep / sr__chain_added). */
static void test_chain_after_failure(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_read_op bad = sr_read(0, NULL, 0);
	struct sr_read_submitted bs;
	struct sr_nop_op op = sr_nop(), op2 = sr_nop();
	struct sr_nop_submitted s, s2;
	struct sr_nop_completed c;
	struct sr_chain ch;

	sr_chain_begin(r, &ch, 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op2, &s2), 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &bad, &bs), -EINVAL);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s), -EINVAL);
	CU_ASSERT_EQUAL(op.base._state, SR__OP_READY);	/* not submitted */
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 1);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), -EINVAL);
	CU_ASSERT_EQUAL(sr_wait(r, &s2, &c), 0);
	CU_ASSERT_EQUAL(c.res, 0);
	/* The op is still good for a submit of its own. */
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	/* A spent op in a chain: the submit says so, and that is the chain's error. */
	sr_chain_begin(r, &ch, 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s), -EALREADY);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), -EALREADY);
	/* A closed chain takes no link timeout: there is no op before it any more. */
	sr_chain_begin(r, &ch, 0);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	{
		struct __kernel_timespec ts = { .tv_sec = 1 };
		struct sr_link_timeout_submitted ls;

		CU_ASSERT_EQUAL(sr_chain_timeout(&ch, &ts, &ls), -EINVAL);
		CU_ASSERT(unit_said("the chain is empty"));
	}
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	/* Unknown flags. */
	sr_chain_begin(r, &ch, 1U << 4);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &s), -EINVAL);
	CU_ASSERT_EQUAL(op.base._state, SR__OP_READY);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), -EINVAL);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	sr_ring_destroy(r);
}

/* --- capabilities, in a child process ----------------------------------------------------- */

/*
 * The environment (SR_KERNEL, SR_DISABLE, ...) is read once per process,
 * so these run the test program again with SR_TEST_CHILD=caps: before
 * main, the constructor below prints what the library concludes, one fact
 * a line, and exits.
 */
/*
 * A provided-buffer stream of 2 buffers through 8 messages, each item
 * recycled: prints "items N", "mode M", "double E", "destroy D" (the group
 * mode is whatever this kernel, or SR_KERNEL, gives).
 */
static void group_child(void)
{
	struct sr_recv_multishot_submitted s;
	struct sr_recv_multishot_completed c;
	struct sr_recv_multishot_op op;
	struct sr_bufgroup *g;
	struct sr_ring *r = NULL;
	int sv[2], items = 0, dbl = 0;
	struct io_uring_buf_reg reg;
	unsigned id;
	void *br;

	if (sr_ring_create(&r, NULL) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		printf("error %s\n", sr_last_error());
		return;
	}
	g = sr_bufgroup_create(r, 2, 16);
	if (!g) {
		printf("error %s\n", sr_last_error());
		return;
	}
	printf("mode %d\n", g->_mode);
	op = sr_recv_multishot(sv[0], g);
	if (sr_submit(r, &op, &s)) {
		printf("error %s\n", sr_last_error());
		return;
	}
	for (int i = 0; i < 8; i++) {
		char msg[16];

		snprintf(msg, sizeof(msg), "m%d", i);
		if (write(sv[1], msg, 2) != 2 || sr_wait(r, &s, &c) || c.res != 2 || !c.buf ||
		    memcmp(sr_buf_data(c.buf), msg, 2))
			break;
		items++;
		if (sr_bufgroup_recycle(g, c.buf))
			break;
		if (i == 0)
			dbl = sr_bufgroup_recycle(g, c.buf);
		if (!c.more)
			break;
	}
	printf("items %d\ndouble %d\n", items, dbl);
	sr_cancel(r, &s);
	do {
		if (sr_wait(r, &s, &c))
			break;
		if (c.buf)
			sr_bufgroup_recycle(g, c.buf);
	} while (c.more);
	id = sr_bufgroup_id(g);
	printf("destroy %d\n", sr_bufgroup_destroy(g));
	/* The next group's id already taken by a kernel buffer ring (set up
	 * through liburing by hand): the kernel refuses the group, either way
	 * it is made, and no group is handed out. */
	br = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)br;
	reg.ring_entries = 1;
	reg.bgid = (uint16_t)(id + 1);
	if (br == MAP_FAILED || io_uring_register_buf_ring(sr_ring_uring(r), &reg, 0)) {
		printf("refused cannot-set-up\n");
	} else {
		g = sr_bufgroup_create(r, 2, 16);
		printf("refused %s\n", g ? "no" : sr_last_error());
	}
	sr_ring_destroy(r);
	if (br != MAP_FAILED)
		munmap(br, 4096);
}

/* Descriptors open in this process. */
static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

__attribute__((constructor)) static void caps_child(void)
{
	const char *what = getenv("SR_TEST_CHILD");
	const struct sr_caps *c;
	struct sr_ring *r = NULL;
	char why[256];
	int fds;

	if (!what)
		return;
	if (!strcmp(what, "group")) {
		group_child();
		fflush(stdout);
		_exit(0);
	}
	if (strcmp(what, "caps"))
		return;
	fds = count_fds();
	c = sr_caps_get();
	printf("fds_left %d\nio_uring_disabled %d\nseccomp %d\n", count_fds() - fds, c->io_uring_disabled,
	       c->seccomp);
	printf("kernel %u.%u.%u\nrunning %u.%u.%u\nsimulated %d\nenv_error %s\npolicy %d\nforce_fallback %d\n",
	       c->kernel.major, c->kernel.minor, c->kernel.patch, c->running.major, c->running.minor,
	       c->running.patch, c->simulated, c->env_error[0] ? c->env_error : "-", c->policy, c->force_fallback);
	if (sr_ring_create(&r, NULL) == 0) {
		struct sr_bufgroup *g = sr_bufgroup_create(r, 1, 16);

		printf("backend %s\nsetup_flags %u\ngroup_mode %d\n", sr_ring_backend(r), r->_setup_flags,
		       g ? g->_mode : -1);
		for (unsigned op = 0; op < sr_op_count; op++) {
			const char *u = sr_op_unavailable(r, op, why, sizeof(why));

			printf("op %s %s\n", sr_op_table[op].name, u ? u : "native");
		}
		sr_ring_destroy(r);
	} else {
		printf("ring_error %s\n", sr_last_error());
	}
	fflush(stdout);
	_exit(0);
}

struct child {
	char out[32768];
	size_t len;
};

/* Run this program as a capability child with these SR_* variables (NAME=VALUE, NULL-ended). */
static bool run_child_as(struct child *ch, const char *kind, const char *const *vars)
{
	char self[PATH_MAX], *argv[] = { self, NULL };
	static char keep[4][4096];
	static const char *const pass[] = { "PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LD_LIBRARY_PATH" };
	char *envp[16];
	int pfd[2], n = 0, status;
	ssize_t got;
	pid_t pid;

	ch->len = 0;
	ch->out[0] = 0;
	/* readlink, not /proc/self/exe itself: under valgrind that is valgrind. */
	got = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (got <= 0 || pipe2(pfd, O_CLOEXEC))
		return false;
	self[got] = 0;
	envp[n++] = (char *)kind;
	for (const char *const *v = vars; *v && n < 12; v++)
		envp[n++] = (char *)*v;
	/* Nothing else of this process's environment: no SR_BACKEND, SR_KERNEL, ... */
	for (unsigned i = 0; i < 4; i++)
		if (getenv(pass[i])) {
			snprintf(keep[i], sizeof(keep[i]), "%s=%s", pass[i], getenv(pass[i]));
			envp[n++] = keep[i];
		}
	envp[n] = NULL;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execve(self, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && (got = read(pfd[0], ch->out + ch->len, sizeof(ch->out) - 1 - ch->len)) > 0)
		ch->len += (size_t)got;
	ch->out[ch->len] = 0;
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && ch->len > 0;
}

static bool run_child(struct child *ch, const char *const *vars)
{
	return run_child_as(ch, "SR_TEST_CHILD=caps", vars);
}

/* The value of "KEY value" in the child's output, or NULL. */
static const char *child_get(const struct child *ch, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);

	for (const char *p = ch->out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, k) && p[k] == ' ') {
			const char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p - k - 1) : strlen(p + k + 1);

			snprintf(buf, len, "%.*s", (int)n, p + k + 1);
			return buf;
		}
	}
	return NULL;
}

static const char *child_op(const struct child *ch, const char *name, char *buf, size_t len)
{
	char key[80];

	snprintf(key, sizeof(key), "op %s", name);
	return child_get(ch, key, buf, len);
}

/* An integer from a /proc file: its first one, or the one after key; -1 if none. */
static int proc_int(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			if (sscanf(line, "%d", &v) != 1)
				v = -1;
			break;
		}
		if (!strncmp(line, key, strlen(key))) {
			sscanf(line + strlen(key), "%d", &v);
			break;
		}
	}
	fclose(f);
	return v;
}

static void kver_str(uint32_t code, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", code >> 16, (code >> 8) & 0xff, code & 0xff);
}

/*
 * SR_KERNEL at exactly the running kernel, at exactly an op's (and a setup
 * flag's, and a register operation's) kernel, and one step newer than
 * the running one (bound mutants of caps.c: > against >=).
 */
static void test_caps_edges(void)
{
	const struct sr_caps *c = sr_caps_get();
	struct sr_ring *r = NULL;
	struct child *ch = calloc(1, sizeof(*ch));
	char env[320], exact[40], got[256], want[256];
	uint32_t run = sr_kver_code(c->running), top = 0;
	unsigned top_op = 0;
	const char *vars[4] = { NULL };

	CU_ASSERT_FATAL(ch != NULL);
	if (c->setup_errno || !run) {
		printf("\n    skip: io_uring cannot be set up here (%s)\n", c->setup_why);
		free(ch);
		return;
	}
	/* 1. SR_KERNEL = the running version, exactly: taken, and nothing changes. */
	snprintf(exact, sizeof(exact), "%u.%u.%u", c->running.major, c->running.minor, c->running.patch);
	snprintf(env, sizeof(env), "SR_KERNEL=%s", exact);
	vars[0] = env;
	CU_ASSERT_FATAL(run_child(ch, vars));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "simulated", got, sizeof(got)), "1");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "kernel", got, sizeof(got)), exact);
	CU_ASSERT_STRING_EQUAL(child_get(ch, "env_error", got, sizeof(got)), "-");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "backend", got, sizeof(got)), "io_uring");
	/* What it read from /proc, and that it closed what it opened there. */
	CU_ASSERT_STRING_EQUAL(child_get(ch, "fds_left", got, sizeof(got)), "0");
	snprintf(want, sizeof(want), "%d", proc_int("/proc/sys/kernel/io_uring_disabled", NULL));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "io_uring_disabled", got, sizeof(got)), want);
	snprintf(want, sizeof(want), "%d", proc_int("/proc/self/status", "Seccomp:"));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "seccomp", got, sizeof(got)), want);
	{
		struct sr_ring_params p = { .flags = 0 };

		/* This process's own ring (the fallback backend when SR_BACKEND says so). */
		if (sr_ring_create(&r, &p) == 0) {
			if (sr_ring_uring(r)) {
				snprintf(want, sizeof(want), "%u", r->_setup_flags);
				CU_ASSERT_STRING_EQUAL(child_get(ch, "setup_flags", got, sizeof(got)), want);
				for (unsigned op = 0; op < sr_op_count; op++) {
					const char *u = child_op(ch, sr_op_table[op].name, got, sizeof(got));
					bool native = u && !strcmp(u, "native");

					if (native != sr_ring_native(r, op))
						printf("\n    %s: %s here, '%s' with SR_KERNEL=%s\n", sr_op_table[op].name,
						       sr_ring_native(r, op) ? "native" : "not native", u ? u : "?", exact);
					CU_ASSERT(native == sr_ring_native(r, op));
				}
			}
			sr_ring_destroy(r);
		}
	}
	/* 2. One step newer than the running kernel: ignored, and said so. */
	kver_str(run + ((run & 0xff) < 255 ? 1 : 0x100 - (run & 0xff)), got, sizeof(got));
	snprintf(env, sizeof(env), "SR_KERNEL=%s", got);
	CU_ASSERT_FATAL(run_child(ch, vars));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "simulated", got, sizeof(got)), "0");
	CU_ASSERT(strstr(child_get(ch, "env_error", got, sizeof(got)) ?: "", "newer than the running") != NULL);
	/* 3. Exactly the kernel of the newest op this kernel has: that op is not
	 * refused for its kernel, and an op one version newer is. */
	for (unsigned op = 0; op < sr_op_count; op++)
		if (sr_op_table[op].kernel <= run && sr_op_table[op].kernel > top && !sr_op_table[op].setup_any &&
		    c->opcode_ok[sr_op_table[op].opcode]) {
			top = sr_op_table[op].kernel;
			top_op = op;
		}
	CU_ASSERT_FATAL(top != 0);
	kver_str(top, exact, sizeof(exact));
	snprintf(env, sizeof(env), "SR_KERNEL=%s", exact);
	CU_ASSERT_FATAL(run_child(ch, vars));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "kernel", got, sizeof(got)), exact);
	for (unsigned op = 0; op < sr_op_count; op++) {
		const char *u = child_op(ch, sr_op_table[op].name, got, sizeof(got));
		char own[96];

		CU_ASSERT_FATAL(u != NULL);
		snprintf(own, sizeof(own), "%s needs Linux", sr_op_table[op].name);
		if (sr_op_table[op].kernel == top) {
			CU_ASSERT(strncmp(u, own, strlen(own)) != 0);
		} else if (sr_op_table[op].kernel > top) {
			CU_ASSERT(strncmp(u, own, strlen(own)) == 0);
		}
	}
	CU_ASSERT_STRING_EQUAL(child_op(ch, sr_op_table[top_op].name, got, sizeof(got)), "native");
	/* 4. 6.1: the first setup rung (DEFER_TASKRUN, 6.1) is allowed, as on
	 * this kernel; 5.19: kernel buffer rings (PBUF_RING, 5.19) are used. */
	if (run >= 0x060100) {
		struct sr_ring *own = NULL;
		struct sr_ring_params p = { .flags = 0 };

		vars[0] = "SR_KERNEL=6.1";
		CU_ASSERT_FATAL(run_child(ch, vars));
		if (sr_ring_create(&own, &p) == 0 && sr_ring_uring(own)) {
			snprintf(want, sizeof(want), "%u", own->_setup_flags);
			CU_ASSERT_STRING_EQUAL(child_get(ch, "setup_flags", got, sizeof(got)), want);
		}
		sr_ring_destroy(own);
		vars[0] = "SR_KERNEL=5.19";
		CU_ASSERT_FATAL(run_child(ch, vars));
		snprintf(want, sizeof(want), "%d", SR__GROUP_RING);
		CU_ASSERT_STRING_EQUAL(child_get(ch, "group_mode", got, sizeof(got)), want);
		vars[0] = "SR_KERNEL=5.18";
		CU_ASSERT_FATAL(run_child(ch, vars));
		snprintf(want, sizeof(want), "%d", SR__GROUP_LEGACY);
		CU_ASSERT_STRING_EQUAL(child_get(ch, "group_mode", got, sizeof(got)), want);
	}
	free(ch);
}

/* SR_DISABLE (in a child) and a ring's disable list name whole ops: "read"
 * is not "readv" or "read_fixed", "rea" is nothing. */
static void test_disable_whole_names(void)
{
	const char *vars[2] = { "SR_DISABLE=read,send_zc,", NULL };
	struct child *ch = calloc(1, sizeof(*ch));
	struct sr_ring *r = NULL;
	char got[256];

	CU_ASSERT_FATAL(ch != NULL);
	if (sr_caps_get()->setup_errno) {
		printf("\n    skip: io_uring cannot be set up here (%s)\n", sr_caps_get()->setup_why);
		free(ch);
		return;
	}
	CU_ASSERT_FATAL(run_child(ch, vars));
	CU_ASSERT(strstr(child_op(ch, "read", got, sizeof(got)) ?: "", "is disabled") != NULL);
	CU_ASSERT(strstr(child_op(ch, "send_zc", got, sizeof(got)) ?: "", "is disabled") != NULL);
	CU_ASSERT_STRING_EQUAL(child_op(ch, "readv", got, sizeof(got)), "native");
	CU_ASSERT_STRING_EQUAL(child_op(ch, "read_fixed", got, sizeof(got)), "native");
	CU_ASSERT_STRING_EQUAL(child_op(ch, "send", got, sizeof(got)), "native");
	CU_ASSERT_STRING_EQUAL(child_op(ch, "write", got, sizeof(got)), "native");
	vars[0] = "SR_DISABLE=rea,read_fixedx,xread,,";
	CU_ASSERT_FATAL(run_child(ch, vars));
	CU_ASSERT_STRING_EQUAL(child_op(ch, "read", got, sizeof(got)), "native");
	CU_ASSERT_STRING_EQUAL(child_op(ch, "read_fixed", got, sizeof(got)), "native");
	free(ch);
	/* A ring's own list, in this process. */
	r = bring(8, 0, "readv,write_fixed");
	if (unit_needs_uring(r, "telling native ops from disabled ones"))
		return;
	CU_ASSERT(!sr_ring_native(r, SR_OP_READV));
	CU_ASSERT(!sr_ring_native(r, SR_OP_WRITE_FIXED));
	CU_ASSERT(sr_ring_native(r, SR_OP_READ));
	CU_ASSERT(sr_ring_native(r, SR_OP_READV_FIXED));
	CU_ASSERT(sr_ring_native(r, SR_OP_WRITE));
	CU_ASSERT(sr_ring_native(r, SR_OP_WRITEV));
	sr_ring_destroy(r);
	r = bring(8, 0, "rea,write_fixe");
	CU_ASSERT(sr_ring_native(r, SR_OP_READ));
	CU_ASSERT(sr_ring_native(r, SR_OP_WRITE_FIXED));
	sr_ring_destroy(r);
}

/* Version strings at the edges of sr_kernel_parse and sr_kver_code. */
static void test_kernel_versions(void)
{
	struct sr_kver v, w;

	CU_ASSERT_EQUAL(sr_kernel_parse("65535.255.65535", &v), 0);
	CU_ASSERT(v.major == 65535 && v.minor == 255 && v.patch == 65535);
	CU_ASSERT_EQUAL(sr_kernel_parse("65536.1", &v), -EINVAL);
	CU_ASSERT(unit_said("out of range"));
	CU_ASSERT_EQUAL(sr_kernel_parse("6.65536", &v), -EINVAL);
	CU_ASSERT_EQUAL(sr_kernel_parse(NULL, &v), -EINVAL);
	CU_ASSERT_EQUAL(sr_kernel_parse("6.1.", &v), -EINVAL);
	CU_ASSERT_EQUAL(sr_kernel_parse("6.1.7-rc1+", &v), 0);
	CU_ASSERT(v.major == 6 && v.minor == 1 && v.patch == 7);
	/* Patch levels beyond 255 count as 255: never as the next minor. */
	CU_ASSERT_EQUAL(sr_kernel_parse("6.1.300", &v), 0);
	CU_ASSERT_EQUAL(sr_kernel_parse("6.1.255", &w), 0);
	CU_ASSERT_EQUAL(sr_kver_code(v), sr_kver_code(w));
	CU_ASSERT_EQUAL(sr_kernel_parse("6.2", &w), 0);
	CU_ASSERT(sr_kver_code(v) < sr_kver_code(w));
	CU_ASSERT_EQUAL(sr_op_lookup("read"), SR_OP_READ);
	CU_ASSERT_EQUAL(sr_op_lookup("rea"), -ENOENT);
	CU_ASSERT_EQUAL(sr_op_lookup(NULL), -ENOENT);
}

/* --- accessors, messages, status --------------------------------------------------------- */

/* What a buffer gives out in each state (guard mutants of buf.c's accessors). */
static void test_buffer_states(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	static const char ro[] = "const";
	struct sr_buf fake, *c = sr_buf_wrap_const(ro, 5), *b = sr_buf_alloc(8);
	struct sr_read_submitted s;
	struct sr_read_completed rc;
	struct sr_read_op op;
	int p[2];

	CU_ASSERT_FATAL(c && b && pipe2(p, O_CLOEXEC) == 0);
	memset(&fake, 0, sizeof(fake));
	CU_ASSERT_EQUAL(sr_buf_free(&fake), -EINVAL);
	CU_ASSERT(unit_said("not a live buffer"));
	CU_ASSERT_PTR_NULL(sr_buf_data(&fake));
	CU_ASSERT_PTR_NULL(sr_buf_cdata(&fake));
	CU_ASSERT_PTR_NULL(sr_buf_data(NULL));
	CU_ASSERT_PTR_NULL(sr_buf_cdata(NULL));
	CU_ASSERT_EQUAL(sr_buf_set_window(&fake, 0, 0), -EINVAL);
	op = sr_read(p[0], &fake, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EINVAL);
	CU_ASSERT(unit_said("sr_read_submit: buf: not a live buffer"));
	/* Read-only: bytes for reading only. */
	CU_ASSERT_PTR_NULL(sr_buf_data(c));
	CU_ASSERT(unit_said("read-only buffer; use sr_buf_cdata"));
	CU_ASSERT(sr_buf_cdata(c) == (const void *)ro);
	CU_ASSERT_EQUAL(sr_buf_len(c), 5);
	CU_ASSERT_EQUAL(sr_buf_cap(c), 5);
	CU_ASSERT_PTR_NULL(sr_buf_holder(b));
	/* Lent: nothing but its holder's name. */
	op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_PTR_NULL(sr_buf_cdata(b));
	CU_ASSERT(unit_said("sr_buf_cdata: the buffer is lent to read"));
	CU_ASSERT_EQUAL(sr_buf_set_window(b, 0, 1), -EBUSY);
	CU_ASSERT(unit_said("sr_buf_set_window: the buffer is lent to read"));
	CU_ASSERT_STRING_EQUAL(sr_buf_holder(b) ?: "", "read");
	CU_ASSERT_EQUAL(write(p[1], "k", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &rc), 0);
	CU_ASSERT_PTR_NULL(sr_buf_holder(b));
	CU_ASSERT_PTR_NOT_NULL(sr_buf_cdata(b));
	sr_ring_destroy(r);
	sr_buf_free(b);
	sr_buf_free(c);
	close(p[0]);
	close(p[1]);
}

/* sendmsg with a peer address, recvmsg filling one: the kernel gets the
 * name's valid length to send and its capacity to fill, and the name's
 * length afterwards is what the kernel wrote (msg_take / msg_return). */
static void test_message_names(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, from;
	socklen_t len = sizeof(to);
	int u1 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), u2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sr_buf *name = sr_buf_alloc(128), *data = sr_buf_alloc(32), *rname = sr_buf_alloc(128);
	struct sr_buf *rdata = sr_buf_alloc(32), *rctl = sr_buf_alloc(64);
	struct sr_sendmsg_submitted ss;
	struct sr_sendmsg_completed sc;
	struct sr_recvmsg_submitted rs;
	struct sr_recvmsg_completed rc;
	struct sr_sendmsg_op so;
	struct sr_recvmsg_op ro;
	struct sr_msg m, rm;

	CU_ASSERT_FATAL(u1 >= 0 && u2 >= 0 && name && data && rname && rdata && rctl);
	CU_ASSERT_FATAL(bind(u2, (struct sockaddr *)&to, sizeof(to)) == 0 &&
			getsockname(u2, (struct sockaddr *)&to, &len) == 0);
	memcpy(sr_buf_data(name), &to, sizeof(to));
	sr_buf_set_len(name, sizeof(to));	/* 16 valid bytes of 128 */
	memcpy(sr_buf_data(data), "hello", 5);
	sr_buf_set_len(data, 5);
	memset(&m, 0, sizeof(m));
	m.name = name;
	m.iov[0] = data;
	m.iovlen = 1;
	memset(&rm, 0, sizeof(rm));
	rm.name = rname;
	rm.control = rctl;
	rm.iov[0] = rdata;
	rm.iovlen = 1;
	sr_buf_set_len(rctl, 64);	/* the kernel gets the capacity, and says what it used */
	ro = sr_recvmsg(u2, &rm);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &rs), 0);
	so = sr_sendmsg(u1, &m);
	CU_ASSERT_EQUAL(sr_submit(r, &so, &ss), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ss, &sc), 0);
	CU_ASSERT_EQUAL(sc.res, 5);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 5);
	CU_ASSERT_EQUAL(sr_buf_len(rdata), 5);
	CU_ASSERT(!memcmp(sr_buf_data(rdata), "hello", 5));
	CU_ASSERT_EQUAL(sr_buf_len(rname), sizeof(struct sockaddr_in));
	len = sizeof(from);
	CU_ASSERT_EQUAL(getsockname(u1, (struct sockaddr *)&from, &len), 0);
	CU_ASSERT(((struct sockaddr_in *)sr_buf_data(rname))->sin_port == from.sin_port);
	CU_ASSERT_EQUAL(sr_buf_len(rctl), 0);	/* no ancillary data came */
	CU_ASSERT_EQUAL(sr_buf_len(name), sizeof(to));	/* what was sent stays */
	/* A failed receive: nothing written, no name. */
	ro = sr_recvmsg(-1, &rm);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT(rc.res < 0);
	CU_ASSERT_EQUAL(sr_buf_len(rname), 0);
	CU_ASSERT(usable(rname) && usable(rctl) && usable(rdata));
	/* Bounds of a message. */
	rm.iovlen = SR_MSG_MAX_IOV + 1;
	ro = sr_recvmsg(u2, &rm);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &rs), -EINVAL);
	CU_ASSERT(unit_said("at most SR_MSG_MAX_IOV"));
	ro = sr_recvmsg(u2, NULL);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &rs), -EINVAL);
	CU_ASSERT(unit_said("NULL message"));
	/* A name or control buffer lent elsewhere. */
	rm.iovlen = 1;
	so = sr_sendmsg(u1, &m);
	CU_ASSERT_EQUAL(sr_submit(r, &so, &ss), 0);
	rm.name = name;
	ro = sr_recvmsg(u2, &rm);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &rs), -EBUSY);
	rm.name = rname;
	rm.control = data;
	ro = sr_recvmsg(u2, &rm);
	CU_ASSERT_EQUAL(sr_submit(r, &ro, &rs), -EBUSY);
	CU_ASSERT(usable(rname) && usable(rdata));
	CU_ASSERT_EQUAL(sr_wait(r, &ss, &sc), 0);
	sr_ring_destroy(r);
	sr_buf_free(name);
	sr_buf_free(data);
	sr_buf_free(rname);
	sr_buf_free(rdata);
	sr_buf_free(rctl);
	close(u1);
	close(u2);
}

/* What sr_op_unavailable / sr_op_status say at their edges (caps.c). */
static void test_op_status_edges(void)
{
	const struct sr_caps *c = sr_caps_get();
	struct sr_ring_params sp = { .disable = "timeout_remove", .policy = SR_POLICY_STRICT };
	struct sr_ring *r = bring(8, 0, NULL), *r2 = NULL, *rf = NULL;
	struct sr_ring_params fp = { .flags = SR_RING_FALLBACK };
	char why[256], names[64];

	CU_ASSERT_STRING_EQUAL(sr_op_unavailable(r, 9999, why, sizeof(why)) ?: "", "op 9999 does not exist");
	CU_ASSERT(!sr_ring_native(r, 9999));
	CU_ASSERT(!strncmp(sr_op_status(r, 9999, why, sizeof(why)), "unavailable: op 9999 does not exist", 35));
	CU_ASSERT(strstr(sr_op_unavailable(NULL, SR_OP_READ, why, sizeof(why)) ?: "", "read") != NULL);
	/* A ring without io_uring, by its own flag. */
	CU_ASSERT_FATAL(sr_ring_create(&rf, &fp) == 0);
	CU_ASSERT_STRING_EQUAL(sr_ring_backend(rf), "fallback");
	CU_ASSERT_PTR_NULL(sr_ring_uring(rf));
	CU_ASSERT(!strncmp(sr_op_status(rf, SR_OP_READ, why, sizeof(why)), "fallback: ", 10));
	sr_op_unavailable(rf, SR_OP_READ, why, sizeof(why));
	CU_ASSERT(strstr(why, c->force_fallback ? "SR_BACKEND=fallback" : "the ring runs without io_uring") != NULL);
	sr_ring_destroy(rf);
	/* sr_flag_names: none, two names, and a buffer too small. */
	CU_ASSERT_STRING_EQUAL(sr_flag_names(sr_setup_flag_table, sr_setup_flag_count, 0, names, sizeof(names)),
			       "none");
	CU_ASSERT_STRING_EQUAL(sr_flag_names(sr_setup_flag_table, sr_setup_flag_count, (1U << 1) | (1U << 3), names,
					     sizeof(names)), "IORING_SETUP_SQPOLL IORING_SETUP_CQSIZE");
	sr_flag_names(sr_setup_flag_table, sr_setup_flag_count, ~0U, names, 12);
	CU_ASSERT(strlen(names) < 12);
	if (unit_needs_uring(r, "native and fallback ops side by side"))
		return;
	/* An op some other op acts on (timeout_remove on timeout) follows it to the backend... */
	sp.policy = SR_POLICY_GRACEFUL;
	CU_ASSERT_FATAL(sr_ring_create(&r2, &sp) == 0);
	CU_ASSERT(!sr_ring_native(r2, SR_OP_TIMEOUT_REMOVE));
	CU_ASSERT(!sr_ring_native(r2, SR_OP_TIMEOUT));
	CU_ASSERT(strstr(sr_op_unavailable(r2, SR_OP_TIMEOUT, why, sizeof(why)) ?: "",
			 "timeout runs on the fallback backend with timeout_remove, which acts on it") != NULL);
	CU_ASSERT(sr_ring_native(r2, SR_OP_NOP));
	sr_ring_destroy(r2);
	/* ... unless the policy is STRICT, which takes no fallback for it. */
	sp.policy = SR_POLICY_STRICT;
	CU_ASSERT_FATAL(sr_ring_create(&r2, &sp) == 0);
	CU_ASSERT(!sr_ring_native(r2, SR_OP_TIMEOUT_REMOVE));
	CU_ASSERT(sr_ring_native(r2, SR_OP_TIMEOUT));
	CU_ASSERT(strstr(sr_op_status(r2, SR_OP_TIMEOUT_REMOVE, why, sizeof(why)), "(policy STRICT takes no fallback)") != NULL);
	sr_ring_destroy(r2);
	/* An op that needs a setup flag the ring lacks. */
	if (sr_op_table[SR_OP_RECV_ZC].kernel <= sr_kver_code(c->kernel) && !sr_ring_native(r, SR_OP_RECV_ZC)) {
		CU_ASSERT(strstr(sr_op_unavailable(r, SR_OP_RECV_ZC, why, sizeof(why)) ?: "",
				 "recv_zc needs a ring set up with") != NULL);
	}
	sr_ring_destroy(r);
}

/* Rings with 128-byte SQEs, 32-byte CQEs, or no setup ladder: the SQ and CQ
 * are walked with the right strides (sr__setup's shifts and flags). */
static void test_ring_shapes(void)
{
	static const unsigned flags[] = { SR_RING_SQE128, SR_RING_CQE32, SR_RING_SQE128 | SR_RING_CQE32,
					   SR_RING_NO_LADDER };
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "shape", 5, 0), 5);
	{
		/* The CQ size asked for. */
		struct sr_ring_params p = { .entries = 4, .cq_entries = 64 };
		struct sr_ring *r = NULL;

		CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
		if (sr_ring_uring(r))
			CU_ASSERT_EQUAL(sr_ring_uring(r)->cq.ring_entries, 64);
		sr_ring_destroy(r);
	}
	for (unsigned k = 0; k < 4; k++) {
		struct sr_ring_params p = { .entries = 4, .flags = flags[k] };
		struct sr_nop_submitted ns[10];
		struct sr_nop_completed nc;
		struct sr_buf *b = sr_buf_alloc(8);
		struct sr_read_submitted rs;
		struct sr_read_completed rc;
		struct sr_read_op rd;
		struct sr_ring *r = NULL;

		CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
		CU_ASSERT_EQUAL(submit_nops(r, ns, 10), 0);
		rd = sr_read(fd, b, 0);
		CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
		for (int i = 9; i >= 0; i--) {
			CU_ASSERT_EQUAL(sr_wait(r, &ns[i], &nc), 0);
			CU_ASSERT_EQUAL(nc.res, 0);
		}
		CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
		CU_ASSERT(rc.res == 5 && !memcmp(sr_buf_data(b), "shape", 5));
		if (sr_ring_uring(r)) {
			unsigned f = sr_ring_uring(r)->flags;

			CU_ASSERT(!(flags[k] & SR_RING_SQE128) || (f & IORING_SETUP_SQE128));
			CU_ASSERT(!(flags[k] & SR_RING_CQE32) || (f & IORING_SETUP_CQE32));
			if (flags[k] == SR_RING_NO_LADDER) {
				CU_ASSERT_EQUAL(f & (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_DEFER_TASKRUN), 0);
			}
		}
		sr_ring_destroy(r);
		sr_buf_free(b);
	}
	close(fd);
}

/* --- queues that grow --------------------------------------------------------------------- */

/* More raw completions than the raw queue first holds (64), met while
 * waiting for a tracked op: kept in order (raw_keep's growth and wrap). */
static void test_raw_queue_growth(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct io_uring_cqe cqes[64];
	struct sr_nop_submitted s;
	struct sr_nop_completed c;
	struct sr_nop_op op;
	unsigned next = 1, n;

	if (unit_needs_uring(r, "raw ops"))
		return;
	/* 40 first, 30 of them taken: the queue's head moves on... */
	for (unsigned i = 1; i <= 40; i++)
		CU_ASSERT_EQUAL(sr_nop_raw(r, i), 0);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	n = (unsigned)sr_raw_wait(r, cqes, 30);
	CU_ASSERT_EQUAL(n, 30);
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(cqes[i].user_data, next++);
	/* ... then 100 more while a tracked op is waited: it wraps and grows. */
	for (unsigned i = 41; i <= 140; i++)
		CU_ASSERT_EQUAL_FATAL(sr_nop_raw(r, i), 0);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	while (next <= 140) {
		int got = sr_raw_wait(r, cqes, 7);

		CU_ASSERT_FATAL(got > 0 && got <= 7);
		for (int i = 0; i < got; i++)
			CU_ASSERT_EQUAL(cqes[i].user_data, next++);
	}
	CU_ASSERT_EQUAL(sr_raw_reap(r, cqes, 64), 0);
	sr_ring_destroy(r);
}

static void count_cb(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	(void)r;
	if (c->res == 0)
		*(int *)arg += 1;
}

/* More callback deliveries at once than the item pool first holds (256). */
static void test_many_deliveries(void)
{
	struct sr_ring *r = bring(512, 0, NULL);
	int hits = 0;

	for (int i = 0; i < 600; i++) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op, count_cb, &hits, NULL), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(hits, 600);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	sr_ring_destroy(r);
}

/* An op's storage grows in its slot (a vectored op after a small one). */
static void test_slot_storage(void)
{
	struct sr_ring *r = bring(8, 64, NULL);
	enum { N = 300 };
	struct sr_buf **v = calloc(N, sizeof(*v));
	struct sr_readv_submitted s;
	struct sr_readv_completed c;
	struct sr_readv_op op;
	int fd = unit_tmp_fd();
	char data[N];

	CU_ASSERT_FATAL(v && fd >= 0);
	for (int i = 0; i < N; i++) {
		v[i] = sr_buf_alloc(1);
		data[i] = (char)('a' + i % 26);
	}
	CU_ASSERT_EQUAL(pwrite(fd, data, N, 0), N);
	for (int round = 0; round < 3; round++) {
		unsigned n = round == 1 ? N : 1;

		op = sr_readv(fd, v, n, 0);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT_EQUAL(c.res, (int)n);
		for (unsigned i = 0; i < n; i++)
			CU_ASSERT_EQUAL(*(char *)sr_buf_data(v[i]), data[i]);
	}
	sr_ring_destroy(r);
	for (int i = 0; i < N; i++)
		sr_buf_free(v[i]);
	free(v);
	close(fd);
}

/* --- capture rings, chains, cancellation --------------------------------------------------- */

/* A capture ring builds SQEs and never submits: a full SQ says so and is
 * emptied by sr_ring_discard, which completes every op with -ECANCELED. */
static void test_capture_ring(void)
{
	struct sr_ring_params p = { .entries = 4, .flags = SR_RING_CAPTURE };
	struct sr_nop_submitted ns[5];
	struct sr_nop_completed nc;
	struct sr_nop_op op = sr_nop();
	struct sr_ring *r = NULL;

	if (sr_caps_get()->setup_errno) {
		printf("\n    skip: a capture ring needs io_uring (%s)\n", sr_caps_get()->setup_why);
		return;
	}
	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	CU_ASSERT_EQUAL(submit_nops(r, ns, 4), 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &ns[4]), -EBUSY);
	CU_ASSERT(unit_said("capture ring SQ is full"));
	CU_ASSERT_EQUAL(sr_ring_submit(r), 0);
	CU_ASSERT_EQUAL(sr_ring_poll(r), -EINVAL);
	CU_ASSERT(unit_said("capture ring never submits"));
	/* No room for a cancel request either: said, not dropped in silence. */
	CU_ASSERT_EQUAL(sr_cancel(r, &ns[0]), -EBUSY);
	CU_ASSERT(unit_said("sr_nop_cancel: no room to queue the cancel request"));
	CU_ASSERT_EQUAL(io_uring_sq_ready(sr_ring_uring(r)), 4);
	CU_ASSERT_EQUAL(sr_ring_discard(r), 4);
	CU_ASSERT_EQUAL(io_uring_sq_ready(sr_ring_uring(r)), 0);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &ns[i], &nc), 0);
		CU_ASSERT_EQUAL(nc.res, -ECANCELED);
	}
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &ns[4]), 0);
	CU_ASSERT_EQUAL(sr_ring_discard(r), 1);
	sr_ring_destroy(r);
}

/* Poll until the op is done or 2 s pass (a test must fail, not hang). */
#define POLL_DONE(r, sub, c, ret)							\
	do {										\
		for (int _i = 0; _i < 2000; _i++) {					\
			(ret) = sr_poll((r), (sub), (c));				\
			if ((ret) != -EAGAIN)						\
				break;							\
			sr_ring_run_once((r), 1);					\
		}									\
	} while (0)

/* chain_end takes the link off a chain's only SQE at the SQ's head, and a
 * request of the runtime's own (a cancel) made while a chain is open goes
 * in front of it rather than into it (sr__sqe_internal). */
static void test_chain_edges(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_buf *b = sr_buf_alloc(8), *t = sr_buf_alloc(8);
	struct sr_write_op w;
	struct sr_write_submitted ws;
	struct sr_write_completed wc;
	struct sr_read_op rd;
	struct sr_read_submitted target;
	struct sr_read_completed tc;
	struct sr_nop_op op;
	struct sr_nop_submitted ns;
	struct sr_nop_completed nc;
	struct sr_chain ch;
	int p[2], ret = -1;

	CU_ASSERT_FATAL(b && t && pipe2(p, O_CLOEXEC) == 0);
	sr_buf_set_len(b, 1);
	/* A chain of one failing op, alone in the SQ; what follows is not linked to it. */
	sr_chain_begin(r, &ch, 0);
	w = sr_write(-1, b, 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &ns), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL(nc.res, 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, -EBADF);
	/* A cancel asked for while a chain is open. */
	rd = sr_read(p[0], t, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &target), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);
	sr_chain_begin(r, &ch, 0);
	w = sr_write(-1, b, 0);
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &w, &ws), 0);
	CU_ASSERT_EQUAL(sr_cancel(r, &target), 0);
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &ns), 0);
	CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
	POLL_DONE(r, &target, &tc, ret);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(tc.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
	CU_ASSERT_EQUAL(wc.res, -EBADF);
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL(nc.res, -ECANCELED);
	if (ret == -EAGAIN) {
		sr_cancel(r, &target);
		sr_wait(r, &target, &tc);
	}
	sr_ring_destroy(r);
	sr_buf_free(b);
	sr_buf_free(t);
	close(p[0]);
	close(p[1]);
}

/* Cancelling by fd with nothing there finds nothing (0, not an error);
 * cancel_all skips what was already asked to cancel. */
static void test_cancel_counts(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_buf *b[2] = { sr_buf_alloc(8), sr_buf_alloc(8) };
	struct sr_read_submitted s[2];
	struct sr_read_completed c;
	struct sr_read_op rd;
	int p[2], q[2];

	CU_ASSERT_FATAL(b[0] && b[1] && pipe2(p, O_CLOEXEC) == 0 && pipe2(q, O_CLOEXEC) == 0);
	CU_ASSERT_EQUAL(sr_ring_cancel_fd(r, q[0]), 0);
	CU_ASSERT_EQUAL(sr_ring_cancel_all(r), 0);
	for (int i = 0; i < 2; i++) {
		rd = sr_read(p[0], b[i], (__u64)-1);
		CU_ASSERT_EQUAL(sr_submit(r, &rd, &s[i]), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_cancel_fd(r, q[0]), 0);
	CU_ASSERT_EQUAL(sr_cancel(r, &s[0]), 0);
	CU_ASSERT_EQUAL(sr_ring_cancel_all(r), 1);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, -ECANCELED);
		CU_ASSERT(usable(b[i]));
	}
	CU_ASSERT_EQUAL(sr_cancel(r, &s[0]), -ESTALE);
	sr_ring_destroy(r);
	/* At max_inflight there is no slot for the cancel request: it says so. */
	r = bring(8, 64, NULL);
	{
		struct sr_read_submitted full[64];
		struct sr_buf *bs[64];

		for (int i = 0; i < 64; i++) {
			bs[i] = sr_buf_alloc(1);
			rd = sr_read(p[0], bs[i], (__u64)-1);
			CU_ASSERT_EQUAL_FATAL(sr_submit(r, &rd, &full[i]), 0);
		}
		CU_ASSERT_EQUAL(sr_ring_cancel_fd(r, p[0]), -EBUSY);
		CU_ASSERT_EQUAL(sr_ring_cancel_all(r), 64);	/* needs no slot */
		for (int i = 0; i < 64; i++) {
			CU_ASSERT_EQUAL(sr_wait(r, &full[i], &c), 0);
			CU_ASSERT_EQUAL(c.res, -ECANCELED);
			sr_buf_free(bs[i]);
		}
	}
	sr_ring_destroy(r);
	sr_buf_free(b[0]);
	sr_buf_free(b[1]);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* A per-op personality reaches the kernel (an unknown one fails there);
 * a fallback cannot carry one and says so at submit. */
static void test_personality(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted s;
	struct sr_nop_completed c;

	sr_nop_set_personality(&op, 0x7ffe);
	if (!sr_ring_native(r, SR_OP_NOP)) {
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EOPNOTSUPP);
		CU_ASSERT(unit_said("a personality cannot apply to its fallback"));
	} else {
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT_EQUAL(c.res, -EINVAL);
	}
	sr_ring_destroy(r);
}

/* --- pools at scale and across rings ------------------------------------------------------ */

/* A pool larger than 1 GiB is registered as several regions (one per
 * GiB); a fixed vectored op cannot mix regions.  On a ring without
 * io_uring nothing is pinned, so 1.5 GiB of address space is all it costs. */
static void test_pool_regions(void)
{
	struct sr_ring_params fp = { .flags = SR_RING_FALLBACK };
	struct sr_pool *p = sr_pool_create(3, 512UL << 20, 0);
	struct sr_buf *b[3], *v[2];
	struct sr_readv_fixed_submitted s;
	struct sr_readv_fixed_completed c;
	struct sr_readv_fixed_op op;
	struct sr_ring *r = NULL;
	int fd = unit_tmp_fd();

	if (!p) {
		printf("\n    skip: no room for a 1.5 GiB pool here (%s)\n", sr_last_error());
		close(fd);
		return;
	}
	CU_ASSERT_FATAL(fd >= 0 && sr_ring_create(&r, &fp) == 0);
	CU_ASSERT_EQUAL(pwrite(fd, "regions", 7, 0), 7);
	CU_ASSERT_EQUAL(sr_ring_register_pool(r, p), 0);
	for (int i = 0; i < 3; i++)
		b[i] = sr_pool_take(p);
	CU_ASSERT_FATAL(b[0] && b[1] && b[2]);
	v[0] = b[0];
	v[1] = b[2];
	op = sr_readv_fixed(fd, v, 2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), -EINVAL);
	CU_ASSERT(unit_said("different registered buffers"));
	v[1] = b[1];
	sr_buf_set_window(b[0], 0, 3);
	sr_buf_set_window(b[1], 0, 4);
	op = sr_readv_fixed(fd, v, 2, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 7);
	CU_ASSERT(!memcmp(sr_buf_data(b[1]), "ions", 4));
	for (int i = 0; i < 3; i++)
		sr_pool_put(b[i]);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	/* Exactly 1 GiB: one region, nothing past the pool's buffers read. */
	p = sr_pool_create(2, 512UL << 20, 0);
	if (p) {
		CU_ASSERT_EQUAL(sr_ring_register_pool(r, p), 0);
		b[0] = sr_pool_take(p);
		b[1] = sr_pool_take(p);
		CU_ASSERT_FATAL(b[0] && b[1]);
		sr_buf_set_window(b[0], 0, 3);
		sr_buf_set_window(b[1], 0, 4);
		op = sr_readv_fixed(fd, b, 2, 0);
		CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT_EQUAL(c.res, 7);
		sr_pool_put(b[0]);
		sr_pool_put(b[1]);
		CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
		CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	}
	sr_ring_destroy(r);
	close(fd);
}

/* A pool registered with ring A, one of its buffers lent to a plain op of
 * ring B: A may unregister (the buffer is not lent to A's ops). */
static void test_pool_lent_elsewhere(void)
{
	struct sr_ring *ra = bring(8, 0, NULL), *rb = bring(8, 0, NULL);
	struct sr_pool *p = sr_pool_create(2, 4096, 0);
	struct sr_buf *b;
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op rd;
	int pfd[2];

	CU_ASSERT_FATAL(p && pipe2(pfd, O_CLOEXEC) == 0);
	CU_ASSERT_EQUAL(sr_ring_register_pool(ra, p), 0);
	b = sr_pool_take(p);
	rd = sr_read(pfd[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(rb, &rd, &s), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(ra), 0);
	CU_ASSERT_EQUAL(write(pfd[1], "e", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(rb, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, 1);
	sr_pool_put(b);
	sr_ring_destroy(ra);
	sr_ring_destroy(rb);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	close(pfd[0]);
	close(pfd[1]);
}

/* A destroyed group's kernel buffer ring is unregistered: its id can be
 * registered again by hand (group_free). */
static void test_group_unregistered(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_bufgroup *g;
	struct io_uring_buf_reg reg;
	void *mem;
	unsigned bgid;

	if (unit_needs_uring(r, "the kernel's buffer rings"))
		return;
	g = sr_bufgroup_create(r, 4, 16);
	CU_ASSERT_FATAL(g != NULL);
	if (g->_mode != SR__GROUP_RING) {
		printf("\n    skip: groups are not kernel buffer rings here\n");
		sr_ring_destroy(r);
		return;
	}
	bgid = sr_bufgroup_id(g);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(mem != MAP_FAILED);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)mem;
	reg.ring_entries = 4;
	reg.bgid = (unsigned short)bgid;
	CU_ASSERT_EQUAL(io_uring_register_buf_ring(sr_ring_uring(r), &reg, 0), 0);
	CU_ASSERT_EQUAL(io_uring_unregister_buf_ring(sr_ring_uring(r), (int)bgid), 0);
	sr_ring_destroy(r);
	munmap(mem, 4096);
}

/* A direct descriptor closed by close_direct: handles to its slot are refused. */
static void test_close_direct(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_openat_direct_op oo;
	struct sr_openat_direct_submitted os;
	struct sr_openat_direct_completed oc;
	struct sr_close_direct_op co;
	struct sr_close_direct_submitted cs;
	struct sr_close_direct_completed cc;
	int res = 0;

	if (unit_needs_uring(r, "direct descriptors")) {
		sr_buf_free(b);
		return;
	}
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 4), 0);
	oo = sr_openat_direct(AT_FDCWD, "/proc/self/stat", O_RDONLY, 0, 2);
	CU_ASSERT_EQUAL(sr_submit(r, &oo, &os), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &os, &oc), 0);
	CU_ASSERT_EQUAL(oc.res, 0);
	CU_ASSERT(sr_file_valid(oc.file) && sr_file_slot(oc.file) == 2);
	CU_ASSERT_EQUAL(unit_read_file(r, oc.file, b, &res), 0);
	CU_ASSERT(res > 0);
	co = sr_close_direct(2);
	CU_ASSERT_EQUAL(sr_submit(r, &co, &cs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &cs, &cc), 0);
	CU_ASSERT_EQUAL(cc.res, 0);
	CU_ASSERT_EQUAL(unit_read_file(r, oc.file, b, &res), -EBADF);
	CU_ASSERT(unit_said("slot 2 has changed"));
	sr_ring_destroy(r);
	sr_buf_free(b);
}


/* SR_POLICY, SR_BACKEND and SR_KERNEL as the library reads them (caps.c's
 * detect): good values taken, bad ones ignored and reported. */
static void test_env_parsing(void)
{
	static const char *const a[] = { "SR_POLICY=warn", "SR_BACKEND=uring", "SR_KERNEL=5.10", NULL };
	static const char *const b[] = { "SR_POLICY=bogus", "SR_BACKEND=fallback", NULL };
	static const char *const c[] = { "SR_POLICY=strict", "SR_KERNEL=junk", NULL };
	static const char *const d[] = { "SR_BACKEND=bogus", "SR_POLICY=graceful", NULL };
	struct child *ch = calloc(1, sizeof(*ch));
	char got[256];

	CU_ASSERT_FATAL(ch != NULL);
	if (sr_caps_get()->setup_errno) {
		printf("\n    skip: io_uring cannot be set up here (%s)\n", sr_caps_get()->setup_why);
		free(ch);
		return;
	}
	CU_ASSERT_FATAL(run_child(ch, a));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "policy", got, sizeof(got)), "1");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "force_fallback", got, sizeof(got)), "0");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "env_error", got, sizeof(got)), "-");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "kernel", got, sizeof(got)), "5.10.0");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "backend", got, sizeof(got)), "io_uring");
	/* send_zc is 6.0: its reason names the simulated kernel and the real one. */
	CU_ASSERT(strstr(child_op(ch, "send_zc", got, sizeof(got)) ?: "",
			 "send_zc needs Linux 6.0; running 5.10 (simulated by SR_KERNEL; really ") != NULL);
	CU_ASSERT_FATAL(run_child(ch, b));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "policy", got, sizeof(got)), "-1");
	CU_ASSERT(strstr(child_get(ch, "env_error", got, sizeof(got)) ?: "", "SR_POLICY=bogus") != NULL);
	CU_ASSERT_STRING_EQUAL(child_get(ch, "force_fallback", got, sizeof(got)), "1");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "backend", got, sizeof(got)), "fallback");
	CU_ASSERT(strstr(child_op(ch, "read", got, sizeof(got)) ?: "", "SR_BACKEND=fallback runs the ring") != NULL);
	CU_ASSERT_FATAL(run_child(ch, c));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "policy", got, sizeof(got)), "2");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "simulated", got, sizeof(got)), "0");
	CU_ASSERT(strstr(child_get(ch, "env_error", got, sizeof(got)) ?: "", "SR_KERNEL=junk is not a kernel version") != NULL);
	CU_ASSERT_FATAL(run_child(ch, d));
	CU_ASSERT_STRING_EQUAL(child_get(ch, "policy", got, sizeof(got)), "0");
	CU_ASSERT_STRING_EQUAL(child_get(ch, "force_fallback", got, sizeof(got)), "0");
	CU_ASSERT(strstr(child_get(ch, "env_error", got, sizeof(got)) ?: "", "SR_BACKEND=bogus: use uring or fallback") != NULL);
	free(ch);
}

/* Provided buffers handed over with PROVIDE_BUFFERS (no kernel buffer
 * rings before 5.19, simulated): recycled items go back to the kernel and
 * are picked again; the group is taken back from the kernel at destroy. */
static void test_legacy_group(void)
{
	static const char *const legacy[] = { "SR_KERNEL=5.18", NULL };
	static const char *const none[] = { NULL };
	struct child *ch = calloc(1, sizeof(*ch));
	char got[256], want[16];

	CU_ASSERT_FATAL(ch != NULL);
	if (sr_caps_get()->setup_errno || sr_kver_code(sr_caps_get()->running) < 0x051300) {
		printf("\n    skip: needs io_uring with kernel buffer rings here, to simulate a kernel without\n");
		free(ch);
		return;
	}
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_FATAL(run_child_as(ch, "SR_TEST_CHILD=group", k ? none : legacy));
		snprintf(want, sizeof(want), "%d", k ? SR__GROUP_RING : SR__GROUP_LEGACY);
		CU_ASSERT_STRING_EQUAL(child_get(ch, "mode", got, sizeof(got)) ?: ch->out, want);
		CU_ASSERT_STRING_EQUAL(child_get(ch, "items", got, sizeof(got)) ?: ch->out, "8");
		snprintf(want, sizeof(want), "%d", -EALREADY);
		CU_ASSERT_STRING_EQUAL(child_get(ch, "double", got, sizeof(got)) ?: ch->out, want);
		CU_ASSERT_STRING_EQUAL(child_get(ch, "destroy", got, sizeof(got)) ?: ch->out, "0");
		got[0] = 0;
		child_get(ch, "refused", got, sizeof(got));
		CU_ASSERT(strstr(got, k ? "registering buffer ring" : "refused buffer group") != NULL);
		if (!strstr(got, k ? "registering buffer ring" : "refused buffer group"))
			printf("\n    refused: %s\n", got);
	}
	free(ch);
}


/* A submit refused for a full SQ (SR_RING_SQ_NOFLUSH) takes no slot with it:
 * a hundred refusals later the whole max_inflight is still there. */
static void test_full_sq_keeps_slots(void)
{
	struct sr_ring_params p = { .entries = 4, .max_inflight = 64,
				    .flags = SR_RING_SQ_NOFLUSH | SR_RING_NO_LADDER };
	struct sr_nop_submitted subs[64];
	struct sr_nop_completed c;
	struct sr_ring *r = NULL;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	if (unit_needs_uring(r, "the kernel's SQ running full"))
		return;
	CU_ASSERT_EQUAL(submit_nops(r, subs, 4), 0);
	for (int i = 0; i < 100; i++) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &subs[4]), -EBUSY);
	}
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 4);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(sr_wait(r, &subs[i], &c), 0);
	/* 64 in flight at once, four at a time through the SQ. */
	for (int i = 0; i < 64; i += 4) {
		CU_ASSERT_EQUAL_FATAL(submit_nops(r, subs + i, 4), 0);
		CU_ASSERT_EQUAL(sr_ring_submit(r), 4);
	}
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 64);
	for (int i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(sr_wait(r, &subs[i], &c), 0);
	sr_ring_destroy(r);
}


/* sr_ring_discard counts the caller's ops, not the runtime's own requests
 * queued with them (a cancel). */
static void test_discard_counts(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op rd;
	int p[2];

	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	rd = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &s), 0);
	CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
	/* (The fallback backend cancels a job that has not started at once.) */
	CU_ASSERT_EQUAL(sr_ring_discard(r), sr_ring_uring(r) ? 1 : 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	CU_ASSERT(usable(b));
	CU_ASSERT_EQUAL(sr_ring_discard(r), 0);
	sr_ring_destroy(r);
	sr_buf_free(b);
	close(p[0]);
	close(p[1]);
}

/* SR_RING_EVENTFD: the eventfd is there from the start, so a completion
 * before anyone asked for it is counted; run_once waits as long as told. */
static void test_ring_waits(void)
{
	struct sr_ring_params ep = { .flags = SR_RING_EVENTFD };
	struct sr_ring *r = NULL;
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted s;
	struct sr_nop_completed c;
	struct pollfd pfd = { .events = POLLIN };
	struct timespec t0, t1;
	double ms;

	CU_ASSERT_FATAL(sr_ring_create(&r, &ep) == 0);
	CU_ASSERT(sr_ring_fd(r) >= 0);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	for (int i = 0; i < 200 && sr_poll(r, &s, &c) == -EAGAIN; i++)
		usleep(1000);
	pfd.fd = sr_ring_eventfd(r);
	CU_ASSERT(pfd.fd >= 0);
	CU_ASSERT_EQUAL(sr_ring_eventfd(r), pfd.fd);
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 1);
	/* Nothing in flight: no callbacks to run; run_once returns 0 at once,
	 * or after the time given. */
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(sr_ring_run_once(r, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(sr_ring_run_once(r, 30), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	CU_ASSERT(ms >= 25);
	sr_ring_destroy(r);
}


/* A handle whose slot is one past the table, and a stale handle whose slot
 * now holds another op that has completed (reaped into its slot, not yet
 * consumed): neither reaches that op (bound / eqneq mutants of
 * sr__slot_of and sr__wait_done); a chain's last handle spoilt so. */
static void test_handle_edges(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted a, b, forged;
	struct sr_nop_completed c;

	CU_ASSERT_EQUAL(sr_submit(r, &op, &a), 0);
	forged.h._ud = (a.h._ud & ~SR__UD_SLOT_MASK) | r->_nslots;
	forged.h._ring = a.h._ring;
	CU_ASSERT_EQUAL(sr_cancel(r, &forged), -EINVAL);
	CU_ASSERT(unit_said("not a handle from sr_nop_submit on this ring"));
	CU_ASSERT_EQUAL(sr_wait(r, &forged, &c), -EINVAL);
	CU_ASSERT_EQUAL(sr_poll(r, &forged, &c), -EINVAL);
	CU_ASSERT_EQUAL(sr_wait(r, &a, &c), 0);
	/* a is consumed; b takes its slot and completes into it. */
	op = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &op, &b), 0);
	CU_ASSERT_EQUAL(b.h._ud & SR__UD_SLOT_MASK, a.h._ud & SR__UD_SLOT_MASK);
	for (int i = 0; i < 1000 && r->_slots[b.h._ud & SR__UD_SLOT_MASK]._state != SR__SLOT_DONE; i++)
		sr_ring_run_once(r, 1);
	CU_ASSERT_EQUAL_FATAL(r->_slots[b.h._ud & SR__UD_SLOT_MASK]._state, SR__SLOT_DONE);
	CU_ASSERT_EQUAL(sr_wait(r, &a, &c), -ESTALE);
	CU_ASSERT_EQUAL(sr_poll(r, &a, &c), -ESTALE);
	CU_ASSERT_EQUAL(sr_wait(r, &b, &c), 0);
	CU_ASSERT_EQUAL(c.res, 0);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	/* A chain whose last handle is spoilt to one past the table: ending
	 * it unlinks nothing and reads nothing past the table (ASan). */
	{
		struct sr_chain ch;

		sr_chain_begin(r, &ch, 0);
		op = sr_nop();
		CU_ASSERT_EQUAL(sr_chain_add(&ch, &op, &a), 0);
		ch._last = (ch._last & ~SR__UD_SLOT_MASK) | r->_nslots;
		CU_ASSERT_EQUAL(sr_chain_end(&ch), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &a, &c), 0);
	}
	sr_ring_destroy(r);
}

/*
 * The inline submit of a program built before sr__track_cb: a single-shot
 * callback op whose final completion goes through an item from sr__track.
 */
static int old_nop_submit_cb(struct sr_ring *r, sr_nop_cb cb, void *arg)
{
	struct sr_nop_op op = sr_nop();
	struct sr_handle h;
	struct sr__begun b = sr__begin(r, &op.base, SR_OP_NOP);

	if (!b.sqe)
		return sr__begin_error();
	if (sr__track(r, b.idx, sr__nop_deliver, (void (*)(void))cb, arg))
		return sr__abort(r, b.idx, b.sqe, -ENOMEM, "old_nop_submit_cb");
	sr_prep_nop(b.sqe);
	sr__commit(r, &op.base, SR_OP_NOP, b, b.sqe, &h, SR__SF_CB);
	return 0;
}

static unsigned cb_seen[1 + 48];

static void order_cb(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	(void)r;
	CU_ASSERT_EQUAL(c->res, 0);
	cb_seen[cb_seen[0]++ + 1] = (unsigned)(uintptr_t)arg;
}

/* Single-shot callbacks queue through their slots, an old program's
 * through items, in one queue: delivered in completion order, every item
 * back (ASan, valgrind), in rounds that reuse the slots. */
static void test_callback_queue_mixed(void)
{
	struct sr_ring *r = bring(64, 0, NULL);

	for (int round = 0; round < 3; round++) {
		memset(cb_seen, 0, sizeof(cb_seen));
		for (unsigned i = 0; i < 48; i++) {
			struct sr_nop_op op = sr_nop();
			int ret;

			if (i % 3 == 1)
				ret = old_nop_submit_cb(r, order_cb, (void *)(uintptr_t)i);
			else
				ret = sr_submit_cb(r, &op, order_cb, (void *)(uintptr_t)i, NULL);
			CU_ASSERT_EQUAL(ret, 0);
		}
		CU_ASSERT_EQUAL(sr_ring_run(r), 0);
		CU_ASSERT_EQUAL_FATAL(cb_seen[0], 48);
		for (unsigned i = 0; i < 48; i++)
			CU_ASSERT_EQUAL(cb_seen[i + 1], i);
		CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/*
 * The inline submit and deliver of a read_cb in a program built before
 * SR__SF_DFIN: the runtime gives its buffer back at completion, through
 * the op's finish, and its deliver does not.
 */
static void old_read_deliver(struct sr_ring *r, uint32_t idx)
{
	struct sr_cqe e = { r->_slots[idx]._res, r->_slots[idx]._cflags };
	struct sr_read_completed c;

	sr__read_fill(r, idx, &e, &c);
	((sr_read_cb)r->_slotx[idx]._cb)(r, &c, r->_slotx[idx]._cb_arg);
}

static int old_read_submit_cb(struct sr_ring *r, int fd, struct sr_buf *buf, sr_read_cb cb, void *arg)
{
	struct sr_read_op op = sr_read(fd, buf, 0);
	struct sr_handle h;
	struct sr__begun b = sr__begin(r, &op.base, SR_OP_READ);

	if (!b.sqe)
		return sr__begin_error();
	sr__track_cb(r, b.idx, old_read_deliver, (void (*)(void))cb, arg);
	r->_slotx[b.idx]._lent[0] = buf;
	sr__buf_lend(r, buf, SR_OP_READ);
	sr_prep_read(b.sqe, fd, sr__buf_io_ptr(buf), (unsigned)sr__buf_io_len(buf, SR__OUT), 0);
	sr__commit(r, &op.base, SR_OP_READ, b, b.sqe, &h, SR__SF_FINISH | SR__SF_CB);
	return 0;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sr_buf *dfin_bufs[6];
static bool dfin_done[6], dfin_all_reaped;
static unsigned dfin_seen;

/* Callback i: its own buffer is the caller's, with the data; an op of this
 * program not delivered yet still holds its buffer (it comes back with its
 * own callback), an old program's is back once completed. */
static void dfin_cb(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	(void)r;
	CU_ASSERT_FATAL(i < 6 && !dfin_done[i]);
	dfin_done[i] = true;
	dfin_seen++;
	CU_ASSERT_EQUAL(c->res, 5);
	CU_ASSERT_PTR_EQUAL(c->buf, dfin_bufs[i]);
	CU_ASSERT_EQUAL(sr_buf_len(c->buf), 5);
	CU_ASSERT(!memcmp(sr_buf_data(c->buf), "hello", 5));
	CU_ASSERT(usable(c->buf));
	for (unsigned j = 0; j < 6; j++) {
		if (dfin_done[j])
			continue;
		if (j % 2 == 0 || dfin_all_reaped)
			CU_ASSERT_EQUAL(sr_buf_is_lent(dfin_bufs[j]), j % 2 == 0);
		if (j % 2 == 0)
			CU_ASSERT(!sr_buf_data(dfin_bufs[j]) && strstr(sr_last_error(), "until its callback runs"));
	}
}

static void dfin_any_cb(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	(void)r;
	(void)arg;
	dfin_seen++;
	CU_ASSERT(c->res == 5 || c->res == -ECANCELED);
	CU_ASSERT(usable(c->buf));
}

/* A read with a callback gives its buffer back when its callback runs;
 * one submitted by a program built before that, at its completion. */
static void test_callback_buffer_back(void)
{
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(pwrite(fd, "hello", 5, 0), 5);
	for (unsigned k = 0; k < 2; k++) {
		struct sr_ring_params p = { .entries = 16, .flags = kinds[k] };
		struct sr_ring *r = NULL;

		CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
		for (unsigned i = 0; i < 6; i++)
			dfin_bufs[i] = sr_buf_alloc(64);
		for (int round = 0; round < 2; round++) {
			memset(dfin_done, 0, sizeof(dfin_done));
			dfin_seen = 0;
			for (unsigned i = 0; i < 6; i++) {
				struct sr_read_op op = sr_read(fd, dfin_bufs[i], 0);
				int ret = i % 2 ? old_read_submit_cb(r, fd, dfin_bufs[i], dfin_cb, (void *)(uintptr_t)i)
						: sr_submit_cb(r, &op, dfin_cb, (void *)(uintptr_t)i, NULL);

				CU_ASSERT_EQUAL(ret, 0);
			}
			/* On io_uring, all six completions wait in the CQ before
			 * the first callback: the old program's buffers are back
			 * before their callbacks. */
			dfin_all_reaped = false;
			if (sr_ring_uring(r)) {
				CU_ASSERT(sr_ring_submit(r) >= 0);
				for (int t = 0; t < 2000 && io_uring_cq_ready(sr_ring_uring(r)) < 6; t++)
					usleep(500);
				dfin_all_reaped = io_uring_cq_ready(sr_ring_uring(r)) == 6;
				CU_ASSERT(dfin_all_reaped);
			}
			for (double t0 = mono_now(); dfin_seen < 6 && mono_now() - t0 < 30;)
				CU_ASSERT(sr_ring_run_once(r, 100) >= 0);
			CU_ASSERT_EQUAL(dfin_seen, 6);
		}
		/* Undelivered at destroy: the callbacks run (cancelled or done)
		 * and every buffer is back. */
		dfin_seen = 0;
		for (unsigned i = 0; i < 6; i++) {
			struct sr_read_op op = sr_read(fd, dfin_bufs[i], 0);

			CU_ASSERT_EQUAL(sr_submit_cb(r, &op, dfin_any_cb, NULL, NULL), 0);
		}
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
		CU_ASSERT_EQUAL(dfin_seen, 6);
		for (unsigned i = 0; i < 6; i++) {
			CU_ASSERT(usable(dfin_bufs[i]));
			CU_ASSERT_EQUAL(sr_buf_free(dfin_bufs[i]), 0);
		}
	}
	close(fd);
}

/*
 * A pointer into one of a group's buffers passes a range check: its fields
 * are other fields' bytes (at +80, "_data" is the group itself, where the
 * kernel would write the next datagram).  Neither it nor a copy of a
 * buffer's struct is one of the group's buffers: recycling or freeing one
 * is refused and changes nothing.  Both backends; then a detached group
 * (its ring destroyed with the buffer out) frees only for the real one.
 */
static void test_group_pointer_into(void)
{
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };
	static const size_t offs[] = { 1, 8, 16, 40, 80, sizeof(struct sr_buf) - 1 };

	for (unsigned k = 0; k < 2; k++) {
		struct sr_ring_params p = { .entries = 8, .flags = kinds[k] };
		struct sr_recv_multishot_submitted s;
		struct sr_recv_multishot_completed c;
		struct sr_recv_multishot_op op;
		struct sr_ring *r = NULL;
		struct sr_bufgroup *g;
		struct sr_buf copy, *held;
		int sv[2];

		CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
		g = sr_bufgroup_create(r, 4, 64);
		CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
		op = sr_recv_multishot(sv[0], g);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
		CU_ASSERT_EQUAL(send(sv[1], "hello", 5, 0), 5);
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT_FATAL(c.res == 5 && c.buf);
		for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			struct sr_buf *bad = (struct sr_buf *)((char *)c.buf + offs[i]);

			CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, bad), -EINVAL);
			CU_ASSERT(unit_said("not from group"));
		}
		CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, (struct sr_buf *)((char *)c.buf - 8)), -EINVAL);
		memcpy(&copy, c.buf, sizeof(copy));
		CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, &copy), -EINVAL);
		CU_ASSERT_EQUAL(sr_buf_free(&copy), -EINVAL);
		/* Nothing moved: the buffer is still the caller's, with its bytes. */
		CU_ASSERT(sr_buf_len(c.buf) == 5 && !memcmp(sr_buf_data(c.buf), "hello", 5) && usable(c.buf));
		CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, c.buf), 0);
		CU_ASSERT_EQUAL(send(sv[1], "again", 5, 0), 5);
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT_FATAL(c.res == 5 && c.buf && !memcmp(sr_buf_data(c.buf), "again", 5));
		held = c.buf;
		/* Detached: the ring goes with the buffer out. */
		unit_stream_cancel(r, g, &s, &c);
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
		memcpy(&copy, held, sizeof(copy));
		CU_ASSERT_EQUAL(sr_buf_free(&copy), -EINVAL);
		CU_ASSERT_EQUAL(sr_buf_free((struct sr_buf *)((char *)held + 8)), -EINVAL);
		CU_ASSERT(!memcmp(sr_buf_data(held), "again", 5));
		CU_ASSERT_EQUAL(sr_buf_free(held), 0);	/* the group goes with it */
		close(sv[0]);
		close(sv[1]);
	}
}

/*
 * A copy of a buffer's struct (memcpy, assignment) is not the buffer.
 * Lent in its place, it would leave the original free to be freed, put
 * back or recycled while the kernel writes into the bytes both point at.
 * Every way in refuses it: a plain buffer, a pool's taken buffer, a
 * group's buffer; submit (inline check), vectored and message ops, the
 * accessors, free, put, registration; both backends.  The same for a
 * copy of a group's struct.
 */
static void test_buffer_copies(void)
{
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };

	for (unsigned k = 0; k < 2; k++) {
		struct sr_ring_params p = { .entries = 8, .flags = kinds[k] };
		struct sr_recv_multishot_submitted ms;
		struct sr_recv_multishot_completed mc;
		struct sr_read_submitted rs;
		struct sr_read_completed rc;
		struct sr_readv_submitted vs;
		struct sr_readv_completed vc;
		struct sr_recvmsg_submitted gs;
		struct sr_recvmsg_completed gc;
		struct sr_ring *r = NULL;
		struct sr_buf *own[3], copy[3], *v[1];
		struct sr_bufgroup *g, *sg;
		struct sr_pool *pool;
		struct sr_msg m = { .iovlen = 1 };
		int pfd[2], sv[2], sm[2], ret;

		CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
		pool = sr_pool_create(2, 64, 0);
		g = sr_bufgroup_create(r, 2, 64);
		sg = sr_bufgroup_create_send(r, 2);
		CU_ASSERT_FATAL(pool && g && sg && pipe(pfd) == 0 &&
				socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0 &&
				socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sm) == 0);
		struct sr_recv_multishot_op mop = sr_recv_multishot(sv[0], g);

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &mop, &ms), 0);
		CU_ASSERT_EQUAL(send(sv[1], "hello", 5, 0), 5);
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &ms, &mc), 0);
		own[0] = sr_buf_alloc(64);
		own[1] = sr_pool_take(pool);
		own[2] = mc.buf;
		CU_ASSERT_FATAL(own[0] && own[1] && own[2]);
		for (unsigned i = 0; i < 3; i++) {
			struct sr_read_op rd;
			struct sr_readv_op rv;
			struct sr_recvmsg_op rm;

			memcpy(&copy[i], own[i], sizeof(copy[i]));
			/* Each refused; were one taken, it is completed (no hang). */
			rd = sr_read(pfd[0], &copy[i], 0);
			ret = sr_submit(r, &rd, &rs);
			CU_ASSERT_EQUAL(ret, -EINVAL);
			CU_ASSERT(unit_said("sr_read_submit: buf: not a live buffer (freed, a copy of one"));
			if (!ret && write(pfd[1], "x", 1) == 1)
				sr_wait(r, &rs, &rc);
			v[0] = &copy[i];
			rv = sr_readv(pfd[0], v, 1, 0);
			ret = sr_submit(r, &rv, &vs);
			CU_ASSERT_EQUAL(ret, -EINVAL);
			if (!ret && write(pfd[1], "x", 1) == 1)
				sr_wait(r, &vs, &vc);
			m.iov[0] = &copy[i];
			rm = sr_recvmsg(sm[0], &m);
			ret = sr_submit(r, &rm, &gs);
			CU_ASSERT_EQUAL(ret, -EINVAL);
			if (!ret && send(sm[1], "x", 1, 0) == 1)
				sr_wait(r, &gs, &gc);
			CU_ASSERT(sr_buf_data(&copy[i]) == NULL && sr_buf_cdata(&copy[i]) == NULL);
			CU_ASSERT_EQUAL(sr_buf_set_len(&copy[i], 1), -EINVAL);
			CU_ASSERT_EQUAL(sr_buf_set_window(&copy[i], 0, 1), -EINVAL);
			CU_ASSERT_EQUAL(sr_buf_free(&copy[i]), -EINVAL);
			CU_ASSERT_EQUAL(sr_pool_put(&copy[i]), -EINVAL);
			CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, &copy[i]), -EINVAL);
			CU_ASSERT_EQUAL(sr_buf_set_len(own[i], 4), 0);
			memcpy(&copy[i], own[i], sizeof(copy[i]));
			CU_ASSERT_EQUAL(sr_bufgroup_queue(sg, &copy[i]), -EINVAL);
			CU_ASSERT_EQUAL(sr_bufgroup_queued(sg), 0);
			v[0] = &copy[i];
			CU_ASSERT(sr_ring_register_buffers(r, v, 1) < 0);
			/* Nothing was lent: the originals still read and go home. */
			CU_ASSERT(!sr_buf_is_lent(own[i]) && sr_buf_data(own[i]) != NULL);
			rd = sr_read(pfd[0], own[i], 0);
			CU_ASSERT_EQUAL_FATAL(sr_submit(r, &rd, &rs), 0);
			CU_ASSERT_EQUAL(write(pfd[1], "ab", 2), 2);
			CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
			CU_ASSERT(rc.res == 2 && !memcmp(sr_buf_data(own[i]), "ab", 2));
		}
		{
			/* A group's struct copied: its counts would go stale (a
			 * buffer out, recycled through the copy, and the original
			 * destroyed under it). */
			struct sr_bufgroup gcopy, scopy;
			struct sr_recv_multishot_op mop2;
			struct sr_recv_multishot_submitted ms2;

			memcpy(&gcopy, g, sizeof(gcopy));
			memcpy(&scopy, sg, sizeof(scopy));
			mop2 = sr_recv_multishot(sm[0], &gcopy);
			CU_ASSERT_EQUAL(sr_submit(r, &mop2, &ms2), -EINVAL);
			CU_ASSERT(unit_said("not a live buffer group"));
			CU_ASSERT_EQUAL(sr_bufgroup_recycle(&gcopy, own[2]), -EINVAL);
			CU_ASSERT_EQUAL(sr_bufgroup_destroy(&gcopy), -EINVAL);
			CU_ASSERT_EQUAL(sr_bufgroup_queue(&scopy, own[0]), -EINVAL);
			CU_ASSERT_EQUAL(sr_bufgroup_destroy(&scopy), -EINVAL);
			CU_ASSERT(!sr_buf_is_lent(own[0]) && sr_bufgroup_queued(sg) == 0);
			CU_ASSERT_EQUAL(sr_bufgroup_destroy(sg), 0);
			/* The original still counts its buffer out. */
			CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), -EBUSY);
		}
		CU_ASSERT_EQUAL(sr_buf_free(own[0]), 0);
		CU_ASSERT_EQUAL(sr_pool_put(own[1]), 0);
		CU_ASSERT_EQUAL(sr_bufgroup_recycle(g, own[2]), 0);
		CU_ASSERT_EQUAL(sr_pool_destroy(pool), 0);
		unit_stream_cancel(r, g, &ms, &mc);
		CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
		close(pfd[0]);
		close(pfd[1]);
		close(sv[0]);
		close(sv[1]);
		close(sm[0]);
		close(sm[1]);
	}
}

static unsigned raw0_cbs;

static void raw0_cb(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	(void)r;
	(void)arg;
	raw0_cbs++;
	CU_ASSERT_EQUAL(c->res, 5);
}

/*
 * A raw op's user_data is the caller's: 0 looks like a free slot's (its
 * _ud is 0, its state INFLIGHT, its flags the last op's).  Slot 0 free
 * after a callback read, another callback read in slot 1, a raw NOP with
 * user_data 0 reaped by sr_ring_run: the NOP's CQE is the caller's to
 * reap, and no callback runs for it.
 */
static void test_raw_user_data_zero(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_buf *b[2] = { sr_buf_alloc(16), sr_buf_alloc(16) };
	struct io_uring_cqe cqe;
	int fd = unit_tmp_fd();

	if (unit_needs_uring(r, "raw ops")) {
		sr_buf_free(b[0]);
		sr_buf_free(b[1]);
		close(fd);
		return;
	}
	CU_ASSERT_FATAL(fd >= 0 && pwrite(fd, "hello", 5, 0) == 5);
	for (int i = 0; i < 2; i++) {
		struct sr_read_op op = sr_read(fd, b[i], 0);

		CU_ASSERT_EQUAL(sr_submit_cb(r, &op, raw0_cb, NULL, NULL), 0);
	}
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(raw0_cbs, 2);
	{
		struct sr_read_op op = sr_read(fd, b[0], 0);

		CU_ASSERT_EQUAL(sr_submit_cb(r, &op, raw0_cb, NULL, NULL), 0);
	}
	CU_ASSERT_EQUAL(sr_nop_raw(r, 0), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 2);
	for (int t = 0; t < 2000 && io_uring_cq_ready(sr_ring_uring(r)) < 2; t++)
		usleep(500);
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	CU_ASSERT_EQUAL(raw0_cbs, 3);
	CU_ASSERT_EQUAL(sr_raw_reap(r, &cqe, 1), 1);
	CU_ASSERT(cqe.user_data == 0 && cqe.res == 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b[0]);
	sr_buf_free(b[1]);
	close(fd);
}

/* The items in use, from the dump's ring line. */
static unsigned dump_items(struct sr_ring *r)
{
	char text[16384], *at;
	FILE *f = fmemopen(text, sizeof(text) - 1, "w");
	unsigned n = ~0u;

	CU_ASSERT_FATAL(f != NULL);
	text[0] = 0;
	CU_ASSERT_EQUAL(sr_ring_dump(r, f), 0);
	fclose(f);
	text[sizeof(text) - 1] = 0;
	at = strstr(text, " items=");
	CU_ASSERT(at && sscanf(at, " items=%u", &n) == 1);
	return n;
}

static unsigned item_cbs;
static bool item_more = true;

static void item_cb(struct sr_ring *r, struct sr_recv_multishot_completed *c, void *arg)
{
	item_cbs++;
	item_more = c->more;
	if (c->buf)
		sr_bufgroup_recycle((struct sr_bufgroup *)arg, c->buf);
	(void)r;
}

/* A stream delivered to a callback holds one item (for its last
 * completion) while it runs, each delivered completion's item is given
 * back, and none is left when it ends. */
static void test_stream_items_back(void)
{
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };

	for (unsigned k = 0; k < 2; k++) {
		struct sr_ring_params p = { .entries = 16, .flags = kinds[k] };
		struct sr_ring *r = NULL;
		struct sr_bufgroup *g;
		struct sr_recv_multishot_submitted s;
		struct sr_recv_multishot_op op;
		int sv[2];

		CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
		g = sr_bufgroup_create(r, 16, 64);
		CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
		CU_ASSERT_EQUAL(dump_items(r), 0);
		op = sr_recv_multishot(sv[0], g);
		item_cbs = 0;
		item_more = true;
		CU_ASSERT_EQUAL(sr_submit_cb(r, &op, item_cb, g, &s), 0);
		for (unsigned round = 1; round <= 3; round++) {
			double t0 = mono_now();

			for (int i = 0; i < 4; i++)
				CU_ASSERT_EQUAL(send(sv[1], "item", 4, 0), 4);
			while (item_cbs < 4 * round && mono_now() - t0 < 5)
				CU_ASSERT(sr_ring_run_once(r, 100) >= 0);
			CU_ASSERT_EQUAL(item_cbs, 4 * round);
			CU_ASSERT_EQUAL(dump_items(r), 1);
		}
		CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
		CU_ASSERT_EQUAL(sr_ring_run(r), 0);
		CU_ASSERT(!item_more);
		CU_ASSERT_EQUAL(dump_items(r), 0);
		CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
		close(sv[0]);
		close(sv[1]);
	}
}

static unsigned head_cbs;

static void head_cb(struct sr_ring *r, struct sr_recv_multishot_completed *c, void *arg)
{
	(void)r;
	head_cbs++;
	if (c->buf)
		sr_bufgroup_recycle((struct sr_bufgroup *)arg, c->buf);
}

/*
 * A stream's wait takes its next completion straight from the CQ head only
 * when nothing else is owed: not for a stream delivered to a callback
 * (refused, and the callback still gets it), and not past items queued
 * before it (they come first, in order).
 */
/* Until n CQEs wait in r's CQ, not reaped (a ring with DEFER_TASKRUN
 * posts them only when asked). */
static void cq_wait(struct sr_ring *r, unsigned n)
{
	for (int t = 0; t < 2000 && io_uring_cq_ready(sr_ring_uring(r)) < n; t++) {
		io_uring_get_events(sr_ring_uring(r));
		usleep(500);
	}
	CU_ASSERT(io_uring_cq_ready(sr_ring_uring(r)) >= n);
}

static void test_stream_head_take(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct sr_recv_multishot_submitted s, s2;
	struct sr_recv_multishot_completed c;
	struct sr_recv_multishot_op op;
	struct sr_bufgroup *g;
	char want[2] = "a";
	int sv[2], sv2[2];

	if (unit_needs_uring(r, "the CQ head"))
		return;
	g = sr_bufgroup_create(r, 8, 64);
	CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv2) == 0);
	/* A callback stream: its CQE at the head is not the wait's. */
	op = sr_recv_multishot(sv[0], g);
	head_cbs = 0;
	CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op, head_cb, g, &s), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	CU_ASSERT_EQUAL(send(sv[1], "x", 1, 0), 1);
	cq_wait(r, 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), -EINVAL);
	CU_ASSERT(!c.buf && head_cbs == 0);
	CU_ASSERT_EQUAL(sr_ring_run_once(r, 0), 1);
	CU_ASSERT_EQUAL(head_cbs, 1);
	CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
	CU_ASSERT_EQUAL(sr_ring_run(r), 0);
	/* Items queued (reaped by another stream's wait), then one at the head:
	 * the queued ones come first. */
	op = sr_recv_multishot(sv[0], g);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
	op = sr_recv_multishot(sv2[0], g);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s2), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	CU_ASSERT_EQUAL(send(sv[1], "a", 1, 0), 1);
	CU_ASSERT_EQUAL(send(sv[1], "b", 1, 0), 1);
	CU_ASSERT_EQUAL(send(sv2[1], "z", 1, 0), 1);
	cq_wait(r, 3);
	CU_ASSERT_EQUAL(sr_wait(r, &s2, &c), 0);	/* reaps "a" and "b" on the way */
	CU_ASSERT(c.res == 1 && c.buf && *(char *)sr_buf_data(c.buf) == 'z');
	sr_bufgroup_recycle(g, c.buf);
	CU_ASSERT_EQUAL(send(sv[1], "c", 1, 0), 1);
	cq_wait(r, 1);
	for (; want[0] <= 'c'; want[0]++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
		CU_ASSERT(c.res == 1 && c.more && c.buf && *(char *)sr_buf_data(c.buf) == want[0]);
		if (c.buf)
			sr_bufgroup_recycle(g, c.buf);
	}
	CU_ASSERT_EQUAL(sr_cancel(r, &s), 0);
	CU_ASSERT_EQUAL(sr_cancel(r, &s2), 0);
	while (sr_wait(r, &s, &c) == 0 && c.more)
		if (c.buf)
			sr_bufgroup_recycle(g, c.buf);
	while (sr_wait(r, &s2, &c) == 0 && c.more)
		if (c.buf)
			sr_bufgroup_recycle(g, c.buf);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	close(sv[0]);
	close(sv[1]);
	close(sv2[0]);
	close(sv2[1]);
}

static void *send_later(void *arg)
{
	usleep(50000);
	return (void *)(intptr_t)send(*(int *)arg, "late", 4, 0);
}

/*
 * A wait whose completion another thread of the program makes: the sender
 * runs while the owner waits.  (Under valgrind, which runs one thread at a
 * time and keeps a thread blocked in io_uring_enter running, the wait goes
 * in slices: without them this test never ends there.)
 */
static void test_wait_for_other_thread(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_recv_submitted s;
	struct sr_recv_completed c;
	struct sr_recv_op op;
	pthread_t t;
	void *sent;
	int sv[2];

	CU_ASSERT_FATAL(b && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	op = sr_recv(sv[0], b);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, send_later, &sv[1]) == 0);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT(c.res == 4 && !memcmp(sr_buf_data(b), "late", 4));
	pthread_join(t, &sent);
	CU_ASSERT_EQUAL((intptr_t)sent, 4);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(sv[0]);
	close(sv[1]);
}

/* A wait with a timeout hands the queued SQEs over before it sleeps: the
 * NOP completes at once, not when the 2 s are up. */
static void test_timed_wait_submits(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted s;
	struct sr_nop_completed c;
	struct timespec t0, t1;

	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT(sr_ring_run_once(r, 2000) >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < 1.0);
	CU_ASSERT_EQUAL(sr_poll(r, &s, &c), 0);
	sr_ring_destroy(r);
}

/* sr_raw_reap straight from the CQ: at most max, in order. */
static void test_raw_reap_max(void)
{
	struct sr_ring *r = bring(16, 0, NULL);
	struct io_uring_cqe cqes[8];
	unsigned next = 1;

	if (unit_needs_uring(r, "raw ops"))
		return;
	for (unsigned i = 1; i <= 10; i++)
		CU_ASSERT_EQUAL(sr_nop_raw(r, i), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	for (int i = 0; i < 1000 && io_uring_cq_ready(sr_ring_uring(r)) < 10; i++)
		usleep(1000);
	CU_ASSERT_EQUAL(sr_raw_reap(r, cqes, 4), 4);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(cqes[i].user_data, next++);
	CU_ASSERT_EQUAL(sr_raw_reap(r, cqes, 0), 0);
	CU_ASSERT_EQUAL(sr_raw_wait(r, cqes, 6), 6);
	for (unsigned i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(cqes[i].user_data, next++);
	CU_ASSERT_EQUAL(sr_raw_reap(r, cqes, 8), 0);
	sr_ring_destroy(r);
}


/* Which ops run natively, against an oracle of its own: liburing's probe,
 * the kernel version of each op and the setup flags the ring got (own_reason
 * and the probe reading in caps.c).  An op another op acts on follows that
 * op to the backend when it is missing. */
static bool own_ok(const struct sr_ring *r, const struct io_uring_probe *pr, unsigned op)
{
	const struct sr_op_info *o = &sr_op_table[op];

	return o->kernel <= sr_kver_code(sr_caps_get()->running) && o->opcode <= pr->last_op &&
	       (pr->ops[o->opcode].flags & IO_URING_OP_SUPPORTED) &&
	       (!o->setup_any || (r->_setup_flags & o->setup_any));
}

static void test_native_matches_probe(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct io_uring_probe *pr;
	unsigned natives = 0;

	if (unit_needs_uring(r, "native ops"))
		return;
	if (getenv("SR_KERNEL") || getenv("SR_DISABLE")) {
		printf("\n    skip: SR_KERNEL or SR_DISABLE is set\n");
		sr_ring_destroy(r);
		return;
	}
	pr = io_uring_get_probe();
	CU_ASSERT_FATAL(pr != NULL);
	for (unsigned op = 0; op < sr_op_count; op++) {
		bool want = own_ok(r, pr, op);

		for (unsigned x = 0; want && x < sr_op_count; x++)
			for (unsigned k = 0; k < sr_op_table[x].ntargets; k++)
				if (sr_op_table[x].targets[k] == op && !own_ok(r, pr, x))
					want = false;
		if (want != sr_ring_native(r, op))
			printf("\n    %s: native %d, expected %d\n", sr_op_table[op].name, sr_ring_native(r, op), want);
		CU_ASSERT(want == sr_ring_native(r, op));
		natives += want;
	}
	CU_ASSERT(natives > 0);
	io_uring_free_probe(pr);
	sr_ring_destroy(r);
}


/* The fallback backend holds descriptors for its jobs (a duplicate of the
 * fd it waits on, a timerfd): each goes when its job ends, not at ring
 * destroy, and none is left after it (job_free, epoll_forget, close_fd). */
static void test_fallback_descriptors(void)
{
	struct sr_ring_params fp = { .flags = SR_RING_FALLBACK };
	struct __kernel_timespec ts = { .tv_nsec = 1000000 };
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_ring *r = NULL;
	int p[2], before, mid = 0;

	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	before = count_fds();
	CU_ASSERT_FATAL(sr_ring_create(&r, &fp) == 0);
	for (int round = 0; round < 30; round++) {
		struct sr_read_op rd = sr_read(p[0], b, (__u64)-1);
		struct sr_read_submitted rs;
		struct sr_read_completed rc;
		struct sr_poll_add_op pa = sr_poll_add(p[0], POLLIN);
		struct sr_poll_add_submitted ps;
		struct sr_poll_add_completed pc;
		struct sr_timeout_op to = sr_timeout(&ts);
		struct sr_timeout_submitted tsub;
		struct sr_timeout_completed tc;

		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &pa, &ps), 0);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &rd, &rs), 0);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &to, &tsub), 0);
		CU_ASSERT(sr_ring_submit(r) >= 0);
		CU_ASSERT_EQUAL(sr_wait(r, &tsub, &tc), 0);
		CU_ASSERT_EQUAL(tc.res, -ETIME);
		CU_ASSERT_EQUAL(write(p[1], "d", 1), 1);
		CU_ASSERT_EQUAL(sr_wait(r, &ps, &pc), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
		CU_ASSERT_EQUAL(rc.res, 1);
		if (round == 9)
			mid = count_fds();
	}
	CU_ASSERT_EQUAL(count_fds(), mid);	/* no growth per op */
	sr_ring_destroy(r);
	CU_ASSERT_EQUAL(count_fds(), before);
	sr_buf_free(b);
	close(p[0]);
	close(p[1]);
}

/* Descriptors open in this process, as /proc/self/fd lists them (the
 * directory's own descriptor counts each time, so counts compare). */
static int proc_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

/* sr_ring_destroy closes what the ring opened: its eventfd, the ring's own
 * descriptor (io_uring, or the fallback backend's), the registered file
 * table's: no descriptor is left, whichever backend runs.  (Kills the
 * deleted close() in ring_free and the backends' destroy.) */
static void test_destroy_closes_fds(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	int before, efd, rfd, pfd[2];
	struct sr_file f;

	sr_ring_destroy(r);	/* the first ring of a process may open what stays (caps) */
	CU_ASSERT_FATAL(pipe2(pfd, O_CLOEXEC) == 0);
	before = proc_fds();
	CU_ASSERT_FATAL(before > 0);
	r = bring(8, 0, NULL);
	rfd = sr_ring_fd(r);
	efd = sr_ring_eventfd(r);
	CU_ASSERT_FATAL(rfd >= 0 && efd >= 0 && rfd != efd);
	CU_ASSERT_EQUAL(sr_ring_eventfd(r), efd);	/* one eventfd, asked twice */
	CU_ASSERT_EQUAL(sr_ring_register_files(r, 4), 0);
	CU_ASSERT_EQUAL(sr_ring_files_set(r, 3, pfd[0], &f), 0);
	CU_ASSERT(proc_fds() >= before + 2);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(proc_fds(), before);
	CU_ASSERT(fd_closed(efd));
	CU_ASSERT(fd_closed(rfd));
	/* The caller's descriptor stays the caller's. */
	CU_ASSERT(fcntl(pfd[0], F_GETFD) >= 0);
	close(pfd[0]);
	close(pfd[1]);
}

/* --- known bugs: not run by default ------------------------------------------------------- */

/*
 * max_inflight below the initial table (64 slots, or twice the SQ) is not
 * enforced: the limit applies only when the table grows.
 * Reproduction: sr_ring_create with .max_inflight = 10, submit 11 NOPs
 * without waiting: all 11 are accepted.
 */
static void bug_max_inflight_small(void)
{
	struct sr_nop_submitted subs[11];
	struct sr_nop_completed c;
	struct sr_ring *r = bring(8, 10, NULL);
	struct sr_nop_op op = sr_nop();
	int ret;

	CU_ASSERT_EQUAL(submit_nops(r, subs, 10), 0);
	ret = sr_submit(r, &op, &subs[10]);
	CU_ASSERT_EQUAL(ret, -EBUSY);
	for (int i = 0; i < (ret ? 10 : 11); i++)
		sr_wait(r, &subs[i], &c);
	sr_ring_destroy(r);
}

/*
 * A fallback op whose submit fails after sr__fb_begin (here: the same
 * buffer twice in a readv taking its fallback) leaves r->_fb_building set:
 * sr__abort never calls sr__fb_abort.  Every native op after it lends its
 * buffers unpoisoned, so ASan no longer catches stray accesses to them.
 * Reproduction (ASan build): a ring with .disable = "readv"; readv with
 * {a, a} fails -EINVAL; then sr_read(fd, b) native: b is not poisoned.
 */
static void bug_fb_abort_poison(void)
{
#ifdef BOUNDS_ASAN
	struct sr_ring *r = bring(8, 0, "readv");
	struct sr_buf *a = sr_buf_alloc(16), *b = sr_buf_alloc(16), *v[2] = { a, a };
	struct sr_readv_submitted vs;
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_readv_op rv;
	struct sr_read_op rd;
	int p[2];

	if (unit_needs_uring(r, "a native op after a failed fallback op")) {
		sr_buf_free(a);
		sr_buf_free(b);
		return;
	}
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	rv = sr_readv(p[0], v, 2, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rv, &vs), -EINVAL);
	rd = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &s), 0);
	CU_ASSERT(__asan_address_is_poisoned(b->_data));
	CU_ASSERT_EQUAL(write(p[1], "z", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	sr_ring_destroy(r);
	sr_buf_free(a);
	sr_buf_free(b);
	close(p[0]);
	close(p[1]);
#else
	printf("\n    skip: needs an ASan build (make check-sanitize)\n");
#endif
}

/* --- boundaries of messages, targets and mapped memory ---------------------------------- */

/* A message of exactly SR_MSG_MAX_IOV data buffers goes out whole; one of
 * them lent to another op refuses the message with that op's EBUSY, and
 * lends none of the others (buf.c: sr__msg_check's bound and its check of
 * each data buffer). */
static void test_message_full_iov(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_buf *d[SR_MSG_MAX_IOV];
	struct sr_sendmsg_submitted ss;
	struct sr_sendmsg_completed sc;
	struct sr_sendmsg_op so;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_read_op rd;
	struct sr_msg m;
	char back[16];
	int sv[2], p[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0 && pipe2(p, O_CLOEXEC) == 0);
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < SR_MSG_MAX_IOV; i++) {
		d[i] = sr_buf_alloc(1);
		CU_ASSERT_FATAL(d[i] != NULL);
		*(char *)sr_buf_data(d[i]) = (char)('0' + i);
		sr_buf_set_len(d[i], 1);
		m.iov[i] = d[i];
	}
	m.iovlen = SR_MSG_MAX_IOV;
	so = sr_sendmsg(sv[0], &m);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &so, &ss), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ss, &sc), 0);
	CU_ASSERT_EQUAL(sc.res, SR_MSG_MAX_IOV);
	CU_ASSERT_EQUAL(recv(sv[1], back, sizeof(back), 0), SR_MSG_MAX_IOV);
	CU_ASSERT(!memcmp(back, "01234567", SR_MSG_MAX_IOV));
	rd = sr_read(p[0], d[3], 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &rd, &rs), 0);
	so = sr_sendmsg(sv[0], &m);
	CU_ASSERT_EQUAL(sr_submit(r, &so, &ss), -EBUSY);
	CU_ASSERT(unit_said("lent to read"));
	for (int i = 0; i < SR_MSG_MAX_IOV; i++)
		CU_ASSERT_EQUAL(sr_buf_is_lent(d[i]), i == 3);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 1);
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	for (int i = 0; i < SR_MSG_MAX_IOV; i++)
		CU_ASSERT_EQUAL(sr_buf_free(d[i]), 0);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

/* A target that is no op's handle: zeroed, untracked (the kind a raw op's
 * user_data is), or past the op table.  Refused as no handle of this ring,
 * never taken for another op's (submit.c: sr__target's first check). */
static void test_target_not_a_handle(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct sr_timeout_op t = sr_timeout(&ts);
	struct sr_timeout_submitted tsub;
	struct sr_timeout_completed tc;
	struct sr_async_cancel_submitted as;
	struct sr_async_cancel_op ac;
	struct sr_handle h[3];

	CU_ASSERT_FATAL(sr_submit(r, &t, &tsub) == 0);
	memset(&h[0], 0, sizeof(h[0]));
	h[1] = tsub.h;
	h[1]._ud &= ~SR__UD_TRACKED;
	h[2] = tsub.h;
	h[2]._ud |= SR__UD_SLOT_MASK;
	for (int i = 0; i < 3; i++) {
		ac = sr_async_cancel(h[i]);
		CU_ASSERT_EQUAL(sr_submit(r, &ac, &as), -EINVAL);
		CU_ASSERT(unit_said("not a handle from a submit on this ring"));
	}
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 1);
	CU_ASSERT_EQUAL(sr_cancel(r, &tsub), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &tsub, &tc), 0);
	CU_ASSERT_EQUAL(tc.res, -ECANCELED);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
}

/* Pools and buffer rings are mapped memory, which LSan does not track:
 * the library counts its mappings (mem.c), and every destroy, of a pool, a
 * group, or a ring with its groups, unmaps what it mapped.  A destroyed
 * pool's memory is gone from the address space. */
static void test_mappings_released(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	long base = sr__mappings();
	struct sr_pool *p = sr_pool_create(2, 4096, 0);
	struct sr_bufgroup *g, *sg;
	unsigned char vec;
	struct sr_buf *b;
	void *mem;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(sr__mappings(), base + 1);
	b = sr_pool_take(p);
	CU_ASSERT_FATAL(b != NULL);
	mem = sr_buf_data(b);
	CU_ASSERT_EQUAL(sr_pool_put(b), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	CU_ASSERT_EQUAL(sr__mappings(), base);
	CU_ASSERT(mincore(mem, 4096, &vec) == -1 && errno == ENOMEM);
	/* A pool refused after its memory was mapped (no such NUMA node). */
	CU_ASSERT(sr_pool_create_on_node(2, 4096, 0, 4095) == NULL &&
		  unit_said("NUMA node 4095 does not exist on this machine (its nodes: "));
	CU_ASSERT_EQUAL(sr__mappings(), base);
	g = sr_bufgroup_create(r, 4, 64);
	sg = sr_bufgroup_create_send(r, 4);
	CU_ASSERT_FATAL(g && sg);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(sg), 0);
	CU_ASSERT_EQUAL(sr__mappings(), base);
	g = sr_bufgroup_create(r, 4, 64);
	sg = sr_bufgroup_create_send(r, 4);
	CU_ASSERT_FATAL(g && sg);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT_EQUAL(sr__mappings(), base);
}

/* Kilobytes of memory this process has locked (VmLck), or -1. */
static long locked_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* SR_POOL_LOCKED locks the pool's memory where this process may lock
 * memory at all (the test's own mlock says so), and only that flag does
 * (pool.c: the mlock condition).  Under ASan mlock does nothing (its
 * interceptor), so VmLck is looked at only where the probe moved it. */
static void test_pool_locked(void)
{
	void *probe = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long kb0 = locked_kb();
	bool can = probe != MAP_FAILED && mlock(probe, 8192) == 0;
	bool seen = can && locked_kb() >= kb0 + 8;
	struct sr_pool *p;

	if (probe != MAP_FAILED)
		munmap(probe, 8192);
	kb0 = locked_kb();
	p = sr_pool_create(2, 4096, 0);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(locked_kb(), kb0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	p = sr_pool_create(2, 4096, SR_POOL_LOCKED);
	if (!can) {
		printf("\n    skip: this process may not lock memory (%s); the pool says why\n", strerror(errno));
		CU_ASSERT(p == NULL && unit_said("RLIMIT_MEMLOCK"));
		return;
	}
	CU_ASSERT_FATAL(p != NULL);
	if (seen)
		CU_ASSERT(locked_kb() >= kb0 + 8);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	CU_ASSERT_EQUAL(locked_kb(), kb0);
}

/* A pool's buffers are fixed buffers only while the pool is registered: after
 * sr_ring_unregister_buffers a fixed op refuses them (pool.c:
 * sr__pool_unregistered), and a plain op takes them. */
static void test_pool_unregistered_not_fixed(void)
{
	struct sr_ring *r = bring(8, 0, NULL);
	struct sr_pool *p = sr_pool_create(2, 4096, 0);
	struct sr_read_fixed_submitted fs;
	struct sr_read_fixed_completed fc;
	struct sr_read_fixed_op fop;
	struct sr_read_submitted rs;
	struct sr_read_completed rc;
	struct sr_read_op rd;
	struct sr_buf *b;
	int fd = unit_tmp_fd();

	CU_ASSERT_FATAL(p && fd >= 0 && pwrite(fd, "fixed", 5, 0) == 5);
	CU_ASSERT_EQUAL_FATAL(sr_ring_register_pool(r, p), 0);
	b = sr_pool_take(p);
	CU_ASSERT_FATAL(b != NULL);
	fop = sr_read_fixed(fd, b, 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &fop, &fs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &fs, &fc), 0);
	CU_ASSERT_EQUAL(fc.res, 5);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
	fop = sr_read_fixed(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &fop, &fs), -EINVAL);
	CU_ASSERT(unit_said("not registered"));
	CU_ASSERT(!sr_buf_is_lent(b));
	rd = sr_read(fd, b, 0);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &rs, &rc), 0);
	CU_ASSERT_EQUAL(rc.res, 5);
	CU_ASSERT_EQUAL(sr_pool_put(b), 0);
	CU_ASSERT_EQUAL(sr_pool_put(NULL), -EINVAL);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	close(fd);
}

static const struct { const char *name; void (*fn)(void); } known_bugs[] = {
	{ "max_inflight below the initial slot table is enforced", bug_max_inflight_small },
	{ "a failed fallback submit leaves later native buffers poisoned", bug_fb_abort_poison },
};

void bounds_tests(CU_pSuite s)
{
	CU_add_test(s, "lengths and windows at and past the capacity", test_lengths_at_capacity);
	CU_add_test(s, "a window is reset when its op gives the buffer back", test_window_reset);
	CU_add_test(s, "vectored results split by room, failures leave nothing", test_vectored_lengths);
	CU_add_test(s, "the same buffer twice in one op: refused, all given back", test_same_buffer_twice);
	CU_add_test(s, "pool: a re-taken buffer starts empty", test_pool_retake);
	CU_add_test(s, "pool: bounds, put and auto return checks", test_pool_bounds);
	CU_add_test(s, "pool: registered with one ring at a time", test_pool_two_rings);
	CU_add_test(s, "fixed buffers: twice, bounds, another ring's", test_register_buffers);
	CU_add_test(s, "file slots: the last, one past, cleared, replaced", test_file_slots);
	CU_add_test(s, "file slots: files_update into picked slots retires handles", test_file_alloc_retires);
	CU_add_test(s, "file slots on the fallback: no descriptor left, descriptor 0", test_fallback_file_dups);
	CU_add_test(s, "groups: recycled twice, destroyed too early, bounds", test_group_misuse);
	CU_add_test(s, "groups: a pointer into a buffer, or a copy, is not one of the group's", test_group_pointer_into);
	CU_add_test(s, "a copy of a buffer's or a group's struct is not it", test_buffer_copies);
	CU_add_test(s, "send groups follow their ops: fallback bundle, capture ring", test_send_group_routes);
	CU_add_test(s, "send groups: a buffer queued while a bundle is out stays queued", test_send_group_queued_during);
	CU_add_test(s, "a stream's next item is its own CQE, not the head's", test_stream_not_head);
	CU_add_test(s, "groups: a fallback pick that got nothing goes back poisoned", test_group_unpick_poisoned);
	CU_add_test(s, "stale targets: cancel, poll update/remove, timeout remove/update", test_stale_targets);
	CU_add_test(s, "slot table at max_inflight", test_max_inflight);
	CU_add_test(s, "a chain after its first failure", test_chain_after_failure);
	CU_add_test(s, "SR_KERNEL at exactly the running and an op's kernel", test_caps_edges);
	CU_add_test(s, "SR_DISABLE and disable lists match whole names", test_disable_whole_names);
	CU_add_test(s, "kernel version edges", test_kernel_versions);
	CU_add_test(s, "buffer states: forged, read-only, lent", test_buffer_states);
	CU_add_test(s, "message names and control: lengths both ways", test_message_names);
	CU_add_test(s, "op status at its edges", test_op_status_edges);
	CU_add_test(s, "ring shapes: SQE128, CQE32, no ladder", test_ring_shapes);
	CU_add_test(s, "raw completions beyond the raw queue's first size", test_raw_queue_growth);
	CU_add_test(s, "more callback deliveries than the first item pool", test_many_deliveries);
	CU_add_test(s, "an op's storage grows in its slot", test_slot_storage);
	CU_add_test(s, "capture ring: full SQ and discard", test_capture_ring);
	CU_add_test(s, "chain edges: one op at the SQ head, a cancel inside", test_chain_edges);
	CU_add_test(s, "cancel counts: nothing by fd, all after one", test_cancel_counts);
	CU_add_test(s, "per-op personality", test_personality);
	CU_add_test(s, "pool over 1 GiB: one region per GiB", test_pool_regions);
	CU_add_test(s, "pool buffer lent on another ring", test_pool_lent_elsewhere);
	CU_add_test(s, "a destroyed group's buffer ring is unregistered", test_group_unregistered);
	CU_add_test(s, "close_direct retires the slot's handles", test_close_direct);
	CU_add_test(s, "SR_POLICY, SR_BACKEND, SR_KERNEL: taken or reported", test_env_parsing);
	CU_add_test(s, "provided buffers without kernel buffer rings (5.18)", test_legacy_group);
	CU_add_test(s, "a submit refused for a full SQ keeps no slot", test_full_sq_keeps_slots);
	CU_add_test(s, "discard counts the caller's ops only", test_discard_counts);
	CU_add_test(s, "eventfd from the start; run_once waits as told", test_ring_waits);
	CU_add_test(s, "handles one past the table, stale over a completed op", test_handle_edges);
	CU_add_test(s, "callbacks queued through slots and through items, in order", test_callback_queue_mixed);
	CU_add_test(s, "a callback read's buffer is back when its callback runs", test_callback_buffer_back);
	CU_add_test(s, "a raw op's user_data 0 is not a free slot's", test_raw_user_data_zero);
	CU_add_test(s, "a stream's callback items are given back", test_stream_items_back);
	CU_add_test(s, "a stream's wait takes the CQ head only when nothing else is owed", test_stream_head_take);
	CU_add_test(s, "a wait for what another thread sends", test_wait_for_other_thread);
	CU_add_test(s, "a timed wait hands queued SQEs over first", test_timed_wait_submits);
	CU_add_test(s, "raw reap: at most max, in order", test_raw_reap_max);
	CU_add_test(s, "native ops match the kernel's probe", test_native_matches_probe);
	CU_add_test(s, "fallback jobs leave no descriptor behind", test_fallback_descriptors);
	CU_add_test(s, "sr_ring_destroy closes the eventfd and the ring fd", test_destroy_closes_fds);
	CU_add_test(s, "a message of SR_MSG_MAX_IOV buffers; one of them lent", test_message_full_iov);
	CU_add_test(s, "targets that are no handle: zeroed, untracked, past the table", test_target_not_a_handle);
	CU_add_test(s, "pools and buffer rings unmap what they mapped", test_mappings_released);
	CU_add_test(s, "SR_POOL_LOCKED locks, and only it", test_pool_locked);
	CU_add_test(s, "an unregistered pool's buffers are not fixed buffers", test_pool_unregistered_not_fixed);
	/* Once known bugs, fixed: they stay as tests. */
	for (unsigned i = 0; i < sizeof(known_bugs) / sizeof(known_bugs[0]); i++)
		CU_add_test(s, known_bugs[i].name, known_bugs[i].fn);
}
