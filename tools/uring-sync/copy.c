/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Regular files.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "us.h"

enum {
	F_DECIDE = 0,
	F_OPEN_CMP,
	F_OPEN_COPY,
};

#define US_FALLOC_MIN (1u << 20)

static void open_cmp(struct us_job *j);
static void open_copy(struct us_job *j);
static void content_done(struct us_job *j);
static void compared(struct us_job *j);
static void copy_abort(struct us_job *j);

static bool same_time(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
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
		copy_abort(j);
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
	atomic_fetch_add(&us_c->s.bytes_todo, s->stx_size);
	if (us_c->o.dry_run) {
		us_item(j->dst_exists ? "update" : "copy", j->dir->rel, j->ent->name, NULL);
		us_entry_finish(j);
		return;
	}
	j->step = F_OPEN_COPY;
	open_copy(j);
}

/* Close what is open, drop a named temporary, count the entry out. */
static void copy_abort(struct us_job *j)
{
	us_entry_abort(j);
}

/* --- ranges and chunks -------------------------------------------------------------------- */

static int ranges_add(struct us_job *j, uint64_t off, uint64_t end, unsigned *cap)
{
	while (off < end) {
		uint64_t e = end - off > US_RANGE ? off + US_RANGE : end;

		if (j->nranges == *cap) {
			unsigned n = *cap ? *cap * 2 : 4;
			struct us_range *r = realloc(j->ranges, n * sizeof(*r));

			if (!r)
				return -ENOMEM;
			j->ranges = r;
			*cap = n;
		}
		j->ranges[j->nranges++] = (struct us_range){ .job = j, .off = off, .end = e, .next = off };
		off = e;
	}
	return 0;
}

/* The data of the source up to size: everything, or, for a file with holes, its data extents. */
static int ranges_build(struct us_job *j, bool sparse, uint64_t size)
{
	unsigned cap = 0;
	off_t pos = 0;

	free(j->ranges);
	j->ranges = NULL;
	j->nranges = 0;
	if (!sparse)
		return ranges_add(j, 0, size, &cap);
	/* lseek has no io_uring op. */
	while ((uint64_t)pos < size) {
		off_t data = lseek(j->sfd, pos, SEEK_DATA), hole;
		int ret;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			if (errno == EINVAL)		/* no SEEK_DATA here: copy it all */
				return ranges_add(j, (uint64_t)pos, size, &cap);
			return -errno;
		}
		hole = lseek(j->sfd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		ret = ranges_add(j, (uint64_t)data, (uint64_t)hole, &cap);
		if (ret < 0)
			return ret;
		pos = hole;
	}
	return 0;
}

static void range_finished(struct us_worker *w, struct us_range *rg)
{
	struct us_job *j = rg->job;

	if (atomic_fetch_sub(&j->ranges_left, 1) != 1)
		return;
	/* The last range of the file: this worker carries the job on. */
	j->w = w;
	if (j->comparing)
		compared(j);
	else
		content_done(j);
}

static void ranges_start(struct us_job *j, bool comparing)
{
	struct us_worker *w = j->w;
	bool shared = j->st.stx_size >= US_SPLIT_MIN && us_c->nworkers > 1 && j->nranges > 1;

	j->comparing = comparing;
	j->differs = false;
	atomic_store(&j->copy_err, 0);
	if (!j->nranges) {
		atomic_store(&j->ranges_left, 1);
		struct us_range none = { .job = j };
		range_finished(w, &none);
		return;
	}
	atomic_store(&j->ranges_left, j->nranges);
	if (!comparing && !j->writers && !atomic_load(&j->direct) && j->st.stx_size >= US_SPLICE_MIN)
		j->writers = calloc(us_c->nworkers, sizeof(*j->writers));
	for (unsigned i = 0; i < j->nranges; i++) {
		j->ranges[i].next = j->ranges[i].off;
		j->ranges[i].inflight = 0;
		j->ranges[i].shared = shared;
	}
	if (shared) {
		pthread_mutex_lock(&us_c->lock);
		for (unsigned i = 0; i < j->nranges; i++) {
			j->ranges[i].qnext = NULL;
			if (us_c->rangeq_tail)
				us_c->rangeq_tail->qnext = &j->ranges[i];
			else
				us_c->rangeq = &j->ranges[i];
			us_c->rangeq_tail = &j->ranges[i];
		}
		pthread_cond_broadcast(&us_c->cond);
		pthread_mutex_unlock(&us_c->lock);
		return;
	}
	/* Appended, so that files are done one after the other. */
	struct us_range **pp = &w->active;

	while (*pp)
		pp = &(*pp)->qnext;
	for (unsigned i = 0; i < j->nranges; i++) {
		*pp = &j->ranges[i];
		pp = &j->ranges[i].qnext;
		w->nactive++;
	}
	*pp = NULL;
}

bool us_take_shared_range(struct us_worker *w)
{
	struct us_range *rg;

	pthread_mutex_lock(&us_c->lock);
	rg = us_c->rangeq;
	if (rg) {
		us_c->rangeq = rg->qnext;
		if (!us_c->rangeq)
			us_c->rangeq_tail = NULL;
	}
	pthread_mutex_unlock(&us_c->lock);
	if (!rg)
		return false;
	rg->qnext = w->active;
	w->active = rg;
	w->nactive++;
	w->did_work = true;
	return true;
}

static void chunk_read(struct us_worker *w, struct us_chunk *ch);
static void chunk_write(struct us_worker *w, struct us_chunk *ch);

static void set_err(struct us_job *j, int err, bool dst)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&j->copy_err, &zero, err) && dst)
		atomic_store(&j->copy_err_dst, true);
	if (err == -ENOSPC || err == -EDQUOT)
		us_set_stop(US_STOP_NOSPC);
}

static void chunk_end(struct us_worker *w, struct us_chunk *ch, int err, bool dst)
{
	struct us_range *rg = ch->rg;

	if (err)
		set_err(rg->job, err, dst);
	rg->inflight--;
	if (ch->pipe)
		us_pipe_put(w, ch->pipe, err || ch->wr != ch->rd);
	us_mem_put(w, ch->mem, ch->cls);
	us_mem_put(w, ch->mem2, ch->cls2);
	us_chunk_put(w, ch);
	w->did_work = true;
}

static void chunk_read_done(struct us_opc *o, int res)
{
	struct us_chunk *ch = o->owner;
	struct us_worker *w = o->w;

	sr_buf_free(o->buf);
	if (res <= 0) {
		/* End of file before the size we saw: the file shrank. */
		chunk_end(w, ch, res < 0 ? res : US_ECHANGED, false);
		return;
	}
	ch->rd += (uint32_t)res;
	chunk_write(w, ch);
}

static bool direct_off(struct us_job *j);

static void chunk_write_done(struct us_opc *o, int res)
{
	struct us_chunk *ch = o->owner;
	struct us_worker *w = o->w;

	sr_buf_free(o->buf);
	if (res == -EINVAL && direct_off(ch->rg->job)) {
		/* Not aligned as the device wants (or a short read before): write it buffered. */
		chunk_write(w, ch);
		return;
	}
	if (res <= 0) {
		chunk_end(w, ch, res < 0 ? res : -EIO, true);
		return;
	}
	ch->wr += (uint32_t)res;
	atomic_fetch_add(&us_c->s.bytes_done, (unsigned long long)res);
	if (ch->wr < ch->rd)
		chunk_write(w, ch);
	else if (ch->rd < ch->len && !atomic_load(&ch->rg->job->copy_err) && !us_stopped())
		chunk_read(w, ch);
	else
		chunk_end(w, ch, 0, false);
}

static void chunk_read(struct us_worker *w, struct us_chunk *ch)
{
	struct sr_buf *b = sr_buf_wrap((char *)ch->mem + ch->rd, ch->len - ch->rd, 0);

	if (!b) {
		chunk_end(w, ch, -ENOMEM, false);
		return;
	}
	ch->op.fn = chunk_read_done;
	ch->op.owner = ch;
	us_op_read(w, &ch->op, ch->rg->job->sfd, b, ch->off + ch->rd);
}

static void chunk_write(struct us_worker *w, struct us_chunk *ch)
{
	struct sr_buf *b = sr_buf_wrap((char *)ch->mem + ch->wr, ch->rd - ch->wr, ch->rd - ch->wr);

	if (!b) {
		chunk_end(w, ch, -ENOMEM, true);
		return;
	}
	ch->op.fn = chunk_write_done;
	ch->op.owner = ch;
	us_op_write(w, &ch->op, ch->rg->job->dfd, b, ch->off + ch->wr);
}

/* Splice: source to pipe (page references), pipe to destination (one copy). */
static void chunk_splice_in(struct us_worker *w, struct us_chunk *ch);
static void chunk_spliced_out(struct us_opc *o, int res);

static void splice_out(struct us_worker *w, struct us_chunk *ch)
{
	ch->op.fn = chunk_spliced_out;
	us_op_splice(w, &ch->op, ch->pipe->r, -1, ch->rg->job->dfd, (int64_t)(ch->off + ch->wr), ch->rd - ch->wr);
}

/* The chunk's pipe holds data: write it now, or after this worker's current write to the file. */
static void want_write(struct us_worker *w, struct us_chunk *ch)
{
	struct us_writer *rg = &ch->rg->job->writers[w->id];

	if (rg->writing) {
		ch->next = NULL;
		if (rg->wq_tail)
			rg->wq_tail->next = ch;
		else
			rg->wq = ch;
		rg->wq_tail = ch;
		return;
	}
	rg->writing = true;
	splice_out(w, ch);
}

/* This worker's write to the file is done: the next waiting chunk writes (or, after a failure, is dropped). */
static void next_writer(struct us_worker *w, struct us_job *j)
{
	struct us_writer *rg = &j->writers[w->id];
	struct us_chunk *ch = rg->wq;

	rg->writing = false;
	if (!ch)
		return;
	rg->wq = ch->next;
	if (!rg->wq)
		rg->wq_tail = NULL;
	if (atomic_load(&j->copy_err) || us_stopped()) {
		chunk_end(w, ch, 0, false);	/* its pipe still holds data: closed, not reused */
		next_writer(w, j);
		return;
	}
	rg->writing = true;
	splice_out(w, ch);
}

static void chunk_spliced_out(struct us_opc *o, int res)
{
	struct us_chunk *ch = o->owner;
	struct us_worker *w = o->w;
	struct us_range *rg = ch->rg;
	struct us_job *j = rg->job;

	if (res <= 0) {
		chunk_end(w, ch, res < 0 ? res : -EIO, true);
		next_writer(w, j);
		return;
	}
	ch->wr += (uint32_t)res;
	atomic_fetch_add(&us_c->s.bytes_done, (unsigned long long)res);
	if (ch->wr < ch->rd) {
		splice_out(w, ch);
		return;
	}
	/* Range and job stay alive: the range counts this chunk until chunk_end. */
	if (ch->rd < ch->len && !atomic_load(&j->copy_err) && !us_stopped())
		chunk_splice_in(w, ch);
	else
		chunk_end(w, ch, 0, false);
	next_writer(w, j);
}

static void chunk_spliced_in(struct us_opc *o, int res)
{
	struct us_chunk *ch = o->owner;
	struct us_worker *w = o->w;
	struct us_job *j = ch->rg->job;

	if (res == -EINVAL && !ch->rd) {
		/* A source that cannot splice: read and write from now on. */
		atomic_store(&j->no_splice, true);
		us_pipe_put(w, ch->pipe, false);
		ch->pipe = NULL;
		ch->mem = us_mem_get(w, ch->len, &ch->cls);
		if (!ch->mem) {
			chunk_end(w, ch, -ENOMEM, false);
			return;
		}
		chunk_read(w, ch);
		return;
	}
	if (res <= 0) {
		chunk_end(w, ch, res < 0 ? res : US_ECHANGED, false);
		return;
	}
	ch->rd += (uint32_t)res;
	want_write(w, ch);
}

static void chunk_splice_in(struct us_worker *w, struct us_chunk *ch)
{
	ch->op.fn = chunk_spliced_in;
	ch->op.owner = ch;
	us_op_splice(w, &ch->op, ch->rg->job->sfd, (int64_t)(ch->off + ch->rd), ch->pipe->w, -1, ch->len - ch->rd);
}

/* Compare: both reads are in. */
static void cmp_read_done(struct us_opc *o, int res)
{
	struct us_chunk *ch = o->owner;
	struct us_worker *w = o->w;

	sr_buf_free(o->buf);
	if (o == &ch->op)
		ch->res1 = res;
	else
		ch->res2 = res;
	if (++ch->got < 2)
		return;
	if (ch->res1 < 0)
		chunk_end(w, ch, ch->res1, false);
	else if (ch->res2 < 0)
		chunk_end(w, ch, ch->res2, true);
	else if ((uint32_t)ch->res1 != ch->len || (uint32_t)ch->res2 != ch->len ||
		 memcmp(ch->mem, ch->mem2, ch->len))
		chunk_end(w, ch, US_EDIFFERS, false);
	else
		chunk_end(w, ch, 0, false);
}

static bool chunk_start(struct us_worker *w, struct us_range *rg)
{
	struct us_job *j = rg->job;
	uint64_t left = rg->end - rg->next;
	uint32_t len = left > US_CHUNK ? US_CHUNK : (uint32_t)left;
	struct us_chunk *ch;
	struct sr_buf *b1, *b2;
	unsigned cls, cls2 = 0;
	void *mem, *mem2 = NULL;
	struct us_pipe *p;

	if (!j->comparing && j->writers && !atomic_load(&j->no_splice) && w->max_pipes) {
		p = us_pipe_get(w);
		/* Wait for a pipe to come back rather than add a second writer; without any, read and write. */
		if (!p && w->npipes)
			return false;
	} else {
		p = NULL;
	}
	if (p) {
		ch = us_chunk_get(w);
		if (!ch) {
			us_pipe_put(w, p, false);
			return false;
		}
		ch->rg = rg;
		ch->off = rg->next;
		ch->len = len < p->cap ? len : p->cap;
		ch->pipe = p;
		rg->next += ch->len;
		rg->inflight++;
		chunk_splice_in(w, ch);
		return true;
	}
	mem = us_mem_get(w, len, &cls);
	if (!mem)
		return false;
	if (j->comparing && !(mem2 = us_mem_get(w, len, &cls2))) {
		us_mem_put(w, mem, cls);
		return false;
	}
	ch = us_chunk_get(w);
	if (!ch) {
		us_mem_put(w, mem, cls);
		us_mem_put(w, mem2, cls2);
		return false;
	}
	ch->rg = rg;
	ch->off = rg->next;
	ch->len = len;
	ch->mem = mem;
	ch->cls = cls;
	ch->mem2 = mem2;
	ch->cls2 = cls2;
	rg->next += len;
	rg->inflight++;
	if (!j->comparing) {
		chunk_read(w, ch);
		return true;
	}
	b1 = sr_buf_wrap(mem, len, 0);
	b2 = sr_buf_wrap(mem2, len, 0);
	if (!b1 || !b2) {
		sr_buf_free(b1);
		sr_buf_free(b2);
		chunk_end(w, ch, -ENOMEM, false);
		return true;
	}
	ch->op.fn = cmp_read_done;
	ch->op.owner = ch;
	ch->op2.fn = cmp_read_done;
	ch->op2.owner = ch;
	us_op_read(w, &ch->op, j->sfd, b1, ch->off);
	us_op_read(w, &ch->op2, j->dfd, b2, ch->off);
	return true;
}

/*
 * Keep every active range of this worker busy, as far as its memory
 * goes; a range that is done (or failed, or stopped) and has nothing in
 * flight leaves the list and counts itself out of its file.
 */
void us_range_pump(struct us_worker *w)
{
	struct us_range **pp = &w->active, *rg;
	bool mem_ok = true;

	while ((rg = *pp)) {
		struct us_job *j = rg->job;
		bool stop = atomic_load(&j->copy_err) || us_stopped();

		while (mem_ok && !stop && rg->inflight < US_RANGE_QD && rg->next < rg->end)
			mem_ok = chunk_start(w, rg);
		stop = atomic_load(&j->copy_err) || us_stopped();
		if (rg->inflight == 0 && (rg->next >= rg->end || stop)) {
			*pp = rg->qnext;
			w->nactive--;
			w->did_work = true;
			range_finished(w, rg);
			continue;
		}
		pp = &rg->qnext;
	}
}

/* --- --checksum: compare an existing destination ------------------------------------------------ */

static void cmp_opened(struct us_opc *o, int res);

static void open_cmp(struct us_job *j)
{
	if (!us_fd_take(j, 2)) {
		us_fd_wait(j);
		return;
	}
	j->pending = 2;
	j->op[0].fn = cmp_opened;
	j->op[0].owner = j;
	j->op[1].fn = cmp_opened;
	j->op[1].owner = j;
	us_op_openat(j->w, &j->op[0], j->dir->sfd, j->ent->name, O_RDONLY | O_NOFOLLOW | noatime(&j->st), 0);
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
		copy_abort(j);
		return;
	}
	if (ranges_build(j, false, j->st.stx_size) < 0) {
		us_job_fail(j, "src", "compare", -ENOMEM);
		copy_abort(j);
		return;
	}
	ranges_start(j, true);
}

static void cmp_meta_done(struct us_job *j)
{
	if (j->meta->changed) {
		us_item("meta", j->dir->rel, j->ent->name, NULL);
		atomic_fetch_add(&us_c->s.updated, 1);
	}
	us_entry_finish(j);
}

static void checksum_compared(struct us_job *j)
{
	int err = atomic_load(&j->copy_err);
	struct us_meta *m;

	if (us_stopped()) {
		copy_abort(j);
		return;
	}
	if (err && err != US_EDIFFERS) {
		us_job_fail(j, atomic_load(&j->copy_err_dst) ? "dst" : "src", "compare", err);
		copy_abort(j);
		return;
	}
	if (!err) {
		/* Same content: only metadata may differ; fix it through the open files. */
		j->placed = true;
		m = us_meta_new(j);
		if (!m) {
			us_job_fail(j, "dst", "metadata", -ENOMEM);
			copy_abort(j);
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
	atomic_fetch_add(&us_c->s.bytes_todo, j->st.stx_size);
	if (us_c->o.dry_run) {
		us_item("update", j->dir->rel, j->ent->name, NULL);
		us_entry_finish(j);
		return;
	}
	/* It differs: copy, keeping the source open and the fd budget for the new file. */
	us_close_async(j->w, j->dfd);
	j->dfd = -1;
	j->step = F_OPEN_COPY;
	open_copy(j);
}

/* --- copy ----------------------------------------------------------------------------------------- */

static void copy_opened(struct us_opc *o, int res);
static void prepared(struct us_opc *o, int res);

static bool sparse_file(const struct statx *st)
{
	return (st->stx_mask & STATX_BLOCKS) && st->stx_blocks * 512 < st->stx_size;
}

/*
 * Large files without holes are written with O_DIRECT: the copy does not
 * go through the page cache, where filling fresh pages costs more than
 * the device's own bandwidth, and ext4 runs aligned direct writes into
 * preallocated blocks in parallel.  Reads stay buffered (cheap when the
 * source is cached, asynchronous when not).
 */
static int direct_flag(struct us_job *j)
{
	bool d = j->st.stx_size >= US_DIRECT_MIN && !sparse_file(&j->st) && !atomic_load(&us_c->no_direct);

	atomic_store(&j->direct, d);
	return d ? O_DIRECT : 0;
}

static void open_dst(struct us_job *j)
{
	int acc = (us_c->o.verify ? O_RDWR : O_WRONLY) | direct_flag(j);
	mode_t mode = j->st.stx_mode & 0777;

	j->op[1].fn = copy_opened;
	j->op[1].owner = j;
	if (!atomic_load(&us_c->no_tmpfile)) {
		j->tmpfile = true;
		us_op_openat(j->w, &j->op[1], j->dir->dfd, ".", O_TMPFILE | acc, mode);
		return;
	}
	j->tmpfile = false;
	us_tmpname(j->tmpname);
	us_op_openat(j->w, &j->op[1], j->dir->dfd, j->tmpname, O_CREAT | O_EXCL | O_NOFOLLOW | acc, mode);
}

static void open_copy(struct us_job *j)
{
	if (j->fds_held < 2 && !us_fd_take(j, 2 - j->fds_held)) {
		us_fd_wait(j);
		return;
	}
	us_dir_prepare(j);
	j->pending = 1;
	if (j->sfd < 0) {
		j->pending = 2;
		j->op[0].fn = copy_opened;
		j->op[0].owner = j;
		us_op_openat(j->w, &j->op[0], j->dir->sfd, j->ent->name, O_RDONLY | O_NOFOLLOW | noatime(&j->st), 0);
	}
	open_dst(j);
}

static void copy_opened(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	int ret;

	if (o == &j->op[0]) {
		if (res >= 0)
			j->sfd = res;
		else if (!j->err)
			us_job_fail(j, "src", "open", res);
	} else if (res >= 0) {
		j->dfd = res;
		j->tmp_named = !j->tmpfile;
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
		copy_abort(j);
		return;
	}
	/* A file with fewer blocks than its size has holes: copy only its data. */
	bool sparse = sparse_file(&j->st);

	/* O_DIRECT takes aligned blocks; the unaligned end is written afterwards, buffered. */
	j->tail = atomic_load(&j->direct) ? j->st.stx_size & ~(uint64_t)4095 : 0;
	ret = ranges_build(j, sparse, j->tail ? j->tail : j->st.stx_size);
	if (j->tail == j->st.stx_size)
		j->tail = 0;
	if (ret < 0) {
		us_job_fail(j, "src", "find holes", ret);
		copy_abort(j);
		return;
	}
	j->op[0].fn = prepared;
	j->op[0].owner = j;
	if (sparse) {
		us_op_ftruncate(j->w, &j->op[0], j->dfd, j->st.stx_size);
		return;
	}
	if (j->st.stx_size >= US_FALLOC_MIN) {
		us_op_fallocate(j->w, &j->op[0], j->dfd, j->st.stx_size);
		return;
	}
	prepared(&j->op[0], 0);
}

static void prepared(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	/* fallocate is a hint: a filesystem without it still takes the writes. */
	if (res < 0 && res != -EOPNOTSUPP) {
		us_job_fail(j, "dst", "allocate", res);
		copy_abort(j);
		return;
	}
	if (us_stopped()) {
		copy_abort(j);
		return;
	}
	ranges_start(j, false);
}

/* Clear O_DIRECT on the destination (fcntl has no io_uring op); false if it was not set. */
static bool direct_off(struct us_job *j)
{
	int fl;

	if (!atomic_exchange(&j->direct, false))
		return false;
	fl = fcntl(j->dfd, F_GETFL);
	return fl >= 0 && fcntl(j->dfd, F_SETFL, fl & ~O_DIRECT) == 0;
}

static void place(struct us_job *j);
static void copy_meta_done(struct us_job *j);
static void verify_synced(struct us_opc *o, int res);
static void verify_dropped(struct us_opc *o, int res);

static void content_done(struct us_job *j)
{
	int err = atomic_load(&j->copy_err);
	struct us_meta *m;

	if (us_stopped()) {
		copy_abort(j);
		return;
	}
	if (err) {
		us_job_fail(j, atomic_load(&j->copy_err_dst) ? "dst" : "src", "copy", err);
		copy_abort(j);
		return;
	}
	/* After the aligned part written with O_DIRECT, the end, buffered. */
	direct_off(j);
	if (j->tail) {
		unsigned cap = 0;

		j->nranges = 0;
		if (ranges_add(j, j->tail, j->st.stx_size, &cap) < 0) {
			us_job_fail(j, "dst", "copy", -ENOMEM);
			copy_abort(j);
			return;
		}
		j->tail = 0;
		ranges_start(j, false);
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
		copy_abort(j);
		return;
	}
	m->src = (struct us_ref){ .fd = j->sfd, .dirfd = -1 };
	m->dst = (struct us_ref){ .fd = j->dfd, .dirfd = -1 };
	m->sst = &j->st;
	us_fresh_stat(j, &m->dst_st, j->st.stx_mode & 0777);
	m->fresh = true;
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
		copy_abort(j);
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
	if (ranges_build(j, false, j->st.stx_size) < 0) {
		us_job_fail(j, "dst", "verify", -ENOMEM);
		copy_abort(j);
		return;
	}
	ranges_start(j, true);
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
		copy_abort(j);
		return;
	}
	if (err) {
		us_job_fail(j, atomic_load(&j->copy_err_dst) ? "dst" : "src",
			    err == US_EDIFFERS ? "verify" : "read back for verify", err);
		copy_abort(j);
		return;
	}
	m = us_meta_new(j);
	if (!m) {
		us_job_fail(j, "dst", "metadata", -ENOMEM);
		copy_abort(j);
		return;
	}
	m->src = (struct us_ref){ .fd = j->sfd, .dirfd = -1 };
	m->dst = (struct us_ref){ .fd = j->dfd, .dirfd = -1 };
	m->sst = &j->st;
	us_fresh_stat(j, &m->dst_st, j->st.stx_mode & 0777);
	m->fresh = true;
	m->dry = false;
	m->done = copy_meta_done;
	us_meta_start(j, m);
}

static void placed(struct us_opc *o, int res);
static void tmp_linked(struct us_opc *o, int res);

static void copy_meta_done(struct us_job *j)
{
	if (us_stopped()) {
		copy_abort(j);
		return;
	}
	place(j);
}

/* Link the unnamed file in: by its fd with AT_EMPTY_PATH as root, else through /proc. */
static void link_tmpfile(struct us_job *j, const char *name, us_cont fn)
{
	char path[64];

	j->op[0].fn = fn;
	j->op[0].owner = j;
	if (us_c->root) {
		us_op_linkat(j->w, &j->op[0], j->dfd, "", j->dir->dfd, name, AT_EMPTY_PATH);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", j->dfd);
	us_op_linkat(j->w, &j->op[0], AT_FDCWD, path, j->dir->dfd, name, AT_SYMLINK_FOLLOW);
}

static void place(struct us_job *j)
{
	if (j->tmpfile && !j->dst_exists) {
		link_tmpfile(j, j->ent->name, placed);
		return;
	}
	if (j->tmpfile) {
		us_tmpname(j->tmpname);
		link_tmpfile(j, j->tmpname, tmp_linked);
		return;
	}
	j->op[0].fn = placed;
	j->op[0].owner = j;
	us_op_renameat(j->w, &j->op[0], j->dir->dfd, j->tmpname, j->dir->dfd, j->ent->name);
}

static void tmp_linked(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "link into the directory", res);
		copy_abort(j);
		return;
	}
	j->tmp_named = true;
	j->op[0].fn = placed;
	us_op_renameat(j->w, &j->op[0], j->dir->dfd, j->tmpname, j->dir->dfd, j->ent->name);
}

static void placed(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res == -EEXIST && j->tmpfile && !j->tmp_named) {
		/* Something took the name since the listing: replace it. */
		j->dst_exists = true;
		place(j);
		return;
	}
	if (res < 0) {
		us_job_fail(j, "dst", j->tmp_named ? "rename into place" : "link into the directory", res);
		copy_abort(j);
		return;
	}
	j->tmp_named = false;
	j->placed = true;
	atomic_fetch_add(&us_c->s.copied, 1);
	us_item(j->dst_exists ? "update" : "copy", j->dir->rel, j->ent->name, NULL);
	us_entry_finish(j);
}
