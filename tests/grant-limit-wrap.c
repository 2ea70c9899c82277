/* SPDX-License-Identifier: MIT */
/* grant-limit-wrap.c - see grant-limit-wrap.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "hv/hv.h"
#include "tests/grant-limit-wrap.h"

bool gl_limited;
unsigned int gl_shared, gl_limit;

int __real_hv_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable,
			  void **addr, grant_ref_t *refs);
int __wrap_hv_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable,
			  void **addr, grant_ref_t *refs);
int __wrap_hv_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable,
			  void **addr, grant_ref_t *refs)
{
	int ret;

	if (gl_limited && gl_shared + count > gl_limit) {
		fprintf(stderr, "share %u refused: %u of %u shared\n", count, gl_shared, gl_limit);
		return -ENOSPC;
	}
	ret = __real_hv_grant_share(hv, peer, count, writable, addr, refs);
	if (ret == 0 && gl_limited)
		gl_shared += count;
	return ret;
}

int __real_hv_grant_end(struct hv *hv, void *addr, unsigned int count);
int __wrap_hv_grant_end(struct hv *hv, void *addr, unsigned int count);
int __wrap_hv_grant_end(struct hv *hv, void *addr, unsigned int count)
{
	int ret = __real_hv_grant_end(hv, addr, count);

	if (ret == 0 && gl_limited)
		gl_shared -= count < gl_shared ? count : gl_shared;
	return ret;
}

int __wrap_hv_grant_left(struct hv *hv, unsigned int *left);
int __wrap_hv_grant_left(struct hv *hv, unsigned int *left)
{
	(void)hv;
	*left = !gl_limited ? UINT_MAX : gl_limit > gl_shared ? gl_limit - gl_shared : 0;
	return 0;
}
