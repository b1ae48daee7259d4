/* SPDX-License-Identifier: MIT */
/* api-fuzz: the typed wait, poll, cancel and callbacks of the ops it uses, behind one switch. */
#include "fz.h"

const char *const fz_kind_names[K_NKIND] = {
	[K_NOP] = "nop", [K_READF] = "read(file)", [K_WRITEF] = "write(file)", [K_READC] = "read(pipe/socket)",
	[K_POLL] = "poll_add", [K_TMO] = "timeout(short)", [K_TMOL] = "timeout(long)",
	[K_TREM] = "timeout_remove", [K_RECVMS] = "recv_multishot", [K_READMS] = "read_multishot",
	[K_READFX] = "read_fixed", [K_WRITEFX] = "write_fixed", [K_LTMO] = "link_timeout",
	[K_ACANCEL] = "async_cancel",
};

#define WAIT_CASE(K, NAME, EXTRA)							\
	case K: {									\
		struct sr_##NAME##_completed c;						\
		int ret = block ? sr_##NAME##_wait(r, &s->NAME, &c) :			\
				  sr_##NAME##_poll(r, &s->NAME, &c);			\
		d->res = c.res;								\
		d->flags = c.flags;							\
		EXTRA;									\
		return ret;								\
	}

int fz_op_wait(struct sr_ring *r, int kind, union fz_sub *s, bool block, struct fz_done *d)
{
	d->res = 0;
	d->flags = 0;
	d->more = false;
	d->buf = NULL;
	switch (kind) {
	WAIT_CASE(K_NOP, nop, )
	WAIT_CASE(K_READF, read, d->buf = c.buf)
	WAIT_CASE(K_READC, read, d->buf = c.buf)
	WAIT_CASE(K_WRITEF, write, d->buf = c.buf)
	WAIT_CASE(K_POLL, poll_add, )
	WAIT_CASE(K_TMO, timeout, )
	WAIT_CASE(K_TMOL, timeout, )
	WAIT_CASE(K_TREM, timeout_remove, )
	WAIT_CASE(K_RECVMS, recv_multishot, d->more = c.more; d->buf = c.buf)
	WAIT_CASE(K_READMS, read_multishot, d->more = c.more; d->buf = c.buf)
	WAIT_CASE(K_READFX, read_fixed, d->buf = c.buf)
	WAIT_CASE(K_WRITEFX, write_fixed, d->buf = c.buf)
	WAIT_CASE(K_LTMO, link_timeout, )
	WAIT_CASE(K_ACANCEL, async_cancel, )
	}
	return -EINVAL;
}

int fz_op_cancel(struct sr_ring *r, int kind, union fz_sub *s)
{
	switch (kind) {
	case K_NOP: return sr_nop_cancel(r, &s->nop);
	case K_READF: case K_READC: return sr_read_cancel(r, &s->read);
	case K_WRITEF: return sr_write_cancel(r, &s->write);
	case K_POLL: return sr_poll_add_cancel(r, &s->poll_add);
	case K_TMO: case K_TMOL: return sr_timeout_cancel(r, &s->timeout);
	case K_TREM: return sr_timeout_remove_cancel(r, &s->timeout_remove);
	case K_RECVMS: return sr_recv_multishot_cancel(r, &s->recv_multishot);
	case K_READMS: return sr_read_multishot_cancel(r, &s->read_multishot);
	case K_READFX: return sr_read_fixed_cancel(r, &s->read_fixed);
	case K_WRITEFX: return sr_write_fixed_cancel(r, &s->write_fixed);
	case K_LTMO: return sr_link_timeout_cancel(r, &s->link_timeout);
	case K_ACANCEL: return sr_async_cancel_cancel(r, &s->async_cancel);
	}
	return -EINVAL;
}

struct sr_handle fz_op_handle(int kind, const union fz_sub *s)
{
	switch (kind) {
	case K_NOP: return s->nop.h;
	case K_READF: case K_READC: return s->read.h;
	case K_WRITEF: return s->write.h;
	case K_POLL: return s->poll_add.h;
	case K_TMO: case K_TMOL: return s->timeout.h;
	case K_TREM: return s->timeout_remove.h;
	case K_RECVMS: return s->recv_multishot.h;
	case K_READMS: return s->read_multishot.h;
	case K_READFX: return s->read_fixed.h;
	case K_WRITEFX: return s->write_fixed.h;
	case K_LTMO: return s->link_timeout.h;
	case K_ACANCEL: return s->async_cancel.h;
	}
	return s->nop.h;
}

void fz_cb_nop_fn(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	struct fz_done d = { .res = c->res, .flags = c->flags };

	fz_delivered(r, arg, &d);
}

void fz_cb_read_fn(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	struct fz_done d = { .res = c->res, .flags = c->flags, .buf = c->buf };

	fz_delivered(r, arg, &d);
}

void fz_cb_timeout_fn(struct sr_ring *r, struct sr_timeout_completed *c, void *arg)
{
	struct fz_done d = { .res = c->res, .flags = c->flags };

	fz_delivered(r, arg, &d);
}

void fz_cb_poll_fn(struct sr_ring *r, struct sr_poll_add_completed *c, void *arg)
{
	struct fz_done d = { .res = c->res, .flags = c->flags };

	fz_delivered(r, arg, &d);
}

/* xoshiro256** seeded through splitmix64. */
static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fz_src_seed(struct fz_src *src, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		src->s[i] = splitmix(&x);
	src->bytes = false;
	src->data = NULL;
	src->len = src->pos = 0;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t fz_src_next(struct fz_src *src)
{
	uint64_t *s = src->s, res, t;

	if (src->bytes) {
		uint64_t v = 0;

		/* Two bytes a choice: enough for every choice the driver makes;
		 * an exhausted input reads as zeros (the sequence winds down). */
		for (int i = 0; i < 2; i++)
			v = (v << 8) | (src->pos < src->len ? src->data[src->pos++] : 0);
		return v;
	}
	res = rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}
