/* SPDX-License-Identifier: MIT */
/*
 * api-fuzz runner: fixed seeds (or a time budget) over a few forked worker
 * processes.  A sequence that disagrees with the model, crashes or hangs
 * is reported with its seed and a one-line reproduction; the worker is
 * replaced and the run goes on.
 *
 *   api_fuzz [--seeds N] [--first S] [--workers W] [--seconds T]
 *            [--only f,f] [--skip f,f] [--steps MIN-MAX] [--alarm S]
 *   api_fuzz --seed S [--verbose]      one sequence, in this process, traced
 */
#include "fz.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAIL_EXIT 86
#define LEAK_EXIT 87
#define MAX_WORKERS 16

struct shared {
	atomic_ullong next;		/* index of the next seed */
	atomic_ullong sequences, steps, failures;
	atomic_ullong by_feat[FT_COUNT];
	atomic_ullong first_seed[FT_COUNT];	/* +1; 0: none */
	atomic_uint printed;
	double deadline;		/* soak: no new sequence after this */
	struct {
		atomic_ullong seed;	/* the sequence running, +1 */
		struct fz_progress at;
		unsigned long long leak_lo, leak_hi;	/* a leak check found one: these seeds ran since the last */
	} w[MAX_WORKERS];
};

static struct shared *sh;
static int worker_id;
static const char *self_path = "api_fuzz";
static int alarm_s = 30;
static unsigned max_printed = 12;
static unsigned leak_every = 50;	/* sequences between leak checks (a check costs more than a sequence) */
static char extra_args[256];	/* options a reproduction needs */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record(int feat, uint64_t seed, unsigned step)
{
	unsigned long long zero = 0;

	if (!sh)
		return;
	atomic_fetch_add(&sh->sequences, 1);
	atomic_fetch_add(&sh->steps, step);
	atomic_fetch_add(&sh->failures, 1);
	atomic_fetch_add(&sh->by_feat[feat], 1);
	atomic_compare_exchange_strong(&sh->first_seed[feat], &zero, (unsigned long long)seed + 1);
}

static bool may_print(void)
{
	return !sh || atomic_fetch_add(&sh->printed, 1) < max_printed;
}

void fz_report_failure(int feat, uint64_t seed, unsigned step, const char *msg)
{
	if (may_print()) {
		fprintf(stderr, "api-fuzz: FAIL seed=%llu step=%u [%s] %s\n", (unsigned long long)seed, step,
			fz_feature_names[feat], msg);
		fprintf(stderr, "  reproduce: %s --seed %llu%s --verbose\n", self_path, (unsigned long long)seed,
			extra_args);
		fflush(stderr);
	}
	record(feat, seed, step);
	_exit(FAIL_EXIT);
}

static void on_alarm(int sig)
{
	uint64_t seed;
	unsigned step;
	const char *call;
	char msg[256];

	(void)sig;
	fz_where(&seed, &step, &call);
	snprintf(msg, sizeof(msg), "hang: the sequence ran for %d s (in %s)", alarm_s, call ? call : "?");
	fz_report_failure(FT_CRASH, seed, step, msg);
}

static unsigned parse_feats(const char *list)
{
	unsigned bits = 0;
	char *dup = strdup(list), *save = NULL;

	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int f;

		for (f = 0; f < FT_COUNT; f++)
			if (!strcmp(t, fz_feature_names[f]))
				break;
		if (f == FT_COUNT) {
			fprintf(stderr, "api-fuzz: unknown feature '%s'; features:", t);
			for (f = 0; f < FT_CRASH; f++)
				fprintf(stderr, " %s", fz_feature_names[f]);
			fprintf(stderr, "\n");
			exit(2);
		}
		bits |= 1u << f;
	}
	free(dup);
	return bits;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FZ_LSAN 1
#endif
#ifdef FZ_LSAN
int __lsan_do_recoverable_leak_check(void);

static bool leaked(void)
{
	return __lsan_do_recoverable_leak_check() != 0;
}
#else
static bool leaked(void)
{
	return false;
}
#endif

static void worker(unsigned long long first, unsigned long long count)
{
	unsigned long long since = 0, lo = 0, hi = 0;

	signal(SIGALRM, on_alarm);
	if (fz_init()) {
		fprintf(stderr, "api-fuzz: worker setup failed\n");
		_exit(2);
	}
	for (;;) {
		unsigned long long i = atomic_fetch_add(&sh->next, 1);
		uint64_t seed = first + i;
		unsigned steps;

		if (sh->deadline ? now_s() >= sh->deadline : i >= count)
			break;
		if (!since)
			lo = seed;
		hi = seed;
		atomic_store(&sh->w[worker_id].seed, seed + 1);
		sh->w[worker_id].at.step = 0;
		strcpy(sh->w[worker_id].at.name, "setup");
		alarm((unsigned)alarm_s);
		steps = fz_run_sequence(seed, NULL, 0);
		alarm(0);
		atomic_fetch_add(&sh->sequences, 1);
		atomic_fetch_add(&sh->steps, steps);
		/* A leak is one of the seeds since the last check: the runner finds which. */
		if (++since >= leak_every) {
			since = 0;
			if (leaked())
				goto leak;
		}
	}
	atomic_store(&sh->w[worker_id].seed, 0);
	if (since && leaked())
		goto leak;
	_exit(0);
leak:
	atomic_store(&sh->w[worker_id].seed, 0);
	sh->w[worker_id].leak_lo = lo;
	sh->w[worker_id].leak_hi = hi;
	_exit(LEAK_EXIT);
}

static pid_t spawn(int id, unsigned long long first, unsigned long long count)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		worker_id = id;
		fz_progress = &sh->w[id].at;
		worker(first, count);
	}
	return pid;
}

/* Run the seeds of a leaky batch one by one, each in a fresh process with a leak check. */
static void find_leak(int id, unsigned long long lo, unsigned long long hi)
{
	for (unsigned long long seed = lo; seed <= hi; seed++) {
		int status;
		pid_t pid;

		fflush(stderr);
		pid = fork();
		if (pid == 0) {
			unsigned steps;

			worker_id = id;
			fz_progress = &sh->w[id].at;
			signal(SIGALRM, on_alarm);
			if (fz_init())
				_exit(2);
			atomic_store(&sh->w[id].seed, seed + 1);
			alarm((unsigned)alarm_s);
			steps = fz_run_sequence(seed, NULL, 0);
			alarm(0);
			if (leaked()) {
				/* Counted once, as this seed's failure (the batch's sequences are counted). */
				atomic_fetch_sub(&sh->sequences, 1);
				atomic_fetch_sub(&sh->steps, steps);
				fz_report_failure(FT_BASIC, seed, steps + 1, "LeakSanitizer: memory leaked (report above)");
			}
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			break;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return;		/* found (or it crashed: a crash is reported by its own report) */
	}
	if (may_print())
		fprintf(stderr, "api-fuzz: FAIL seed=%llu [basic] LeakSanitizer: memory leaked in one of seeds %llu..%llu "
			"(report above), not again when each ran alone\n", lo, lo, hi);
	atomic_fetch_sub(&sh->sequences, 1);
	record(FT_BASIC, lo, 0);
}

static void usage(void)
{
	fprintf(stderr, "usage: api_fuzz [--seeds N] [--first S] [--workers W] [--seconds T] [--only f,f] [--skip f,f]\n"
			"                [--steps MIN-MAX] [--alarm S] [--print N] [--leak-every N] | --seed S [--verbose]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long count = 40000, first = 1, single = 0;
	bool have_single = false;
	int nworkers = 2;
	double seconds = 0, t0 = now_s();
	pid_t pids[MAX_WORKERS];
	int live = 0;

	self_path = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--seeds") && v) {
			count = strtoull(v, NULL, 0), i++;
		} else if (!strcmp(a, "--first") && v) {
			first = strtoull(v, NULL, 0), i++;
		} else if (!strcmp(a, "--seed") && v) {
			single = strtoull(v, NULL, 0), have_single = true, i++;
		} else if (!strcmp(a, "--workers") && v) {
			nworkers = atoi(v), i++;
		} else if (!strcmp(a, "--seconds") && v) {
			seconds = atof(v), i++;
		} else if (!strcmp(a, "--print") && v) {
			max_printed = (unsigned)atoi(v), i++;
		} else if (!strcmp(a, "--leak-every") && v) {
			leak_every = (unsigned)atoi(v), i++;
			if (!leak_every)
				usage();
		} else if (!strcmp(a, "--alarm") && v) {
			alarm_s = atoi(v), i++;
		} else if (!strcmp(a, "--only") && v) {
			fz_opts.feat = parse_feats(v);
			snprintf(extra_args + strlen(extra_args), sizeof(extra_args) - strlen(extra_args), " --only %s", v);
			i++;
		} else if (!strcmp(a, "--skip") && v) {
			fz_opts.feat &= ~parse_feats(v);
			snprintf(extra_args + strlen(extra_args), sizeof(extra_args) - strlen(extra_args), " --skip %s", v);
			i++;
		} else if (!strcmp(a, "--steps") && v) {
			if (sscanf(v, "%u-%u", &fz_opts.min_steps, &fz_opts.max_steps) != 2 ||
			    fz_opts.min_steps > fz_opts.max_steps)
				usage();
			snprintf(extra_args + strlen(extra_args), sizeof(extra_args) - strlen(extra_args), " --steps %s", v);
			i++;
		} else if (!strcmp(a, "--verbose")) {
			fz_opts.verbose = 1;
		} else {
			usage();
		}
	}
	fz_opts.feat |= 1u << FT_BASIC;
	if (nworkers < 1 || nworkers > MAX_WORKERS)
		usage();
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (have_single) {
		unsigned steps;

		signal(SIGALRM, on_alarm);
		if (fz_init()) {
			fprintf(stderr, "api-fuzz: setup failed\n");
			return 2;
		}
		alarm((unsigned)alarm_s);
		steps = fz_run_sequence(single, NULL, 0);
		alarm(0);
		printf("api-fuzz: seed %llu passed (%u steps)\n", single, steps);
		return 0;
	}

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	memset(sh, 0, sizeof(*sh));
	if (seconds > 0) {
		sh->deadline = t0 + seconds;
		count = ~0ULL;
	}
	for (int i = 0; i < nworkers; i++) {
		pids[i] = spawn(i, first, count);
		live += pids[i] > 0;
	}
	while (live) {
		int status, id = -1;
		pid_t pid = wait(&status);

		if (pid < 0)
			break;
		for (int i = 0; i < nworkers; i++)
			if (pids[i] == pid)
				id = i;
		if (id < 0)
			continue;
		live--;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		if (WIFEXITED(status) && WEXITSTATUS(status) == LEAK_EXIT)
			find_leak(id, sh->w[id].leak_lo, sh->w[id].leak_hi);
		if (!(WIFEXITED(status) && (WEXITSTATUS(status) == FAIL_EXIT || WEXITSTATUS(status) == LEAK_EXIT))) {
			/* A crash (a sanitizer report, a signal): its report is above. */
			unsigned long long s = atomic_load(&sh->w[id].seed);

			if (s) {
				if (may_print()) {
					fprintf(stderr, "api-fuzz: FAIL seed=%llu step=%u [crash] the worker %s %d in step "
						"'%s' (the sanitizer's report is above; none if a thread that blocks "
						"signals crashed)\n  reproduce: %s --seed %llu%s --verbose\n",
						s - 1, sh->w[id].at.step, WIFSIGNALED(status) ? "died of signal" : "exited with",
						WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), sh->w[id].at.name,
						self_path, s - 1, extra_args);
				}
				record(FT_CRASH, s - 1, sh->w[id].at.step);
			}
		}
		/* Replace the worker; it takes the next seeds. */
		if (sh->deadline ? now_s() < sh->deadline : atomic_load(&sh->next) < count) {
			pids[id] = spawn(id, first, count);
			live += pids[id] > 0;
		}
	}
	for (int f = 0; f < FT_COUNT; f++)
		if (sh->by_feat[f])
			fprintf(stderr, "api-fuzz: %s: %llu failing sequences, first seed %llu\n", fz_feature_names[f],
				(unsigned long long)sh->by_feat[f], (unsigned long long)sh->first_seed[f] - 1);
	printf("api-fuzz: sequences=%llu steps=%llu failures=%llu\n", (unsigned long long)sh->sequences,
	       (unsigned long long)sh->steps, (unsigned long long)sh->failures);
	if (seconds > 0)
		fprintf(stderr, "api-fuzz: %.0f s, seeds %llu..%llu\n", now_s() - t0, first,
			first + (unsigned long long)atomic_load(&sh->next) - 1);
	return sh->failures ? 1 : 0;
}
