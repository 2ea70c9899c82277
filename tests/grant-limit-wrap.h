/* SPDX-License-Identifier: MIT */
/*
 * grant-limit-wrap.h - a grant limit as gntalloc's, for the tests linked with
 * -Wl,--wrap=hv_grant_share,--wrap=hv_grant_end,--wrap=hv_grant_left (tests/grant-limit-wrap.c):
 * while gl_limited, hv_grant_share counts the pages shared and refuses with -ENOSPC past
 * gl_limit, hv_grant_end counts them back, and hv_grant_left says what is left (UINT_MAX when
 * not limited).  Set them in the front-end's domain only.
 */
#ifndef PVIO_TESTS_GRANT_LIMIT_WRAP_H
#define PVIO_TESTS_GRANT_LIMIT_WRAP_H

#include <stdbool.h>

extern bool gl_limited;
extern unsigned int gl_shared, gl_limit;

#endif
