/* SPDX-License-Identifier: MIT */
/* uring-sync: the progress line and the summary. */
#ifndef URING_SYNC_PROGRESS_H
#define URING_SYNC_PROGRESS_H

#include "ctx.h"

double us_now(void);
void us_human(char *buf, size_t len, double v);
void us_progress(double start, bool final);
void us_summary(double secs);
void us_stats_print(double secs);

#endif
