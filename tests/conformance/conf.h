/* SPDX-License-Identifier: MIT */
/*
 * The conformance harness: SQE equality (generated/tests/conformance_sqe.c)
 * and live round trips (generated/tests/conformance_live.c calling the
 * scenarios in tests/live/).  conf.c runs both under CUnit and prints
 *   conformance: ops=N sqe_equal=N live_pass=N skipped=N failed=N
 *   conformance-helpers: helpers=N sqe_equal=N live_pass=N skipped=N failed=N
 * the second for the liburing helpers that are not one op's prep
 * (spec/ops.yaml helpers:, such as sr_prep_rw).
 */
#ifndef SR_TEST_CONF_H
#define SR_TEST_CONF_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include <safer-ring.h>

/* --- SQE tests --------------------------------------------------------------- */

struct conf_test {
	unsigned op;
	const char *name;
	void (*fn)(void);
};

extern const struct conf_test conf_sqe_tests[];

/* Helpers that are not one op's prep (sr_prep_rw, modifiers). */
struct conf_helper_test {
	const char *name;
	void (*fn)(void);
};

extern const struct conf_helper_test conf_sqe_helper_tests[];
void conf_record_helper_sqe(const char *name, unsigned fails);

/* Sample memory the SQE tests point at (never dereferenced by the kernel). */
extern unsigned char conf_smem[64][256];
#define SMEM(k) ((void *)conf_smem[(k) % 64])

struct sr_ring *conf_ring(void);		/* the capture ring */
struct io_uring_sqe *conf_lib_sqe(void);	/* an SQE of a scratch liburing ring */
void conf_lib_take(struct io_uring_sqe *out, struct io_uring_sqe *sqe);
const struct io_uring_sqe *conf_last_sqe(struct sr_ring *r);
unsigned conf_compare(const char *op, const char *what, const struct io_uring_sqe *got,
		      const struct io_uring_sqe *want);
unsigned conf_fail(const char *op, const char *what);
void conf_record_sqe(unsigned op, unsigned fails);
struct sr_bufgroup *conf_group(void);
struct sr_bufgroup *conf_send_group(void);	/* a send group (sr_bufgroup_create_send) */
struct sr_handle conf_target(uint64_t *ud);
void conf_target_done(void);
void fake_register(struct sr_buf *b, struct sr_ring *r, unsigned index);
void unfake_register(struct sr_buf *b);

/* --- live tests ---------------------------------------------------------------- */

enum { LIVE_PASS = 0, LIVE_SKIP = 1, LIVE_FAIL = 2 };

struct live {
	struct sr_ring *ring;		/* a fresh ring for this op */
	const char *name;
	char dir[128];			/* a scratch directory, removed afterwards */
	char msg[512];			/* why it was skipped or failed */
	int fds[32];			/* closed after the test */
	unsigned nfds;
	struct sr_buf *bufs[32];	/* freed after the test */
	unsigned nbufs;
};

/* Close fd / free b when the test ends (after its ring is destroyed). */
int live_keep_fd(struct live *t, int fd);
struct sr_buf *live_keep_buf(struct live *t, struct sr_buf *b);

struct live_entry {
	unsigned op;
	const char *name;
	int (*fn)(struct live *t);
	const char *skip;		/* the spec's reason to skip, or NULL */
	void (*cu)(void);
};

extern const struct live_entry conf_live_tests[];

struct live_helper_entry {
	const char *name;
	int (*fn)(struct live *t);
	const char *skip;		/* the spec's reason to skip, or NULL */
	void (*cu)(void);
};

extern const struct live_helper_entry conf_live_helper_tests[];
void conf_run_live_helper(unsigned i);
void conf_run_live(unsigned op);
int conf_live_one(unsigned op, bool all, char *msg, size_t msglen, char *status, size_t stlen,
		  char *lasterr, size_t lelen);

/* The fallback matrix (matrix.c): every op under every configuration. */
int conf_matrix(const char *self, int argc, char **argv);
int conf_matrix_child(void);
/* CONF_ONLY=op,op (unset: every op). */
bool conf_selected(const char *name);

int live_skip(struct live *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int live_failf(struct live *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define LIVE_SKIP(t, ...) return live_skip(t, __VA_ARGS__)
#define LIVE_FAIL(t, ...) return live_failf(t, __FILE__, __LINE__, __VA_ARGS__)
/* A condition that must hold; on failure, report it with the last library error. */
#define LIVE_CHECK(t, cond) do { if (!(cond)) \
	return live_failf(t, __FILE__, __LINE__, "%s (last error: %s)", #cond, sr_last_error()); } while (0)
#define LIVE_EQ(t, a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); if (a_ != b_) \
	return live_failf(t, __FILE__, __LINE__, "%s == %lld, expected %s == %lld (last error: %s)", \
			  #a, a_, #b, b_, sr_last_error()); } while (0)

/* Fixtures; each fails the test (returns -1) only on setup errors. */
int live_file(struct live *t, const char *name, const void *data, size_t len);	/* O_RDWR fd */
int live_path(struct live *t, const char *name, char *out, size_t outlen);	/* path in t->dir */
int live_tcp_pair(struct live *t, int *listener, int *client, int *server);	/* loopback */
int live_listener(struct live *t, int *listener, struct sockaddr_in *addr);
int live_udp_pair(struct live *t, int *a, int *b);
struct sr_buf *live_buf(struct live *t, const char *text);	/* owned buffer holding text */

#endif
