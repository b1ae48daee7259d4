/* SPDX-License-Identifier: MIT */
/* The conformance runner: CUnit suites for SQE equality and live round trips. */
#include "conf.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <CUnit/Basic.h>

unsigned char conf_smem[64][256] __attribute__((aligned(64)));

static struct sr_ring *capture;
static struct io_uring lib;
static bool lib_up;
static struct sr_bufgroup *group, *send_group;
static bool target_live;

static unsigned n_sqe_equal, n_live_pass, n_skipped;
static unsigned char op_failed[SR_OP__COUNT];
static unsigned char op_sqe_done[SR_OP__COUNT];
static char skip_lines[SR_OP__COUNT][640];

/* The helpers that are not one op's prep (spec/ops.yaml helpers:). */
#define CONF_MAX_HELPERS 64
static unsigned n_helper_sqe_equal, n_helper_live_pass, n_helper_skipped;
static unsigned char helper_failed[CONF_MAX_HELPERS];
static unsigned char helper_sqe_done[CONF_MAX_HELPERS];
static char helper_lines[CONF_MAX_HELPERS][640];

struct sr_ring *conf_ring(void)
{
	if (!capture) {
		struct sr_ring_params p = { .entries = 64, .flags = SR_RING_CAPTURE | SR_RING_NO_LADDER };

		if (sr_ring_create(&capture, &p)) {
			fprintf(stderr, "conformance: cannot create the capture ring: %s\n", sr_last_error());
			exit(2);
		}
	}
	return capture;
}

struct io_uring_sqe *conf_lib_sqe(void)
{
	if (!lib_up) {
		if (io_uring_queue_init(8, &lib, 0)) {
			fprintf(stderr, "conformance: cannot create a liburing ring\n");
			exit(2);
		}
		lib_up = true;
	}
	return io_uring_get_sqe(&lib);
}

void conf_lib_take(struct io_uring_sqe *out, struct io_uring_sqe *sqe)
{
	*out = *sqe;
	lib.sq.sqe_tail--;	/* never submitted */
}

const struct io_uring_sqe *conf_last_sqe(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;

	return &sq->sqes[(sq->sqe_tail - 1) & sq->ring_mask];
}

static const char *field_at(unsigned off)
{
	static const struct { unsigned off; const char *name; } f[] = {
		{ 0, "opcode" }, { 1, "flags" }, { 2, "ioprio" }, { 4, "fd" }, { 8, "off/addr2" },
		{ 16, "addr" }, { 24, "len" }, { 28, "op_flags" }, { 32, "user_data" },
		{ 40, "buf_index/group" }, { 42, "personality" }, { 44, "file_index" }, { 48, "addr3" },
		{ 56, "pad2" },
	};
	const char *name = "?";

	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].off <= off)
			name = f[i].name;
	return name;
}

unsigned conf_compare(const char *op, const char *what, const struct io_uring_sqe *got,
		      const struct io_uring_sqe *want)
{
	const unsigned char *g = (const void *)got, *w = (const void *)want;
	unsigned bad = 0;

	for (unsigned i = 0; i < 64; i++) {
		if (i >= 32 && i < 40)
			continue;	/* user_data is the caller's */
		if (g[i] != w[i]) {
			if (!bad)
				printf("\n  sqe %s: %s differs:", op, what);
			printf(" byte %u (%s) %02x != %02x;", i, field_at(i), g[i], w[i]);
			bad = 1;
		}
	}
	if (bad)
		printf("\n");
	return bad;
}

unsigned conf_fail(const char *op, const char *what)
{
	printf("\n  sqe %s: %s\n", op, what);
	return 1;
}

static unsigned helper_index(const char *name)
{
	unsigned i;

	for (i = 0; conf_sqe_helper_tests[i].name; i++)
		if (!strcmp(conf_sqe_helper_tests[i].name, name))
			break;
	if (i >= CONF_MAX_HELPERS) {
		fprintf(stderr, "conformance: helper %s: more helpers than CONF_MAX_HELPERS (%d)\n", name,
			CONF_MAX_HELPERS);
		exit(2);
	}
	return i;
}

void conf_record_helper_sqe(const char *name, unsigned fails)
{
	unsigned i = helper_index(name);

	helper_sqe_done[i] = 1;
	if (fails) {
		helper_failed[i] = 1;
		CU_FAIL("SQE differs from the reference (details above)");
	} else {
		n_helper_sqe_equal++;
	}
}

void conf_record_sqe(unsigned op, unsigned fails)
{
	op_sqe_done[op] = 1;
	if (fails) {
		op_failed[op] = 1;
		CU_FAIL("SQE differs from the reference (details above)");
	} else {
		n_sqe_equal++;
	}
}

struct sr_bufgroup *conf_group(void)
{
	if (!group) {
		group = sr_bufgroup_create(conf_ring(), 8, 512);
		if (!group) {
			fprintf(stderr, "conformance: cannot create a buffer group: %s\n", sr_last_error());
			exit(2);
		}
	}
	return group;
}

struct sr_bufgroup *conf_send_group(void)
{
	if (!send_group) {
		send_group = sr_bufgroup_create_send(conf_ring(), 8);
		if (!send_group) {
			fprintf(stderr, "conformance: cannot create a send group: %s\n", sr_last_error());
			exit(2);
		}
	}
	return send_group;
}

struct sr_handle conf_target(uint64_t *ud)
{
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub = { { 0 } };

	if (sr_nop_submit(conf_ring(), &op, &sub)) {
		fprintf(stderr, "conformance: cannot submit a target: %s\n", sr_last_error());
		exit(2);
	}
	*ud = sub.h._ud;
	target_live = true;
	return sub.h;
}

void conf_target_done(void)
{
	/* The target (and anything else still queued) never reaches the kernel. */
	sr_ring_discard(conf_ring());
	target_live = false;
}

void fake_register(struct sr_buf *b, struct sr_ring *r, unsigned index)
{
	b->_flags |= SR__BUF_REGISTERED;
	b->_reg_ring = r;
	b->_reg_index = (uint16_t)index;
}

void unfake_register(struct sr_buf *b)
{
	b->_flags &= ~SR__BUF_REGISTERED;
	b->_reg_ring = NULL;
}

/* --- live ------------------------------------------------------------------------------ */

int live_skip(struct live *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	return LIVE_SKIP;
}

int live_failf(struct live *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(t->msg, sizeof(t->msg), "%s:%d: ", file, line);

	va_start(ap, fmt);
	vsnprintf(t->msg + n, sizeof(t->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return LIVE_FAIL;
}

int live_keep_fd(struct live *t, int fd)
{
	if (fd >= 0 && t->nfds < sizeof(t->fds) / sizeof(t->fds[0]))
		t->fds[t->nfds++] = fd;
	return fd;
}

struct sr_buf *live_keep_buf(struct live *t, struct sr_buf *b)
{
	if (b && t->nbufs < sizeof(t->bufs) / sizeof(t->bufs[0]))
		t->bufs[t->nbufs++] = b;
	return b;
}

int live_path(struct live *t, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", t->dir, name);
	return 0;
}

int live_file(struct live *t, const char *name, const void *data, size_t len)
{
	char path[256];
	int fd;

	live_path(t, name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return live_keep_fd(t, fd);
}

int live_listener(struct live *t, int *listener, struct sockaddr_in *addr)
{
	socklen_t alen = sizeof(*addr);
	int one = 1;

	*listener = live_keep_fd(t, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (*listener < 0)
		return -1;
	setsockopt(*listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(*listener, (struct sockaddr *)addr, sizeof(*addr)) || listen(*listener, 16) ||
	    getsockname(*listener, (struct sockaddr *)addr, &alen))
		return -1;
	return 0;
}

int live_tcp_pair(struct live *t, int *listener, int *client, int *server)
{
	struct sockaddr_in addr;

	if (live_listener(t, listener, &addr))
		return -1;
	*client = live_keep_fd(t, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (*client < 0 || connect(*client, (struct sockaddr *)&addr, sizeof(addr)))
		return -1;
	*server = live_keep_fd(t, accept4(*listener, NULL, NULL, SOCK_CLOEXEC));
	return *server < 0 ? -1 : 0;
}

int live_udp_pair(struct live *t, int *a, int *b)
{
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);

	*a = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	*b = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (*a < 0 || *b < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(*b, (struct sockaddr *)&addr, sizeof(addr)) || getsockname(*b, (struct sockaddr *)&addr, &alen) ||
	    connect(*a, (struct sockaddr *)&addr, sizeof(addr)))
		return -1;
	return 0;
}

struct sr_buf *live_buf(struct live *t, const char *text)
{
	size_t n = strlen(text);
	struct sr_buf *b = sr_buf_alloc(n < 4096 ? 4096 : n);

	if (!b)
		return NULL;
	memcpy(sr_buf_data(b), text, n);
	sr_buf_set_len(b, n);
	return live_keep_buf(t, b);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * Run op's live scenario on a fresh ring.  all: run it even when the ring
 * cannot run the op natively (the fallback matrix).  status gets what the
 * ring says it does with the op, lasterr the library's last error after
 * the scenario.
 */
static int live_scenario(const char *name, int (*fn)(struct live *t), const char *skip, unsigned flags, int op,
			 bool all, char *msg, size_t msglen, char *status, size_t stlen, char *lasterr, size_t lelen);

int conf_live_one(unsigned op, bool all, char *msg, size_t msglen, char *status, size_t stlen,
		  char *lasterr, size_t lelen)
{
	const struct live_entry *e = &conf_live_tests[op];
	const struct sr_op_info *info = &sr_op_table[op];
	unsigned flags = 0;

	if (info->setup_any & SR_IORING_SETUP_SQE128)
		flags |= SR_RING_SQE128;
	if (info->setup_any & SR_IORING_SETUP_CQE32)
		flags |= SR_RING_CQE32;
	return live_scenario(e->name, e->fn, e->skip, flags, (int)op, all, msg, msglen, status, stlen, lasterr,
			     lelen);
}

/*
 * A scenario on a fresh ring: an op's (op >= 0: skipped, unless all, when
 * the ring does not run it natively) or a helper's (op < 0).
 */
static int live_scenario(const char *name, int (*fn)(struct live *t), const char *skip, unsigned flags, int op,
			 bool all, char *msg, size_t msglen, char *status, size_t stlen, char *lasterr, size_t lelen)
{
	struct sr_ring_params p = { .entries = 64, .flags = flags };
	struct live t;
	int ret;

	memset(&t, 0, sizeof(t));
	t.name = name;
	status[0] = lasterr[0] = msg[0] = 0;
	if (skip) {
		snprintf(msg, msglen, "%s", skip);
		return LIVE_SKIP;
	}
	if (!fn) {
		snprintf(msg, msglen, "no live scenario: write live_%s in tests/live/, or give the %s "
			 "`test: {skip: reason}` in the spec", name, op >= 0 ? "op" : "helper");
		return LIVE_FAIL;
	}
	if (sr_ring_create(&t.ring, &p)) {
		snprintf(msg, msglen, "cannot create a ring: %s", sr_last_error());
		return LIVE_FAIL;
	}
	if (op >= 0) {
		sr_op_status(t.ring, (unsigned)op, status, stlen);
		if (!all && strcmp(status, "native")) {
			sr_op_unavailable(t.ring, (unsigned)op, msg, msglen);
			sr_ring_destroy(t.ring);
			return LIVE_SKIP;
		}
	}
	snprintf(t.dir, sizeof(t.dir), "/tmp/sr-live-%s-XXXXXX", name);
	if (!mkdtemp(t.dir)) {
		snprintf(msg, msglen, "mkdtemp failed: %s", strerror(errno));
		sr_ring_destroy(t.ring);
		return LIVE_FAIL;
	}
	ret = fn(&t);
	snprintf(lasterr, lelen, "%s", sr_last_error());
	sr_ring_destroy(t.ring);
	for (unsigned i = 0; i < t.nbufs; i++)
		if (sr_buf_free(t.bufs[i]) && ret == LIVE_PASS)
			ret = live_failf(&t, __FILE__, __LINE__, "buffer %u was not returned: %s", i, sr_last_error());
	for (unsigned i = 0; i < t.nfds; i++)
		close(t.fds[i]);
	nftw(t.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (ret != LIVE_PASS)
		snprintf(msg, msglen, "%s", t.msg);
	return ret;
}

void conf_run_live_helper(unsigned i)
{
	const struct live_helper_entry *e = &conf_live_helper_tests[i];
	char msg[512], status[256], lasterr[512];
	int ret;

	if (i >= CONF_MAX_HELPERS)
		return;
	ret = live_scenario(e->name, e->fn, e->skip, 0, -1, false, msg, sizeof(msg), status, sizeof(status),
			    lasterr, sizeof(lasterr));
	if (ret == LIVE_PASS) {
		n_helper_live_pass++;
	} else if (ret == LIVE_SKIP) {
		snprintf(helper_lines[i], sizeof(helper_lines[i]), "skip: helper %s: %s", e->name, msg);
		n_helper_skipped++;
	} else {
		snprintf(helper_lines[i], sizeof(helper_lines[i]), "FAIL: helper %s: %s", e->name, msg);
		helper_failed[i] = 1;
		printf("\n  live helper %s: %s\n", e->name, msg);
		CU_FAIL("live round trip failed (details above)");
	}
}

void conf_run_live(unsigned op)
{
	const char *name = sr_op_table[op].name;
	char msg[512], status[256], lasterr[512];
	int ret = conf_live_one(op, false, msg, sizeof(msg), status, sizeof(status), lasterr, sizeof(lasterr));

	if (ret == LIVE_PASS) {
		n_live_pass++;
	} else if (ret == LIVE_SKIP) {
		snprintf(skip_lines[op], sizeof(skip_lines[op]), "skip: %s: %s", name, msg);
		n_skipped++;
	} else {
		snprintf(skip_lines[op], sizeof(skip_lines[op]), "FAIL: %s: %s", name, msg);
		op_failed[op] = 1;
		printf("\n  live %s: %s\n", name, msg);
		CU_FAIL("live round trip failed (details above)");
	}
}

bool conf_selected(const char *name)
{
	const char *only = getenv("CONF_ONLY");

	if (!only || !*only)
		return true;
	for (const char *p = only; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == strlen(name) && !strncmp(p, name, len))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* sr-conformance (tools/sr-conformance.c) has a main of its own. */
#ifndef CONF_NO_MAIN
int main(int argc, char **argv)
{
	unsigned n_ops = 0, n_failed = 0, n_helpers = 0, n_helpers_failed = 0;
	CU_pSuite sqe, live;

	if (getenv("CONF_MATRIX_CHILD"))
		return conf_matrix_child();
	if (argc > 1 && !strcmp(argv[1], "--matrix"))
		return conf_matrix(argv[0], argc - 2, argv + 2);
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--matrix [--only=op,op] [CONFIG...]]\n", argv[0]);
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	sqe = CU_add_suite("sqe", NULL, NULL);
	live = CU_add_suite("live", NULL, NULL);
	for (const struct conf_test *c = conf_sqe_tests; c->name; c++)
		if (conf_selected(c->name))
			CU_add_test(sqe, c->name, c->fn);
	for (const struct live_entry *e = conf_live_tests; e->name; e++)
		if (conf_selected(e->name))
			CU_add_test(live, e->name, e->cu);
	for (const struct conf_helper_test *c = conf_sqe_helper_tests; c->name; c++)
		if (conf_selected(c->name))
			CU_add_test(sqe, c->name, c->fn);
	for (const struct live_helper_entry *e = conf_live_helper_tests; e->name; e++)
		if (conf_selected(e->name))
			CU_add_test(live, e->name, e->cu);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	for (unsigned op = 0; op < SR_OP__COUNT; op++) {
		if (!conf_selected(sr_op_table[op].name))
			continue;
		n_ops++;
		if (skip_lines[op][0])
			printf("%s\n", skip_lines[op]);
		if (!op_sqe_done[op] && !op_failed[op])
			op_failed[op] = 1;
		n_failed += op_failed[op];
	}
	for (unsigned i = 0; conf_live_helper_tests[i].name && i < CONF_MAX_HELPERS; i++) {
		if (!conf_selected(conf_live_helper_tests[i].name))
			continue;
		n_helpers++;
		if (helper_lines[i][0])
			printf("%s\n", helper_lines[i]);
		if (!helper_sqe_done[i] && !helper_failed[i])
			helper_failed[i] = 1;
		n_helpers_failed += helper_failed[i];
	}
	if (capture)
		sr_ring_destroy(capture);
	if (lib_up)
		io_uring_queue_exit(&lib);
	printf("conformance: ops=%u sqe_equal=%u live_pass=%u skipped=%u failed=%u\n", n_ops, n_sqe_equal,
	       n_live_pass, n_skipped, n_failed);
	printf("conformance-helpers: helpers=%u sqe_equal=%u live_pass=%u skipped=%u failed=%u\n", n_helpers,
	       n_helper_sqe_equal, n_helper_live_pass, n_helper_skipped, n_helpers_failed);
	CU_cleanup_registry();
	return n_failed || n_helpers_failed ? 1 : 0;
}
#endif
