/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the live scenarios.  Their names start with lh_ so
 * they never collide with a live_<op> scenario (live_pipe is one).
 */
#ifndef SR_TEST_LIVE_H
#define SR_TEST_LIVE_H

#include "../conformance/conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

/* A pipe whose ends are closed when the test ends; -1 on failure. */
int lh_pipe(struct live *t, int fds[2]);
/* An AF_UNIX stream socketpair, both ends kept; -1 on failure. */
int lh_socketpair(struct live *t, int sv[2]);
/* Wait up to ms for fd to become readable (poll(2)); 1 if it did. */
int lh_readable(int fd, int ms);
/* Monotonic time in seconds. */
double lh_now(void);
/* A second ring, for ops that talk to another ring. */
int lh_ring(struct sr_ring **r);
/* 127.0.0.1 with port (network order). */
struct sockaddr_in lh_loopback(in_port_t port);
/* The local port of a socket (host order), or 0. */
unsigned lh_port(int fd);
/* The peer port of a socket (host order), or 0. */
unsigned lh_peer_port(int fd);
/*
 * Does fd's filesystem write its page cache back to storage (and so can
 * show pages going clean, or being dropped)?  tmpfs and ramfs do not.
 */
bool lh_writeback(int fd);
/*
 * Is the page cache page at off of fd dirty?  1 or 0, or -1 when this
 * system does not let us look (/proc/kpageflags needs CAP_SYS_ADMIN) or
 * the answer would mean nothing (no writeback).
 */
int lh_page_dirty(int fd, off_t off);
/* How many of the first npages pages of fd are in the page cache, or -1. */
int lh_resident(int fd, unsigned npages);
/*
 * Read from slot of r's registered file table into b (offset off, -1 for
 * pipes): what the slot holds.  Returns the submit/wait error, or 0 with
 * the read's result in *res.
 */
int lh_read_slot(struct sr_ring *r, struct sr_file f, struct sr_buf *b, __u64 off, int *res);
/* Write b's bytes through slot of r's registered file table. */
int lh_write_slot(struct sr_ring *r, struct sr_file f, struct sr_buf *b, __u64 off, int *res);
/* Whole contents of a file at path, up to cap bytes; length or -1. */
ssize_t lh_slurp(const char *path, char *out, size_t cap);

#endif
