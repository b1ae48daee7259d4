/* SPDX-License-Identifier: MIT */
/* uring-sync: checks and budgets before the workers start. */
#ifndef URING_SYNC_SETUP_H
#define URING_SYNC_SETUP_H

#include "ctx.h"

struct us_dir;

int us_setup(struct us_ctx *c, struct sr_ring *r, struct us_dir **rootp);
void us_setup_free(struct us_ctx *c);
int us_budgets(struct us_ctx *c);

#endif
