/* SPDX-License-Identifier: MIT */
/* uring-sync: --link-dest: unchanged files hard linked from another tree. */
#ifndef URING_SYNC_LINKDEST_H
#define URING_SYNC_LINKDEST_H

#include "job.h"

void us_linkdest_try(struct us_job *j, us_job_fn nomatch);

#endif
