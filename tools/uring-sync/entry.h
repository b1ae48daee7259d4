/* SPDX-License-Identifier: MIT */
/* uring-sync: entries of listed directories, from stat to their final name. */
#ifndef URING_SYNC_ENTRY_H
#define URING_SYNC_ENTRY_H

#include "job.h"

void us_entry_start(struct us_worker *w, struct us_dir *d, const struct us_ent *e);

#endif
