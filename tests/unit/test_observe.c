/* SPDX-License-Identifier: MIT */
/* A look inside a ring: sr_ring_dump (text and JSON) and sr_ring_stats, on
 * either backend (the suite also runs with SR_BACKEND=fallback). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include "unit.h"

static struct sr_ring_stats stats(struct sr_ring *r)
{
	struct sr_ring_stats st;

	memset(&st, 0xff, sizeof(st));
	CU_ASSERT_EQUAL(sr_ring_stats(r, &st, sizeof(st)), 0);
	return st;
}

/* A read in flight shows in the dump with its buffer and route; its
 * completion in the counters; the dump then shows no op. */
static void test_dump_inflight(void)
{
	struct sr_ring *r = NULL;
	struct sr_buf *b = sr_buf_alloc(4096);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	struct sr_read_op op;
	struct sr_ring_stats st0, st;
	bool fb;
	char *t;
	int p[2];

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0 && b);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	fb = !sr_ring_uring(r);
	st0 = stats(r);
	CU_ASSERT_EQUAL(st0.inflight, 0);
	CU_ASSERT_EQUAL(st0.fallback_completions, 0);
	CU_ASSERT_EQUAL(st0.fallback_ops, 0);

	op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);

	t = unit_dump(r, false);
	CU_ASSERT(unit_has(t, fb ? "backend=fallback" : "backend=io_uring"));
	CU_ASSERT(unit_has(t, "inflight=1"));
	CU_ASSERT(unit_has(t, "op op=read"));
	CU_ASSERT(unit_has(t, fb ? "route=fallback: " : "route=native"));
	CU_ASSERT(unit_has(t, "capacity=4096 length=0"));
	if (fb) {
		char fd[32];

		snprintf(fd, sizeof(fd), " fd=%d", p[0]);
		CU_ASSERT(unit_has(t, fd));
		CU_ASSERT(unit_has(t, "fallback active=yes"));
	} else {
		CU_ASSERT(unit_has(t, "fallback active=no"));
	}
	free(t);
	t = unit_dump(r, true);
	CU_ASSERT(unit_has(t, fb ? "{\"backend\":\"fallback\"" : "{\"backend\":\"io_uring\""));
	CU_ASSERT(unit_has(t, "\"ops\":[{\"op\":\"read\",\"slot\":"));
	CU_ASSERT(unit_has(t, "\"buffers\":[{\"capacity\":4096,\"length\":0}]"));
	CU_ASSERT(unit_has(t, "\"groups\":[]"));
	CU_ASSERT(t && t[strlen(t) - 2] == '}' && t[strlen(t) - 1] == '\n');
	free(t);
	st = stats(r);
	CU_ASSERT_EQUAL(st.inflight, 1);
	CU_ASSERT_EQUAL(st.fallback_ops, fb ? 1 : 0);
	CU_ASSERT(st.enters > st0.enters);

	CU_ASSERT_EQUAL(write(p[1], "hello", 5), 5);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, 5);
	st = stats(r);
	CU_ASSERT_EQUAL(st.inflight, 0);
	CU_ASSERT_EQUAL(st.cancellations, 0);
	if (fb) {
		CU_ASSERT_EQUAL(st.fallback_completions, 1);
	} else {
		CU_ASSERT_EQUAL(st.fallback_completions, 0);
		CU_ASSERT_EQUAL(st.sqes_submitted - st0.sqes_submitted, 1);
		CU_ASSERT_EQUAL(st.cqes_reaped - st0.cqes_reaped, 1);
	}
	t = unit_dump(r, false);
	CU_ASSERT(unit_has(t, "inflight=0"));
	CU_ASSERT(t && !strstr(t, "op op="));
	free(t);

	/* A cancelled read counts as a cancellation. */
	op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);
	CU_ASSERT_EQUAL(sr_cancel(r, &sub), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ECANCELED);
	st = stats(r);
	CU_ASSERT_EQUAL(st.cancellations, 1);
	CU_ASSERT_EQUAL(st.fallback_ops, fb ? 2 : 0);
	CU_ASSERT_EQUAL(st.fallback_completions, fb ? 2 : 0);
	if (!fb)	/* the read and its cancel request */
		CU_ASSERT_EQUAL(st.sqes_submitted - st0.sqes_submitted, 3);

	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

static int cancel_cb_res = 1;

static void cancel_cb(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	(void)r;
	(void)arg;
	cancel_cb_res = c->res;
}

/*
 * Cancellations and failed results are counted whichever way the
 * completion went: a waited read, a callback read (the callback path's
 * own fast reap hands failures to the general one), both backends.
 */
static void test_cancellations_counted(void)
{
	static const unsigned kinds[] = { 0, SR_RING_FALLBACK };

	for (unsigned k = 0; k < 2; k++) {
		struct sr_ring_params p = { .entries = 8, .flags = kinds[k] };
		struct sr_read_submitted ws, cs;
		struct sr_read_completed wc;
		struct sr_read_op op;
		struct sr_ring *r = NULL;
		struct sr_buf *b[2] = { sr_buf_alloc(16), sr_buf_alloc(16) };
		struct sr_ring_stats st0, st;
		int pfd[2];

		CU_ASSERT_FATAL(sr_ring_create(&r, &p) == 0 && b[0] && b[1] && pipe(pfd) == 0);
		st0 = stats(r);
		op = sr_read(pfd[0], b[0], (__u64)-1);
		CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &ws), 0);
		op = sr_read(pfd[0], b[1], (__u64)-1);
		cancel_cb_res = 1;
		CU_ASSERT_EQUAL_FATAL(sr_submit_cb(r, &op, cancel_cb, NULL, &cs), 0);
		CU_ASSERT(sr_ring_submit(r) >= 0);
		CU_ASSERT_EQUAL(sr_cancel(r, &cs), 0);
		CU_ASSERT_EQUAL(sr_ring_run(r), 0);
		CU_ASSERT_EQUAL(cancel_cb_res, -ECANCELED);
		st = stats(r);
		CU_ASSERT_EQUAL(st.cancellations - st0.cancellations, 1);
		CU_ASSERT_EQUAL(sr_cancel(r, &ws), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &ws, &wc), 0);
		CU_ASSERT_EQUAL(wc.res, -ECANCELED);
		st = stats(r);
		CU_ASSERT_EQUAL(st.cancellations - st0.cancellations, 2);
		CU_ASSERT_EQUAL(sr_buf_free(b[0]), 0);
		CU_ASSERT_EQUAL(sr_buf_free(b[1]), 0);
		CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
		close(pfd[0]);
		close(pfd[1]);
	}
}

/* A buffer group in the dump (available and out), and -ENOBUFS counted. */
static void test_dump_group_enobufs(void)
{
	struct sr_ring *r = NULL;
	struct sr_bufgroup *g;
	struct sr_recv_multishot_submitted s;
	struct sr_recv_multishot_completed c;
	struct sr_recv_multishot_op op;
	struct sr_buf *held = NULL;
	struct sr_ring_stats st;
	char *t;
	int sv[2];

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0);
	g = sr_bufgroup_create(r, 1, 64);
	CU_ASSERT_FATAL(g && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	op = sr_recv_multishot(sv[0], g);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &s), 0);
	CU_ASSERT_EQUAL(write(sv[1], "chunk", 5), 5);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT(c.res == 5 && c.buf);
	held = c.buf;
	t = unit_dump(r, false);
	CU_ASSERT(unit_has(t, "op op=recv_multishot"));
	CU_ASSERT(unit_has(t, "shape=multishot"));
	CU_ASSERT(unit_has(t, "buffers=1 size=64 out=1 available=0"));
	free(t);
	t = unit_dump(r, true);
	CU_ASSERT(unit_has(t, "\"groups\":[{\"bgid\":"));
	CU_ASSERT(unit_has(t, "\"out\":1,\"available\":0}]"));
	free(t);
	CU_ASSERT_EQUAL(write(sv[1], "again", 5), 5);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(c.res, -ENOBUFS);
	st = stats(r);
	CU_ASSERT_EQUAL(st.enobufs, 1);
	if (!sr_ring_uring(r))
		CU_ASSERT_EQUAL(st.fallback_completions, 2);
	if (held)
		sr_bufgroup_recycle(g, held);
	CU_ASSERT_EQUAL(sr_bufgroup_destroy(g), 0);
	sr_ring_destroy(r);
	close(sv[0]);
	close(sv[1]);
}

/* Misuse: a size that is not the struct's, a NULL stream; a short size
 * fills only the fields it covers. */
static void test_stats_args(void)
{
	struct sr_ring *r = NULL;
	struct sr_ring_stats st;
	uint64_t two[3] = { 7, 7, 7 };

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0);
	CU_ASSERT_EQUAL(sr_ring_stats(r, NULL, sizeof(st)), -EINVAL);
	CU_ASSERT_EQUAL(sr_ring_stats(r, &st, sizeof(st) + 8), -EINVAL);
	CU_ASSERT(strstr(sr_last_error(), "sr_ring_stats:") != NULL);
	CU_ASSERT_EQUAL(sr_ring_stats(r, (struct sr_ring_stats *)two, 2 * sizeof(uint64_t)), 0);
	CU_ASSERT_EQUAL(two[2], 7);
	CU_ASSERT_EQUAL(sr_ring_dump(r, NULL), -EINVAL);
	CU_ASSERT(strstr(sr_last_error(), "sr_ring_dump: out is NULL") != NULL);
	sr_ring_destroy(r);
}

struct seen {
	int n;
	struct sr_trace_event ev[16];
	char op[16][32];
};

static void collect(struct sr_ring *r, const struct sr_trace_event *ev, void *arg)
{
	struct seen *s = arg;

	(void)r;
	if (s->n < 16) {
		s->ev[s->n] = *ev;
		snprintf(s->op[s->n], sizeof(s->op[0]), "%s", ev->op);
		s->n++;
	}
}

/* The callback sees each op go in (with its fd) and come back (with its
 * result), with the route; off again, it sees nothing. */
static void test_trace_callback(void)
{
	struct sr_ring *r = NULL;
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	struct sr_nop_submitted ns;
	struct sr_nop_completed nc;
	struct sr_nop_op nop = sr_nop();
	struct sr_read_op op;
	struct seen seen = { 0 };
	const char *route;
	int p[2];

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0 && b);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	route = sr_ring_uring(r) ? "native" : "fallback";
	if (!strcmp(route, "fallback") || !sr_ring_native(r, SR_OP_READ))
		route = "fallback";
	CU_ASSERT_EQUAL(sr_ring_set_trace(r, collect, &seen), 0);
	op = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r), 1);
	CU_ASSERT_EQUAL(write(p[1], "hello", 5), 5);
	CU_ASSERT_EQUAL(sr_wait(r, &sub, &c), 0);
	CU_ASSERT_EQUAL(c.res, 5);
	CU_ASSERT_EQUAL_FATAL(seen.n, 2);
	CU_ASSERT_EQUAL(seen.ev[0].kind, SR_TRACE_SUBMIT);
	CU_ASSERT_STRING_EQUAL(seen.op[0], "read");
	CU_ASSERT_EQUAL(seen.ev[0].fd, p[0]);
	CU_ASSERT_STRING_EQUAL(seen.ev[0].route, route);
	CU_ASSERT_EQUAL(seen.ev[1].kind, SR_TRACE_COMPLETE);
	CU_ASSERT_STRING_EQUAL(seen.op[1], "read");
	CU_ASSERT_EQUAL(seen.ev[1].res, 5);
	CU_ASSERT_EQUAL(seen.ev[1].slot, seen.ev[0].slot);
	CU_ASSERT_STRING_EQUAL(seen.ev[1].route, route);

	/* A NOP, which the inline wait takes whole, is traced too. */
	CU_ASSERT_EQUAL(sr_submit(r, &nop, &ns), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL_FATAL(seen.n, 4);
	CU_ASSERT_STRING_EQUAL(seen.op[2], "nop");
	CU_ASSERT(seen.ev[2].kind == SR_TRACE_SUBMIT && seen.ev[3].kind == SR_TRACE_COMPLETE);
	CU_ASSERT_EQUAL(seen.ev[3].res, 0);

	CU_ASSERT_EQUAL(sr_ring_set_trace(r, NULL, NULL), 0);
	nop = sr_nop();
	CU_ASSERT_EQUAL(sr_submit(r, &nop, &ns), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL(seen.n, 4);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

/* What a trace callback's calls on its ring returned, by event. */
struct meddle {
	int destroy, submit, wait, set_trace, run_once, release, acquire, events;
	struct sr_nop_submitted *ns;
};

static void meddle(struct sr_ring *r, const struct sr_trace_event *ev, void *arg)
{
	struct meddle *m = arg;
	struct sr_nop_op nop = sr_nop();
	struct sr_nop_submitted ns;
	struct sr_nop_completed nc;

	(void)ev;
	m->events++;
	m->submit = sr_submit(r, &nop, &ns);
	m->wait = sr_wait(r, m->ns, &nc);
	m->set_trace = sr_ring_set_trace(r, NULL, NULL);
	m->run_once = sr_ring_run_once(r, 0);
	m->release = sr_ring_release(r);
	m->acquire = sr_ring_acquire(r);
	m->destroy = sr_ring_destroy(r);	/* would free the ring under the enter tracing it */
}

/* The trace callback runs inside the ring's own calls (an enter, a
 * fallback job starting or ending): every call it makes on its ring is
 * refused with EDEADLK, destroy included, and the ring goes on as if none
 * had been made.  Also during a destroy's own wait.  (trace.c: trace_call.) */
static void test_trace_calls_refused(void)
{
	struct sr_ring *r = NULL;
	struct sr_nop_submitted ns;
	struct sr_nop_completed nc;
	struct sr_nop_op nop = sr_nop();
	struct sr_read_submitted rs;
	struct sr_read_op rd;
	struct meddle m = { .ns = &ns };
	struct sr_buf *b = sr_buf_alloc(8);
	int p[2];

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0 && b && pipe2(p, O_CLOEXEC) == 0);
	CU_ASSERT_EQUAL(sr_ring_set_trace(r, meddle, &m), 0);
	CU_ASSERT_EQUAL(sr_submit(r, &nop, &ns), 0);
	CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
	CU_ASSERT_EQUAL(nc.res, 0);
	CU_ASSERT(m.events >= 2);
	CU_ASSERT_EQUAL(m.destroy, -EDEADLK);
	CU_ASSERT_EQUAL(m.submit, -EDEADLK);
	CU_ASSERT_EQUAL(m.wait, -EDEADLK);
	CU_ASSERT_EQUAL(m.set_trace, -EDEADLK);
	CU_ASSERT_EQUAL(m.run_once, -EDEADLK);
	CU_ASSERT_EQUAL(m.release, -EDEADLK);
	CU_ASSERT_EQUAL(m.acquire, -EDEADLK);
	CU_ASSERT(unit_said("sr_ring_destroy") && unit_said("trace callback"));
	CU_ASSERT_EQUAL(sr_ring_inflight(r), 0);
	/* The ring is its owner's again: a read, and a destroy that cancels
	 * it (the callback, traced at the cancel, tries to destroy too). */
	rd = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &rd, &rs), 0);
	CU_ASSERT_EQUAL(sr_ring_submit(r) >= 0, true);
	m.destroy = 0;
	m.events = 0;
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	CU_ASSERT(m.events >= 1);
	CU_ASSERT_EQUAL(m.destroy, -EDEADLK);
	CU_ASSERT(!sr_buf_is_lent(b));
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
}

/* SR_DEBUG=1: a ring created then traces to stderr. */
static void test_trace_env(void)
{
	struct sr_ring *r = NULL;
	struct sr_nop_submitted ns;
	struct sr_nop_completed nc;
	struct sr_nop_op nop = sr_nop();
	char text[4096] = "";
	int fd = unit_tmp_fd(), saved = dup(2);
	ssize_t n;

	CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	setenv("SR_DEBUG", "1", 1);
	CU_ASSERT_EQUAL(sr_ring_create(&r, NULL), 0);
	unsetenv("SR_DEBUG");
	if (r) {
		nop = sr_nop();
		CU_ASSERT_EQUAL(sr_submit(r, &nop, &ns), 0);
		CU_ASSERT_EQUAL(sr_wait(r, &ns, &nc), 0);
		sr_ring_destroy(r);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	CU_ASSERT(n > 0);
	close(fd);
	CU_ASSERT(unit_has(text, "submit nop slot="));
	CU_ASSERT(unit_has(text, "complete nop slot="));
	CU_ASSERT(unit_has(text, " res=0 "));
	/* each event in its own words, in order: the submit first */
	CU_ASSERT(strstr(text, "submit nop slot=") && strstr(text, "complete nop slot=") &&
		  strstr(text, "submit nop slot=") < strstr(text, "complete nop slot="));
}

/*
 * The inline waits enter the kernel no more than liburing's would: NOPs
 * waited in submission order cost one enter for the batch (the CQEs of
 * the others are found at the CQ head), whatever the CQ holds.  (A wait
 * that entered although a CQE was at the head would count 8.)
 */
static void test_enters_per_batch(void)
{
	struct sr_ring *r = NULL;
	struct sr_nop_submitted sub[8];
	struct sr_nop_completed c;
	struct sr_ring_stats st0, st;

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0);
	if (!sr_ring_uring(r)) {
		printf("\n    skip: counts the io_uring_enter calls of the io_uring backend\n");
		sr_ring_destroy(r);
		return;
	}
	for (int round = 0; round < 3; round++) {
		st0 = stats(r);
		for (int i = 0; i < 8; i++) {
			struct sr_nop_op op = sr_nop();

			CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub[i]), 0);
		}
		for (int i = 0; i < 8; i++)
			CU_ASSERT_EQUAL(sr_wait(r, &sub[i], &c), 0);
		st = stats(r);
		CU_ASSERT_EQUAL(st.enters - st0.enters, 1);
		CU_ASSERT_EQUAL(st.cqes_reaped - st0.cqes_reaped, 8);
	}
	sr_ring_destroy(r);
}

/*
 * A stream's item is taken at the CQ head only when a CQE is there: with
 * the CQ empty, the entry at the head is a CQE of a lap ago, in a small CQ
 * often the same stream's.  A look that does not block finds nothing then;
 * every item comes once.  (Both backends: the fallback has no CQ.)
 */
static void test_stream_head_lap(void)
{
	struct sr_ring_params prm = { .entries = 2, .cq_entries = 4 };
	struct sr_ring *r = NULL;
	struct sr_poll_multishot_submitted sub;
	struct sr_poll_multishot_completed c;
	struct sr_poll_multishot_op op;
	int p[2], items = 0;
	char drain[8];

	CU_ASSERT_FATAL(sr_ring_create(&r, &prm) == 0);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	op = sr_poll_multishot(p[0], POLLIN);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &sub), 0);
	CU_ASSERT_EQUAL(sr_poll(r, &sub, &c), -EAGAIN);
	for (int i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL_FATAL(write(p[1], "x", 1), 1);
		CU_ASSERT_EQUAL_FATAL(sr_wait(r, &sub, &c), 0);
		CU_ASSERT(c.res > 0 && (c.res & POLLIN) && c.more);
		items++;
		CU_ASSERT_EQUAL(read(p[0], drain, sizeof(drain)), 1);
		/* nothing new happened: no item */
		CU_ASSERT_EQUAL(sr_poll(r, &sub, &c), -EAGAIN);
	}
	CU_ASSERT_EQUAL(items, 20);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	close(p[0]);
	close(p[1]);
}

void observe_tests(CU_pSuite s)
{
	CU_add_test(s, "waits in submission order: one enter per batch", test_enters_per_batch);
	CU_add_test(s, "a stream's look at an empty CQ takes no CQE of a lap ago", test_stream_head_lap);
	CU_add_test(s, "trace callback", test_trace_callback);
	CU_add_test(s, "cancellations counted: waited and callback ops", test_cancellations_counted);
	CU_add_test(s, "calls from a trace callback are refused", test_trace_calls_refused);
	CU_add_test(s, "SR_DEBUG=1 traces to stderr", test_trace_env);
	CU_add_test(s, "dump and counters of an op in flight", test_dump_inflight);
	CU_add_test(s, "dump of a buffer group, ENOBUFS counted", test_dump_group_enobufs);
	CU_add_test(s, "stats and dump arguments", test_stats_args);
}
