/* SPDX-License-Identifier: MIT */
/*
 * xs-helpers.h - what the tests of pvio-xenstored(8) share.
 *
 * t_xs_start() runs a private pvio-xenstored on a socket in a fresh
 * directory and exports XENSTORED_PATH, so that Debian's libxenstore
 * (xs_open) and xenstore-utils talk to it.  At exit of the starting process
 * the daemon gets SIGTERM; a daemon that then exits other than with status
 * 0 turns the test into a failure (T_FAIL from tests/helpers.h).
 */
#ifndef PVIO_TESTS_XS_HELPERS_H
#define PVIO_TESTS_XS_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <xenstore.h>

/* Start the daemon (extra arguments: a NULL-terminated list, or NULL). 0 or -errno. */
int t_xs_start(const char *const *extra);
/* Whether the daemon still runs; if it died, says how and reaps it. */
bool t_xs_alive(void);
/* The daemon's dom0 socket, and the socket an introduced domain gets. */
const char *t_xs_socket(void);
void t_xs_domain_socket(unsigned int domid, char *buf, size_t len);
/* A raw xs_wire connection to domid's socket: the fd, or -1 with errno. */
int t_xs_domain_connect(unsigned int domid);
/* xs_open() on dom0's socket, or on domain domid's socket (after INTRODUCE). */
struct xs_handle *t_xs_open(void);
struct xs_handle *t_xs_open_domain(unsigned int domid);
/* Wait up to ms for a watch event on h and return it (free() it), or NULL. */
char **t_xs_event(struct xs_handle *h, int ms);
/* Whether an event for path/token arrives within ms. */
bool t_xs_expect(struct xs_handle *h, const char *path, const char *token, int ms);
/* A raw xs_wire connection to the daemon's dom0 socket: the fd, or -1. */
int t_xs_raw_connect(void);
/*
 * Send one raw request on fd and read its reply into body (size bytes):
 * the reply's length with its type in *rtype, or -1.
 */
int t_xs_raw_request(int fd, uint32_t type, const void *payload, uint32_t len, uint32_t *rtype,
		     char *body, size_t size);

/*
 * SIGKILL the daemon and reap it (from the starting process): a test of what its clients do when
 * xenstored dies.  Its exit then no longer fails the test.  0 or -errno.
 */
int t_xs_kill(void);
/* The daemon's pid (0 once killed): also valid in the forked children of the starter. */
pid_t t_xs_pid(void);

#endif
