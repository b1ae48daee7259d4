/* SPDX-License-Identifier: MIT */
/*
 * Kernel TLS.  OpenSSL does the handshake on the socket itself (it must:
 * only a socket BIO can hand keys to the kernel), with the ring telling it
 * when the socket is ready.  With SSL_OP_ENABLE_KTLS, OpenSSL then installs
 * the session keys with setsockopt(TCP_ULP "tls", TLS_TX, TLS_RX), and the
 * socket carries plain data: the kernel makes the records.  The response
 * head is a plain send; the file goes file -> pipe -> socket by splice, so
 * its bytes never enter user space.
 *
 * Each direction is checked after the handshake.  A direction the kernel
 * did not take (an old kernel, a cipher it lacks; OpenSSL 3.0 also keeps
 * TLS 1.3 receiving to itself) falls back to userspace records for that
 * direction: the socket BIO is swapped for a memory BIO.  OpenSSL reads
 * exactly one record at a time from a socket, so nothing it has not
 * processed is left buffered inside it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include "https.h"

/*
 * Does this kernel have the "tls" TCP upper-layer protocol?  Asking for it
 * on an unconnected socket answers without using it: ENOTCONN means it
 * exists (loading the module if need be), ENOENT that it does not.
 */
bool ktls_available(char *why, size_t len)
{
	char ulps[128] = "";
	FILE *f;
	int fd, r, e;

	why[0] = 0;
#ifdef OPENSSL_NO_KTLS
	snprintf(why, len, "this OpenSSL was built without kTLS");
	return false;
#endif
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, len, "socket: %s", strerror(errno));
		return false;
	}
	r = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
	e = errno;
	close(fd);
	if (r == 0 || e == ENOTCONN)
		return true;
	f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	if (f) {
		if (!fgets(ulps, sizeof(ulps), f))
			ulps[0] = 0;
		ulps[strcspn(ulps, "\n")] = 0;
		fclose(f);
	}
	snprintf(why, len, "the kernel has no \"tls\" TCP ULP: setsockopt(TCP_ULP, \"tls\"): %s; "
		 "/proc/sys/net/ipv4/tcp_available_ulp: \"%s\"", strerror(e), ulps);
	return false;
}

bool tls_kernel_start(struct conn *cn)
{
	int fl = fcntl(cn->fd, F_GETFL);

	cn->ssl = SSL_new(cn->srv->ctx);	/* the context has SSL_OP_ENABLE_KTLS */
	if (!cn->ssl || !SSL_set_fd(cn->ssl, cn->fd))
		return false;
	SSL_set_accept_state(cn->ssl);
	/* OpenSSL reads and writes the socket during the handshake: never block. */
	return fl >= 0 && fcntl(cn->fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

static void on_ready(struct sr_ring *r, struct sr_poll_add_completed *c, void *arg)
{
	struct conn *cn = arg;

	cn->inflight--;
	cn->recv_busy = false;
	if (c->res < 0)
		conn_fail(cn, "poll", c->res);
	advance(cn);
}

/* The handshake is done: who makes the records in each direction? */
static void handshake_done(struct conn *cn)
{
	struct server *srv = cn->srv;
	int fl = fcntl(cn->fd, F_GETFL);

	/* The ring's ops wait by themselves: the socket can block again. */
	fcntl(cn->fd, F_SETFL, fl & ~O_NONBLOCK);
	cn->ktls_tx = BIO_get_ktls_send(SSL_get_wbio(cn->ssl));
	cn->ktls_rx = BIO_get_ktls_recv(SSL_get_rbio(cn->ssl));
	if (!cn->ktls_rx) {
		cn->net_in = BIO_new(BIO_s_mem());
		SSL_set0_rbio(cn->ssl, cn->net_in);
	}
	if (!cn->ktls_tx) {
		cn->net_out = BIO_new(BIO_s_mem());
		SSL_set0_wbio(cn->ssl, cn->net_out);
		if (srv->ktls_refused++ == 0)
			fprintf(stderr, "https_server: the kernel did not take the keys of a %s %s connection; "
				"it and others like it use userspace TLS\n", SSL_get_version(cn->ssl),
				SSL_get_cipher_name(cn->ssl));
		srv->user++;
	} else {
		srv->ktls++;
	}
	if ((!cn->ktls_rx && !cn->net_in) || (!cn->ktls_tx && !cn->net_out)) {
		conn_fail(cn, "out of memory", -ENOMEM);
		return;
	}
	cn->state = REQUEST;
}

/* Drive OpenSSL's handshake on the socket; the ring polls for readiness. */
void tls_kernel_handshake(struct conn *cn)
{
	struct sr_poll_add_op op;
	int r, err;

	if (cn->recv_busy)
		return;		/* a poll is in flight */
	r = SSL_do_handshake(cn->ssl);
	if (r == 1) {
		handshake_done(cn);
		return;
	}
	err = SSL_get_error(cn->ssl, r);
	if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
		conn_fail(cn, err == SSL_ERROR_SYSCALL && !ERR_peek_error() ? NULL : "TLS handshake", 0);
		return;
	}
	op = sr_poll_add(cn->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
	if (sr_submit_cb(cn->srv->ring, &op, on_ready, cn, NULL) < 0) {
		submit_failed(cn);
		return;
	}
	cn->recv_busy = true;	/* the poll stands in for a recv */
	cn->inflight++;
}

static void on_splice_in(struct sr_ring *r, struct sr_splice_completed *c, void *arg)
{
	struct conn *cn = arg;

	cn->inflight--;
	cn->file_busy = false;
	if (c->res <= 0) {
		conn_fail(cn, c->res ? "splice from a file" : "a file shrank while being served", c->res ? c->res : -EIO);
	} else {
		cn->file_off += (uint64_t)c->res;
		cn->pipe_bytes = (unsigned)c->res;
	}
	advance(cn);
}

static void on_splice_out(struct sr_ring *r, struct sr_splice_completed *c, void *arg)
{
	struct conn *cn = arg;

	cn->inflight--;
	cn->send_busy = false;
	if (c->res <= 0) {
		conn_fail(cn, c->res == -EPIPE || c->res == -ECONNRESET ? NULL : "splice to the socket",
			  c->res ? c->res : -EIO);
	} else {
		cn->pipe_bytes -= (unsigned)c->res;
		cn->srv->bytes += (unsigned long long)c->res;
	}
	advance(cn);
}

static void splice_step(struct conn *cn, int in, int64_t off, int out, unsigned n, sr_splice_cb cb, bool *busy)
{
	struct sr_splice_op op = sr_splice(in, off, out, -1, n);

	if (sr_submit_cb(cn->srv->ring, &op, cb, cn, NULL) < 0) {
		submit_failed(cn);
		return;
	}
	*busy = true;
	cn->inflight++;
}

/* Head, then the file through the pipe, a chunk at a time. */
void tls_kernel_respond(struct conn *cn)
{
	uint64_t left = cn->file_size - cn->file_off;

	if (cn->send_busy || cn->file_busy)
		return;
	if (cn->head_pending) {
		cn->head_pending = false;
		submit_send(cn);
	} else if (cn->pipe_bytes) {
		splice_step(cn, cn->pipe[0], -1, cn->fd, cn->pipe_bytes, on_splice_out, &cn->send_busy);
	} else if (left) {
		if (cn->pipe[0] < 0 && pipe2(cn->pipe, O_CLOEXEC) < 0) {
			conn_fail(cn, "pipe", -errno);
			return;
		}
		splice_step(cn, cn->file_fd, (int64_t)cn->file_off, cn->pipe[1], left < CHUNK ? (unsigned)left : CHUNK,
			    on_splice_in, &cn->file_busy);
	} else {
		finish(cn);
	}
}
