/* SPDX-License-Identifier: MIT */
/* uring-sync: directory listings (getdents64) and sets of names. */
#ifndef URING_SYNC_NAMES_H
#define URING_SYNC_NAMES_H

#include "job.h"

/* Names, NUL-separated in one buffer, and their d_type. */
struct us_list {
	char *names;
	size_t len, cap;
	unsigned char *types;
	unsigned n, tcap;
};

int us_list_read(struct us_list *l, int fd);
int us_list_add(struct us_list *l, const char *name, unsigned char type);
void us_list_free(struct us_list *l);

int us_nameset_init(struct us_nameset *ns, unsigned n);
bool us_nameset_insert(struct us_nameset *ns, const char *name);
bool us_nameset_has(const struct us_nameset *ns, const char *name);

#endif
