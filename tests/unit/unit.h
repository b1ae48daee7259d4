/* SPDX-License-Identifier: MIT */
/* The unit suites' parts in other files. */
#ifndef SR_TEST_UNIT_H
#define SR_TEST_UNIT_H

#include <stdlib.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

/* A scratch file, already unlinked: closing it is all the cleanup. */
static inline int unit_tmp_fd(void)
{
	char path[] = "/tmp/sr-unit-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

void fallback_tests(CU_pSuite s);
void buffer_tests(CU_pSuite s);

#endif
