/* SPDX-License-Identifier: MIT */
/* uring-sync: the command line, in rsync's spelling. */
#ifndef URING_SYNC_OPTS_H
#define URING_SYNC_OPTS_H

#include "ctx.h"

void us_parse_opts(struct us_opts *o, int argc, char **argv);
void us_usage_error(const char *fmt, const char *arg) __attribute__((noreturn));

#endif
