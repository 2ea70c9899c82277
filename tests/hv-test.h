/* SPDX-License-Identifier: MIT */
/*
 * hv-test.h - messages between the domains of a multi-process hv test.
 * The test's domains are forked children; they talk over pipes made by the
 * parent (standing in for xenstore) and check everything with T_CHECK.
 */
#ifndef PVIO_TESTS_HV_TEST_H
#define PVIO_TESTS_HV_TEST_H

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv.h"
#include "tests/helpers.h"

/* A pair of pipes between two domains: [0] a -> b, [1] b -> a. */
struct t_link {
	int ab[2]; /* a writes ab[1], b reads ab[0] */
	int ba[2]; /* b writes ba[1], a reads ba[0] */
};

static inline int t_link_init(struct t_link *l)
{
	return pipe(l->ab) == 0 && pipe(l->ba) == 0 ? 0 : -errno;
}

/* Write len bytes whole: 0 or -1. */
static inline int t_put(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

/* Read exactly len bytes within 20 s: 0 or -1. */
static inline int t_get(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (!t_readable(fd, 20000))
			return -1;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* A domain body that only keeps its domain alive until killed. */
static inline int t_idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/* Wait up to ms for an event on port of hv (poll, pending, unmask): true if one came. */
static inline bool t_event_wait(struct hv *hv, evtchn_port_t port, int ms)
{
	int waited;

	for (waited = 0; waited <= ms; waited += 10) {
		evtchn_port_t got;

		while (hv_evtchn_pending(hv, &got) == 0) {
			hv_evtchn_unmask(hv, got);
			if (got == port)
				return true;
		}
		t_readable(hv_evtchn_fd(hv), 10);
	}
	return false;
}

#endif
