/* SPDX-License-Identifier: MIT */
/*
 * Which route an op takes on this ring, and the one decision between
 * a route, STRICT and none that submit and sr_op_status share.
 */
#define _GNU_SOURCE

#include "fallback.h"

static bool bit(const uint64_t *map, unsigned op)
{
	return (map[op >> 6] >> (op & 63)) & 1;
}

bool sr__fb_native(const struct sr_ring *r, unsigned op)
{
	if (r->_fb && r->_fb->chain_open)
		return bit(r->_fb->native_saved, op);
	return sr__native(r, op);
}

/*
 * May the backend hand an emulated op's own SQE to the kernel (for targets
 * the kernel runs)?  Only if the ring runs the op natively: SR_KERNEL's
 * simulated kernel lacks what it lacks.  Cancellation is the exception:
 * like the runtime's own cancels (sr_NAME_cancel, teardown) it uses what
 * the running kernel has, since nothing else reaches a native request.
 */
bool sr__fb_kernel_has(const struct sr_ring *r, unsigned op)
{
	const struct sr_caps *c = sr_caps_get();

	if (!r->_uring_up)
		return false;
	if (!sr_op_table[op].nroutes || sr_op_table[op].routes[0].emulate != SR_EMU_CANCEL)
		return sr__fb_native(r, op);
	return sr_op_table[op].kernel <= sr_kver_code(c->running) &&
	       (!c->have_probe || c->opcode_ok[sr_op_table[op].opcode]);
}

static bool groups_user(const struct sr_ring *r)
{
	return sr__group_mode(r) == SR__GROUP_USER;
}

/* Are the groups op picks from kept in user space (the backend picks)? */
static bool op_groups_user(const struct sr_ring *r, const struct sr_op_info *o)
{
	if (o->selects_buffer == SR__SELECT_SEND)
		return !sr__send_groups_native(r);
	return groups_user(r);
}

/*
 * A system call younger than io_uring (futex_waitv, 5.16): a real kernel
 * has it unless trying it gives ENOSYS; a simulated one by its date.
 */
static bool syscall_missing(const struct sr_fb_route *rt)
{
	const struct sr_caps *c = sr_caps_get();

	if (rt->engine != SR_FB_SYSCALL || !rt->sys_present)
		return false;
	return c->simulated ? rt->sys_kernel > sr_kver_code(c->kernel) : !rt->sys_present();
}

/* Why op has no route here, or its NONE route's text. */
static const char *none_why(const struct sr_ring *r, unsigned op, char *buf, size_t len)
{
	const struct sr_fb_route *rt = sr__fb_pick(r, op);

	if (rt) {
		snprintf(buf, len, "%s", rt->text);
		return buf;
	}
	snprintf(buf, len, "none of its routes works on this ring");
	for (unsigned i = 0; op < sr_op_count && i < sr_op_table[op].nroutes; i++) {
		rt = &sr_op_table[op].routes[i];
		if (syscall_missing(rt)) {
			snprintf(buf, len, "%s is missing from this kernel (it came in Linux %u.%u)", rt->text,
				 rt->sys_kernel >> 16, (rt->sys_kernel >> 8) & 0xff);
			break;
		}
		if (rt->emulate == SR_EMU_CANCEL && r && r->_uring_up) {
			snprintf(buf, len, "an emulated cancel by descriptor cannot find the kernel's requests "
				 "on this ring");
			break;
		}
	}
	return buf;
}

const struct sr_fb_route *sr__fb_pick(const struct sr_ring *r, unsigned op)
{
	const struct sr_op_info *o;

	if (!r || op >= sr_op_count)
		return NULL;
	o = &sr_op_table[op];
	for (unsigned i = 0; i < o->nroutes; i++) {
		const struct sr_fb_route *rt = &o->routes[i];

		switch (rt->engine) {
		case SR_FB_KERNEL:
			if (!r->_uring_up || !sr__fb_native(r, rt->exec_op) ||
			    (rt->setup_all & r->_setup_flags) != rt->setup_all)
				continue;
			/* The kernel picks from kernel buffer rings only. */
			if (o->selects_buffer && op_groups_user(r, o))
				continue;
			return rt;
		case SR_FB_SYSCALL:
		case SR_FB_EMULATE:
			/* ... and the backend from its own lists only. */
			if (o->selects_buffer && !op_groups_user(r, o))
				continue;
			/* Only the backend's own file table can be read without the kernel. */
			if (rt->emulate == SR_EMU_FD_INSTALL && r->_uring_up)
				continue;
			/* A cancel by descriptor must find the kernel's requests
			 * too, which only the kernel's own (5.19) can: the backend
			 * knows no descriptor of theirs.  Judged on the kernel
			 * the ring believes in, so SR_KERNEL shows it. */
			if (rt->emulate == SR_EMU_CANCEL && r->_uring_up && o->fd_kind != SR_FD_NONE &&
			    (o->kernel > sr_kver_code(sr_caps_get()->kernel) || !sr__fb_kernel_has(r, op)))
				continue;
			if (syscall_missing(rt))
				continue;
			return rt;
		default:
			return rt;
		}
	}
	return NULL;
}

enum sr__route_kind sr__route(const struct sr_ring *r, unsigned op, const struct sr_fb_route **rtp, char *why,
			      char *none, size_t len)
{
	const struct sr_fb_route *rt = sr__fb_pick(r, op);

	*rtp = NULL;
	sr__op_missing(r, op, why, len);
	if (r && r->_policy == SR_POLICY_STRICT)
		return SR__ROUTE_STRICT;
	if (!rt || rt->engine == SR_FB_NONE) {
		none_why(r, op, none, len);
		return SR__ROUTE_NONE;
	}
	*rtp = rt;
	return SR__ROUTE_FALLBACK;
}

void sr__fb_warn_once(unsigned op, const char *why, const struct sr_fb_route *rt)
{
	static unsigned char warned[256];

	if (__atomic_exchange_n(&warned[op & 255], 1, __ATOMIC_RELAXED))
		return;
	fprintf(stderr, "safer-ring: %s; using its fallback: %s\n", why, rt->text);
}
