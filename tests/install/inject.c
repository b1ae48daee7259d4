/* SPDX-License-Identifier: MIT */
/*
 * An LD_PRELOAD library that breaks one op's round trip in sr-conformance,
 * to show that the runner reports a failure, a crash and a hang as that
 * op's failure and goes on: every round trip starts with mkdtemp of
 * /tmp/sr-live-OP-XXXXXX, and for OP = $SR_INJECT_OP this mkdtemp
 *   SR_INJECT=fail    fails (EACCES)
 *   SR_INJECT=crash   dies of SIGSEGV
 *   SR_INJECT=hang    never returns
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *mkdtemp(char *tmpl)
{
	static char *(*real)(char *);
	const char *op = getenv("SR_INJECT_OP"), *how = getenv("SR_INJECT");
	char mark[96];

	if (!real)
		real = (char *(*)(char *))dlsym(RTLD_NEXT, "mkdtemp");
	snprintf(mark, sizeof(mark), "/sr-live-%s-", op ? op : "");
	if (op && how && strstr(tmpl, mark)) {
		if (!strcmp(how, "crash"))
			raise(SIGSEGV);
		if (!strcmp(how, "hang"))
			for (;;)
				pause();
		errno = EACCES;
		return NULL;
	}
	return real(tmpl);
}
