/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * --partial (partial.h), as rsync's --partial-dir=.~us-partial: a file
 * whose copy is stopped (a signal) keeps the part written from its start,
 * as .~us-partial/NAME in its directory, with the source's modification
 * time; never under its final name.  The next run with --partial finds it
 * there, and if the source still has that modification time and is not
 * smaller, copies only the rest into it and renames it into place.  These
 * are system calls on the worker's thread: they happen once per
 * interrupted file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "delete.h"
#include "partial.h"

static char *partial_path(const struct us_job *j)
{
	return us_relpath(US_PARTIAL_DIR, j->ent->name);
}

/* The run stops: true if the file's data was kept (the job is then over). */
bool us_partial_keep(struct us_job *j)
{
	uint64_t keep = us_copied_prefix(j);
	struct timespec ts[2] = {
		{ .tv_sec = j->st.stx_atime.tv_sec, .tv_nsec = j->st.stx_atime.tv_nsec },
		{ .tv_sec = j->st.stx_mtime.tv_sec, .tv_nsec = j->st.stx_mtime.tv_nsec },
	};
	char *path, proc[64];
	int dfd = j->dir->dfd, ret;

	if (!us_c->o.partial || atomic_load(&us_c->stop) != US_STOP_SIGNAL || j->dfd < 0 || !keep ||
	    j->comparing || !(path = partial_path(j)))
		return false;
	if (mkdirat(dfd, US_PARTIAL_DIR, 0700) < 0 && errno != EEXIST)
		goto fail;
	if (ftruncate(j->dfd, (off_t)keep) < 0 || futimens(j->dfd, ts) < 0)
		goto fail;
	if (j->tmp_named && j->tmppath && !strcmp(j->tmppath, path)) {
		ret = 0;		/* resumed, and stopped again: it stays where it is */
	} else if (j->tmp_named) {
		ret = renameat(dfd, j->tmppath ? j->tmppath : j->tmpname, dfd, path);
	} else {
		unlinkat(dfd, path, 0);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", j->dfd);
		ret = linkat(AT_FDCWD, proc, dfd, path, AT_SYMLINK_FOLLOW);
	}
	if (ret < 0)
		goto fail;
	j->tmp_named = false;
	free(path);
	us_job_done(j);
	return true;
fail:
	us_job_fail(j, "dst", "keep the partial file", -errno);
	free(path);
	return false;
}

/* Before the copy: a partial file of an earlier run to resume from (j->resume_at, j->tmppath). */
void us_partial_find(struct us_job *j)
{
	struct statx st;
	char *path;

	j->resume_at = 0;
	if (!us_c->o.partial || !j->dir->has_partial || !(path = partial_path(j)))
		return;
	if (statx(j->dir->dfd, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) == 0 && S_ISREG(st.stx_mode) &&
	    st.stx_size <= j->st.stx_size && st.stx_size && st.stx_mtime.tv_sec == j->st.stx_mtime.tv_sec &&
	    st.stx_mtime.tv_nsec == j->st.stx_mtime.tv_nsec) {
		/* O_DIRECT writes go on from a block boundary. */
		j->resume_at = st.stx_size & ~(uint64_t)(US_DIO_ALIGN - 1);
		free(j->tmppath);
		j->tmppath = path;
		return;
	}
	free(path);
}

/* The file is in place: a partial file of it (stale, or the one resumed) goes, and the directory if empty. */
void us_partial_done(struct us_job *j)
{
	char *path;

	if (!j->dir->has_partial || !(path = partial_path(j)))
		return;
	unlinkat(j->dir->dfd, path, 0);
	unlinkat(j->dir->dfd, US_PARTIAL_DIR, AT_REMOVEDIR);
	free(path);
}
