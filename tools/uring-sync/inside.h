/* SPDX-License-Identifier: MIT */
/* uring-sync: a destination inside a source is refused. */
#ifndef URING_SYNC_INSIDE_H
#define URING_SYNC_INSIDE_H

#include "ctx.h"

int us_dst_inside(const char *src, const struct statx *sst, const char *dst);

#endif
