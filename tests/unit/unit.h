/* SPDX-License-Identifier: MIT */
/* The unit suites' parts in other files. */
#ifndef SR_TEST_UNIT_H
#define SR_TEST_UNIT_H

#include <CUnit/CUnit.h>

void fallback_tests(CU_pSuite s);
void buffer_tests(CU_pSuite s);

#endif
