/* SPDX-License-Identifier: MIT */
/* uring-sync: regular files, from the quick check to their final name. */
#ifndef URING_SYNC_FILE_H
#define URING_SYNC_FILE_H

#include "job.h"

void us_file_start(struct us_job *j);

#endif
