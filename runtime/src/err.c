/* SPDX-License-Identifier: MIT */
/*
 * Errors: every failing call leaves a message in sr_last_error() (per
 * thread) naming the call, the op and what to do, and returns a negative
 * errno.  sr__err (base.h) puts the calling function's name in front.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static __thread char errbuf[512];
static __thread int errcode;

int sr__begin_error(void)
{
	return errcode ? errcode : -EINVAL;
}

int sr__fail(int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	errcode = err;
	va_start(ap, fmt);
	n = vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(errbuf) - 24 && err < 0)
		snprintf(errbuf + n, sizeof(errbuf) - (size_t)n, " (%s)", strerrorname_np(-err) ?: "?");
	if (getenv("SR_DEBUG"))
		fprintf(stderr, "safer-ring: %s\n", errbuf);
	return err;
}

const char *sr_last_error(void)
{
	return errbuf[0] ? errbuf : "no error";
}

const char *sr__op_name(unsigned op)
{
	return op < sr_op_count ? sr_op_table[op].name : "?";
}

int sr__not_owner(const struct sr_ring *r, const char *fn)
{
	if (r->_owner == SR__OWNER_FORKED)
		return sr__fail(-EPERM, "%s: the ring was inherited across fork(): it is the parent's; the "
				"child may only release its copy with sr_ring_destroy", fn);
	if (r->_owner == SR__OWNER_TRACING)
		return sr__fail(-EDEADLK, "%s: called while the ring runs its trace callback, which only "
				"observes: no call on the ring until it returns", fn);
	if (!r->_owner)
		return sr__fail(-EPERM, "%s: the ring is released (sr_ring_release); the thread taking it "
				"over calls sr_ring_acquire first", fn);
	return sr__fail(-EPERM, "%s: the ring belongs to another thread; call it from its owner, or hand "
			"it over (sr_ring_release, then sr_ring_acquire in the new thread)", fn);
}

int sr__ring_use(const struct sr_ring *r, const char *fn)
{
	return sr__owned(r) ? 0 : sr__not_owner(r, fn);
}

int sr__ring_adds(const struct sr_ring *r, const char *fn)
{
	int ret = sr__ring_use(r, fn);

	if (!ret && r->_state != SR__RING_LIVE)
		ret = sr__fail(-ESHUTDOWN, "%s: the ring is being destroyed", fn);
	return ret;
}

int sr__in_callback(const struct sr_ring *r, const char *fn)
{
	(void)r;
	return sr__fail(-EDEADLK, "%s: called from a completion callback of this ring, which it would "
			"wait for; return from the callback first (sr_ring_stop ends sr_ring_run)", fn);
}

/*
 * The waits under every call (sr__enter, sr__wait_some) do not know which
 * call they serve: their messages say "ring: ...", and the call's error
 * exit puts its own name there.
 */
int sr__interrupted(int ret, const char *fn)
{
	static const char ring[] = "ring: ";
	size_t n = strlen(fn), len;

	if (ret == -EINTR)
		return sr__fail(ret, "%s: interrupted by a signal", fn);
	if (ret >= 0 || ret != errcode || strncmp(errbuf, ring, sizeof(ring) - 1))
		return ret;
	len = strlen(errbuf) - 4;	/* the message from ": " on */
	if (n + len >= sizeof(errbuf))
		return ret;
	memmove(errbuf + n, errbuf + 4, len + 1);
	memcpy(errbuf, fn, n);
	return ret;
}

int sr__stalled(struct sr_ring *r)
{
	(void)r;
	return sr__fail(-ENOMEM, "ring: out of memory to record a completion; it stays in the completion "
			"queue: free memory, then wait or poll again");
}
