/* SPDX-License-Identifier: MIT */
/*
 * sr-ktls: kernel TLS for real, in the guest (make check-kernels).
 *
 * The https example (examples/https_server, built static) serves a file
 * of 1 MiB and some, and a TLS client here (OpenSSL, in this process)
 * fetches it over TLS 1.2 and TLS 1.3 and compares every byte:
 *
 *   1. before any TLS module is loaded, --tls auto: the kernel has no
 *      "tls" ULP, so the server must say it uses userspace TLS, and
 *      serve both fetches that way (the fallback when the module is
 *      absent);
 *   2. then the kernel's own tls.ko and the AES-GCM crypto modules it
 *      needs (from the same Debian kernel's packages, /sr/tls/order; the
 *      guest has no modprobe) are loaded, and --tls kernel: the server
 *      must say it uses kTLS, and hand each connection's send keys to the
 *      kernel (its summary counts them), and the bytes must still match.
 *
 * A kernel without a TLS module (/sr/tls.none says why: Debian's 5.10
 * cloud kernel is built without CONFIG_TLS) runs step 1 only.
 *
 * Prints what each step did, then
 *   ktls: served=N bytes_equal=N kernel_tls=N user_tls=N tls12=N tls13=N module=loaded|absent failed=N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define SERVER "/sr/https_server"
#define CERT "/sr/ktls-cert.pem"
#define KEY "/sr/ktls-key.pem"
#define MODDIR "/sr/tls"
#define ROOT "/tmp/ktls-www"
#define FILE_LEN (1048576 + 4093)

static unsigned served, equal, kernel_tls, user_tls, tls12, tls13, failed;
static unsigned char *content;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("ktls: FAILED: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failed++;
}

static bool make_root(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	FILE *f;

	mkdir(ROOT, 0755);
	content = malloc(FILE_LEN);
	if (!content)
		return false;
	for (size_t i = 0; i < FILE_LEN; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		content[i] = (unsigned char)x;
	}
	f = fopen(ROOT "/file.bin", "w");
	if (!f || fwrite(content, 1, FILE_LEN, f) != FILE_LEN || fclose(f)) {
		fail("cannot write " ROOT "/file.bin: %m");
		return false;
	}
	return true;
}

struct server {
	pid_t pid;
	FILE *out;
	char tls[520];
};

/* Start the example; returns its "tls: ..." line in s->tls. */
static bool server_start(struct server *s, const char *mode, int port)
{
	char portarg[16], line[512];
	int fds[2];

	snprintf(portarg, sizeof(portarg), "%d", port);
	if (pipe(fds))
		return false;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(SERVER, SERVER, "--port", portarg, "--cert", CERT, "--key", KEY, "--root", ROOT, "--tls", mode,
		      (char *)NULL);
		printf("exec " SERVER ": %m\n");
		_exit(127);
	}
	close(fds[1]);
	s->out = fdopen(fds[0], "r");
	s->tls[0] = 0;
	while (s->out && fgets(line, sizeof(line), s->out)) {
		printf("  server: %s", line);
		if (!strncmp(line, "tls: ", 5)) {
			snprintf(s->tls, sizeof(s->tls), "%s", line);
			return true;
		}
	}
	fail("https_server --tls %s never said which TLS it uses", mode);
	return false;
}

/* Stop it; its summary's kTLS and userspace counts. */
static void server_stop(struct server *s, unsigned long long *ktls, unsigned long long *user)
{
	char line[512];
	int ws;

	*ktls = *user = 0;
	kill(s->pid, SIGTERM);
	while (s->out && fgets(line, sizeof(line), s->out)) {
		char *p = strstr(line, " connections (");

		printf("  server: %s", line);
		if (p)
			sscanf(p, " connections (%llu kTLS, %llu userspace TLS", ktls, user);
	}
	if (s->out)
		fclose(s->out);
	waitpid(s->pid, &ws, 0);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		fail("https_server did not exit 0 on SIGTERM");
}

/* GET path over TLS version; compares the body with the file. */
static void fetch(int port, int version)
{
	static char buf[FILE_LEN + 4096];
	const char *req = "GET /file.bin HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	size_t used = 0;
	SSL *ssl = NULL;
	char *body;
	int fd = -1, n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, version) || !SSL_CTX_set_max_proto_version(ctx, version) ||
	    !SSL_CTX_load_verify_locations(ctx, CERT, NULL)) {
		fail("client: cannot set up OpenSSL");
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fail("client: connect to port %d: %m", port);
		goto out;
	}
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, "localhost") ||
	    !SSL_set1_host(ssl, "localhost") || SSL_connect(ssl) != 1) {
		fail("client: TLS handshake: %s", ERR_error_string(ERR_get_error(), NULL));
		goto out;
	}
	if (SSL_write(ssl, req, (int)strlen(req)) != (int)strlen(req)) {
		fail("client: cannot send the request");
		goto out;
	}
	while (used < sizeof(buf) && (n = SSL_read(ssl, buf + used, (int)(sizeof(buf) - used))) > 0)
		used += (size_t)n;
	body = memmem(buf, used, "\r\n\r\n", 4);
	printf("  client: %s %s: %zu bytes, %.*s\n", SSL_get_version(ssl), SSL_get_cipher_name(ssl), used,
	       (int)strcspn(buf, "\r\n"), buf);
	if (!body || strncmp(buf, "HTTP/1.1 200 ", 13)) {
		fail("client: no 200 response");
		goto out;
	}
	served++;
	version == TLS1_3_VERSION ? tls13++ : tls12++;
	body += 4;
	if ((size_t)(buf + used - body) == FILE_LEN && !memcmp(body, content, FILE_LEN))
		equal++;
	else
		fail("client: the body (%zu bytes) is not the file (%d bytes)", (size_t)(buf + used - body), FILE_LEN);
out:
	if (ssl)
		SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
}

/* Both versions against a server in mode; want_kernel: kTLS must carry them. */
static void step(const char *mode, int port, bool want_kernel)
{
	unsigned long long k, u;
	struct server s;

	if (!server_start(&s, mode, port))
		return;
	if (want_kernel != (strncmp(s.tls, "tls: kernel TLS (kTLS)", 22) == 0))
		fail("--tls %s: want %s, the server says: %s", mode, want_kernel ? "kTLS" : "userspace TLS", s.tls);
	fetch(port, TLS1_2_VERSION);
	fetch(port, TLS1_3_VERSION);
	server_stop(&s, &k, &u);
	kernel_tls += (unsigned)k;
	user_tls += (unsigned)u;
	if (want_kernel ? k != 2 : (k != 0 || u != 2))
		fail("--tls %s: the server counted %llu kTLS and %llu userspace connections; want %s", mode, k, u,
		     want_kernel ? "2 kTLS" : "2 userspace");
}

static bool load_modules(void)
{
	FILE *f = fopen(MODDIR "/order", "r");
	char name[200], path[400];

	if (!f)
		return false;
	while (fgets(name, sizeof(name), f)) {
		int fd;

		name[strcspn(name, "\n")] = 0;
		snprintf(path, sizeof(path), MODDIR "/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)) {
			fail("loading %s: %m", path);
			fclose(f);
			if (fd >= 0)
				close(fd);
			return false;
		}
		printf("ktls: loaded %s\n", name);
		close(fd);
	}
	fclose(f);
	return true;
}

int main(void)
{
	char none[300] = "";
	FILE *f;
	bool have_module = access(MODDIR "/order", F_OK) == 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	f = fopen("/sr/tls.none", "r");
	if (f) {
		if (!fgets(none, sizeof(none), f))
			none[0] = 0;
		none[strcspn(none, "\n")] = 0;
		fclose(f);
	}
	if (!have_module && !none[0])
		fail("neither " MODDIR "/order nor /sr/tls.none: run.sh put no TLS module into the guest");
	if (make_root()) {
		printf("ktls: step 1: no TLS module loaded: --tls auto must take userspace TLS\n");
		step("auto", 8441, false);
		if (have_module) {
			printf("ktls: step 2: the kernel's tls.ko and AES-GCM modules loaded: --tls kernel\n");
			if (load_modules())
				step("kernel", 8442, true);
		} else {
			printf("ktls: no kernel TLS here: %s\n", none);
		}
	}
	printf("ktls: served=%u bytes_equal=%u kernel_tls=%u user_tls=%u tls12=%u tls13=%u module=%s failed=%u\n",
	       served, equal, kernel_tls, user_tls, tls12, tls13, have_module ? "loaded" : "absent", failed);
	return failed ? 1 : 0;
}
