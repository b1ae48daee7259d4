/* SPDX-License-Identifier: MIT */
/*
 * sr-disabled: io_uring switched off for real (kernel.io_uring_disabled,
 * Linux 6.6), in the guest.
 *
 *   2             io_uring_setup fails with EPERM for everyone, root too;
 *   1 (a user)    only CAP_SYS_ADMIN and the io_uring_group may set a ring
 *                 up: an unprivileged user (uid/gid 65534) gets EPERM;
 *   1 (root)      root still has io_uring.
 *
 * For each, with the sysctl set, sr-probe --json must report the fallback
 * backend and a reason naming the sysctl (or io_uring for root at 1), and
 * the fallback matrix runs there (its native column: detection of the real
 * refusal, and what each op does then): every op must come out fallback or
 * error, none native, none failed.  (Its strict column would only show the
 * ring refused: STRICT takes no fallback backend.)  The sysctl goes back to 0
 * afterwards.  A kernel without the sysctl (before 6.6) says so and counts
 * ran=0; compare.py requires ran=3 from 6.6 on.
 *
 * Prints per mode what happened, then
 *   io_uring-disabled: ran=N matrix_runs=N native=N fallback=N error=N failed=N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYSCTL "/proc/sys/kernel/io_uring_disabled"
#define NOBODY 65534

static unsigned ran, runs, failed;
static unsigned long native, fallback, error;

static int set_sysctl(int v)
{
	char b[8];
	int fd = open(SYSCTL, O_WRONLY | O_CLOEXEC), n = snprintf(b, sizeof(b), "%d\n", v);
	bool ok = fd >= 0 && write(fd, b, (size_t)n) == n;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -errno;
}

/* Run argv (as nobody when user), its output into out; returns the exit status or -1. */
static int run(char *const argv[], bool user, char *out, size_t outlen)
{
	int fds[2], ws;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		if (user && (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))) {
			printf("cannot become uid %d: %m\n", NOBODY);
			_exit(126);
		}
		execv(argv[0], argv);
		printf("exec %s: %m\n", argv[0]);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + used, outlen - used - 1)) > 0) {
		fwrite(out + used, 1, (size_t)n, stdout);	/* the log shows everything */
		used += (size_t)n;
		if (used + 1 >= outlen)
			used = 0;	/* keep the tail: the summary is last */
	}
	out[used] = 0;
	close(fds[0]);
	if (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws))
		return -1;
	return WEXITSTATUS(ws);
}

static void check(bool ok, const char *mode, const char *what)
{
	printf("io_uring-disabled %s: %s: %s\n", mode, what, ok ? "ok" : "FAILED");
	if (!ok)
		failed++;
}

static void one(int value, bool user, bool want_uring)
{
	static char out[1 << 16];
	char mode[64], *p;
	char *probe[] = { "/sr/sr-probe", "--json", NULL };
	char *matrix[] = { "/sr/conformance", "--matrix", "native", NULL };
	unsigned long n, f, e, x;
	int rc;

	snprintf(mode, sizeof(mode), "%d%s", value, user ? " (uid 65534)" : " (root)");
	if (set_sysctl(value)) {
		check(false, mode, "cannot set " SYSCTL);
		return;
	}
	ran++;
	rc = run(probe, user, out, sizeof(out));
	check(rc == 0, mode, "sr-probe --json exits 0");
	if (want_uring) {
		check(strstr(out, "\"backend\": \"io_uring\"") != NULL, mode, "the ring has io_uring");
	} else {
		check(strstr(out, "\"backend\": \"fallback\"") != NULL, mode, "the ring runs on the fallback backend");
		char reason[64];

		snprintf(reason, sizeof(reason), "kernel.io_uring_disabled=%d", value);
		check(strstr(out, reason) != NULL, mode, "the reason names the sysctl");
	}
	if (want_uring)
		goto restore;
	/* The matrix writes its scratch files in the working directory. */
	rc = run(matrix, user, out, sizeof(out));
	runs++;
	p = strstr(out, "fallback-matrix: ");
	if (!p || sscanf(p, "fallback-matrix: configs=%*u ops=%*u native=%lu fallback=%lu error=%lu failed=%lu", &n, &f,
			 &e, &x) != 4) {
		check(false, mode, "the matrix printed its summary");
		goto restore;
	}
	native += n;
	fallback += f;
	error += e;
	check(rc == 0 && x == 0, mode, "the matrix has no failure");
	check(n == 0 && f > 0, mode, "no op runs natively, ops run on the fallback");
restore:
	if (set_sysctl(0))
		check(false, mode, "cannot set " SYSCTL " back to 0");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (access(SYSCTL, F_OK)) {
		printf("io_uring-disabled: this kernel has no %s (Linux 6.6): nothing to switch off\n", SYSCTL);
	} else {
		/* nobody writes the matrix's files here too */
		chmod(".", 01777);
		one(2, false, false);
		one(1, true, false);
		one(1, false, true);
	}
	printf("io_uring-disabled: ran=%u matrix_runs=%u native=%lu fallback=%lu error=%lu failed=%u\n", ran, runs,
	       native, fallback, error, failed);
	return failed ? 1 : 0;
}
