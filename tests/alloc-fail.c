/* SPDX-License-Identifier: MIT */
/*
 * alloc-fail.c - fault injection for tests/pvio-blkback-allocfail, which is pvio-blkback linked
 * with -Wl,--wrap=calloc: calloc(n, sizeof(struct bbd_queue)) fails with ENOMEM when n is
 * $PVIO_TEST_FAIL_QUEUES.  That is the daemon's table of a connecting device's rings, and the
 * queue count picks the device; every other allocation goes through.  Test code only: the
 * daemon that is installed has no such hook.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "driverdomain/blkbackd.h"

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

void *__wrap_calloc(size_t n, size_t size)
{
	const char *fail = getenv("PVIO_TEST_FAIL_QUEUES");

	if (fail && size == sizeof(struct bbd_queue) && n == strtoul(fail, NULL, 10)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}
