/* SPDX-License-Identifier: MIT */
/* SIGUSR1: the workers' rings on stderr, each from its own loop (dump.c). */
#ifndef US_DUMP_H
#define US_DUMP_H

#include "ctx.h"

/* How long a worker waits on its ring before it looks at a dump request. */
#define US_WAIT_MS 250

struct us_worker;

/* A worker's new ring: URING_SYNC_DUMP set notes ages and chains. */
void us_dump_init(struct us_worker *w);
/* The main thread, on SIGUSR1: every worker dumps its ring once. */
void us_dump_request(struct us_ctx *c);
/* A worker: dump its ring if asked since it last did. */
void us_dump_check(struct us_worker *w);

#endif
