/* SPDX-License-Identifier: MIT */
/*
 * A look inside a ring: sr_ring_stats (counters) and sr_ring_dump (its
 * state, as text for people or one JSON object for programs).  Nothing
 * here runs on the per-op paths; the dump walks the slot table.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

int sr_ring_stats(struct sr_ring *r, struct sr_ring_stats *st, size_t size)
{
	struct sr_ring_stats s = { 0 };
	struct sr__fb_info fb;
	int ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	if (!st || size == 0 || size > sizeof(s))
		return sr__err(-EINVAL, "st must be a struct sr_ring_stats and size its sizeof (got %zu, at most %zu)",
			       size, sizeof(s));
	if (r->_uring_up) {
		/* The kernel's ring counters run modulo 2^32. */
		s.sqes_submitted = io_uring_smp_load_acquire(r->_uring.sq.khead);
		s.cqes_reaped = r->_cqh;
		s.cq_overflows = *r->_uring.cq.koverflow;
	}
	sr__fb_describe(r, &fb);
	s.fallback_completions = fb.completions;
	s.fallback_ops = r->_ext->st.fallback;
	s.enters = r->_ext->st.enters;
	s.enobufs = r->_ext->st.enobufs;
	s.cancellations = r->_ext->st.canceled;
	for (unsigned i = 0; i < r->_nslots; i++)
		s.inflight += r->_slots[i]._ud != 0;
	memcpy(st, &s, size);
	return 0;
}

struct out {
	FILE *f;
	bool json;
	bool first;		/* JSON: no comma before the next member */
};

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A member: "key": value in JSON, key=value in text. */
static void key(struct out *o, const char *k)
{
	if (o->json) {
		if (!o->first)
			fputc(',', o->f);
		jstr(o->f, k);
		fputc(':', o->f);
	} else {
		fprintf(o->f, " %s=", k);
	}
	o->first = false;
}

static void num(struct out *o, const char *k, unsigned long long v)
{
	key(o, k);
	fprintf(o->f, "%llu", v);
}

static void snum(struct out *o, const char *k, long long v)
{
	key(o, k);
	fprintf(o->f, "%lld", v);
}

static void str(struct out *o, const char *k, const char *v)
{
	key(o, k);
	if (o->json)
		jstr(o->f, v);
	else
		fputs(v, o->f);
}

/* Open an object (JSON) or a line (text) named name. */
static void open_obj(struct out *o, const char *k, const char *line)
{
	if (o->json) {
		if (k)
			key(o, k);
		else if (!o->first)
			fputc(',', o->f);
		fputc('{', o->f);
	} else {
		fputs(line, o->f);
	}
	o->first = true;
}

static void close_obj(struct out *o)
{
	if (o->json)
		fputc('}', o->f);
	else
		fputc('\n', o->f);
	o->first = false;
}

static void open_list(struct out *o, const char *k)
{
	if (o->json) {
		key(o, k);
		fputc('[', o->f);
	}
	o->first = true;
}

static void close_list(struct out *o)
{
	if (o->json)
		fputc(']', o->f);
	o->first = false;
}

/*
 * What the dump knows of each op beyond its slot: the chain it is in
 * (first slot and place) and whether it still waits in the SQ or in the
 * fallback backend for a submit.  From the SQ for queued SQEs, from the
 * fallback's jobs, and from the notes a watching ring took (trace.c).
 */
struct opview {
	uint32_t first;		/* SR__NONE: in no chain */
	uint16_t pos;
	uint8_t link;
	bool queued;
	bool known;		/* first/pos/link are known */
};

struct views {
	struct opview *v;
	uint64_t now;
};

static void view_queued(struct sr_ring *r, uint32_t slot, uint64_t ud, uint32_t first, uint16_t pos, uint8_t link,
			void *arg)
{
	struct views *vs = arg;

	if (slot < r->_nslots && r->_slots[slot]._ud == ud)
		vs->v[slot] = (struct opview){ .first = first, .pos = pos, .link = link, .queued = true, .known = true };
}

static void views_fill(struct sr_ring *r, struct views *vs)
{
	uint32_t *prev;

	for (uint32_t i = 0; i < r->_nslots; i++) {
		const struct sr__opinfo *n = sr__opinfo(r, i);

		vs->v[i] = (struct opview){ .first = SR__NONE };
		if (n && !(r->_slots[i]._flags & SR__SF_FALLBACK))
			vs->v[i] = (struct opview){ .first = n->first, .pos = n->pos, .link = n->link, .known = true };
	}
	if (r->_uring_up)
		sr__sq_chains(r, io_uring_smp_load_acquire(r->_uring.sq.khead), r->_uring.sq.sqe_tail, view_queued, vs);
	/* The fallback's chains: each job knows the op after it. */
	prev = malloc((size_t)r->_nslots * sizeof(*prev));
	if (!prev || !r->_fb) {
		free(prev);
		return;
	}
	for (uint32_t i = 0; i < r->_nslots; i++)
		prev[i] = SR__NONE;
	for (uint32_t i = 0; i < r->_nslots; i++) {
		struct sr__fb_chain c;

		if (!r->_slots[i]._ud || !(r->_slots[i]._flags & SR__SF_FALLBACK) || !r->_slotx[i]._fb)
			continue;
		sr__fb_job_chain(r, r->_slotx[i]._fb, &c);
		vs->v[i].link = c.link;
		vs->v[i].queued = c.pending;
		vs->v[i].known = true;
		if (c.next < r->_nslots)
			prev[c.next] = i;
	}
	for (uint32_t i = 0; i < r->_nslots; i++) {
		uint32_t first = i;
		uint16_t pos = 0;

		if (!vs->v[i].known || !(r->_slots[i]._flags & SR__SF_FALLBACK))
			continue;
		while (prev[first] != SR__NONE && pos < UINT16_MAX) {
			first = prev[first];
			pos++;
		}
		if (pos || vs->v[i].link)
			vs->v[i].first = first;
		vs->v[i].pos = pos;
	}
	free(prev);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void dump_op(struct out *o, struct sr_ring *r, uint32_t idx, const struct views *vs)
{
	const struct sr_slot *s = &r->_slots[idx];
	const struct sr_slotx *x = &r->_slotx[idx];
	const struct opview *v = vs->v ? &vs->v[idx] : NULL;
	const struct sr__opinfo *n = sr__opinfo(r, idx);
	unsigned op = sr__slot_op(s);
	char route[256];

	open_obj(o, NULL, "op");
	str(o, "op", sr__op_name(op));
	num(o, "slot", idx);
	num(o, "handle", s->_ud);
	str(o, "state", s->_state != SR__SLOT_INFLIGHT ? "done" : v && v->queued ? "queued" : "inflight");
	/* Since the enter that handed it over (fallback: since it took it). */
	if (n && !(v && v->queued && !(s->_flags & SR__SF_FALLBACK)) && vs->now >= n->ns)
		num(o, "age_us", (vs->now - n->ns) / 1000);
	if (v && v->first != SR__NONE) {
		open_obj(o, "chain", " chain");
		num(o, "first", v->first);
		num(o, "position", v->pos);
		str(o, "link", v->link & SR_IOSQE_IO_HARDLINK ? "hard" : v->link ? "soft" : "last");
		if (o->json)
			close_obj(o);
		else
			o->first = false;
	}
	if (s->_flags & SR__SF_FALLBACK) {
		str(o, "route", sr_op_status(r, op, route, sizeof(route)));
		if (x->_fb)
			snum(o, "fd", sr__fb_job_fd(x->_fb));
	} else {
		str(o, "route", "native");
	}
	if (s->_flags & SR__SF_MULTI)
		str(o, "shape", "multishot");
	else if (s->_flags & SR__SF_NOTIF)
		str(o, "shape", "zero-copy");
	if (s->_flags & SR__SF_CB)
		str(o, "delivery", "callback");
	if (s->_flags & SR__SF_CANCEL)
		str(o, "cancel", "requested");
	/* The group an op picks its buffers from: a key of the op, not of its list. */
	if (x->_aux)
		num(o, "buffer_group", ((const struct sr_bufgroup *)x->_aux)->_bgid);
	open_list(o, "buffers");
	for (unsigned i = 0; i < 2; i++) {
		const struct sr_buf *b = x->_lent[i];

		if (!b)
			continue;
		open_obj(o, NULL, o->json ? "" : "\n   buffer");
		num(o, "capacity", b->_cap);
		num(o, "length", b->_len);
		if (b->_pool)
			str(o, "from", "pool");
		else if (b->_group)
			str(o, "from", "group");
		if (b->_reg_ring)
			num(o, "fixed_index", b->_reg_index);
		if (o->json)
			close_obj(o);
	}
	close_list(o);
	close_obj(o);
}

/* The pools whose buffers the ring's ops hold, each once. */
static void dump_pools(struct out *o, struct sr_ring *r)
{
	const struct sr_pool *seen[64];
	unsigned nseen = 0;

	open_list(o, "pools");
	for (uint32_t i = 0; i < r->_nslots; i++) {
		if (!r->_slots[i]._ud)
			continue;
		for (unsigned k = 0; k < 2; k++) {
			const struct sr_buf *b = r->_slotx[i]._lent[k];
			const struct sr_pool *p = b ? b->_pool : NULL;
			unsigned j, lent = 0;

			for (j = 0; p && j < nseen && seen[j] != p; j++)
				;
			if (!p || j < nseen || nseen == 64)
				continue;
			seen[nseen++] = p;
			for (uint32_t m = 0; m < r->_nslots; m++)
				for (unsigned q = 0; q < 2; q++)
					lent += r->_slots[m]._ud && r->_slotx[m]._lent[q] && r->_slotx[m]._lent[q]->_pool == p;
			open_obj(o, NULL, "pool");
			num(o, "buf_size", sr_pool_buf_size(p));
			num(o, "count", sr_pool_count(p));
			num(o, "free", sr_pool_available(p));
			num(o, "taken", sr_pool_count(p) - sr_pool_available(p));
			num(o, "lent_here", lent);
			snum(o, "node", sr_pool_node(p));
			str(o, "registered", p == r->_ext->reg_pool ? "yes" : "no");
			close_obj(o);
		}
	}
	close_list(o);
}

/* Items in use: streams' queued completions, callbacks waiting for
 * delivery, reservations for final completions. */
static unsigned items_used(const struct sr_ring *r)
{
	const struct sr__ring_ext *x = r->_ext;
	unsigned n = x->nitems;

	for (uint32_t i = x->free_item; i != SR__NONE && n; i = x->items[i].next)
		n--;
	return n;
}

static int dump(struct sr_ring *r, FILE *f, bool json, const char *fn)
{
	struct out o = { .f = f, .json = json, .first = true };
	struct sr_ring_stats st;
	struct sr__fb_info fb;
	struct views vs = { 0 };
	char flags[512];
	unsigned nreg = 0, nfiles = 0;
	int ret = sr__ring_use(r, fn);

	if (ret)
		return ret;
	if (!f)
		return sr__fail(-EINVAL, "%s: out is NULL", fn);
	sr_ring_stats(r, &st, sizeof(st));
	if (json)
		fputc('{', f);
	else
		fputs("ring", f);
	str(&o, "backend", sr_ring_backend(r));
	sr_flag_names(sr_setup_flag_table, sr_setup_flag_count, r->_setup_flags, flags, sizeof(flags));
	for (char *c = flags; !json && *c; c++)
		if (*c == ' ')
			*c = '|';	/* one word: key=value */
	str(&o, "setup_flags", flags);
	num(&o, "ring_flags", r->_flags & ~(SR__RING_MEMCHECK | SR__RING_SLICED));
	num(&o, "slots", r->_nslots);
	num(&o, "inflight", st.inflight);
	num(&o, "items", items_used(r));
	if (!json)
		fputc('\n', f);
	open_obj(&o, "sq", "sq");
	if (r->_uring_up) {
		num(&o, "entries", *r->_uring.sq.kring_entries);
		num(&o, "queued", io_uring_sq_ready(&r->_uring));
	} else {
		num(&o, "entries", 0);
		num(&o, "queued", 0);
	}
	close_obj(&o);
	open_obj(&o, "cq", "cq");
	if (r->_uring_up) {
		num(&o, "entries", *r->_uring.cq.kring_entries);
		num(&o, "ready", io_uring_cq_ready(&r->_uring));
		num(&o, "overflow", st.cq_overflows);
		/* CQEs the kernel holds back (IORING_FEAT_NODROP) until there is
		 * room: the next wait takes them. */
		str(&o, "overflow_held",
		    io_uring_smp_load_acquire(r->_uring.sq.kflags) & IORING_SQ_CQ_OVERFLOW ? "yes" : "no");
	} else {
		num(&o, "entries", 0);
		num(&o, "ready", 0);
		num(&o, "overflow", 0);
		str(&o, "overflow_held", "no");
	}
	close_obj(&o);
	open_obj(&o, "stats", "stats");
	num(&o, "sqes_submitted", st.sqes_submitted);
	num(&o, "cqes_reaped", st.cqes_reaped);
	num(&o, "fallback_ops", st.fallback_ops);
	num(&o, "fallback_completions", st.fallback_completions);
	num(&o, "enters", st.enters);
	num(&o, "enobufs", st.enobufs);
	num(&o, "cancellations", st.cancellations);
	close_obj(&o);
	vs.v = calloc(r->_nslots ? r->_nslots : 1, sizeof(*vs.v));
	vs.now = now_ns();
	if (vs.v)
		views_fill(r, &vs);
	open_list(&o, "ops");
	for (uint32_t i = 0; i < r->_nslots; i++)
		if (r->_slots[i]._ud)
			dump_op(&o, r, i, &vs);
	close_list(&o);
	dump_pools(&o, r);
	free(vs.v);
	open_list(&o, "groups");
	for (struct sr_bufgroup *g = r->_ext->groups; g; g = g->_next) {
		open_obj(&o, NULL, "group");
		num(&o, "bgid", g->_bgid);
		num(&o, "buffers", g->_nbufs);
		num(&o, "size", g->_size);
		num(&o, "out", g->_out);
		num(&o, "available", g->_nbufs - g->_out);
		close_obj(&o);
	}
	close_list(&o);
	for (unsigned i = 0; i < r->_ext->nregbufs; i++)
		nreg += r->_ext->regbufs && r->_ext->regbufs[i];
	for (unsigned i = 0; i < r->_ext->nfiles; i++)
		nfiles += r->_ext->file_gen && r->_ext->file_gen[i] != 0;
	open_obj(&o, "registered", "registered");
	num(&o, "buffer_slots", r->_ext->nregbufs);
	num(&o, "buffers", r->_ext->reg_pool ? sr_pool_count(r->_ext->reg_pool) : nreg);
	if (r->_ext->reg_pool) {
		num(&o, "pool_free", sr_pool_available(r->_ext->reg_pool));
		num(&o, "pool_taken", sr_pool_count(r->_ext->reg_pool) - sr_pool_available(r->_ext->reg_pool));
	}
	num(&o, "file_slots", r->_ext->nfiles);
	num(&o, "files", nfiles);
	close_obj(&o);
	sr__fb_describe(r, &fb);
	open_obj(&o, "fallback", "fallback");
	str(&o, "active", r->_fb ? "yes" : "no");
	num(&o, "jobs", fb.jobs);
	num(&o, "threads", fb.threads);
	num(&o, "idle", fb.idle);
	num(&o, "cancelling", fb.cancelling);
	str(&o, "poller", fb.poller ? "yes" : "no");
	close_obj(&o);
	if (json)
		fputs("}\n", f);
	fflush(f);
	return ferror(f) ? sr__fail(-EIO, "%s: writing the dump failed", fn) : 0;
}

int sr_ring_dump(struct sr_ring *r, FILE *out)
{
	return dump(r, out, false, __func__);
}

int sr_ring_dump_json(struct sr_ring *r, FILE *out)
{
	return dump(r, out, true, __func__);
}
