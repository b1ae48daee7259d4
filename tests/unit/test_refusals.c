/* SPDX-License-Identifier: MIT */
/*
 * The kernel saying no.  Each case runs in a fresh copy of this program
 * (fork, then exec: nothing of the parent's threads or sanitizer state
 * comes along) that installs a seccomp filter failing one io_uring_register
 * opcode, or another system call (eventfd2, mlock), with a chosen errno, and then uses the API: the call
 * that needed the kernel returns that error with a message naming what was
 * refused, nothing is marked registered that is not, no descriptor or
 * memory is lost, and the ring goes on working.  These paths are reached
 * otherwise only on kernels that lack a feature (Debian's 5.10 refuses a
 * sparse file table) or are out of a resource.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <CUnit/Basic.h>
#include <safer-ring.h>
#include "unit.h"

/* Not an io_uring_register opcode: an unused place in a case's list. */
#define NO_CODE 0xffffu

/* The flag newer liburings set on the opcode when the ring fd is registered. */
#define USE_REGISTERED_RING 0x80000000u

void sr__fail_alloc_in(long n);	/* runtime/src/mem.c: fail the n-th allocation from now */

static int fails;
static struct sr_buf *after_destroy;	/* freed once the ring is gone */

#define RCHECK(cond)								\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "    %s:%d: %s (last error: %s)\n",	\
				__FILE__, __LINE__, #cond, sr_last_error());	\
			fails++;						\
		}								\
	} while (0)

static bool said(const char *needle)
{
	return strstr(sr_last_error(), needle) != NULL;
}

/* Not a system call: no other call than io_uring_register fails. */
#define NO_SYSCALL 0xffffffffu

/* Fail io_uring_register with each of codes (up to 3), and the system call sysno, with err. */
static int refuse(const unsigned codes[3], unsigned sysno, int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sysno, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~USE_REGISTERED_RING),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, codes[0], 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, codes[1], 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, codes[2], 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return -errno;
	return 0;
}

/* A NOP round trip: the ring still works. */
static void ring_works(struct sr_ring *r)
{
	struct sr_nop_submitted s;
	struct sr_nop_completed c;
	struct sr_nop_op op = sr_nop();

	RCHECK(sr_submit(r, &op, &s) == 0);
	RCHECK(sr_wait(r, &s, &c) == 0 && c.res == 0);
}

/* Fixed buffers and a pool's memory refused (EPERM), or not pinned (ENOMEM). */
static void case_buffers(struct sr_ring *r, int err)
{
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_pool *p = sr_pool_create(4, 4096, 0);
	struct sr_read_fixed_submitted s;
	struct sr_read_fixed_op op;
	const char *why = err == -ENOMEM ? "RLIMIT_MEMLOCK" : "refused";

	RCHECK(b && p);
	RCHECK(sr_ring_register_buffers(r, &b, 1) == err && said("buffers") && said(why));
	/* Not registered: a fixed op refuses it, and it is free to go. */
	op = sr_read_fixed(0, b, 0);
	RCHECK(sr_submit(r, &op, &s) == -EINVAL && said("not registered"));
	RCHECK(sr_ring_unregister_buffers(r) < 0);
	RCHECK(sr_ring_register_pool(r, p) == err && said("pool") && said(why));
	RCHECK(sr_pool_destroy(p) == 0);
	RCHECK(sr_buf_free(b) == 0);
}

/* Fixed buffers the kernel would not let go stay registered: still fixed
 * buffers of the ring, and not free to go. */
static void case_buffers_unregister(struct sr_ring *r, int err)
{
	struct sr_buf *b = sr_buf_alloc(64);
	struct sr_read_fixed_submitted s;
	struct sr_read_fixed_completed c;
	struct sr_read_fixed_op op;
	int fd = unit_tmp_fd();

	RCHECK(b && fd >= 0 && pwrite(fd, "fixed", 5, 0) == 5);
	RCHECK(sr_ring_register_buffers(r, &b, 1) == 0);
	RCHECK(sr_ring_unregister_buffers(r) == err && said("refused"));
	op = sr_read_fixed(fd, b, 0);
	RCHECK(sr_submit(r, &op, &s) == 0);
	RCHECK(sr_wait(r, &s, &c) == 0 && c.res == 5 && !memcmp(sr_buf_data(b), "fixed", 5));
	RCHECK(sr_buf_free(b) < 0);
	after_destroy = b;
	close(fd);
}

/* A kernel without sparse tables (IORING_REGISTER_FILES2 refused with
 * EINVAL, as Debian's 5.10 does): a table of -1 entries instead. */
static void case_files_sparse(struct sr_ring *r, int err)
{
	struct sr_buf *b = sr_buf_alloc(8);
	struct sr_file f;
	int fd = unit_tmp_fd(), res = 0;

	(void)err;
	RCHECK(b && fd >= 0 && pwrite(fd, "slot", 4, 0) == 4);
	/* Out of memory for that table (its second allocation): none, said so. */
	sr__fail_alloc_in(2);
	RCHECK(sr_ring_register_files(r, 4) == -ENOMEM && said("out of memory"));
	RCHECK(sr_ring_files_count(r) == 0);
	RCHECK(sr_ring_register_files(r, 4) == 0);
	RCHECK(sr_ring_files_count(r) == 4);
	RCHECK(sr_ring_files_set(r, 3, fd, &f) == 0 && sr_file_valid(f));
	RCHECK(unit_read_file(r, f, b, &res) == 0 && res == 4 && !memcmp(sr_buf_data(b), "slot", 4));
	RCHECK(sr_ring_unregister_files(r) == 0);
	sr_buf_free(b);
	close(fd);
}

/* No table at all: the ring has none, and says so when one is used. */
static void case_files(struct sr_ring *r, int err)
{
	struct sr_file f;
	int fd = unit_tmp_fd();

	RCHECK(sr_ring_register_files(r, 4) == err && said("refused a table of 4 slots"));
	RCHECK(sr_ring_files_count(r) == 0);
	RCHECK(sr_ring_files_set(r, 0, fd, &f) == -EINVAL && !sr_file_valid(f) && said("outside the table"));
	RCHECK(sr_ring_unregister_files(r) == -ENXIO);
	/* Refused again, the same way (nothing half made the first time). */
	RCHECK(sr_ring_register_files(r, 2) == err);
	close(fd);
}

/* A slot the kernel would not fill: no handle, and the slot stays empty. */
static void case_files_update(struct sr_ring *r, int err)
{
	struct sr_file f;
	int fd = unit_tmp_fd();

	struct sr_buf *b = sr_buf_alloc(8);
	int res = 0;

	RCHECK(sr_ring_register_files(r, 4) == 0);
	RCHECK(sr_ring_files_set(r, 1, fd, &f) == err && said("updating slot 1") && !sr_file_valid(f));
	/* Asked for by slot, its handle reaches an empty slot. */
	RCHECK(sr_ring_file_handle(r, 1, &f) == 0);
	RCHECK(unit_read_file(r, f, b, &res) == 0 && res == -EBADF);
	sr_buf_free(b);
	close(fd);
}

/* A table the kernel would not take back stays registered and usable. */
static void case_files_unregister(struct sr_ring *r, int err)
{
	struct sr_file f;
	int fd = unit_tmp_fd();

	RCHECK(sr_ring_register_files(r, 4) == 0);
	RCHECK(sr_ring_unregister_files(r) == err && said("refused"));
	RCHECK(sr_ring_files_count(r) == 4);
	RCHECK(sr_ring_files_set(r, 2, fd, &f) == 0 && sr_file_valid(f));
	close(fd);
}

/* A buffer ring refused: no group of either kind, ids not used up. */
static void case_pbuf_ring(struct sr_ring *r, int err)
{
	long maps = sr__mappings();

	RCHECK(sr_bufgroup_create(r, 4, 64) == NULL && said("registering buffer ring") && said(strerrorname_np(-err)));
	RCHECK(sr_bufgroup_create_send(r, 4) == NULL && said("registering buffer ring") &&
	       said(strerrorname_np(-err)));
	RCHECK(sr__mappings() == maps);	/* the buffer rings mapped for them are gone */
}

/* Memory that may not be locked: no pool, a message naming the limit, and
 * nothing of it left mapped.  (Under ASan mlock never reaches the kernel:
 * its interceptor does nothing and says 0.) */
static void case_pool_mlock(struct sr_ring *r, int err)
{
	long maps = sr__mappings();
	struct sr_pool *p;

	(void)r;
	p = sr_pool_create(4, 4096, SR_POOL_LOCKED);
	if (p) {
		printf("\n    note: pool-mlock: mlock did not reach the kernel (a sanitizer's interceptor?)\n");
		RCHECK(sr_pool_destroy(p) == 0);
		return;
	}
	RCHECK(said("cannot lock") && said(strerrorname_np(-err)) && said("RLIMIT_MEMLOCK"));
	RCHECK(sr__mappings() == maps);
}

/*
 * Where the kernel's head of a send group cannot be asked (PBUF_STATUS is
 * 6.8; refused here), a bundle's last completion gives back the buffers
 * its bytes cover, oldest first.  (group.c: cover.)
 */
static void case_pbuf_status(struct sr_ring *r, int err)
{
	static const char *const part[3] = { "alpha:", "beta:", "gamma!" };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct sr_bufgroup *g = sr_bufgroup_create_send(r, 4);
	struct sr_send_bundle_submitted sub;
	struct sr_send_bundle_completed c;
	struct sr_send_bundle_op op;
	struct sr_buf *b[3], *first = NULL;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cl, s;
	unsigned n = 0;
	long sent = 0;
	char back[32];

	(void)err;
	RCHECK(g && l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 1) == 0);
	RCHECK(getsockname(l, (struct sockaddr *)&a, &al) == 0);
	cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	RCHECK(connect(cl, (struct sockaddr *)&a, sizeof(a)) == 0);
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	RCHECK(s >= 0 && g);
	if (s < 0 || !g)
		return;
	for (int i = 0; i < 3; i++) {
		b[i] = sr_buf_alloc(16);
		memcpy(sr_buf_data(b[i]), part[i], strlen(part[i]));
		sr_buf_set_len(b[i], strlen(part[i]));
		RCHECK(sr_bufgroup_queue(g, b[i]) == 0);
	}
	op = sr_send_bundle(cl, g);
	RCHECK(sr_submit(r, &op, &sub) == 0);
	do {
		RCHECK(sr_wait(r, &sub, &c) == 0);
		sent += c.res > 0 ? c.res : 0;
		if (!first)
			first = c.buf;
		n += c.nbufs;
	} while (c.more);
	RCHECK(sent == 17 && n == 3 && first == b[0] && sr_bufgroup_queued(g) == 0);
	RCHECK(recv(s, back, 17, MSG_WAITALL) == 17 && !memcmp(back, "alpha:beta:gamma!", 17));
	for (int i = 0; i < 3; i++) {
		RCHECK(!sr_buf_is_lent(b[i]));
		sr_buf_free(b[i]);
	}
	RCHECK(sr_bufgroup_destroy(g) == 0);
	close(cl);
	close(s);
	close(l);
}

/* An eventfd refused by the kernel (registering it) or by the system (making it). */
static void case_eventfd(struct sr_ring *r, int err)
{
	int fds = unit_open_fds();

	RCHECK(sr_ring_eventfd(r) == err && said("registering the eventfd failed"));
	RCHECK(unit_open_fds() == fds);	/* the eventfd made for it is closed */
	RCHECK(sr_ring_eventfd(r) == err);
}

static void case_eventfd2(struct sr_ring *r, int err)
{
	RCHECK(sr_ring_eventfd(r) == err && said("eventfd failed"));
}

static const struct refusal {
	const char *name;
	unsigned codes[3];
	unsigned sysno;		/* another system call to fail, or NO_SYSCALL */
	int err;
	void (*run)(struct sr_ring *r, int err);
} refusals[] = {
	{ "buffers", { SR_IORING_REGISTER_BUFFERS, NO_CODE, NO_CODE }, NO_SYSCALL, -EPERM, case_buffers },
	{ "buffers-memlock", { SR_IORING_REGISTER_BUFFERS, NO_CODE, NO_CODE }, NO_SYSCALL, -ENOMEM, case_buffers },
	{ "buffers-unregister", { SR_IORING_UNREGISTER_BUFFERS, NO_CODE, NO_CODE }, NO_SYSCALL, -EPERM, case_buffers_unregister },
	{ "files-sparse", { SR_IORING_REGISTER_FILES2, NO_CODE, NO_CODE }, NO_SYSCALL, -EINVAL, case_files_sparse },
	{ "files", { SR_IORING_REGISTER_FILES2, SR_IORING_REGISTER_FILES, NO_CODE }, NO_SYSCALL, -EINVAL, case_files },
	{ "files-enomem", { SR_IORING_REGISTER_FILES2, NO_CODE, NO_CODE }, NO_SYSCALL, -ENOMEM, case_files },
	{ "files-update", { SR_IORING_REGISTER_FILES_UPDATE, NO_CODE, NO_CODE }, NO_SYSCALL, -EBADF, case_files_update },
	{ "files-unregister", { SR_IORING_UNREGISTER_FILES, NO_CODE, NO_CODE }, NO_SYSCALL, -EPERM, case_files_unregister },
	{ "pbuf-ring", { SR_IORING_REGISTER_PBUF_RING, NO_CODE, NO_CODE }, NO_SYSCALL, -ENOMEM, case_pbuf_ring },
	{ "pbuf-status", { SR_IORING_REGISTER_PBUF_STATUS, NO_CODE, NO_CODE }, NO_SYSCALL, -EINVAL, case_pbuf_status },
	{ "eventfd", { SR_IORING_REGISTER_EVENTFD, NO_CODE, NO_CODE }, NO_SYSCALL, -EBUSY, case_eventfd },
	{ "eventfd2", { NO_CODE, NO_CODE, NO_CODE }, __NR_eventfd2, -EMFILE, case_eventfd2 },
	{ "pool-mlock", { NO_CODE, NO_CODE, NO_CODE }, __NR_mlock, -ENOMEM, case_pool_mlock },
};

#define SKIP_EXIT 77

/* A case of the table above, in this process; 0 when it held. */
static int registered_child(const char *name)
{
	const struct refusal *c = NULL;
	struct sr_ring *r = NULL;
	int ret;

	for (unsigned i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (!strcmp(refusals[i].name, name))
			c = &refusals[i];
	if (!c) {
		fprintf(stderr, "no refusal case '%s'\n", name);
		return 2;
	}
	if (sr_ring_create(&r, NULL)) {
		fprintf(stderr, "    %s: no ring: %s\n", name, sr_last_error());
		return 1;
	}
	if (!sr_ring_uring(r)) {
		printf("\n    skip: the kernel's refusals need a ring on io_uring (this one: %s)\n", sr_ring_backend(r));
		sr_ring_destroy(r);
		return SKIP_EXIT;
	}
	ret = refuse(c->codes, c->sysno, -c->err);
	if (ret) {
		printf("\n    skip: no seccomp filter here (%s)\n", strerror(-ret));
		sr_ring_destroy(r);
		return SKIP_EXIT;
	}
	c->run(r, c->err);
	ring_works(r);
	RCHECK(sr_ring_destroy(r) == 0);
	if (after_destroy)
		RCHECK(sr_buf_free(after_destroy) == 0);
	return fails ? 1 : 0;
}

/* An eventfd asked for at create, refused: no ring, nothing left open. */
static int child_create(int err)
{
	static const unsigned codes[3] = { SR_IORING_REGISTER_EVENTFD, NO_CODE, NO_CODE };
	struct sr_ring_params p = { .flags = SR_RING_EVENTFD };
	struct sr_ring *r = NULL;
	int fds;

	if (sr_ring_create(&r, NULL) || !sr_ring_uring(r)) {
		printf("\n    skip: the kernel's refusals need a ring on io_uring\n");
		sr_ring_destroy(r);
		return SKIP_EXIT;
	}
	sr_ring_destroy(r);
	if (refuse(codes, NO_SYSCALL, err)) {
		printf("\n    skip: no seccomp filter here\n");
		return SKIP_EXIT;
	}
	fds = unit_open_fds();
	r = NULL;
	RCHECK(sr_ring_create(&r, &p) == -err && said("eventfd") && r == NULL);
	RCHECK(unit_open_fds() == fds);
	return fails ? 1 : 0;
}

/*
 * No /proc (a minimal chroot or container): every open fails.  The
 * capability probe runs without what it reads there (Seccomp: unknown),
 * and a ring works.
 */
static int child_no_proc(int err)
{
	static const unsigned codes[3] = { NO_CODE, NO_CODE, NO_CODE };
	const struct sr_caps *c;
	struct sr_ring *r = NULL;

	if (refuse(codes, __NR_openat, err)) {
		printf("\n    skip: no seccomp filter here\n");
		return SKIP_EXIT;
	}
	c = sr_caps_get();
	RCHECK(c != NULL && c->seccomp == -1);
	RCHECK(sr_ring_create(&r, NULL) == 0);
	if (r) {
		ring_works(r);
		RCHECK(sr_ring_destroy(r) == 0);
	}
	return fails ? 1 : 0;
}

/*
 * io_uring_enter failing (seccomp, errno err) with a NOP queued: a full CQ
 * or a busy kernel (EBUSY, EAGAIN) is no error for a submit or a look
 * that does not block, a signal (EINTR) is no error for a submit and is
 * -EINTR for a look; anything else fails naming the call and the enter.
 * A wait that may sleep fails with the enter's error.
 * _exit: the ring cannot be torn down without the kernel.
 */
static int child_enter(int err)
{
	static const unsigned codes[3] = { NO_CODE, NO_CODE, NO_CODE };
	struct sr_ring *r = NULL;
	struct sr_nop_submitted sub;
	struct sr_nop_completed c;
	struct sr_nop_op op = sr_nop();
	bool fatal = err != EBUSY && err != EAGAIN && err != EINTR;
	int ret;

	if (sr_ring_create(&r, NULL) || !sr_ring_uring(r)) {
		printf("\n    skip: the kernel's refusals need a ring on io_uring\n");
		return SKIP_EXIT;
	}
	RCHECK(sr_submit(r, &op, &sub) == 0);
	if (refuse(codes, __NR_io_uring_enter, err)) {
		printf("\n    skip: no seccomp filter here\n");
		return SKIP_EXIT;
	}
	ret = sr_ring_submit(r);
	RCHECK(fatal ? ret == -err && said("sr_ring_submit: io_uring_enter failed") : ret >= 0);
	ret = sr_ring_run_once(r, 0);
	RCHECK(fatal ? ret == -err && said("sr_ring_run_once: io_uring_enter failed") : err == EINTR ? ret == -EINTR : ret >= 0);
	ret = sr_poll(r, &sub, &c);
	RCHECK(fatal ? ret == -err && said("sr_nop_poll: io_uring_enter failed") : err == EINTR ? ret == -EINTR : ret == -EAGAIN);
	/* A wait that may sleep fails with what the enter said. */
	ret = sr_ring_run_once(r, 10);
	RCHECK(ret == -err && said(fatal ? "sr_ring_run_once: io_uring_enter failed" : err == EINTR ?
				   "sr_ring_run_once: interrupted by a signal" : "sr_ring_run_once: waiting failed"));
	fflush(stdout);
	_exit(fails ? 1 : 0);
}

static void own_handler(int sig)
{
	(void)sig;
}

/*
 * The program handles the real-time signal the fallback backend would
 * take to interrupt a worker's blocked call (SIGRTMIN + 7): the backend
 * leaves the handler alone (it cancels without interrupting), and works.
 */
static int child_signal_taken(int err)
{
	struct sigaction sa = { .sa_handler = own_handler }, now;
	struct sr_ring_params p = { .flags = SR_RING_FALLBACK };
	struct sr_ring *r = NULL;

	(void)err;
	sigemptyset(&sa.sa_mask);
	RCHECK(sigaction(SIGRTMIN + 7, &sa, NULL) == 0);
	RCHECK(sr_ring_create(&r, &p) == 0);
	if (r) {
		RCHECK(!strcmp(sr_ring_backend(r), "fallback"));
		ring_works(r);
		RCHECK(sr_ring_destroy(r) == 0);
	}
	RCHECK(sigaction(SIGRTMIN + 7, NULL, &now) == 0 && now.sa_handler == own_handler);
	return fails ? 1 : 0;
}

/* Cases that make their own ring (or none) around the filter. */
static const struct own_case {
	const char *name;
	int (*run)(int err);
	int err;
} own_cases[] = {
	{ "create-eventfd", child_create, EBUSY },
	{ "no-proc", child_no_proc, ENOENT },
	{ "enter-EBUSY", child_enter, EBUSY },
	{ "enter-EAGAIN", child_enter, EAGAIN },
	{ "enter-EINTR", child_enter, EINTR },
	{ "enter-ENXIO", child_enter, ENXIO },
	{ "signal-taken", child_signal_taken, 0 },
};

/* test_runtime --refuse NAME: one case, in this process; 0 when it held. */
int refusal_child(const char *name)
{
	for (unsigned i = 0; i < sizeof(own_cases) / sizeof(own_cases[0]); i++)
		if (!strcmp(own_cases[i].name, name))
			return own_cases[i].run(own_cases[i].err);
	return registered_child(name);
}

static const char *self;

void refusal_self(const char *argv0)
{
	self = argv0;
}

/* Run one case; false when it skipped (the others would, for the same reason). */
static bool run_child(const char *name)
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	/* Between fork and exec the child calls nothing but execl: a
	 * sanitizer's locks held by the parent's other threads stay untouched. */
	if (pid == 0) {
		execl(self, self, "--refuse", name, (char *)NULL);
		_exit(127);
	}
	/* A case that hangs is killed after 30 s and fails, naming itself. */
	for (int ms = 0;; ms += 10) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		CU_ASSERT_FATAL(w == 0 || errno == EINTR);
		if (ms == 30000) {
			printf("\n    refusal case %s: no result after 30 s, killed\n", name);
			kill(pid, SIGKILL);
			CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
			break;
		}
		usleep(10000);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_EXIT)
		return false;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("\n    refusal case %s: %s %d\n", name, WIFEXITED(st) ? "exit" : "signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return true;
}

static void test_refusals(void)
{
	for (unsigned i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (!run_child(refusals[i].name))
			return;
	for (unsigned i = 0; i < sizeof(own_cases) / sizeof(own_cases[0]); i++)
		run_child(own_cases[i].name);
}

void refusal_tests(CU_pSuite s)
{
	CU_add_test(s, "the kernel refusing registrations, eventfds, enters; no /proc; a taken signal", test_refusals);
}
