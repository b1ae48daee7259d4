/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Names in the destination (place.h).
 *
 * An entry's final name is (pl_dirfd, pl_name); pl_name may have
 * directories in it (phase B names links from the destination root), and
 * its temporary is then made in the same directory.  Three ways in:
 *   an O_TMPFILE (j->tmpfile, fd j->dfd): linkat to the final name when
 *     nothing is there, else linkat to a temporary and renameat over;
 *   made under its temporary (j->tmp_named): renameat over;
 *   a hard link to another entry: linkat to the final name when nothing
 *     is there, else under a temporary and renameat over.
 * A failure is reported, the temporary removed, and the job ends
 * (us_job_done); done runs only once the entry has its name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/xattr.h>

#include "place.h"

void us_tmpname(char *buf)
{
	unsigned long long seq = atomic_fetch_add(&us_c->tmp_seq, 1);

	snprintf(buf, US_TMP_LEN + 1, US_TMP_PREFIX "%08x%08llx", (unsigned)getpid(), seq & 0xffffffffULL);
}

bool us_is_tmpname(const char *name)
{
	if (strncmp(name, US_TMP_PREFIX, sizeof(US_TMP_PREFIX) - 1) || strlen(name) != US_TMP_LEN)
		return false;
	for (const char *p = name + sizeof(US_TMP_PREFIX) - 1; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static void dir_fail_msg(struct us_dir *d, const char *what, int err)
{
	atomic_fetch_add(&us_c->s.errors, 1);
	us_fail(us_c->dst_prefix, d->rel, NULL, what, err);
}

/*
 * Before the first entry is created in a directory that existed before
 * this run: a default ACL there would be inherited by every new entry
 * (phase C puts the source's back), and without root a read-only
 * directory from an earlier run must be writable for now (phase C
 * restores its mode too).
 */
void us_dir_prepare(struct us_job *j)
{
	struct us_dir *d = j->dir;

	if (d->dst_new || atomic_load(&d->prepared))
		return;
	pthread_mutex_lock(&us_c->lock);
	if (!atomic_load(&d->prepared)) {
		if (d->dst_default_acl && fremovexattr(d->dfd, "system.posix_acl_default") < 0 &&
		    errno != ENODATA)
			dir_fail_msg(d, "remove default ACL for now", -errno);
		/* Root writes anywhere; others need write and search permission here. */
		if (!us_c->root && (d->dst_mode & 0300) != 0300) {
			if (fchmod(d->dfd, (d->dst_mode & 07777) | 0700) < 0)
				dir_fail_msg(d, "make writable for now", -errno);
			else
				d->made_writable = true;
		}
		atomic_store(&d->prepared, true);
	}
	pthread_mutex_unlock(&us_c->lock);
}

void us_place_at(struct us_job *j, int dirfd, const char *name)
{
	j->pl_dirfd = dirfd;
	j->pl_name = name;
}

/* A new temporary name beside the final one. */
const char *us_place_tmp(struct us_job *j)
{
	const char *slash = strrchr(j->pl_name, '/');
	size_t dl = slash ? (size_t)(slash - j->pl_name) + 1 : 0;

	if (!dl) {
		us_tmpname(j->tmpname);
		return j->tmpname;
	}
	if (!j->tmppath && !(j->tmppath = malloc(dl + US_TMP_LEN + 1)))
		return NULL;
	memcpy(j->tmppath, j->pl_name, dl);
	us_tmpname(j->tmppath + dl);
	return j->tmppath;
}

static const char *tmp(struct us_job *j)
{
	return j->tmppath ? j->tmppath : j->tmpname;
}

static void failed(struct us_job *j, const char *what, int res)
{
	us_job_fail(j, "dst", what, res);
	us_place_abort(j);
}

static void renamed(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		failed(j, j->kind == US_J_LINK ? "rename link into place" : "rename into place", res);
		return;
	}
	j->tmp_named = false;
	j->placed_fn(j);
}

static void rename_over(struct us_job *j)
{
	j->op[0].fn = renamed;
	j->op[0].owner = j;
	us_op_renameat(j->w, &j->op[0], j->pl_dirfd, tmp(j), j->pl_dirfd, j->pl_name);
}

static void linked(struct us_opc *o, int res);

/* Link the new entry in under name: the O_TMPFILE by its fd, or another entry by its path. */
static void link_in(struct us_job *j, const char *name)
{
	char path[64];

	j->op[0].fn = linked;
	j->op[0].owner = j;
	if (!j->tmpfile) {
		us_op_linkat(j->w, &j->op[0], j->pl_from_dirfd, j->pl_from, j->pl_dirfd, name, 0);
		return;
	}
	/* By its fd with AT_EMPTY_PATH as root (it needs CAP_DAC_READ_SEARCH), else through /proc. */
	if (us_c->root) {
		us_op_linkat(j->w, &j->op[0], j->dfd, "", j->pl_dirfd, name, AT_EMPTY_PATH);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", j->dfd);
	us_op_linkat(j->w, &j->op[0], AT_FDCWD, path, j->pl_dirfd, name, AT_SYMLINK_FOLLOW);
}

static void via_tmp(struct us_job *j)
{
	const char *t = us_place_tmp(j);

	if (!t) {
		failed(j, "link", -ENOMEM);
		return;
	}
	j->pl_via_tmp = true;
	link_in(j, t);
}

static void linked(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res == -EEXIST && !j->pl_via_tmp) {
		/* Something took the name since the listing: replace it. */
		j->dst_exists = true;
		via_tmp(j);
		return;
	}
	if (res < 0) {
		failed(j, j->tmpfile ? "link into the directory" : "link", res);
		return;
	}
	if (j->pl_via_tmp) {
		j->tmp_named = true;
		rename_over(j);
		return;
	}
	j->placed_fn(j);
}

/* The entry is complete: give it its final name, replacing what is there. */
void us_place(struct us_job *j, us_job_fn done)
{
	j->placed_fn = done;
	j->pl_via_tmp = false;
	if (j->tmp_named) {
		rename_over(j);
		return;
	}
	if (j->dst_exists)
		via_tmp(j);
	else
		link_in(j, j->pl_name);
}

/* Phase B: the final name becomes a hard link to from (both under pl_dirfd). */
void us_place_link(struct us_job *j, const char *from, us_job_fn done)
{
	us_place_link_from(j, j->pl_dirfd, from, done);
}

/* --link-dest: the final name becomes a hard link to from in dirfd. */
void us_place_link_from(struct us_job *j, int dirfd, const char *from, us_job_fn done)
{
	j->pl_from_dirfd = dirfd;
	j->pl_from = from;
	j->tmpfile = false;
	us_place(j, done);
}

static void abort_done(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	(void)res;
	us_job_done(j);
}

/* The entry failed or the run stops: its temporary name (if any) is removed, and the job ends. */
void us_place_abort(struct us_job *j)
{
	if (j->tmp_named) {
		j->tmp_named = false;
		j->op[2].fn = abort_done;
		j->op[2].owner = j;
		us_op_unlinkat(j->w, &j->op[2], j->pl_dirfd, tmp(j), 0);
		return;
	}
	us_job_done(j);
}
