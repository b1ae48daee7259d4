/* SPDX-License-Identifier: MIT */
/*
 * https_server: static files over HTTPS, every socket op on one ring.
 *
 *   https_server [--port N] --cert FILE --key FILE --root DIR [--tls auto|kernel|user]
 *
 * OpenSSL does the TLS handshake.  What carries the records after it
 * depends on the kernel:
 *
 * - kernel TLS (the "tls" TCP upper-layer protocol, kTLS): OpenSSL hands
 *   the session keys to the kernel, and the socket then takes plain data:
 *   the ring's send writes the response head and splice moves the file
 *   from the page cache through a pipe to the socket, never through user
 *   space, while the kernel encrypts (tls_kernel.c);
 * - userspace TLS: OpenSSL's record layer works on memory BIOs and the
 *   ring moves the ciphertext: recv into the input BIO, send from the
 *   output BIO, read for the file (tls_user.c).
 *
 * --tls auto (the default) takes the kernel path when the kernel has kTLS,
 * and says which path it took either way.  --tls kernel asks for kTLS even
 * so; a connection the kernel refuses falls back to userspace records.
 *
 * This file is the server around them: one request per connection (GET,
 * Connection: close), files opened beneath DIR only (openat2 with
 * RESOLVE_BENEATH), and SIGINT/SIGTERM to stop: no more accepts, the ops of
 * every connection cancelled, a summary, exit 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include "https.h"

static void stop(struct server *srv, const char *why, int error);

/* --- a connection's end ---------------------------------------------------------------- */

static void conn_free(struct conn *cn)
{
	struct server *srv = cn->srv;

	if (cn->file_fd >= 0)
		close(cn->file_fd);
	if (cn->pipe[0] >= 0) {
		close(cn->pipe[0]);
		close(cn->pipe[1]);
	}
	SSL_free(cn->ssl);		/* and its BIOs */
	sr_buf_free(cn->in);
	sr_buf_free(cn->out);
	sr_buf_free(cn->disk);
	close(cn->fd);
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		srv->conns = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	srv->nconns--;
	free(cn);
}

/* End a connection; err < 0 is an errno, 0 means OpenSSL's error queue. */
void conn_fail(struct conn *cn, const char *what, int err)
{
	char buf[256] = "";

	if (err == 0)
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	if (what && !cn->srv->stopping && err != -ECANCELED)
		fprintf(stderr, "https_server: %s: %s\n", what, err ? strerror(-err) : buf);
	ERR_clear_error();
	cn->over = true;
}

/* A submit was refused: the library's message says why. */
void submit_failed(struct conn *cn)
{
	if (!cn->srv->stopping)
		fprintf(stderr, "https_server: %s\n", sr_last_error());
	cn->over = true;
}

/* --- socket I/O shared by both paths ------------------------------------------------------ */

static void on_recv(struct sr_ring *r, struct sr_recv_completed *c, void *arg)
{
	struct conn *cn = arg;

	cn->inflight--;
	cn->recv_busy = false;
	if (cn->state == DRAINING) {
		if (c->res <= 0)
			cn->over = true;	/* the peer has closed too: done */
	} else if (c->res == 0) {
		cn->over = true;		/* the peer left early */
	} else if (c->res < 0) {
		conn_fail(cn, "recv", c->res);
	} else if (cn->ktls_rx) {
		/* The kernel decrypted: these are bytes of the request itself. */
		size_t room = sizeof(cn->req) - 1 - cn->req_len;
		size_t n = (size_t)c->res < room ? (size_t)c->res : room;

		memcpy(cn->req + cn->req_len, sr_buf_data(c->buf), n);
		request_bytes(cn, n);
	} else {
		tls_user_received(cn, (size_t)c->res);
	}
	advance(cn);
}

int submit_recv(struct conn *cn)
{
	struct sr_recv_op op = sr_recv(cn->fd, cn->in);

	if (sr_submit_cb(cn->srv->ring, &op, on_recv, cn, NULL) < 0) {
		submit_failed(cn);
		return -1;
	}
	cn->recv_busy = true;
	cn->inflight++;
	return 0;
}

static void on_send(struct sr_ring *r, struct sr_send_completed *c, void *arg)
{
	struct conn *cn = arg;

	cn->inflight--;
	cn->send_busy = false;
	if (c->res < 0) {
		conn_fail(cn, c->res == -EPIPE || c->res == -ECONNRESET ? NULL : "send", c->res);
	} else if ((size_t)c->res < sr_buf_len(c->buf)) {
		/* Short (kTLS, or despite WAITALL): send the rest. */
		char *p = sr_buf_data(c->buf);

		memmove(p, p + c->res, sr_buf_len(c->buf) - (size_t)c->res);
		sr_buf_set_len(c->buf, sr_buf_len(c->buf) - (size_t)c->res);
		submit_send(cn);
	}
	advance(cn);
}

/* Send what cn->out holds (its length is set). */
int submit_send(struct conn *cn)
{
	struct sr_send_op op = sr_send(cn->fd, cn->out);

	/* kTLS refuses MSG_WAITALL on send (EOPNOTSUPP: tls_sw_sendmsg takes
	 * MSG_MORE, _DONTWAIT, _NOSIGNAL, _EOR only); on_send sends the rest
	 * of a short send either way. */
	sr_send_set_flags(&op, MSG_NOSIGNAL | (cn->ktls_tx ? 0 : MSG_WAITALL));
	if (sr_submit_cb(cn->srv->ring, &op, on_send, cn, NULL) < 0) {
		submit_failed(cn);
		return -1;
	}
	cn->send_busy = true;
	cn->inflight++;
	return 0;
}

/* --- HTTP ------------------------------------------------------------------------------------ */

static const char *content_type(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" }, { ".htm", "text/html; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" }, { ".css", "text/css" },
		{ ".js", "text/javascript" }, { ".json", "application/json" },
		{ ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".svg", "image/svg+xml" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

/*
 * Start the response: the head (and for an error, its short body) goes
 * into cn->out.  The path in use takes it from there.
 */
static void respond(struct conn *cn, int status, const char *type)
{
	char *p = sr_buf_data(cn->out);
	int n;

	cn->status = status;
	if (status != 200) {
		cn->file_size = 0;
		n = snprintf(p, OUT_SIZE, "HTTP/1.1 %d %s\r\nServer: safer-ring https_server\r\n"
			     "Content-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
			     status, reason(status), strlen(reason(status)) + 1, reason(status));
		cn->srv->errors++;
	} else {
		n = snprintf(p, OUT_SIZE, "HTTP/1.1 200 OK\r\nServer: safer-ring https_server\r\n"
			     "Content-Type: %s\r\nContent-Length: %llu\r\nConnection: close\r\n\r\n",
			     type, (unsigned long long)cn->file_size);
		cn->srv->ok++;
	}
	sr_buf_set_len(cn->out, (size_t)n);
	cn->state = RESPONSE;
	if (cn->ktls_tx)
		cn->head_pending = true;	/* plain, through the ring */
	else
		tls_user_head(cn, p, (size_t)n);	/* encrypted into the output BIO */
}

static void on_statx(struct sr_ring *r, struct sr_statx_completed *c, void *arg)
{
	struct conn *cn = arg;

	cn->inflight--;
	if (c->res < 0)
		respond(cn, 500, NULL);
	else if (!S_ISREG(c->statxbuf.stx_mode))
		respond(cn, 403, NULL);		/* a directory, a device... */
	else {
		cn->file_size = c->statxbuf.stx_size;
		respond(cn, 200, content_type(cn->req));
	}
	advance(cn);
}

static void on_open(struct sr_ring *r, struct sr_openat2_completed *c, void *arg)
{
	struct conn *cn = arg;

	cn->inflight--;
	if (cn->over) {
		if (c->res >= 0)
			cn->file_fd = c->res;	/* closed with the connection */
	} else if (c->res == -ENOENT || c->res == -ENOTDIR) {
		respond(cn, 404, NULL);
	} else if (c->res < 0) {
		/* EXDEV, ELOOP: the path tried to leave the root. */
		respond(cn, c->res == -EXDEV || c->res == -ELOOP || c->res == -EACCES ? 403 : 500, NULL);
	} else {
		struct sr_statx_op op = sr_statx(c->res, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE);

		cn->file_fd = c->res;
		if (sr_submit_cb(r, &op, on_statx, cn, NULL) < 0)
			submit_failed(cn);
		else
			cn->inflight++;
	}
	advance(cn);
}

/* The request head is complete: "GET /path HTTP/1.x". */
static void handle_request(struct conn *cn)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	char *path = strchr(cn->req, ' '), *end, name[sizeof(cn->req) + 16];
	struct sr_openat2_op op;

	cn->state = OPENING;
	if (!path || !(end = strchr(path + 1, ' ')) || strncmp(end + 1, "HTTP/1.", 7) || path[1] != '/') {
		respond(cn, 400, NULL);
		return;
	}
	*path++ = 0;
	*end = 0;
	if (strcmp(cn->req, "GET")) {
		respond(cn, 405, NULL);
		return;
	}
	path[strcspn(path, "?#")] = 0;
	for (char *p = path; *p; p++)
		if ((unsigned char)*p < 0x21) {
			respond(cn, 400, NULL);
			return;
		}
	/* "/" and "/dir/" mean their index.html; the rest is relative to the root. */
	snprintf(name, sizeof(name), "%s%s", path + 1, path[strlen(path) - 1] == '/' ? "index.html" : "");
	memmove(cn->req, name, strlen(name) + 1);	/* kept for the content type */
	op = sr_openat2(cn->srv->root_fd, name, &how);	/* name and how are copied at submit */
	if (sr_submit_cb(cn->srv->ring, &op, on_open, cn, NULL) < 0)
		submit_failed(cn);
	else
		cn->inflight++;
}

/* n more bytes of the request are in cn->req. */
void request_bytes(struct conn *cn, size_t n)
{
	cn->req_len += n;
	cn->req[cn->req_len] = 0;
	if (strstr(cn->req, "\r\n\r\n") || strstr(cn->req, "\n\n"))
		handle_request(cn);
	else if (cn->req_len == sizeof(cn->req) - 1)
		respond(cn, 431, NULL);
}

/* The body is out: say goodbye in TLS (close_notify), then in TCP. */
void finish(struct conn *cn)
{
	if (cn->ktls_tx) {
		/* OpenSSL writes the alert on the socket itself; never wait for room. */
		int fl = fcntl(cn->fd, F_GETFL);

		fcntl(cn->fd, F_SETFL, fl | O_NONBLOCK);
		SSL_shutdown(cn->ssl);
		fcntl(cn->fd, F_SETFL, fl);
	} else {
		SSL_shutdown(cn->ssl);	/* into the output BIO */
	}
	ERR_clear_error();
	cn->state = CLOSING;
}

/*
 * Do the next thing the connection can do.  Every completion ends here; a
 * connection whose state moves on goes round again.
 */
void advance(struct conn *cn)
{
	enum conn_state was;

	do {
		was = cn->state;
		if (cn->over)
			break;
		switch (cn->state) {
		case HANDSHAKE:
			if (cn->net_in)
				tls_user_pump(cn);
			else
				tls_kernel_handshake(cn);
			break;
		case REQUEST:
			if (!cn->ktls_rx)
				tls_user_pump(cn);
			else if (!cn->recv_busy)
				submit_recv(cn);
			break;
		case OPENING:
			break;		/* on_open and on_statx move on */
		case RESPONSE:
			if (cn->ktls_tx)
				tls_kernel_respond(cn);
			else
				tls_user_respond(cn);
			break;
		case CLOSING:
			if (!cn->ktls_tx)
				tls_user_respond(cn);	/* flushes the close_notify */
			if (cn->send_busy || (cn->net_out && BIO_ctrl_pending(cn->net_out)))
				break;
			shutdown(cn->fd, SHUT_WR);
			cn->state = DRAINING;
			break;
		case DRAINING:
			if (!cn->recv_busy)
				submit_recv(cn);
			break;
		}
	} while (cn->state != was);
	if (cn->over && !cn->inflight)
		conn_free(cn);
}

/* --- accepting ----------------------------------------------------------------------------------- */

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
		close(c->res);
	} else if (c->res >= 0) {
		cn = calloc(1, sizeof(*cn));
		if (!cn) {
			close(c->res);
			return;
		}
		cn->srv = srv;
		cn->fd = c->res;
		cn->file_fd = cn->pipe[0] = cn->pipe[1] = -1;
		cn->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = cn;
		srv->conns = cn;
		srv->nconns++;
		srv->accepted++;
		cn->in = sr_buf_alloc(IN_SIZE);
		cn->out = sr_buf_alloc(OUT_SIZE);
		cn->disk = sr_buf_alloc(CHUNK);
		if (!cn->in || !cn->out || !cn->disk ||
		    !(srv->mode == TLS_KERNEL ? tls_kernel_start(cn) : tls_user_start(cn)))
			conn_fail(cn, "setting up a connection", 0);
		advance(cn);
	} else if (c->res != -ECANCELED) {
		fprintf(stderr, "https_server: accept: %s\n", strerror(-c->res));
	}
	if (!srv->accepting && !srv->stopping && arm_accept(srv) < 0) {
		fprintf(stderr, "https_server: %s\n", sr_last_error());
		stop(srv, "error", -EIO);
	}
}

/* --- signals and shutdown ---------------------------------------------------------------------------- */

static void on_cancelled(struct sr_ring *r, struct sr_async_cancel_fd_completed *c, void *arg)
{
	((struct server *)arg)->cancels--;
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
	for (cn = srv->conns; cn; cn = next) {
		struct sr_async_cancel_fd_op op;

		next = cn->next;
		cn->over = true;
		if (!cn->inflight) {
			conn_free(cn);
			continue;
		}
		/* One op cancels everything in flight on the socket; file ops finish by themselves. */
		op = sr_async_cancel_fd(cn->fd);
		sr_async_cancel_fd_set_flags(&op, IORING_ASYNC_CANCEL_ALL);
		if (sr_submit_cb(srv->ring, &op, on_cancelled, srv, NULL) == 0)
			srv->cancels++;
		else
			shutdown(cn->fd, SHUT_RDWR);	/* no cancel op here: wake the socket's ops */
	}
}

static void on_signal(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	struct server *srv = arg;
	const struct signalfd_siginfo *si = sr_buf_data(c->buf);

	srv->sig_reading = false;
	if (c->res == (int)sizeof(*si))
		stop(srv, si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", 0);
	else if (c->res != -ECANCELED)
		stop(srv, "signalfd read failed", c->res < 0 ? c->res : -EIO);
}

/* --- setup ------------------------------------------------------------------------------------------- */

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
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

/* The certificate and key, with a readable reason when they do not load. */
static SSL_CTX *tls_context(const char *cert, const char *key, enum tls_mode mode)
{
	const char *bad = access(cert, R_OK) ? cert : access(key, R_OK) ? key : NULL;
	char err[256];
	SSL_CTX *ctx;

	if (bad) {
		fprintf(stderr, "https_server: cannot read %s: %s\n", bad, strerror(errno));
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		goto ssl_error;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* One request per connection: no sessions to resume. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (mode == TLS_KERNEL)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		fprintf(stderr, "https_server: %s is not a usable certificate: ", cert);
		goto ssl_error;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH)
			fprintf(stderr, "https_server: %s does not match %s: ", key, cert);
		else
			fprintf(stderr, "https_server: %s is not a usable private key: ", key);
		goto ssl_error;
	}
	return ctx;
ssl_error:
	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	fprintf(stderr, "%s\n", err);
	SSL_CTX_free(ctx);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: https_server [--port N] --cert FILE --key FILE --root DIR [--tls auto|kernel|user]\n"
		"  --port N      TCP port on 127.0.0.1 (default 0: the kernel picks one)\n"
		"  --cert FILE   PEM certificate (chain); --key FILE: its PEM private key\n"
		"  --root DIR    the files to serve; / is DIR/index.html\n"
		"  --tls MODE    auto: kernel TLS where the kernel has it (default); kernel: ask for it\n"
		"                anyway; user: OpenSSL's records in user space\n"
		"Serves until SIGINT or SIGTERM.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' }, { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' }, { "root", required_argument, NULL, 'r' },
		{ "tls", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct server srv = { .listen_fd = -1, .root_fd = -1, .sig_fd = -1 };
	struct sr_ring_params params = { .entries = 512 };
	const char *cert = NULL, *key = NULL, *root = NULL, *tls = "auto";
	unsigned long port = 0;
	unsigned bound;
	char why[256], *end;
	struct sr_read_op sig_op;
	struct rlimit rl;
	sigset_t mask;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' || port > 65535) {
				fprintf(stderr, "https_server: bad port '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 't':
			tls = optarg;
			if (strcmp(tls, "auto") && strcmp(tls, "kernel") && strcmp(tls, "user")) {
				fprintf(stderr, "https_server: --tls takes auto, kernel or user, not '%s'\n", tls);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !cert || !key || !root) {
		fprintf(stderr, "https_server: %s\n", optind != argc ? "unexpected argument" :
			"--cert, --key and --root are required");
		usage(stderr);
		return 2;
	}

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Signals as completions, as in echo_server. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	srv.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (srv.sig_fd < 0) {
		perror("https_server: signalfd");
		return 1;
	}

	srv.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (srv.root_fd < 0) {
		fprintf(stderr, "https_server: cannot serve %s: %s\n", root, strerror(errno));
		goto out;
	}
	/* Which path: the kernel's records, or OpenSSL's. */
	if (!strcmp(tls, "user")) {
		srv.mode = TLS_USER;
		snprintf(why, sizeof(why), "--tls user");
	} else if (ktls_available(why, sizeof(why))) {
		srv.mode = TLS_KERNEL;
	} else {
		srv.mode = strcmp(tls, "kernel") ? TLS_USER : TLS_KERNEL;
	}
	srv.ctx = tls_context(cert, key, srv.mode);
	if (!srv.ctx)
		goto out;
	srv.listen_fd = listen_on((unsigned)port, &bound);
	if (srv.listen_fd < 0) {
		fprintf(stderr, "https_server: cannot listen on 127.0.0.1:%lu: %s\n", port, strerror(errno));
		goto out;
	}
	if (sr_ring_create(&srv.ring, &params) < 0 || !(srv.sig_buf = sr_buf_alloc(sizeof(struct signalfd_siginfo)))) {
		fprintf(stderr, "https_server: %s\n", sr_last_error());
		goto out;
	}
	sig_op = sr_read(srv.sig_fd, srv.sig_buf, (__u64)-1);
	if (sr_submit_cb(srv.ring, &sig_op, on_signal, &srv, &srv.sig_read) < 0 || arm_accept(&srv) < 0) {
		fprintf(stderr, "https_server: %s\n", sr_last_error());
		goto out;
	}
	srv.sig_reading = true;
	printf("listening on 127.0.0.1:%u\n", bound);
	if (srv.mode == TLS_KERNEL && !strcmp(why, ""))
		printf("tls: kernel TLS (kTLS): OpenSSL does the handshake and hands the keys to the kernel; "
		       "send, recv and splice carry plain data, files are spliced\n");
	else if (srv.mode == TLS_KERNEL)
		printf("tls: kernel TLS asked for (--tls kernel) though %s; connections it refuses use "
		       "userspace TLS\n", why);
	else
		printf("tls: userspace TLS: OpenSSL's records over memory BIOs, the ring does the socket I/O "
		       "(kTLS not used: %s)\n", why);
	fflush(stdout);

	while (!srv.stopping || srv.nconns || srv.accepting || srv.sig_reading || srv.cancels) {
		int n = sr_ring_run_once(srv.ring, -1);

		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "https_server: %s\n", sr_last_error());
			stop(&srv, "error", n);
			break;
		}
	}
	printf("https_server: %s: %llu connections (%llu kTLS, %llu userspace TLS, %u kTLS refused), "
	       "%llu responses 200 and %llu errors, %llu body bytes\n", srv.why, srv.accepted, srv.ktls, srv.user,
	       srv.ktls_refused, srv.ok, srv.errors, srv.bytes);
	ret = srv.error ? 1 : 0;
out:
	sr_ring_destroy(srv.ring);
	sr_buf_free(srv.sig_buf);
	SSL_CTX_free(srv.ctx);
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.root_fd >= 0)
		close(srv.root_fd);
	close(srv.sig_fd);
	return ret;
}
