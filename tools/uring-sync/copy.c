/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The content of regular files (copy.h): byte ranges copied or compared
 * in chunks, US_RANGE_QD in flight per range.
 *
 *   read/write  a chunk is read into a pool buffer and written from it;
 *   splice      source to a pipe (page references), pipe to the
 *               destination (one copy), through the worker's pipes, one
 *               write at a time per file and worker (us_writer);
 *   compare     both sides read, compared (--checksum, --verify).
 *
 * A range with nothing in flight that is done (or failed, or stopped)
 * counts itself out of its file; the last one hands the job to the
 * ranges_done its caller gave, on the worker that finished it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "method.h"

int us_ranges_add(struct us_job *j, uint64_t off, uint64_t end, unsigned *cap)
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
int us_ranges_build(struct us_job *j, bool sparse, uint64_t size)
{
	unsigned cap = 0;
	off_t pos = 0;

	free(j->ranges);
	j->ranges = NULL;
	j->nranges = 0;
	if (!sparse)
		return us_ranges_add(j, 0, size, &cap);
	/* lseek has no io_uring op. */
	while ((uint64_t)pos < size) {
		off_t data = lseek(j->sfd, pos, SEEK_DATA), hole;
		int ret;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			if (errno == EINVAL)		/* no SEEK_DATA here: copy it all */
				return us_ranges_add(j, (uint64_t)pos, size, &cap);
			return -errno;
		}
		hole = lseek(j->sfd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		ret = us_ranges_add(j, (uint64_t)data, (uint64_t)hole, &cap);
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
	j->ranges_done(j);
}

void us_ranges_start(struct us_job *j, bool comparing, us_job_fn done)
{
	struct us_worker *w = j->w;
	bool shared = j->st.stx_size >= US_SPLIT_MIN && us_c->nworkers > 1 && j->nranges > 1;

	j->comparing = comparing;
	j->ranges_done = done;
	atomic_store(&j->copy_err, 0);
	if (!j->nranges) {
		atomic_store(&j->ranges_left, 1);
		struct us_range none = { .job = j };
		range_finished(w, &none);
		return;
	}
	atomic_store(&j->ranges_left, j->nranges);
	if (!comparing && !j->writers && j->method == US_M_SPLICE)
		j->writers = calloc(us_c->nworkers, sizeof(*j->writers));
	for (unsigned i = 0; i < j->nranges; i++) {
		j->ranges[i].next = j->ranges[i].off;
		j->ranges[i].gap = UINT64_MAX;
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

static struct us_chunk *chunk_get(struct us_worker *w)
{
	struct us_chunk *ch = w->free_chunks;

	if (ch) {
		w->free_chunks = ch->next;
		memset(ch, 0, sizeof(*ch));
		return ch;
	}
	return calloc(1, sizeof(*ch));
}

static void chunk_put(struct us_worker *w, struct us_chunk *ch)
{
	ch->next = w->free_chunks;
	w->free_chunks = ch;
}

void us_copy_destroy(struct us_worker *w)
{
	while (w->free_chunks) {
		struct us_chunk *ch = w->free_chunks;

		w->free_chunks = ch->next;
		free(ch);
	}
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
	if (ch->wr < ch->len && ch->off + ch->wr < rg->gap)
		rg->gap = ch->off + ch->wr;
	rg->inflight--;
	if (ch->pipe)
		us_pipe_put(w, ch->pipe, err || ch->wr != ch->rd);
	us_mem_put(w, ch->mem, ch->cls);
	us_mem_put(w, ch->mem2, ch->cls2);
	chunk_put(w, ch);
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
	if ((uint32_t)res > ch->len - ch->rd)		/* an O_DIRECT read past the size we saw: it grew */
		res = (int)(ch->len - ch->rd);
	ch->rd += (uint32_t)res;
	chunk_write(w, ch);
}

static void chunk_write_done(struct us_opc *o, int res)
{
	struct us_chunk *ch = o->owner;
	struct us_worker *w = o->w;

	sr_buf_free(o->buf);
	if (res == -EINVAL && us_direct_off(ch->rg->job)) {
		/* Not aligned as the device wants (or a short read before): write it buffered. */
		chunk_write(w, ch);
		return;
	}
	if (res <= 0) {
		chunk_end(w, ch, res < 0 ? res : -EIO, true);
		return;
	}
	ch->wr += (uint32_t)res;
	if (atomic_load(&ch->rg->job->direct))
		ch->rg->job->direct_used = true;
	atomic_fetch_add(&us_c->s.bytes_done, (unsigned long long)res);
	if (ch->wr < ch->rd)
		chunk_write(w, ch);
	else if (ch->rd < ch->len && !atomic_load(&ch->rg->job->copy_err) && !us_stopped())
		chunk_read(w, ch);
	else
		chunk_end(w, ch, 0, false);
}

/* What a read of len asks for: with an O_DIRECT source, whole blocks (the buffer's class has room). */
static uint32_t read_len(const struct us_job *j, uint32_t len)
{
	return j->direct_src ? (len + US_DIO_ALIGN - 1) & ~(US_DIO_ALIGN - 1) : len;
}

static void chunk_read(struct us_worker *w, struct us_chunk *ch)
{
	struct sr_buf *b = sr_buf_wrap((char *)ch->mem + ch->rd, read_len(ch->rg->job, ch->len - ch->rd), 0);

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
		ch = chunk_get(w);
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
	ch = chunk_get(w);
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
	b1 = sr_buf_wrap(mem, read_len(j, len), 0);
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
 * copy_file_range has no io_uring op: the worker's thread makes the call,
 * one piece of a range at a time, and goes back to its ring in between.
 * Refused at the start of a file (another filesystem, no support): the
 * file goes on through the ring.
 */
static void cfr_step(struct us_worker *w, struct us_range *rg)
{
	struct us_job *j = rg->job;
	loff_t in = (loff_t)rg->next, out = (loff_t)rg->next;
	size_t len = rg->end - rg->next > US_CFR_STEP ? US_CFR_STEP : (size_t)(rg->end - rg->next);
	ssize_t n = copy_file_range(j->sfd, &in, j->dfd, &out, len, 0);

	w->did_work = true;
	if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) &&
	    rg->next == rg->off && !atomic_load(&j->cfr_done)) {
		us_method_fallback(j);
		return;
	}
	if (n <= 0) {
		set_err(j, n < 0 ? -errno : US_ECHANGED, n < 0 && (errno == ENOSPC || errno == EDQUOT));
		rg->next = rg->end;
		return;
	}
	atomic_store(&j->cfr_done, true);
	rg->next += (uint64_t)n;
	atomic_fetch_add(&us_c->s.bytes_done, (unsigned long long)n);
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

		if (j->method == US_M_CFR && !j->comparing && !stop && rg->next < rg->end)
			cfr_step(w, rg);
		else
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

/* Clear O_DIRECT on the destination (fcntl has no io_uring op); false if it was not set. */
bool us_direct_off(struct us_job *j)
{
	int fl;

	if (!atomic_exchange(&j->direct, false))
		return false;
	fl = fcntl(j->dfd, F_GETFL);
	return fl >= 0 && fcntl(j->dfd, F_SETFL, fl & ~O_DIRECT) == 0;
}

/*
 * After the ranges stopped: how much of the file, from its start, is
 * surely written (holes between data ranges count as written: the file
 * was truncated to its size first).
 */
uint64_t us_copied_prefix(const struct us_job *j)
{
	for (unsigned i = 0; i < j->nranges; i++) {
		const struct us_range *rg = &j->ranges[i];
		uint64_t done = rg->next < rg->gap ? rg->next : rg->gap;

		if (done < rg->end)
			return done;
	}
	return j->nranges ? j->ranges[j->nranges - 1].end : 0;
}
