/* SPDX-License-Identifier: MIT */
/*
 * Detection (caps.c): what the running system offers, once per process,
 * and whether a ring can run an op natively.  Calls only base.h.
 */
#ifndef SR_SRC_DETECT_H
#define SR_SRC_DETECT_H

#include "base.h"

/* Walk the spec's setup ladder on ring; EINVAL drops to the next rung.
 * The features (>= 0) or the last error. */
int sr__ladder_init(struct io_uring *ring, unsigned entries, unsigned extra, unsigned cq_entries, bool ladder,
		    unsigned forbid, unsigned *accepted, unsigned *tried, const struct sr_caps *c);
/* May this rung be tried on the (possibly simulated) kernel? */
bool sr__rung_allowed(const struct sr_caps *c, uint32_t flags);
/* Record an io_uring_setup failure and what it means here in c. */
void sr__classify(struct sr_caps *c, int err);

/* A real kernel's probe lists op's opcode, and op is its first form. */
bool sr__probe_has(unsigned op);
/* The ring's kernel has this IORING_REGISTER_* operation (as simulated by SR_KERNEL). */
bool sr__register_ok(const struct sr_ring *r, unsigned code);
/* Why op is not available on r (sr_op_unavailable's words, or a plain one). */
const char *sr__op_missing(const struct sr_ring *r, unsigned op, char *buf, size_t len);
/* Why the ring runs without io_uring, after "what: ". */
const char *sr__no_uring_why(const char *what, char *buf, size_t len);

#endif
