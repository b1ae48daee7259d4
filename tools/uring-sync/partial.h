/* SPDX-License-Identifier: MIT */
/* uring-sync: --partial: an interrupted file's data kept, and resumed from. */
#ifndef URING_SYNC_PARTIAL_H
#define URING_SYNC_PARTIAL_H

#include "job.h"

bool us_partial_keep(struct us_job *j);
void us_partial_find(struct us_job *j);
void us_partial_done(struct us_job *j);

#endif
