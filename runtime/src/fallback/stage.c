/* SPDX-License-Identifier: MIT */
/*
 * Submit: the staging SQE the generated code prepares, the job made
 * from it at commit, and starting committed jobs at the next submit (as
 * their SQEs would reach the kernel).
 */
#define _GNU_SOURCE

#include "fallback.h"

struct io_uring_sqe *sr__fb_begin(struct sr_ring *r, struct sr_op *op, unsigned opid, uint32_t *idxp)
{
	const struct sr_fb_route *rt = NULL;
	struct sr__fallback *fb;
	bool native = sr__fb_native(r, opid);
	char why[200];
	uint32_t idx;
	unsigned need, n;

	if (r->_ext->capture) {
		sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s", sr__op_name(opid), sr__op_missing(r, opid, why, sizeof(why)));
		return NULL;
	}
	if (native && (op->_slow & SR__SLOW_BACKEND)) {
		/* Its target is the backend's: the backend acts on it. */
		const struct sr_op_info *o = &sr_op_table[opid];

		for (unsigned i = 0; i < o->nroutes && !rt; i++)
			if (o->routes[i].engine == SR_FB_EMULATE)
				rt = &o->routes[i];
		if (!rt) {
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: its target runs on the fallback backend, which "
				 "cannot carry out %s", sr__op_name(opid), sr__op_name(opid));
			return NULL;
		}
	} else if (!native) {
		char none[200];

		switch (sr__route(r, opid, &rt, why, none, sizeof(why))) {
		case SR__ROUTE_STRICT:
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s (policy STRICT takes no fallback)", sr__op_name(opid), why);
			return NULL;
		case SR__ROUTE_NONE:
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s; no fallback: %s", sr__op_name(opid), why, none);
			return NULL;
		case SR__ROUTE_FALLBACK:
			break;
		}
		if (rt->engine != SR_FB_KERNEL && op->_personality) {
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s, and a personality cannot apply to its fallback "
				 "(%s)", sr__op_name(opid), why, rt->text);
			return NULL;
		}
		if (rt->engine == SR_FB_SYSCALL && (op->_slow & SR__SLOW_FIXED_FILE) && r->_uring_up &&
		    !sr__fb_native(r, SR_OP_FIXED_FD_INSTALL)) {
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s, and its fallback (%s) needs a plain descriptor for "
				 "the registered file, which takes fixed_fd_install (Linux 6.8)", sr__op_name(opid), why,
				 rt->text);
			return NULL;
		}
	} else {
		/* A native op in a fallback op's chain; a link timeout there is
		 * emulated, since the op it times is the backend's. */
		const struct sr_op_info *o = &sr_op_table[opid];

		for (unsigned i = 0; i < o->nroutes; i++)
			if (o->routes[i].emulate == SR_EMU_LINK_TIMER)
				rt = &o->routes[i];
	}
	fb = sr__fb_get(r);
	if (!fb) {
		sr__fail(-ENOMEM, "sr_%s_submit: out of memory for the fallback backend", sr__op_name(opid));
		return NULL;
	}
	fb->stage_pull = false;
	need = 1;
	if (!fb->chain_open && (n = sr__fb_queued_chain(r, &idx))) {
		if (!sr__fb_queued_chain_ok(r)) {
			sr__fail(-EINVAL, "sr_%s_submit: %s runs on its fallback and cannot join an IO_LINK chain "
				 "that has raw SQEs in it", sr__op_name(opid), sr__op_name(opid));
			return NULL;
		}
		fb->stage_pull = true;
		need += n;
	}
	/* Every job the commit needs is taken now, while the submit can fail. */
	if (!sr__fb_spare_take(fb, need)) {
		sr__fail(-ENOMEM, "sr_%s_submit: out of memory for the fallback job", sr__op_name(opid));
		return NULL;
	}
	idx = sr__slot_next(r);
	if (idx == SR__NONE) {
		sr__fb_spare_release(fb);
		return NULL;
	}
	sr__slot_take(r, idx);
	if (r->_policy == SR_POLICY_WARN && !native)
		sr__fb_warn_once(opid, why, rt);
	fb->stage_rt = rt;
	fb->stage_rearm = op->_slow & SR__SLOW_REARM;
	fb->stage_op = (uint16_t)opid;
	memset(fb->stage, 0, sizeof(fb->stage));
	op->_special |= SR__SPECIAL_FALLBACK;
	r->_fb_building = true;
	*idxp = idx;
	return (struct io_uring_sqe *)fb->stage;
}

bool sr__fb_staging(struct sr_ring *r, const struct io_uring_sqe *sqe)
{
	return r->_fb && sqe == (const struct io_uring_sqe *)r->_fb->stage;
}

void sr__fb_abort(struct sr_ring *r)
{
	r->_fb_building = false;
	if (r->_fb)
		sr__fb_spare_release(r->_fb);
}

/* Fill in a job from the staged SQE: route, descriptor, buffer group, limits. */
static int job_prepare(struct sr_ring *r, struct job *j, const struct io_uring_sqe *stage)
{
	const struct sr_fb_route *rt = j->rt;
	struct io_uring_sqe *sqe = jsqe(j);
	int fd;

	memcpy(j->sqe, stage, sizeof(j->sqe));
	sqe->flags &= (uint8_t)~(LINKS | SR_IOSQE_IO_DRAIN);
	if (!rt) {
		j->kind = K_KERNEL;
		return 0;
	}
	if (rt->repeat_bits)
		j->left = rt->repeat_bits == 64 ? sr__sqe_get64(stage, rt->repeat_off) :
			  sr__sqe_get32(stage, rt->repeat_off);
	if (rt->how == SR_FB_NOTIF)
		j->report_usage = sr__sqe_get16(stage, SR_SQE_IOPRIO) & SR_IORING_SEND_ZC_REPORT_USAGE;
	for (unsigned i = 0; i < rt->nxform; i++)
		rt->xform[i](sqe);
	if (rt->engine == SR_FB_KERNEL) {
		j->kind = K_KERNEL;
		return 0;
	}
	j->kind = rt->engine == SR_FB_SYSCALL ? K_SYSCALL : K_EMULATE;
	j->emu = rt->emulate;
	fd = (int)sr__sqe_get32(sqe, SR_SQE_FD);
	/* The op's descriptor, for a cancel by descriptor and the dump: its fd
	 * argument, or the one its fallback waits on (epoll_wait's).  Other
	 * ops carry something else there (futex flags, a socket's domain). */
	if (sr_op_table[sr__slot_op(&r->_slots[j->slot])].fd_kind != SR_FD_NONE || rt->wait)
		j->ufd = fd;
	if ((sqe->flags & SR_IOSQE_FIXED_FILE) && r->_uring_up) {
		/* A system call needs a descriptor: the kernel installs one
		 * for the registered file first.  Emulations hand their own
		 * SQE to the kernel, which knows the table. */
		if (j->kind == K_SYSCALL)
			j->install = fd;
		return 0;
	}
	if (sqe->flags & SR_IOSQE_FIXED_FILE) {
		fd = sr__file_fd(r, (unsigned)fd);
		if (fd < 0)
			return -EBADF;
		sqe->flags &= (uint8_t)~SR_IOSQE_FIXED_FILE;
	}
	if (sqe->flags & SR_IOSQE_BUFFER_SELECT) {
		j->group = r->_slotx[j->slot]._aux;
		if (!j->group || j->group->_mode != SR__GROUP_USER)
			return -EINVAL;
	}
	if (j->emu == SR_EMU_TIMER)
		j->count = sr__sqe_get32(sqe, SR_SQE_OFF);
	if (j->emu == SR_EMU_POLL)
		j->events = sr__sqe_get32(sqe, SR_SQE_POLL32_EVENTS) & 0xffff;
	else if (rt->wait)
		j->events = rt->wait == SR_FB_WAIT_IN ? EPOLLIN : EPOLLOUT;
	/* Waiting, or a registered file: the job holds its own reference to
	 * the file, as the kernel would, and runs on it. */
	if (j->events || (stage->flags & SR_IOSQE_FIXED_FILE)) {
		if (fd < 0)
			return -EBADF;
		j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (j->fd < 0)
			return -errno;
		sr__sqe_put32(sqe, SR_SQE_FD, (uint32_t)j->fd);
	}
	return 0;
}

int sr__fb_submit(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j;
	int started = 0;

	if (!fb)
		return 0;
	pthread_mutex_lock(&fb->lock);
	sr__fb_chain_end(r);
	while ((j = sr__fb_next_pending(fb))) {
		sr__fb_job_start(r, j);
		started++;
		if (j->kind == K_SYSCALL && j->rt && j->rt->queued_at_submit)
			sr__fb_wait_asleep(fb, j);
	}
	pthread_mutex_unlock(&fb->lock);
	return started;
}

int sr__fb_discard(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j;
	int n = 0;

	if (!fb)
		return 0;
	pthread_mutex_lock(&fb->lock);
	while ((j = sr__fb_next_pending(fb))) {
		j->cancel = true;
		sr__fb_post(fb, j, -ECANCELED, 0, true);
		n++;
	}
	sr__fb_chain_end(r);
	pthread_mutex_unlock(&fb->lock);
	return n;
}

void sr__fb_commit(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *stage)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j, *head = NULL, *pred = NULL;
	bool timer;
	int err;

	r->_fb_building = false;
	pthread_mutex_lock(&fb->lock);
	if (fb->stage_pull)
		head = sr__fb_pull_chain(r, &pred);
	else if (fb->chain_open)
		pred = fb->chain_last;
	j = sr__fb_job_spare(fb);
	j->slot = idx;
	j->ud = r->_slots[idx]._ud;
	j->rt = fb->stage_rt;
	j->link = stage->flags & LINKS;
	j->state = J_PARKED;
	r->_slotx[idx]._fb = j;
	if (sr__unlikely(r->_ext->watch))
		sr__note_fb(r, idx);
	err = job_prepare(r, j, stage);
	if (fb->stage_rearm) {
		j->enobufs = true;
		j->group = r->_slotx[idx]._aux;
	}
	if (err < 0) {
		/* It fails with err when its turn comes. */
		j->kind = K_EMULATE;
		j->emu = SR_EMU_NONE;
		j->extra = err;
	}
	timer = j->emu == SR_EMU_LINK_TIMER;
	if (pred) {
		link_after(pred, j);
		if (timer)
			sr__fb_link_timer_join(fb, j, pred);
	} else if (fb->chain_open && (timer || fb->chain_failed)) {
		/* What it is linked to has ended: failed, or (a link timeout)
		 * finished before the timer could start. */
		j->cancel = true;
		sr__fb_post(fb, j, -ECANCELED, 0, true);
	} else {
		sr__fb_pend(fb, j);
	}
	if (head)
		sr__fb_pend(fb, head);
	/* A link timeout that found its op gone leaves the chain as it was. */
	if (pred || !timer || !fb->chain_open)
		fb->chain_last = j;
	if (j->link)
		sr__fb_chain_stash(r);
	else
		sr__fb_chain_end(r);
	pthread_mutex_unlock(&fb->lock);
}
