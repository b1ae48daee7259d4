/* SPDX-License-Identifier: MIT */
/*
 * Userspace TLS: OpenSSL's record layer on memory BIOs, the ring doing the
 * socket I/O.  OpenSSL never touches the socket: what the ring receives is
 * written into net_in, whatever OpenSSL writes into net_out is read out and
 * sent by the ring, one send at a time.  The file is read through the ring
 * and encrypted chunk by chunk with SSL_write.
 */
#include <openssl/err.h>
#include "https.h"

bool tls_user_start(struct conn *cn)
{
	cn->ssl = SSL_new(cn->srv->ctx);
	cn->net_in = BIO_new(BIO_s_mem());
	cn->net_out = BIO_new(BIO_s_mem());
	if (!cn->ssl || !cn->net_in || !cn->net_out) {
		BIO_free(cn->net_in);
		BIO_free(cn->net_out);
		cn->net_in = cn->net_out = NULL;
		return false;
	}
	SSL_set_bio(cn->ssl, cn->net_in, cn->net_out);	/* the SSL owns them now */
	SSL_set_accept_state(cn->ssl);
	return true;
}

/* The ring received n bytes of ciphertext into cn->in. */
void tls_user_received(struct conn *cn, size_t n)
{
	BIO_write(cn->net_in, sr_buf_data(cn->in), (int)n);
}

/* Send what OpenSSL has written, if no send is in flight. */
static void flush(struct conn *cn)
{
	int n;

	/* With kTLS sending, OpenSSL writes to the socket itself: no net_out. */
	if (!cn->net_out || cn->send_busy || !BIO_ctrl_pending(cn->net_out))
		return;
	n = BIO_read(cn->net_out, sr_buf_data(cn->out), OUT_SIZE);
	if (n <= 0)
		return;
	sr_buf_set_len(cn->out, (size_t)n);
	submit_send(cn);
}

/*
 * Handshake and request: let OpenSSL consume what has arrived, send what
 * it answers, and receive more while it wants more.
 */
void tls_user_pump(struct conn *cn)
{
	if (cn->state == HANDSHAKE) {
		int r = SSL_do_handshake(cn->ssl);

		if (r == 1) {
			cn->state = REQUEST;
			cn->srv->user++;
		} else if (SSL_get_error(cn->ssl, r) != SSL_ERROR_WANT_READ) {
			flush(cn);	/* the alert that tells the client why */
			conn_fail(cn, "TLS handshake", 0);
			return;
		}
	}
	while (cn->state == REQUEST) {
		int n = SSL_read(cn->ssl, cn->req + cn->req_len, (int)(sizeof(cn->req) - 1 - cn->req_len));
		int err;

		if (n > 0) {
			request_bytes(cn, (size_t)n);
			continue;
		}
		err = SSL_get_error(cn->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			break;
		conn_fail(cn, err == SSL_ERROR_ZERO_RETURN ? NULL : "TLS read", 0);
		return;
	}
	flush(cn);
	if ((cn->state == HANDSHAKE || cn->state == REQUEST) && !cn->recv_busy)
		submit_recv(cn);
}

/* The response head: encrypted into net_out, sent by the next flush. */
void tls_user_head(struct conn *cn, const char *head, size_t len)
{
	SSL_write(cn->ssl, head, (int)len);	/* a memory BIO takes it all */
}

static void on_disk(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	struct conn *cn = arg;
	uint64_t left = cn->file_size - cn->file_off;
	size_t n = (uint64_t)c->res < left ? (size_t)c->res : (size_t)left;

	cn->inflight--;
	cn->file_busy = false;
	if (c->res < 0) {
		conn_fail(cn, "reading a file", c->res);
	} else if (c->res == 0) {
		conn_fail(cn, "a file shrank while being served", -EIO);
	} else if (!cn->over) {
		SSL_write(cn->ssl, sr_buf_data(c->buf), (int)n);
		cn->file_off += n;
		cn->srv->bytes += n;
	}
	advance(cn);
}

/*
 * The body: read the next chunk of the file while the previous one is
 * being sent, encrypt it when it arrives.  Done when all is sent.
 */
void tls_user_respond(struct conn *cn)
{
	flush(cn);
	if (cn->state != RESPONSE || cn->file_busy || BIO_ctrl_pending(cn->net_out))
		return;
	if (cn->file_off < cn->file_size) {
		struct sr_read_op op = sr_read(cn->file_fd, cn->disk, cn->file_off);

		if (sr_submit_cb(cn->srv->ring, &op, on_disk, cn, NULL) < 0) {
			submit_failed(cn);
			return;
		}
		cn->file_busy = true;
		cn->inflight++;
	} else if (!cn->send_busy) {
		finish(cn);
	}
}
