/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Regular files (file.h).
 *
 *   decide   quick check (same size and mtime: only metadata may differ),
 *            or with --checksum a compare of the content;
 *   open     source O_RDONLY|O_NOATIME, destination an unnamed O_TMPFILE
 *            in the target directory (a named temporary where the
 *            filesystem lacks O_TMPFILE): no partial file ever has the
 *            final name, and a killed run leaves no temporary behind;
 *   prepare  holes are found with SEEK_DATA/SEEK_HOLE and only the data
 *            is written, after an ftruncate to the full size; a file
 *            without holes gets its blocks with fallocate;
 *   content  the data ranges: read, then write, US_RANGE_QD chunks in
 *            flight per range; ranges of a large file go to a shared
 *            queue so every worker copies part of it;
 *   verify   (--verify) fdatasync, drop the cached pages, re-read both
 *            sides and compare;
 *   meta     xattrs, ACLs, owner, mode, times (meta.c);
 *   place    linkat of the O_TMPFILE to the final name, or, when an old
 *            entry is there, under a temporary name and renamed over it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "file.h"
#include "linkdest.h"
#include "method.h"
#include "partial.h"
#include "meta.h"
#include "place.h"

enum {
	F_DECIDE = 0,
	F_OPEN_CMP,
	F_OPEN_COPY,
};

#define US_FALLOC_MIN	(1u << 20)	/* dense files from this size get their blocks with fallocate */

static void open_cmp(struct us_job *j);
static void open_copy(struct us_job *j);
static void content_done(struct us_job *j);
static void compared(struct us_job *j);
static void copy(struct us_job *j);
static void open_src(struct us_job *j);

static bool same_time(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool newer(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* O_NOATIME where we may use it: reading must not change the source's atime. */
static int noatime(const struct statx *st)
{
	return us_c->root || st->stx_uid == us_c->euid ? O_NOATIME : 0;
}

void us_file_start(struct us_job *j)
{
	const struct statx *s = &j->st, *d = &j->dst;
	bool same_size;

	if (us_stopped()) {
		us_place_abort(j);
		return;
	}
	if (j->step == F_OPEN_CMP) {
		open_cmp(j);
		return;
	}
	if (j->step == F_OPEN_COPY) {
		open_copy(j);
		return;
	}
	/* -u: a destination file newer than the source is left as it is. */
	if (us_c->o.update && j->dst_exists && S_ISREG(d->stx_mode) && newer(&d->stx_mtime, &s->stx_mtime)) {
		us_job_done(j);
		return;
	}
	same_size = j->dst_exists && S_ISREG(d->stx_mode) && d->stx_size == s->stx_size;
	if (same_size && !us_c->o.checksum && same_time(&s->stx_mtime, &d->stx_mtime)) {
		us_inplace_meta(j);
		return;
	}
	if (same_size && us_c->o.checksum) {
		j->step = F_OPEN_CMP;
		open_cmp(j);
		return;
	}
	if (us_c->o.nlink_dest)
		us_linkdest_try(j, copy);
	else
		copy(j);
}

/* The file is copied; in a dry run, counted and listed as the real run would. */
static void copy(struct us_job *j)
{
	atomic_fetch_add(&us_c->s.bytes_todo, j->st.stx_size);
	if (us_c->o.dry_run) {
		atomic_fetch_add(&us_c->s.copied, 1);
	us_count_made(j);
		us_item(j->dst_exists ? "update" : "copy", j->dir->rel, j->ent->name, NULL);
		us_job_done(j);
		return;
	}
	j->step = F_OPEN_COPY;
	open_copy(j);
}

/* --- --checksum: compare an existing destination ------------------------------------------------ */

static void cmp_opened(struct us_opc *o, int res);

static void open_cmp(struct us_job *j)
{
	if (!us_fd_take(j, 2)) {
		us_fd_wait(j, us_file_start);
		return;
	}
	j->pending = 2;
	j->op[0].fn = cmp_opened;
	j->op[0].owner = j;
	j->op[1].fn = cmp_opened;
	j->op[1].owner = j;
	us_op_openat(j->w, &j->op[0], j->sdirfd, j->sname, O_RDONLY | O_NOFOLLOW | noatime(&j->st), 0);
	us_op_openat(j->w, &j->op[1], j->dir->dfd, j->ent->name, O_RDONLY | O_NOFOLLOW | noatime(&j->dst), 0);
}

static void cmp_opened(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	bool src = o == &j->op[0];

	if (res >= 0)
		*(src ? &j->sfd : &j->dfd) = res;
	else if (!j->err)
		us_job_fail(j, src ? "src" : "dst", "open", res);
	if (--j->pending)
		return;
	if (j->err || us_stopped()) {
		us_place_abort(j);
		return;
	}
	if (us_ranges_build(j, false, j->st.stx_size) < 0) {
		us_job_fail(j, "src", "compare", -ENOMEM);
		us_place_abort(j);
		return;
	}
	us_ranges_start(j, true, compared);
}

static void cmp_meta_done(struct us_job *j)
{
	if (j->meta->changed) {
		us_item("meta", j->dir->rel, j->ent->name, NULL);
		atomic_fetch_add(&us_c->s.updated, 1);
	}
	us_job_done(j);
}

static void checksum_compared(struct us_job *j)
{
	int err = atomic_load(&j->copy_err);
	struct us_meta *m;

	if (us_stopped()) {
		us_place_abort(j);
		return;
	}
	if (err && err != US_EDIFFERS) {
		us_job_fail(j, atomic_load(&j->copy_err_dst) ? "dst" : "src", "compare", err);
		us_place_abort(j);
		return;
	}
	if (!err) {
		/* Same content: only metadata may differ; fix it through the open files. */
		j->placed = true;
		m = us_meta_new(j);
		if (!m) {
			us_job_fail(j, "dst", "metadata", -ENOMEM);
			us_place_abort(j);
			return;
		}
		m->src = (struct us_ref){ .fd = j->sfd, .dirfd = -1 };
		m->dst = (struct us_ref){ .fd = j->dfd, .dirfd = -1 };
		m->sst = &j->st;
		m->dst_st = j->dst;
		m->fresh = false;
		m->dry = us_c->o.dry_run;
		m->done = cmp_meta_done;
		us_meta_start(j, m);
		return;
	}
	/* It differs: copy, keeping the source open and the fd budget for the new file. */
	us_close_async(j->w, j->dfd);
	j->dfd = -1;
	copy(j);
}

/* --- copy ----------------------------------------------------------------------------------------- */

static void copy_opened(struct us_opc *o, int res);
static void prepared(struct us_opc *o, int res);

static bool sparse_file(const struct statx *st)
{
	return (st->stx_mask & STATX_BLOCKS) && st->stx_blocks * 512 < st->stx_size;
}

static void open_dst(struct us_job *j)
{
	int acc = (us_c->o.verify ? O_RDWR : O_WRONLY) | (atomic_load(&j->direct) ? O_DIRECT : 0);
	mode_t mode = j->st.stx_mode & 0777;

	j->op[1].fn = copy_opened;
	j->op[1].owner = j;
	if (j->resume_at) {
		/* --partial: into the data an earlier run kept. */
		j->tmpfile = false;
		us_op_openat(j->w, &j->op[1], j->dir->dfd, j->tmppath, (acc & ~O_WRONLY) | O_RDWR | O_NOFOLLOW, 0);
		return;
	}
	if (!atomic_load(&us_c->no_tmpfile)) {
		j->tmpfile = true;
		us_op_openat(j->w, &j->op[1], j->dir->dfd, ".", O_TMPFILE | acc, mode);
		return;
	}
	j->tmpfile = false;
	us_op_openat(j->w, &j->op[1], j->dir->dfd, us_place_tmp(j), O_CREAT | O_EXCL | O_NOFOLLOW | acc, mode);
}

static void open_src(struct us_job *j)
{
	j->op[0].fn = copy_opened;
	j->op[0].owner = j;
	us_op_openat(j->w, &j->op[0], j->sdirfd, j->sname,
		     O_RDONLY | O_NOFOLLOW | noatime(&j->st) | (j->direct_src ? O_DIRECT : 0), 0);
}

static void open_copy(struct us_job *j)
{
	if (j->fds_held < 2 && !us_fd_take(j, 2 - j->fds_held)) {
		us_fd_wait(j, us_file_start);
		return;
	}
	us_dir_prepare(j);
	us_partial_find(j);
	us_method_pick(j);
	if (j->resume_at && j->method == US_M_CLONE)
		us_method_fallback(j);
	j->pending = 1;
	if (j->sfd < 0) {
		j->pending = 2;
		open_src(j);
	}
	open_dst(j);
}

/* --partial: what an earlier run kept is not copied again. */
static void resume(struct us_job *j)
{
	unsigned n = 0;

	for (unsigned i = 0; i < j->nranges; i++) {
		struct us_range *rg = &j->ranges[i];

		if (rg->end <= j->resume_at)
			continue;
		if (rg->off < j->resume_at)
			rg->off = rg->next = j->resume_at;
		j->ranges[n++] = *rg;
	}
	j->nranges = n;
	atomic_fetch_sub(&us_c->s.bytes_todo, j->resume_at);
}

static void copy_opened(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	int ret;

	if (o == &j->op[0]) {
		if (res == -EINVAL && j->direct_src) {
			/* No O_DIRECT for the source: buffered reads. */
			j->direct_src = false;
			open_src(j);
			return;
		}
		if (res >= 0) {
			j->sfd = res;
			/* copy_file_range reads on this thread, a file at a
			 * time: a source that is not cached would be read so.
			 * Start its first piece's reads now, while other files
			 * go on (about 1 us when it is cached).  Not the ring's
			 * fadvise (us_op_fadvise): io_uring hands WILLNEED to a
			 * worker thread for a call that only starts reads. */
			if (j->method == US_M_CFR)
				posix_fadvise(res, 0, (off_t)US_CFR_STEP, POSIX_FADV_WILLNEED);
		} else if (!j->err)
			us_job_fail(j, "src", "open", res);
	} else if (res >= 0) {
		j->dfd = res;
		j->tmp_named = !j->tmpfile;
	} else if (j->resume_at) {
		/* The partial file went away: from the start. */
		j->resume_at = 0;
		free(j->tmppath);
		j->tmppath = NULL;
		open_dst(j);
		return;
	} else if (res == -EINVAL && atomic_load(&j->direct)) {
		/* No O_DIRECT on this filesystem: buffered from now on. */
		atomic_store(&us_c->no_direct, true);
		open_dst(j);
		return;
	} else if (j->tmpfile && (res == -EOPNOTSUPP || res == -EISDIR || res == -EINVAL)) {
		/* No O_TMPFILE on this filesystem: named temporaries from now on. */
		atomic_store(&us_c->no_tmpfile, true);
		open_dst(j);
		return;
	} else if (!j->err) {
		us_job_fail(j, "dst", "create", res);
	}
	if (--j->pending)
		return;
	if (j->err || us_stopped()) {
		us_place_abort(j);
		return;
	}
	if (j->method == US_M_CLONE && us_clone(j)) {
		atomic_fetch_add(&us_c->s.bytes_done, j->st.stx_size);
		content_done(j);
		return;
	}
	/* A file with fewer blocks than its size has holes: copy only its data. */
	bool sparse = sparse_file(&j->st);

	j->sparse = sparse;
	/* O_DIRECT takes aligned blocks; the unaligned end is written afterwards, buffered. */
	j->tail = atomic_load(&j->direct) ? j->st.stx_size & ~(uint64_t)4095 : 0;
	ret = us_ranges_build(j, sparse, j->tail ? j->tail : j->st.stx_size);
	if (j->tail == j->st.stx_size)
		j->tail = 0;
	if (ret < 0) {
		us_job_fail(j, "src", "find holes", ret);
		us_place_abort(j);
		return;
	}
	if (j->resume_at)
		resume(j);
	if (sparse) {
		/* Only the data is written: the holes are not bytes to copy. */
		uint64_t data = 0;

		for (unsigned i = 0; i < j->nranges; i++)
			data += j->ranges[i].end - j->ranges[i].off;
		atomic_fetch_sub(&us_c->s.bytes_todo, (j->tail ? j->tail : j->st.stx_size) - data);
	}
	j->op[0].fn = prepared;
	j->op[0].owner = j;
	if (sparse) {
		us_op_ftruncate(j->w, &j->op[0], j->dfd, j->st.stx_size);
		return;
	}
	if (j->st.stx_size >= US_FALLOC_MIN) {
		j->prealloc = true;
		us_op_fallocate(j->w, &j->op[0], j->dfd, j->st.stx_size);
		return;
	}
	prepared(&j->op[0], 0);
}

static void prepared(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	/* fallocate is a hint: a filesystem without it still takes the writes. */
	if (res == -EOPNOTSUPP)
		j->prealloc = false;
	if (res < 0 && res != -EOPNOTSUPP) {
		us_job_fail(j, "dst", "allocate", res);
		us_place_abort(j);
		return;
	}
	if (us_stopped()) {
		us_place_abort(j);
		return;
	}
	us_ranges_start(j, false, content_done);
}

static void copy_meta_done(struct us_job *j);
static void verify_synced(struct us_opc *o, int res);
static void verify_dropped(struct us_opc *o, int res);

static void content_done(struct us_job *j)
{
	int err = atomic_load(&j->copy_err);
	struct us_meta *m;

	if (us_stopped()) {
		if (!us_partial_keep(j))
			us_place_abort(j);
		return;
	}
	if (err) {
		us_job_fail(j, atomic_load(&j->copy_err_dst) ? "dst" : "src", "copy", err);
		us_place_abort(j);
		return;
	}
	/* After the aligned part written with O_DIRECT, the end, buffered. */
	us_direct_off(j);
	if (j->tail) {
		unsigned cap = 0;

		j->nranges = 0;
		if (us_ranges_add(j, j->tail, j->st.stx_size, &cap) < 0) {
			us_job_fail(j, "dst", "copy", -ENOMEM);
			us_place_abort(j);
			return;
		}
		j->tail = 0;
		us_ranges_start(j, false, content_done);
		return;
	}
	if (us_c->o.verify) {
		j->op[0].fn = verify_synced;
		j->op[0].owner = j;
		us_op_fsync(j->w, &j->op[0], j->dfd);
		return;
	}
	m = us_meta_new(j);
	if (!m) {
		us_job_fail(j, "dst", "metadata", -ENOMEM);
		us_place_abort(j);
		return;
	}
	m->src = (struct us_ref){ .fd = j->sfd, .dirfd = -1 };
	m->dst = (struct us_ref){ .fd = j->dfd, .dirfd = -1 };
	m->sst = &j->st;
	us_meta_fresh(j, m, j->st.stx_mode & 0777);
	m->dry = false;
	m->done = copy_meta_done;
	us_meta_start(j, m);
}

/*
 * --verify: the copy is flushed and its cached pages dropped, so the
 * compare reads what the device holds, not what we just wrote to memory.
 */
static void verify_synced(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "sync for verify", res);
		us_place_abort(j);
		return;
	}
	j->op[0].fn = verify_dropped;
	us_op_fadvise(j->w, &j->op[0], j->dfd, POSIX_FADV_DONTNEED);
}

static void verify_dropped(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	(void)res;	/* only a cache hint */
	j->verifying = true;
	if (us_ranges_build(j, false, j->st.stx_size) < 0) {
		us_job_fail(j, "dst", "verify", -ENOMEM);
		us_place_abort(j);
		return;
	}
	us_ranges_start(j, true, compared);
}

static void compared(struct us_job *j)
{
	int err;
	struct us_meta *m;

	if (!j->verifying) {
		checksum_compared(j);
		return;
	}
	err = atomic_load(&j->copy_err);
	if (us_stopped()) {
		us_place_abort(j);
		return;
	}
	if (err) {
		us_job_fail(j, atomic_load(&j->copy_err_dst) ? "dst" : "src",
			    err == US_EDIFFERS ? "verify" : "read back for verify", err);
		us_place_abort(j);
		return;
	}
	m = us_meta_new(j);
	if (!m) {
		us_job_fail(j, "dst", "metadata", -ENOMEM);
		us_place_abort(j);
		return;
	}
	m->src = (struct us_ref){ .fd = j->sfd, .dirfd = -1 };
	m->dst = (struct us_ref){ .fd = j->dfd, .dirfd = -1 };
	m->sst = &j->st;
	us_meta_fresh(j, m, j->st.stx_mode & 0777);
	m->dry = false;
	m->done = copy_meta_done;
	us_meta_start(j, m);
}

static void placed(struct us_job *j)
{
	char how[96];

	j->placed = true;
	us_partial_done(j);
	atomic_fetch_add(&us_c->s.copied, 1);
	us_count_made(j);
	us_item_how(j->dst_exists ? "update" : "copy", j->dir->rel, j->ent->name,
		    us_c->o.verbose ? us_method_name(j, how, sizeof(how)) : NULL);
	us_job_done(j);
}

static void copy_meta_done(struct us_job *j)
{
	if (us_stopped()) {
		us_place_abort(j);
		return;
	}
	us_place(j, placed);
}
