/* SPDX-License-Identifier: MIT */
/* uring-sync: what a listed destination directory should not keep. */
#ifndef URING_SYNC_DELETE_H
#define URING_SYNC_DELETE_H

#include "names.h"

#define US_PARTIAL_DIR	".~us-partial"

void us_delete_extras(struct us_job *j, const struct us_list *dst);
bool us_delete_in_way(struct us_job *j);

#endif
