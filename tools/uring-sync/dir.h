/* SPDX-License-Identifier: MIT */
/* uring-sync: directories: listing (phase A) and metadata (phase C). */
#ifndef URING_SYNC_DIR_H
#define URING_SYNC_DIR_H

#include "job.h"

struct us_dir *us_dir_new(struct us_dir *parent, const struct us_ent *e, const struct us_src *srcs, unsigned n);
void us_dir_free(struct us_dir *d);
int us_dir_add(struct us_dir *d, bool list);
void us_dir_list(struct us_worker *w, struct us_dir *d);
void us_dir_put(struct us_worker *w, struct us_dir *d);
void us_dmeta_start(struct us_worker *w, struct us_dir *d);
void us_dirs_free(void);

#endif
