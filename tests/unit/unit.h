/* SPDX-License-Identifier: MIT */
/* The unit suites' parts in other files. */
#ifndef SR_TEST_UNIT_H
#define SR_TEST_UNIT_H

#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <CUnit/CUnit.h>
#include <safer-ring.h>

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

void fallback_tests(CU_pSuite s);
void buffer_tests(CU_pSuite s);
void safety_tests(CU_pSuite s);
void bounds_tests(CU_pSuite s);
void observe_tests(CU_pSuite s);
void dump_tests(CU_pSuite s);
void guard_tests(CU_pSuite s);

#endif
