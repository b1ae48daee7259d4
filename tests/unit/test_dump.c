/* SPDX-License-Identifier: MIT */
/* What the dump says of ops (state, age, chain) and of the pools they hold,
 * the CQ overflow counter, and that every JSON dump parses; on either
 * backend (the suite also runs with SR_BACKEND=fallback). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include "unit.h"

/* --- a strict JSON checker (RFC 8259), enough for one dump ------------------ */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)p[i]))
					return NULL;
			p += 4;
		} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

/* Members (object) or elements (array) up to close. */
static const char *json_items(const char *p, int depth, char close, bool object)
{
	p = json_ws(p);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = json_string(json_ws(p));
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = json_ws(p);
	switch (*p) {
	case '{':
		return json_items(p + 1, depth, '}', true);
	case '[':
		return json_items(p + 1, depth, ']', false);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_number(p);
	}
}

static bool json_quiet;	/* the checker's own tests */

/* One JSON object and a newline, nothing else. */
bool unit_json_valid(const char *text)
{
	const char *end = text && *json_ws(text) == '{' ? json_value(text, 0) : NULL;

	if (end && !strcmp(end, "\n"))
		return true;
	if (!json_quiet)
		printf("\n    not one JSON object and a newline (at offset %ld):\n%s\n", end ? (long)(end - text) : -1L,
	       text ? text : "(null)");
	return false;
}

static void test_json_checker(void)
{
	json_quiet = true;
	CU_ASSERT(unit_json_valid("{\"a\":[1,-2.5e3,{\"b\":\"x\\u00e9\\n\"}],\"c\":true,\"d\":null}\n"));
	CU_ASSERT(!unit_json_valid("{\"a\":[1,]}\n"));
	CU_ASSERT(!unit_json_valid("{\"a\":1,}\n"));
	CU_ASSERT(!unit_json_valid("{\"a\":01}\n"));
	CU_ASSERT(!unit_json_valid("{\"a\":\"x\ty\"}\n"));
	CU_ASSERT(!unit_json_valid("{\"a\":1}{}\n"));
	CU_ASSERT(!unit_json_valid("{\"a\" 1}\n"));
	json_quiet = false;
}

/* --- dumps ------------------------------------------------------------------ */

/* The value of "key": (a number) in the JSON object of the op in slot. */
static long long op_field(const char *json, uint32_t slot, const char *key)
{
	char pat[64];
	const char *op, *end, *k;

	snprintf(pat, sizeof(pat), "\"slot\":%u,", slot);
	op = json ? strstr(json, pat) : NULL;
	if (!op)
		return -1;
	end = strstr(op, "\"buffers\":");
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	k = strstr(op, pat);
	if (!k || (end && k > end))
		return -1;
	return strtoll(k + strlen(pat), NULL, 10);
}

static uint32_t slot_of(const struct sr_read_submitted *s)
{
	return (uint32_t)(s->h._ud & 0x7fffff);
}

/*
 * Two reads of an empty pipe in a chain, their buffers from a pool: queued,
 * then in flight with an age, each with its place in the chain; the pool
 * with what is taken and free.  Then the first completes and the second
 * stays, still the chain's second.
 */
static void test_dump_ages_chains_pools(void)
{
	struct sr_ring *r = NULL;
	struct sr_pool *pool = sr_pool_create(3, 4096, 0);
	struct sr_buf *b1 = pool ? sr_pool_take(pool) : NULL, *b2 = pool ? sr_pool_take(pool) : NULL;
	struct sr_read_submitted s1, s2;
	struct sr_read_completed c;
	struct sr_read_op o1, o2;
	struct sr_chain ch;
	char want[160];
	bool fb;
	char *t;
	int p[2];

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0 && b1 && b2);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	fb = !sr_ring_uring(r) || !sr_ring_native(r, SR_OP_READ);
	CU_ASSERT_EQUAL(sr_ring_set_ages(r, true), 0);
	sr_chain_begin(r, &ch, SR_CHAIN_HARD);	/* a short read ends a soft chain */
	o1 = sr_read(p[0], b1, (__u64)-1);
	o2 = sr_read(p[0], b2, (__u64)-1);
	sr_chain_add(&ch, &o1, &s1);
	sr_chain_add(&ch, &o2, &s2);
	CU_ASSERT_EQUAL_FATAL(sr_chain_end(&ch), 0);

	t = unit_dump(r, true);
	if (!fb) {	/* still in the SQ: no age yet */
		snprintf(want, sizeof(want), "\"slot\":%u,\"handle\":%llu,\"state\":\"queued\",\"chain\":{\"first\":%u,"
			 "\"position\":0,\"link\":\"hard\"}", slot_of(&s1), (unsigned long long)s1.h._ud, slot_of(&s1));
		CU_ASSERT(unit_has(t, want));
		CU_ASSERT_EQUAL(op_field(t, slot_of(&s1), "age_us"), -1);
	}
	snprintf(want, sizeof(want), "\"chain\":{\"first\":%u,\"position\":1,\"link\":\"last\"}", slot_of(&s1));
	CU_ASSERT(unit_has(t, want));
	free(t);

	CU_ASSERT(sr_ring_submit(r) >= 0);
	usleep(20000);
	t = unit_dump(r, true);
	snprintf(want, sizeof(want), "\"slot\":%u,\"handle\":%llu,\"state\":\"inflight\",\"age_us\":", slot_of(&s1),
		 (unsigned long long)s1.h._ud);
	CU_ASSERT(unit_has(t, want));
	CU_ASSERT(op_field(t, slot_of(&s1), "age_us") >= 15000);
	CU_ASSERT(op_field(t, slot_of(&s1), "age_us") < 60 * 1000000LL);
	CU_ASSERT(op_field(t, slot_of(&s2), "position") == 1);
	CU_ASSERT(unit_has(t, "\"pools\":[{\"buf_size\":4096,\"count\":3,\"free\":1,\"taken\":2,\"lent_here\":2,"
			 "\"node\":-1,\"registered\":\"no\"}]"));
	free(t);
	t = unit_dump(r, false);
	CU_ASSERT(unit_has(t, " age_us="));
	snprintf(want, sizeof(want), " chain first=%u position=0 link=hard", slot_of(&s1));
	CU_ASSERT(unit_has(t, want));
	CU_ASSERT(unit_has(t, "pool buf_size=4096 count=3 free=1 taken=2 lent_here=2 node=-1 registered=no"));
	free(t);

	CU_ASSERT_EQUAL(write(p[1], "one", 3), 3);
	CU_ASSERT_EQUAL(sr_wait(r, &s1, &c), 0);
	CU_ASSERT_EQUAL(c.res, 3);
	t = unit_dump(r, true);
	CU_ASSERT_EQUAL(op_field(t, slot_of(&s1), "position"), -1);
	/* io_uring: the place it went in at; fallback: what is left of the chain. */
	CU_ASSERT_EQUAL(op_field(t, slot_of(&s2), "position"), fb ? -1 : 1);
	CU_ASSERT(unit_has(t, "\"lent_here\":1,"));
	free(t);
	CU_ASSERT_EQUAL(write(p[1], "two", 3), 3);
	CU_ASSERT_EQUAL(sr_wait(r, &s2, &c), 0);
	if (c.res != 3)
		printf("second read: %d (%s)\n", c.res, strerror(-c.res));
	CU_ASSERT_EQUAL(c.res, 3);
	t = unit_dump(r, true);
	CU_ASSERT(unit_has(t, "\"ops\":[],\"pools\":[],"));
	free(t);

	/* Off: a new op has no age. */
	CU_ASSERT_EQUAL(sr_ring_set_ages(r, false), 0);
	o1 = sr_read(p[0], b1, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &o1, &s1), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	t = unit_dump(r, true);
	CU_ASSERT_EQUAL(op_field(t, slot_of(&s1), "age_us"), -1);
	CU_ASSERT(t && !strstr(t, "\"chain\""));
	free(t);
	CU_ASSERT_EQUAL(write(p[1], "3", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s1, &c), 0);

	CU_ASSERT_EQUAL(sr_pool_put(b1), 0);
	CU_ASSERT_EQUAL(sr_pool_put(b2), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
	CU_ASSERT_EQUAL(sr_pool_destroy(pool), 0);
}

/* A trace callback notes ages as sr_ring_set_ages does. */
static void ignore(struct sr_ring *r, const struct sr_trace_event *ev, void *arg)
{
	(void)r;
	(void)ev;
	(*(int *)arg)++;
}

static void test_dump_ages_by_trace(void)
{
	struct sr_ring *r = NULL;
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op o;
	int p[2], events = 0;
	char *t;

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0 && b);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	CU_ASSERT_EQUAL(sr_ring_set_trace(r, ignore, &events), 0);
	o = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &o, &s), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	t = unit_dump(r, true);
	CU_ASSERT(op_field(t, slot_of(&s), "age_us") >= 0);
	CU_ASSERT(t && !strstr(t, "\"chain\""));	/* alone */
	free(t);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(events, 2);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

/*
 * A CQ of 2 entries and 6 NOPs handed over without a reap: what does not
 * fit the kernel holds back (IORING_FEAT_NODROP; the dump says so) or drops
 * (its overflow counter, which the stats and the dump show).  Every
 * completion still arrives.
 */
static void test_cq_overflow(void)
{
	struct sr_ring_params prm = { .entries = 2, .cq_entries = 2 };
	struct sr_nop_submitted s[6];
	struct sr_nop_completed c;
	struct sr_ring_stats st;
	struct sr_ring *r = NULL;
	char want[96];
	char *t;

	CU_ASSERT_FATAL(sr_ring_create(&r, &prm) == 0);
	if (unit_needs_uring(r, "a kernel CQ to overflow"))
		return;
	for (int i = 0; i < 6; i++) {
		struct sr_nop_op op = sr_nop();

		CU_ASSERT_EQUAL(sr_submit(r, &op, &s[i]), 0);
		if (i % 2)
			CU_ASSERT(sr_ring_submit(r) >= 0);
	}
	CU_ASSERT_EQUAL(sr_ring_stats(r, &st, sizeof(st)), 0);
	t = unit_dump(r, true);
	snprintf(want, sizeof(want), "\"cq\":{\"entries\":2,\"ready\":2,\"overflow\":%llu,",
		 (unsigned long long)st.cq_overflows);
	CU_ASSERT(unit_has(t, want));
	if (sr_caps_get()->features & IORING_FEAT_NODROP) {
		CU_ASSERT(unit_has(t, "\"overflow_held\":\"yes\"}"));
	} else {
		CU_ASSERT(st.cq_overflows >= 1);
	}
	free(t);
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(sr_wait(r, &s[i], &c), 0);
		CU_ASSERT_EQUAL(c.res, 0);
	}
	t = unit_dump(r, false);
	CU_ASSERT(unit_has(t, " overflow_held=no"));
	free(t);
	sr_ring_destroy(r);
}

/* Every dump of a busy ring parses: groups, registered files and buffers,
 * a name with characters JSON escapes. */
static void test_dump_json_valid(void)
{
	struct sr_ring *r = NULL;
	struct sr_bufgroup *g;
	struct sr_pool *pool = sr_pool_create(2, 4096, 0);
	char *t;

	CU_ASSERT_FATAL(sr_ring_create(&r, NULL) == 0 && pool);
	g = sr_bufgroup_create(r, 4, 128);
	CU_ASSERT(g != NULL);
	CU_ASSERT_EQUAL(sr_ring_register_pool(r, pool), 0);
	t = unit_dump(r, true);
	CU_ASSERT(unit_has(t, "\"registered\":{\"buffer_slots\":"));
	CU_ASSERT(unit_has(t, "\"pool_free\":2"));
	free(t);
	sr_ring_destroy(r);
	CU_ASSERT_EQUAL(sr_pool_destroy(pool), 0);
}

/* --- NUMA pools on this machine ----------------------------------------- */

static void test_pool_numa_host(void)
{
	struct sr_pool *p = sr_pool_create_on_node(4, 8192, 0, 0);
	struct sr_pool *l;
	struct sr_buf *b;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(sr_pool_node(p), 0);
	b = sr_pool_take(p);
	CU_ASSERT_FATAL(b != NULL);
	memset(sr_buf_data(b), 0xab, sr_buf_cap(b));
	CU_ASSERT_EQUAL(sr_pool_put(b), 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);

	l = sr_pool_create_on_node(1, 4096, 0, SR_POOL_NODE_LOCAL);
	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT(sr_pool_node(l) >= 0);
	CU_ASSERT_EQUAL(sr_pool_destroy(l), 0);

	CU_ASSERT_EQUAL(sr_pool_node(NULL), -1);
	p = sr_pool_create(1, 4096, 0);
	CU_ASSERT_EQUAL(sr_pool_node(p), -1);
	CU_ASSERT_EQUAL(sr_pool_destroy(p), 0);

	CU_ASSERT_PTR_NULL(sr_pool_create_on_node(1, 4096, 0, 999));
	CU_ASSERT(strstr(sr_last_error(), "NUMA node 999 does not exist") != NULL);
	CU_ASSERT_PTR_NULL(sr_pool_create_on_node(1, 4096, 0, -7));
	CU_ASSERT(strstr(sr_last_error(), "NUMA node -7 does not exist") != NULL);
}

/* SR_AGES=1: a ring created then notes ages from the start. */
static void test_dump_ages_env(void)
{
	struct sr_ring *r = NULL;
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op o;
	int p[2];
	char *t;

	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	setenv("SR_AGES", "1", 1);
	CU_ASSERT_EQUAL(sr_ring_create(&r, NULL), 0);
	unsetenv("SR_AGES");
	CU_ASSERT_FATAL(r != NULL);
	o = sr_read(p[0], b, (__u64)-1);
	CU_ASSERT_EQUAL(sr_submit(r, &o, &s), 0);
	CU_ASSERT(sr_ring_submit(r) >= 0);
	t = unit_dump(r, true);
	CU_ASSERT(op_field(t, slot_of(&s), "age_us") >= 0);
	free(t);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(sr_buf_free(b), 0);
	close(p[0]);
	close(p[1]);
	sr_ring_destroy(r);
}

/* A buffer shows its fixed index while registered, and not once it was
 * unregistered or its ring destroyed.  (files.c: sr_ring_unregister_buffers.) */
static void test_dump_fixed_index(void)
{
	struct sr_ring *r = unit_ring(8, 0);
	struct sr_buf *b = sr_buf_alloc(16);
	struct sr_read_submitted s;
	struct sr_read_completed c;
	struct sr_read_op op;
	char *text;
	int p[2];

	CU_ASSERT_FATAL(b && pipe2(p, O_CLOEXEC) == 0);
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, &b, 1), 0);
	op = sr_read(p[0], b, 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
	text = unit_dump(r, true);
	CU_ASSERT(unit_has(text, "\"fixed_index\":0"));
	free(text);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(sr_ring_unregister_buffers(r), 0);
	op = sr_read(p[0], b, 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
	text = unit_dump(r, true);
	CU_ASSERT(unit_has(text, "\"capacity\":16"));
	CU_ASSERT(text && !strstr(text, "fixed_index"));
	free(text);
	CU_ASSERT_EQUAL(write(p[1], "y", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	/* Nor once the ring it was registered with is gone (files.c: sr__files_destroy). */
	CU_ASSERT_EQUAL(sr_ring_register_buffers(r, &b, 1), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	r = unit_ring(8, 0);
	op = sr_read(p[0], b, 0);
	CU_ASSERT_EQUAL_FATAL(sr_submit(r, &op, &s), 0);
	text = unit_dump(r, true);
	CU_ASSERT(text && !strstr(text, "fixed_index"));
	free(text);
	CU_ASSERT_EQUAL(write(p[1], "z", 1), 1);
	CU_ASSERT_EQUAL(sr_wait(r, &s, &c), 0);
	CU_ASSERT_EQUAL(sr_ring_destroy(r), 0);
	sr_buf_free(b);
	close(p[0]);
	close(p[1]);
}

void dump_tests(CU_pSuite s)
{
	CU_add_test(s, "JSON checker", test_json_checker);
	CU_add_test(s, "dump: a fixed index only while registered", test_dump_fixed_index);
	CU_add_test(s, "dump: ages, chains, pools", test_dump_ages_chains_pools);
	CU_add_test(s, "dump: a trace notes ages", test_dump_ages_by_trace);
	CU_add_test(s, "dump: SR_AGES=1 notes ages", test_dump_ages_env);
	CU_add_test(s, "CQ overflow counted", test_cq_overflow);
	CU_add_test(s, "dump: JSON of a busy ring parses", test_dump_json_valid);
	CU_add_test(s, "NUMA pools on this machine", test_pool_numa_host);
}
