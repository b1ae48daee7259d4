/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: names in the destination.  Nothing is made under its final
 * name: a file is an unnamed O_TMPFILE (or a named temporary), a symlink
 * or special file is made under a temporary name, a hard link replacing
 * an entry is linked under one; each gets its final name in one linkat
 * or renameat once it is complete.
 */
#ifndef URING_SYNC_PLACE_H
#define URING_SYNC_PLACE_H

#include "job.h"

void us_tmpname(char *buf);
bool us_is_tmpname(const char *name);
void us_dir_prepare(struct us_job *j);
void us_place_at(struct us_job *j, int dirfd, const char *name);
const char *us_place_tmp(struct us_job *j);
void us_place(struct us_job *j, us_job_fn done);
void us_place_link(struct us_job *j, const char *from, us_job_fn done);
void us_place_link_from(struct us_job *j, int dirfd, const char *from, us_job_fn done);
void us_place_abort(struct us_job *j);

#endif
