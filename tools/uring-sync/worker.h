/* SPDX-License-Identifier: MIT */
/* uring-sync: the worker threads. */
#ifndef URING_SYNC_WORKER_H
#define URING_SYNC_WORKER_H

#include "ops.h"

void *us_worker_main(void *arg);

#endif
