/* SPDX-License-Identifier: MIT */
/*
 * bench-parse.c - the command-line numbers pvio's benchmarks take.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/bench-parse.h"

int bench_parse_count(const char *s, bool suffix, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (suffix && *end && strchr("kKmMgG", *end) && end[1] == '\0') {
		shift = *end == 'k' || *end == 'K' ? 10 : *end == 'm' || *end == 'M' ? 20 : 30;
		end++;
	}
	if (*end)
		return -EINVAL;
	if (v > (max >> shift) || (v << shift) < min)
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}
