/* SPDX-License-Identifier: MIT */
/*
 * echo_server: a TCP echo server on one ring, in callback style.
 *
 *   echo_server [--port N] [--bufs N] [--bufsize N]
 *
 * One multishot accept hands over every new connection.  Each connection
 * has one multishot recv: the kernel puts each chunk it receives into a
 * buffer it picks from a provided-buffer group the whole server shares, so
 * an idle connection holds no memory.  The chunk goes back out with a send,
 * and the buffer returns to the group when that send completes.  When every
 * buffer is out, a recv ends with -ENOBUFS; its connection waits until a
 * buffer comes back (TCP holds the peer's data meanwhile).
 *
 * SIGINT and SIGTERM arrive as a read on a signalfd, on the same ring: the
 * server stops accepting, cancels every op in flight, waits until each has
 * completed, checks that every buffer came back, prints a one-line summary
 * and exits 0.  SIGUSR1 arrives the same way and dumps the ring's state
 * (sr_ring_dump) to stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <safer-ring.h>

struct server;

struct conn {
	struct server *srv;
	int fd;
	struct sr_recv_multishot_submitted recv;
	struct sr_send_submitted send;
	bool receiving;		/* the multishot recv is armed */
	bool sending;		/* a send is in flight */
	bool done;		/* the peer stopped sending, or the connection failed */
	bool starved;		/* on srv->starved: re-arm the recv when a buffer is back */
	/*
	 * Chunks received but not sent back yet, oldest first.  One send at a
	 * time per connection keeps its bytes in order.
	 */
	struct sr_buf **queue;
	unsigned qhead, qlen, qcap;	/* qcap: a power of two */
	struct conn *prev, *next;	/* srv->conns */
	struct conn *next_starved;
};

struct server {
	struct sr_ring *ring;
	struct sr_bufgroup *group;
	unsigned nbufs;
	int listen_fd;
	int sig_fd;
	struct sr_buf *sig_buf;		/* one struct signalfd_siginfo */
	struct sr_read_submitted sig_read;
	struct sr_multishot_accept_submitted accept;
	bool accepting;			/* the multishot accept is armed */
	bool sig_reading;		/* the signalfd read is in flight */
	bool stopping;
	const char *why;		/* what stopped the server */
	int error;			/* the first fatal error, or 0 */
	struct conn *conns;
	struct conn *starved, *starved_tail;
	unsigned nconns, max_conns;
	unsigned long long accepted, bytes, waits;
	unsigned accept_errors;
};

static void stop(struct server *srv, const char *why, int error);

static void die_op(struct server *srv, const char *what)
{
	fprintf(stderr, "echo_server: %s: %s\n", what, sr_last_error());
	stop(srv, "error", -EIO);
}

/* --- buffers ------------------------------------------------------------------ */

static void arm_recv(struct conn *cn);

/*
 * A buffer is free: the first connection starved of one receives again.
 * Called when a buffer comes back, and when a woken connection leaves it
 * unused (its recv saw EOF or an error first), so a free buffer never sits
 * idle while a connection starves.  One at a time: more would mostly meet
 * -ENOBUFS again.
 */
static void wake_starved(struct server *srv)
{
	while (srv->starved && !srv->stopping && sr_bufgroup_available(srv->group) > 0) {
		struct conn *cn = srv->starved;

		srv->starved = cn->next_starved;
		if (!srv->starved)
			srv->starved_tail = NULL;
		cn->starved = false;
		if (!cn->done) {
			arm_recv(cn);
			return;
		}
	}
}

/* A buffer goes back to the group; a connection starved of buffers may go on. */
static void give_back(struct server *srv, struct sr_buf *b)
{
	if (sr_bufgroup_recycle(srv->group, b) < 0) {
		die_op(srv, "sr_bufgroup_recycle");
		return;
	}
	wake_starved(srv);
}

static void starve(struct conn *cn)
{
	struct server *srv = cn->srv;

	cn->starved = true;
	cn->next_starved = NULL;
	if (srv->starved_tail)
		srv->starved_tail->next_starved = cn;
	else
		srv->starved = cn;
	srv->starved_tail = cn;
	srv->waits++;
}

static void unstarve(struct conn *cn)
{
	struct server *srv = cn->srv;
	struct conn **pp, *prev = NULL;

	for (pp = &srv->starved; *pp; prev = *pp, pp = &(*pp)->next_starved)
		if (*pp == cn) {
			*pp = cn->next_starved;
			if (srv->starved_tail == cn)
				srv->starved_tail = prev;
			break;
		}
	cn->starved = false;
}

static void drop_queue(struct conn *cn)
{
	while (cn->qlen) {
		give_back(cn->srv, cn->queue[cn->qhead]);
		cn->qhead = (cn->qhead + 1) & (cn->qcap - 1);
		cn->qlen--;
	}
}

static bool enqueue(struct conn *cn, struct sr_buf *b)
{
	if (cn->qlen == cn->qcap) {
		unsigned cap = cn->qcap ? cn->qcap * 2 : 4;
		struct sr_buf **q = malloc(cap * sizeof(*q));

		if (!q)
			return false;
		for (unsigned i = 0; i < cn->qlen; i++)
			q[i] = cn->queue[(cn->qhead + i) & (cn->qcap - 1)];
		free(cn->queue);
		cn->queue = q;
		cn->qhead = 0;
		cn->qcap = cap;
	}
	cn->queue[(cn->qhead + cn->qlen) & (cn->qcap - 1)] = b;
	cn->qlen++;
	return true;
}

/* --- connections ------------------------------------------------------------------ */

/* Close a connection once nothing of it is in flight or queued. */
static void conn_check(struct conn *cn)
{
	struct server *srv = cn->srv;

	if (cn->receiving || cn->sending || cn->qlen || !(cn->done || srv->stopping))
		return;
	if (cn->starved)
		unstarve(cn);
	close(cn->fd);
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		srv->conns = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	srv->nconns--;
	free(cn->queue);
	free(cn);
}

/* Give up on a connection: drop what it queued and cancel its recv. */
static void conn_fail(struct conn *cn)
{
	cn->done = true;
	drop_queue(cn);
	if (cn->receiving)
		sr_cancel(cn->srv->ring, &cn->recv);
}

static void on_send(struct sr_ring *r, struct sr_send_completed *c, void *arg);

static void send_next(struct conn *cn)
{
	struct sr_buf *b = cn->queue[cn->qhead];
	struct sr_send_op op = sr_send(cn->fd, b);

	cn->qhead = (cn->qhead + 1) & (cn->qcap - 1);
	cn->qlen--;
	/* WAITALL: the kernel retries a partial send itself. */
	sr_send_set_flags(&op, MSG_NOSIGNAL | MSG_WAITALL);
	if (sr_submit_cb(cn->srv->ring, &op, on_send, cn, &cn->send) < 0) {
		die_op(cn->srv, "send");
		give_back(cn->srv, b);
		conn_fail(cn);
		return;
	}
	cn->sending = true;
}

static void on_send(struct sr_ring *r, struct sr_send_completed *c, void *arg)
{
	struct conn *cn = arg;
	struct server *srv = cn->srv;
	struct sr_buf *b = c->buf;	/* ours again: the send is over */

	cn->sending = false;
	if (c->res > 0)
		srv->bytes += (unsigned long long)c->res;
	if (c->res >= 0 && (size_t)c->res < sr_buf_len(b) && !cn->done && !srv->stopping) {
		/* Short anyway: move the rest to the front and send that. */
		char *p = sr_buf_data(b);
		size_t left = sr_buf_len(b) - (size_t)c->res;
		struct sr_send_op op;

		memmove(p, p + c->res, left);
		sr_buf_set_len(b, left);
		op = sr_send(cn->fd, b);
		sr_send_set_flags(&op, MSG_NOSIGNAL | MSG_WAITALL);
		if (sr_submit_cb(r, &op, on_send, cn, &cn->send) == 0) {
			cn->sending = true;
			return;
		}
		die_op(srv, "send");
	}
	give_back(srv, b);
	if (c->res < 0)		/* the peer went away (or we cancelled) */
		conn_fail(cn);
	else if (cn->qlen && !srv->stopping)
		send_next(cn);
	conn_check(cn);
}

static void on_recv(struct sr_ring *r, struct sr_recv_multishot_completed *c, void *arg)
{
	struct conn *cn = arg;
	struct server *srv = cn->srv;

	if (!c->more)
		cn->receiving = false;
	if (c->buf) {
		/* The kernel picked this buffer; it is ours until we recycle it. */
		if (c->res <= 0 || cn->done || srv->stopping) {
			give_back(srv, c->buf);
		} else if (!enqueue(cn, c->buf)) {
			fprintf(stderr, "echo_server: out of memory; dropping a connection\n");
			give_back(srv, c->buf);
			conn_fail(cn);
		} else if (!cn->sending) {
			send_next(cn);
		}
	} else if (c->res == 0 || (c->res < 0 && c->res != -ENOBUFS)) {
		/* 0: the peer has sent everything; -ECANCELED: we stopped it;
		 * anything else: the connection broke. */
		cn->done = true;
	}
	if (!cn->receiving && !cn->done && !srv->stopping && !cn->starved) {
		/* The stream ended without EOF: out of buffers, most likely. */
		if (sr_bufgroup_available(srv->group) > 0)
			arm_recv(cn);
		else
			starve(cn);
	}
	/* A stream that ended on EOF or an error without taking a buffer may
	 * have been woken for one: pass the wake on.  (After -ENOBUFS the
	 * buffers are out, and whoever has them wakes the next when done.) */
	if (!c->more && !c->buf && c->res != -ENOBUFS)
		wake_starved(srv);
	conn_check(cn);
}

static void arm_recv(struct conn *cn)
{
	struct sr_recv_multishot_op op = sr_recv_multishot(cn->fd, cn->srv->group);

	if (sr_submit_cb(cn->srv->ring, &op, on_recv, cn, &cn->recv) < 0) {
		die_op(cn->srv, "recv_multishot");
		conn_fail(cn);
		return;
	}
	cn->receiving = true;
}

/* --- accepting ---------------------------------------------------------------------- */

static void on_accept(struct sr_ring *r, struct sr_multishot_accept_completed *c, void *arg);

static int arm_accept(struct server *srv)
{
	struct sr_multishot_accept_op op = sr_multishot_accept(srv->listen_fd);

	sr_multishot_accept_set_flags(&op, SOCK_CLOEXEC);
	if (sr_submit_cb(srv->ring, &op, on_accept, srv, &srv->accept) < 0)
		return -1;
	srv->accepting = true;
	return 0;
}

static void on_accept(struct sr_ring *r, struct sr_multishot_accept_completed *c, void *arg)
{
	struct server *srv = arg;
	struct conn *cn;

	if (!c->more)
		srv->accepting = false;
	if (c->res >= 0 && srv->stopping) {
		close(c->res);		/* raced with the cancel */
	} else if (c->res >= 0) {
		cn = calloc(1, sizeof(*cn));
		if (!cn) {
			close(c->res);
			return;
		}
		cn->srv = srv;
		cn->fd = c->res;
		cn->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = cn;
		srv->conns = cn;
		srv->accepted++;
		if (++srv->nconns > srv->max_conns)
			srv->max_conns = srv->nconns;
		arm_recv(cn);
		conn_check(cn);
	} else if (c->res != -ECANCELED && srv->accept_errors++ == 0) {
		/* EMFILE and friends: say so once, keep serving. */
		fprintf(stderr, "echo_server: accept: %s\n", strerror(-c->res));
	}
	if (!srv->accepting && !srv->stopping && arm_accept(srv) < 0)
		die_op(srv, "multishot_accept");
}

/* --- signals and shutdown -------------------------------------------------------------- */

static void on_signal(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	struct server *srv = arg;
	const struct signalfd_siginfo *si = sr_buf_data(c->buf);

	srv->sig_reading = false;
	if (c->res == (int)sizeof(*si) && si->ssi_signo == SIGUSR1 && !srv->stopping) {
		/* kill -USR1: the ring's state on stderr, from the loop (a
		 * signalfd read, never a handler), and the read goes on. */
		struct sr_read_op op = sr_read(srv->sig_fd, srv->sig_buf, (__u64)-1);

		sr_ring_dump(r, stderr);
		if (sr_submit_cb(r, &op, on_signal, srv, &srv->sig_read) < 0)
			stop(srv, "signalfd read failed", -EIO);
		else
			srv->sig_reading = true;
		return;
	}
	if (c->res == (int)sizeof(*si))
		stop(srv, si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", 0);
	else if (c->res != -ECANCELED)
		stop(srv, "signalfd read failed", c->res < 0 ? c->res : -EIO);
}

static void stop(struct server *srv, const char *why, int error)
{
	struct conn *cn, *next;

	if (!srv->error)
		srv->error = error;
	if (srv->stopping)
		return;
	srv->stopping = true;
	srv->why = why;
	if (srv->accepting)
		sr_cancel(srv->ring, &srv->accept);
	if (srv->sig_reading)
		sr_cancel(srv->ring, &srv->sig_read);
	/* Every op comes back through its callback, with -ECANCELED or its
	 * result if it won the race; the connection closes after the last. */
	for (cn = srv->conns; cn; cn = next) {
		next = cn->next;
		drop_queue(cn);
		if (cn->receiving)
			sr_cancel(srv->ring, &cn->recv);
		if (cn->sending)
			sr_cancel(srv->ring, &cn->send);
		conn_check(cn);
	}
}

/* --- setup ------------------------------------------------------------------------------- */

static int listen_on(unsigned port, unsigned *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(a);
	int one = 1, fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

static int parse_uint(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: echo_server [--port N] [--bufs N] [--bufsize N]\n"
		"  --port N      TCP port on 127.0.0.1 (default 0: the kernel picks one)\n"
		"  --bufs N      buffers in the shared group, a power of two up to 32768 (default 4096)\n"
		"  --bufsize N   bytes per buffer, up to 1048576 (default 16384)\n"
		"Serves until SIGINT or SIGTERM.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bufs", required_argument, NULL, 'b' },
		{ "bufsize", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sr_ring_params params = { .entries = 1024 };
	struct server srv = { .listen_fd = -1, .sig_fd = -1 };
	unsigned port = 0, bufs = 4096, bufsize = 16384, bound;
	struct sr_read_op sig_op;
	struct rlimit rl;
	sigset_t mask;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_uint(optarg, 65535, &port) < 0)
				goto bad_arg;
			break;
		case 'b':
			if (parse_uint(optarg, 32768, &bufs) < 0 || !bufs || (bufs & (bufs - 1)))
				goto bad_arg;
			break;
		case 's':
			if (parse_uint(optarg, 1 << 20, &bufsize) < 0 || !bufsize)
				goto bad_arg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "echo_server: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* Thousands of connections need thousands of descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/*
	 * Signals become completions: block them and read them from a signalfd.
	 * A shell starts background jobs with SIGINT ignored, and an ignored
	 * signal is dropped before it can be read: take the default back.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);	/* dump the ring (on_signal) */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (srv.sig_fd < 0) {
		perror("echo_server: signalfd");
		return 1;
	}

	srv.listen_fd = listen_on(port, &bound);
	if (srv.listen_fd < 0) {
		fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
		goto out;
	}
	if (sr_ring_create(&srv.ring, &params) < 0) {
		fprintf(stderr, "echo_server: %s\n", sr_last_error());
		goto out;
	}
	srv.nbufs = bufs;
	srv.group = sr_bufgroup_create(srv.ring, bufs, bufsize);
	srv.sig_buf = sr_buf_alloc(sizeof(struct signalfd_siginfo));
	if (!srv.group || !srv.sig_buf) {
		fprintf(stderr, "echo_server: %s\n", sr_last_error());
		goto out;
	}
	sig_op = sr_read(srv.sig_fd, srv.sig_buf, (__u64)-1);
	if (sr_submit_cb(srv.ring, &sig_op, on_signal, &srv, &srv.sig_read) < 0 || arm_accept(&srv) < 0) {
		fprintf(stderr, "echo_server: %s\n", sr_last_error());
		goto out;
	}
	srv.sig_reading = true;
	printf("listening on 127.0.0.1:%u\n", bound);
	fflush(stdout);

	/* Serve until stopped and every op has come back. */
	while (!srv.stopping || srv.nconns || srv.accepting || srv.sig_reading) {
		int n = sr_ring_run_once(srv.ring, -1);

		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "echo_server: %s\n", sr_last_error());
			stop(&srv, "error", n);
			break;	/* sr_ring_destroy still waits for what is in flight */
		}
	}

	printf("echo_server: %s: %llu connections (%u at once), %llu bytes echoed, %llu waits for a buffer, "
	       "%u/%u buffers back\n", srv.why, srv.accepted, srv.max_conns, srv.bytes, srv.waits,
	       sr_bufgroup_available(srv.group), srv.nbufs);
	if (sr_bufgroup_available(srv.group) != srv.nbufs)
		fprintf(stderr, "echo_server: %u buffer(s) never came back\n",
			srv.nbufs - sr_bufgroup_available(srv.group));
	else if (!srv.error)
		ret = 0;
out:
	if (srv.group && sr_bufgroup_destroy(srv.group) < 0)
		fprintf(stderr, "echo_server: %s\n", sr_last_error());
	sr_ring_destroy(srv.ring);
	sr_buf_free(srv.sig_buf);
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	close(srv.sig_fd);
	return ret;

bad_arg:
	fprintf(stderr, "echo_server: bad value '%s' for --%s\n", optarg,
		opt == 'p' ? "port" : opt == 'b' ? "bufs" : "bufsize");
	usage(stderr);
	return 2;
}
