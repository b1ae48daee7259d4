/* SPDX-License-Identifier: MIT */
/* uring-sync: checks and budgets before the workers start. */
#ifndef URING_SYNC_SETUP_H
#define URING_SYNC_SETUP_H

#include "ctx.h"

int us_open_roots(struct us_ctx *c, struct sr_ring *setup, struct statx *sst, struct statx *dst_st,
		  bool *created);
int us_budgets(struct us_ctx *c);

#endif
