/* SPDX-License-Identifier: MIT */
/* The unit suites' parts in other files. */
#ifndef SR_TEST_UNIT_H
#define SR_TEST_UNIT_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <CUnit/CUnit.h>
#include <safer-ring.h>

long sr__mappings(void);	/* runtime/src/mem.c: the library's live mappings (pools, buffer rings) */

/* A scratch file, already unlinked: closing it is all the cleanup. */
static inline int unit_tmp_fd(void)
{
	char path[] = "/tmp/sr-unit-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

/*
 * The suites also run with SR_BACKEND=fallback.  A test of what only a ring
 * on io_uring does (native ops mixed with fallback ones, the kernel's SQ)
 * says so and skips there; the ring is destroyed when it skips.
 */
static inline bool unit_needs_uring(struct sr_ring *r, const char *what)
{
	if (sr_ring_uring(r))
		return false;
	printf("\n    skip: %s needs a ring on io_uring; this one runs without (%s)\n", what,
	       sr_ring_backend(r));
	sr_ring_destroy(r);
	return true;
}

/* A ring with these entries and SR_RING_* flags; the test stops without one. */
static inline struct sr_ring *unit_ring(unsigned entries, unsigned flags)
{
	struct sr_ring_params p = { .entries = entries, .flags = flags };
	struct sr_ring *r = NULL;

	CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0);
	return r;
}

/* How many descriptors below 1024 are open (a leak check around a call). */
static inline int unit_open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* A read of b through a registered file handle; 0 with *res its result. */
static inline int unit_read_file(struct sr_ring *r, struct sr_file f, struct sr_buf *b, int *res)
{
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op op = sr_read(0, b, 0);
	int ret;

	sr_read_set_file(&op, f);
	ret = sr_submit(r, &op, &s);
	if (ret)
		return ret;
	ret = sr_wait(r, &s, &c);
	*res = c.res;
	return ret;
}

/* Does the last error mention needle?  If not, both are printed. */
/* Cancel a receive stream and recycle what it still hands out, up to its last item. */
static inline void unit_stream_cancel(struct sr_ring *r, struct sr_bufgroup *g,
				      struct sr_recv_multishot_submitted *s, struct sr_recv_multishot_completed *c)
{
	CU_ASSERT_EQUAL(sr_cancel(r, s), 0);
	while (c->more && sr_wait(r, s, c) == 0)
		if (c->buf)
			sr_bufgroup_recycle(g, c->buf);
}

static inline bool unit_said(const char *needle)
{
	if (strstr(sr_last_error(), needle))
		return true;
	printf("\n    last error: %s (expected '%s')\n", sr_last_error(), needle);
	return false;
}

/* A strict JSON checker (RFC 8259) for one dump line (test_dump.c). */
bool unit_json_valid(const char *text);

/* r's dump, text or JSON (checked to parse), in a string to free(). */
static inline char *unit_dump(struct sr_ring *r, bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(json ? sr_ring_dump_json(r, f) : sr_ring_dump(r, f), 0);
	fclose(f);
	if (json)
		CU_ASSERT(unit_json_valid(text));
	return text;
}

/* Does the dump text hold needle?  If not, the dump is printed. */
static inline bool unit_has(const char *text, const char *needle)
{
	if (text && strstr(text, needle))
		return true;
	printf("\n    dump lacks '%s':\n%s\n", needle, text ? text : "(null)");
	return false;
}

void fallback_tests(CU_pSuite s);
void buffer_tests(CU_pSuite s);
void safety_tests(CU_pSuite s);
void bounds_tests(CU_pSuite s);
void observe_tests(CU_pSuite s);
void dump_tests(CU_pSuite s);
void guard_tests(CU_pSuite s);
void refusal_tests(CU_pSuite s);
/* test_runtime --refuse CASE: a refusal case in a fresh process (test_refusals.c). */
int refusal_child(const char *name);
void refusal_self(const char *argv0);

#endif
