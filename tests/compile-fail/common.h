/* SPDX-License-Identifier: MIT */
#include <safer-ring.h>

extern struct sr_ring *ring;
extern struct sr_buf *buf;
extern const struct sr_buf *cbuf;
