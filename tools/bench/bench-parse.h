/* SPDX-License-Identifier: MIT */
/*
 * bench-parse.h - the command-line numbers pvio's benchmarks take.
 */
#ifndef PVIO_TOOLS_BENCH_PARSE_H
#define PVIO_TOOLS_BENCH_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A decimal count in [min, max], with a binary K, M or G suffix where suffix allows:
 * 0, -EINVAL (not a number) or -ERANGE.
 */
int bench_parse_count(const char *s, bool suffix, uint64_t min, uint64_t max, uint64_t *out);

#endif
