/* SPDX-License-Identifier: MIT */
/*
 * https_server: what its three files share.
 *
 *   https_server.c  the server: arguments, listening, signals, accepting,
 *                   a connection from the first byte to close, HTTP
 *   tls_user.c      userspace TLS: OpenSSL's records over memory BIOs,
 *                   the ring moving the ciphertext
 *   tls_kernel.c    kernel TLS: the handshake on the socket, then plain
 *                   send and splice while the kernel encrypts
 */
#ifndef HTTPS_SERVER_H
#define HTTPS_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <safer-ring.h>

#define IN_SIZE		(17 * 1024)	/* a TLS record and its header fit */
#define OUT_SIZE	(80 * 1024)	/* a file chunk, encrypted, fits */
#define CHUNK		(64 * 1024)	/* file bytes read or spliced at once */

enum tls_mode {
	TLS_USER,		/* OpenSSL's record layer in user space */
	TLS_KERNEL,		/* ask OpenSSL to hand the keys to the kernel */
};

/*
 * A connection goes through these in order; an error anywhere ends it
 * (conn->over) and it is closed once none of its ops is in flight.
 */
enum conn_state {
	HANDSHAKE,
	REQUEST,	/* reading the request head */
	OPENING,	/* openat2 and statx of the file */
	RESPONSE,	/* header, then the body */
	CLOSING,	/* close_notify and our FIN on their way */
	DRAINING,	/* reading until the peer closes, so our close sends no RST */
};

struct server;

struct conn {
	struct server *srv;
	int fd;
	enum conn_state state;
	SSL *ssl;
	BIO *net_in, *net_out;		/* userspace records: ciphertext from and to the peer */
	bool ktls_tx, ktls_rx;		/* the kernel does the records in that direction */
	bool over;			/* close when nothing is in flight */
	unsigned inflight;		/* ops of this connection in flight */
	bool recv_busy, send_busy, file_busy;
	struct sr_buf *in, *out, *disk;	/* recv, send, file reads */
	bool head_pending;		/* kTLS: the response head waits in out */
	int pipe[2];			/* kTLS: file -> pipe -> socket */
	unsigned pipe_bytes;		/* spliced in, not yet out */
	char req[4096];			/* the request head */
	size_t req_len;
	int status;			/* HTTP status of the response */
	int file_fd;
	uint64_t file_size, file_off;
	struct conn *prev, *next;
};

struct server {
	struct sr_ring *ring;
	SSL_CTX *ctx;
	enum tls_mode mode;
	int listen_fd, root_fd, sig_fd;
	struct sr_buf *sig_buf;
	struct sr_read_submitted sig_read;
	struct sr_multishot_accept_submitted accept;
	bool accepting, sig_reading, stopping;
	unsigned cancels;		/* async_cancel_fd ops in flight */
	const char *why;
	int error;
	struct conn *conns;
	unsigned nconns;
	unsigned long long accepted, ktls, user, bytes, ok, errors;
	unsigned ktls_refused;		/* kTLS asked for, not granted: userspace instead */
};

/* https_server.c: what the TLS files call back into */
void advance(struct conn *cn);
void conn_fail(struct conn *cn, const char *what, int err);
void submit_failed(struct conn *cn);
void request_bytes(struct conn *cn, size_t n);
int submit_recv(struct conn *cn);
int submit_send(struct conn *cn);
void finish(struct conn *cn);

/* tls_user.c */
bool tls_user_start(struct conn *cn);
void tls_user_pump(struct conn *cn);
void tls_user_respond(struct conn *cn);
void tls_user_received(struct conn *cn, size_t n);
void tls_user_head(struct conn *cn, const char *head, size_t len);

/* tls_kernel.c */
bool ktls_available(char *why, size_t len);
bool tls_kernel_start(struct conn *cn);
void tls_kernel_handshake(struct conn *cn);
void tls_kernel_respond(struct conn *cn);

#endif
