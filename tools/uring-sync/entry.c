/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Entries of listed directories (entry.h): each is stat'ed on both sides
 * and then, by its type:
 *   directory   made (mkdirat) or found, and queued for listing; its
 *               metadata waits for phase C;
 *   file        file.c;
 *   symlink, special file
 *               made under a temporary name (symlinkat; mknodat, which
 *               has no io_uring op), given its metadata, renamed into
 *               place; or, when the destination already is the same,
 *               only its metadata is fixed;
 * and a further name of an inode already seen waits for phase B (link.c).
 * Up to max_jobs entries are in flight per worker.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "delete.h"
#include "dir.h"
#include "entry.h"
#include "file.h"
#include "filter.h"
#include "link.h"
#include "meta.h"
#include "place.h"

static void entry_stated(struct us_opc *o, int res);
static void entry_dispatch(struct us_job *j);
static char *read_link(int dirfd, const char *name, size_t hint, int *err);

static void entry_finish(struct us_job *j);

void us_entry_start(struct us_worker *w, struct us_dir *d, const struct us_ent *e)
{
	struct us_job *j = us_job_new(w, US_J_ENTRY, entry_finish);

	if (!j) {
		us_fail(us_c->dst_prefix, d->rel, e->name, "start", -ENOMEM);
		atomic_fetch_add(&us_c->s.errors, 1);
		us_dir_put(w, d);
		us_work_done(1);
		return;
	}
	j->dir = d;
	j->ent = e;
	j->rel_dir = d->rel;
	j->rel_name = e->name;
	j->src = &d->srcs[e->src];
	j->sdirfd = d->sfds[e->src];
	j->sname = j->src->only ? j->src->only : e->name;
	us_place_at(j, d->dfd, e->name);
	/*
	 * A symlink is read before it is stat'ed: readlink may update its
	 * atime (relatime), and the copy gets the atime the source has after.
	 */
	if (e->d_type == DT_LNK) {
		int err = 0;

		j->target = read_link(j->sdirfd, j->sname, 256, &err);
	}
	j->pending = 1;
	j->op[0].fn = entry_stated;
	j->op[0].owner = j;
	j->op[1].fn = entry_stated;
	j->op[1].owner = j;
	if (e->in_dst) {
		j->pending = 2;
		us_op_statx(w, &j->op[1], d->dfd, e->name, AT_SYMLINK_NOFOLLOW);
	}
	us_op_statx(w, &j->op[0], j->sdirfd, j->sname, AT_SYMLINK_NOFOLLOW);
}

static void entry_finish(struct us_job *j)
{
	struct us_worker *w = j->w;
	struct us_dir *d = j->dir;

	if (j->leader)
		atomic_store(&j->leader->state, j->placed || us_c->o.dry_run ? 1 : -1);
	if (j->counted)
		atomic_fetch_add(&us_c->s.entries_done, 1);
	if (j->sfd >= 0)
		us_close_async(w, j->sfd);
	if (j->dfd >= 0)
		us_close_async(w, j->dfd);
	j->sfd = j->dfd = -1;
	us_dir_put(w, d);
	us_job_free(j);
	us_work_done(1);
}

/* A name whose type the listing did not give, against rules for directories only. */
static bool excluded(struct us_job *j)
{
	return us_filter_check(us_c->o.filter, us_job_rel(j), S_ISDIR(j->st.stx_mode) ? US_F_DIR : US_F_NOTDIR) ==
	       US_F_EXCLUDED;
}

static void entry_stated(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (o == &j->op[0]) {
		if (res < 0)
			j->step = res;
		else
			j->st = o->stx;
	} else if (res >= 0) {
		j->dst = o->stx;
		j->dst_exists = true;
	} else if (res != -ENOENT) {
		us_job_fail(j, "dst", "stat", res);
	}
	if (--j->pending)
		return;
	if (j->step < 0) {
		us_job_fail(j, "src", j->step == -ENOENT ? "vanished before it was copied" : "stat", j->step);
		entry_finish(j);
		return;
	}
	if (j->err) {
		entry_finish(j);
		return;
	}
	if (j->ent->check_type && excluded(j)) {
		entry_finish(j);
		return;
	}
	j->step = 0;
	entry_dispatch(j);
}

/* --- entries: directories ---------------------------------------------------------------- */

static void subdir_made(struct us_opc *o, int res);

static void subdir_push(struct us_job *j, bool created)
{
	struct us_dir *d = j->dir, *sd = us_dir_new(d, j->ent, NULL, 0);
	bool mountpoint = us_c->o.one_fs && makedev(j->st.stx_dev_major, j->st.stx_dev_minor) != j->src->dev;

	if (!sd) {
		us_job_fail(j, "src", "queue directory", -ENOMEM);
		entry_finish(j);
		return;
	}
	sd->dst_new = created;
	if (created) {
		sd->dst_setgid = d->dst_setgid;
		sd->dst_gid = d->dst_setgid ? d->dst_gid : us_c->egid;
	} else {
		sd->dst_setgid = j->dst.stx_mode & S_ISGID;
		sd->dst_gid = j->dst.stx_gid;
		sd->dst_mode = j->dst.stx_mode;
		sd->dst_mtime = j->dst.stx_mtime;
	}
	if (created) {
		atomic_fetch_add(&us_c->s.made[US_T_DIR], 1);
		us_item("mkdir", d->rel, j->ent->name, "/");
	}
	/* With --one-file-system, a mount point is made, empty (as rsync -x does). */
	if (us_dir_add(sd, !mountpoint) < 0) {
		us_job_fail(j, "src", "queue directory", -ENOMEM);
		us_dir_free(sd);
	}
	entry_finish(j);
}

static void subdir_mkdir(struct us_job *j)
{
	us_dir_prepare(j);
	j->op[0].fn = subdir_made;
	j->op[0].owner = j;
	us_op_mkdirat(j->w, &j->op[0], j->dir->dfd, j->ent->name, 0700);
}

static void subdir_cleared(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "remove the non-directory in the way", res);
		entry_finish(j);
		return;
	}
	subdir_mkdir(j);
}

static void subdir_made(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "make directory", res);
		entry_finish(j);
		return;
	}
	subdir_push(j, true);
}

static void entry_dir(struct us_job *j)
{
	if (makedev(j->st.stx_dev_major, j->st.stx_dev_minor) == us_c->dst_dev && j->st.stx_ino == us_c->dst_ino) {
		/* The destination seen from inside the source (through a bind mount). */
		us_job_fail(j, "src", "is the destination directory; not copied into itself", 0);
		entry_finish(j);
		return;
	}
	if (j->dst_exists && S_ISDIR(j->dst.stx_mode)) {
		subdir_push(j, false);
		return;
	}
	if (us_c->o.dry_run) {
		subdir_push(j, true);
		return;
	}
	if (j->dst_exists) {
		us_dir_prepare(j);
		j->op[0].fn = subdir_cleared;
		j->op[0].owner = j;
		us_op_unlinkat(j->w, &j->op[0], j->dir->dfd, j->ent->name, 0);
		return;
	}
	subdir_mkdir(j);
}

/* --- entries: symlinks and special files ------------------------------------------------------ */

static void other_made(struct us_opc *o, int res);
static void other_meta_done(struct us_job *j);
static void other_placed(struct us_job *j);

static char *read_link(int dirfd, const char *name, size_t hint, int *err)
{
	size_t cap = hint + 2 > 256 ? hint + 2 : 256;

	for (;;) {
		char *buf = malloc(cap);
		ssize_t n;

		if (!buf) {
			*err = -ENOMEM;
			return NULL;
		}
		n = readlinkat(dirfd, name, buf, cap);
		if (n < 0) {
			*err = -errno;
			free(buf);
			return NULL;
		}
		if ((size_t)n < cap) {
			buf[n] = 0;
			return buf;
		}
		free(buf);
		cap *= 2;
	}
}

static void other_create(struct us_job *j);

static void other_cleared(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res == -ENOTEMPTY && us_c->o.del && us_delete_in_way(j))
		res = 0;
	if (res < 0) {
		us_job_fail(j, "dst", res == -ENOTEMPTY ? "a non-empty directory is in the way" :
			    "remove the directory in the way", res);
		entry_finish(j);
		return;
	}
	j->dst_exists = false;
	if (S_ISREG(j->st.stx_mode))
		us_file_start(j);
	else
		other_create(j);
}

static void relink_stated(struct us_opc *o, int res);

static void entry_other(struct us_job *j)
{
	mode_t t = j->st.stx_mode & S_IFMT;
	int err = 0;

	if (t != S_IFLNK && j->target) {
		free(j->target);
		j->target = NULL;
	}
	if (t == S_IFLNK && !j->target) {
		/* The listing did not say it was a link: read it, then stat it again. */
		j->target = read_link(j->sdirfd, j->sname, j->st.stx_size, &err);
		if (!j->target) {
			us_job_fail(j, "src", "read symlink", err);
			entry_finish(j);
			return;
		}
		j->op[0].fn = relink_stated;
		j->op[0].owner = j;
		us_op_statx(j->w, &j->op[0], j->sdirfd, j->sname, AT_SYMLINK_NOFOLLOW);
		return;
	}
	if (t == S_IFLNK && strlen(j->target) != j->st.stx_size && !j->step) {
		/* Changed between the read and the stat: read it again, once. */
		free(j->target);
		j->target = NULL;
		j->step = 1;
		entry_other(j);
		return;
	}
	if (j->dst_exists && (j->dst.stx_mode & S_IFMT) == t) {
		bool same;

		if (t == S_IFLNK) {
			/* Read only when the lengths agree: reading moves the link's atime. */
			char *have = j->dst.stx_size != strlen(j->target) ? NULL :
				     read_link(j->dir->dfd, j->ent->name, j->dst.stx_size, &err);

			same = have && !strcmp(have, j->target);
			free(have);
		} else if (t == S_IFCHR || t == S_IFBLK) {
			same = j->st.stx_rdev_major == j->dst.stx_rdev_major &&
			       j->st.stx_rdev_minor == j->dst.stx_rdev_minor;
		} else {
			same = true;
		}
		if (same) {
			us_inplace_meta(j);
			return;
		}
	}
	if (us_c->o.dry_run) {
		atomic_fetch_add(&us_c->s.created, 1);
		us_count_made(j);
		us_item(t == S_IFLNK ? "symlink" : "special", j->dir->rel, j->ent->name, j->target);
		entry_finish(j);
		return;
	}
	us_dir_prepare(j);
	if (j->dst_exists && S_ISDIR(j->dst.stx_mode)) {
		j->op[0].fn = other_cleared;
		j->op[0].owner = j;
		us_op_unlinkat(j->w, &j->op[0], j->dir->dfd, j->ent->name, AT_REMOVEDIR);
		return;
	}
	other_create(j);
}

static void relink_stated(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "src", "stat", res);
		entry_finish(j);
		return;
	}
	if (!S_ISLNK(o->stx.stx_mode)) {
		us_job_fail(j, "src", "changed type while being copied", 0);
		entry_finish(j);
		return;
	}
	j->st = o->stx;
	j->step = 1;
	entry_other(j);
}

/* Made under a temporary name, given its metadata, then renamed into place. */
static void other_create(struct us_job *j)
{
	mode_t t = j->st.stx_mode & S_IFMT;

	us_place_tmp(j);
	j->op[0].fn = other_made;
	j->op[0].owner = j;
	if (t == S_IFLNK) {
		us_op_symlinkat(j->w, &j->op[0], j->target, j->dir->dfd, j->tmpname);
		return;
	}
	/* mknod has no io_uring op. */
	int ret = mknodat(j->dir->dfd, j->tmpname, t | (j->st.stx_mode & 0777),
			  makedev(j->st.stx_rdev_major, j->st.stx_rdev_minor));
	us_defer(j->w, &j->op[0], ret < 0 ? -errno : 0);
}

static void other_made(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_meta *m;
	bool lnk = S_ISLNK(j->st.stx_mode);

	if (res < 0) {
		us_job_fail(j, "dst", lnk ? "make symlink" : "make special file", res);
		entry_finish(j);
		return;
	}
	j->tmp_named = true;
	if (us_stopped() || !(m = us_meta_new(j))) {
		if (!us_stopped())
			us_job_fail(j, "dst", "metadata", -ENOMEM);
		us_place_abort(j);
		return;
	}
	m->src = (struct us_ref){ .fd = -1, .dirfd = j->sdirfd, .name = j->sname, .symlink = lnk };
	m->dst = (struct us_ref){ .fd = -1, .dirfd = j->dir->dfd, .name = j->tmpname, .symlink = lnk };
	m->sst = &j->st;
	us_meta_fresh(j, m, lnk ? 0777 : (j->st.stx_mode & 0777));
	m->dry = false;
	m->done = other_meta_done;
	us_meta_start(j, m);
}

static void other_meta_done(struct us_job *j)
{
	if (us_stopped()) {
		us_place_abort(j);
		return;
	}
	us_place(j, other_placed);
}

static void other_placed(struct us_job *j)
{
	j->placed = true;
	atomic_fetch_add(&us_c->s.created, 1);
	us_count_made(j);
	us_item(S_ISLNK(j->st.stx_mode) ? "symlink" : "special", j->dir->rel, j->ent->name, j->target);
	entry_finish(j);
}

/* What the options leave out (rsync without -r, -l, -D, --devices, --specials). */
static const char *skipped(mode_t t)
{
	const struct us_opts *o = &us_c->o;

	if (t == S_IFDIR)
		return o->recursive ? NULL : "skipping directory";
	if (t == S_IFLNK)
		return o->links ? NULL : "skipping non-regular file";
	if (t == S_IFCHR || t == S_IFBLK)
		return o->devices ? NULL : "skipping non-regular file";
	if (t == S_IFIFO || t == S_IFSOCK)
		return o->specials ? NULL : "skipping non-regular file";
	return NULL;
}

static void entry_dispatch(struct us_job *j)
{
	mode_t t = j->st.stx_mode & S_IFMT;
	const char *skip = skipped(t);

	if (us_stopped()) {
		entry_finish(j);
		return;
	}
	if (skip) {
		if (us_c->o.verbose)
			us_msg("%s %s", skip, us_job_rel(j));
		entry_finish(j);
		return;
	}
	atomic_fetch_add(&us_c->s.files[us_type_index(t)], 1);
	if (t == S_IFREG || t == S_IFLNK)
		atomic_fetch_add(&us_c->s.total_size, j->st.stx_size);
	if (t != S_IFDIR) {
		atomic_fetch_add(&us_c->s.entries, 1);
		j->counted = true;
	}
	if (t == S_IFDIR) {
		entry_dir(j);
		return;
	}
	if (j->st.stx_nlink > 1 && us_c->o.hard_links && us_link_register(j)) {
		entry_finish(j);
		return;
	}
	if (t == S_IFREG) {
		if (j->dst_exists && S_ISDIR(j->dst.stx_mode) && !us_c->o.dry_run) {
			/* Only an empty directory is removed to make way. */
			us_dir_prepare(j);
			j->op[0].fn = other_cleared;
			j->op[0].owner = j;
			us_op_unlinkat(j->w, &j->op[0], j->dir->dfd, j->ent->name, AT_REMOVEDIR);
			return;
		}
		us_file_start(j);
		return;
	}
	entry_other(j);
}
