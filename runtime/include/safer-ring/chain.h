/* SPDX-License-Identifier: MIT */
/*
 * IO_LINK chains, typed: each op added runs only after the one before it
 * succeeded (or, in a hard chain, completed), and a link timeout bounds
 * the op before it.  Every member is an ordinary submitted op: its
 * handle, its completion and its buffers (back as each member completes,
 * -ECANCELED members included) are as if submitted alone.
 *
 *	struct sr_chain ch;
 *	sr_chain_begin(ring, &ch, 0);
 *	sr_chain_add(&ch, &write_op, &write_sub);
 *	sr_chain_timeout(&ch, &ts, &timeout_sub);	(bounds the write)
 *	sr_chain_add(&ch, &fsync_op, &fsync_sub);
 *	ret = sr_chain_end(&ch);			(the first error, if any)
 *
 * Also cancellation of many ops at once.  IOSQE_CQE_SKIP_SUCCESS is not
 * offered on tracked ops: without the CQE nothing says when the kernel is
 * done with an op's memory.
 */
#ifndef SAFER_RING_CHAIN_H
#define SAFER_RING_CHAIN_H

#include <safer-ring/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sr_chain {
	struct sr_ring *_ring;
	uint64_t _last;		/* user_data of the last op added */
	int _err;		/* the first error, which stops the chain */
	unsigned _n;
	uint8_t _link;		/* IOSQE_IO_LINK or IOSQE_IO_HARDLINK */
};

enum {
	SR_CHAIN_HARD = 1 << 0,		/* members go on after a member fails (IOSQE_IO_HARDLINK) */
};

/* Start a chain on r; flags SR_CHAIN_*. */
void sr_chain_begin(struct sr_ring *r, struct sr_chain *ch, unsigned flags);
/* Add a built op (any op): it is submitted linked to the next one.  Returns
 * what the submit returned; after a failure the chain adds nothing more.
 * The kernel ends a chain where a submission ends: when the SQ runs full,
 * only what was queued before the chain is submitted, and a chain that
 * fills the SQ on its own fails with -EBUSY at the op that does not fit
 * (the ops before it run as a shorter chain). */
#define sr_chain_add(ch, op, sub) \
	sr__chain_added((ch), sr__chain_prep((ch), &(op)->base) ? (ch)->_err : sr_submit((ch)->_ring, (op), (sub)), \
			&(sub)->h)
/* A link timeout for the op added last: it is cancelled if ts runs out first. */
int sr_chain_timeout(struct sr_chain *ch, const struct __kernel_timespec *ts,
		     struct sr_link_timeout_submitted *sub);
/* Close the chain (its last member links to nothing); the first error, or 0. */
int sr_chain_end(struct sr_chain *ch);

/*
 * Cancel every op on fd (IORING_ASYNC_CANCEL_FD | _ALL, or its fallback;
 * ops that took their fallback on a ring with io_uring too), or every op
 * in flight on the ring; each still completes (-ECANCELED, or its result
 * if it won the race) and gives its buffers back only then.  Returns how
 * many were found, or a negative error (-EBADF: fd is not open).
 */
int sr_ring_cancel_fd(struct sr_ring *r, int fd);
int sr_ring_cancel_all(struct sr_ring *r);

#ifdef __cplusplus
}
#endif

#endif
