/* SPDX-License-Identifier: MIT */
/*
 * bitmap.c - first-fit allocation of contiguous runs, for grant refs and pool
 * pages.  Runs are at most HVSIM_BATCH_MAX long and the maps at most
 * HVSIM_POOL_PAGES_MAX bits, so a linear scan that skips full words is enough.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>

#include "sim/hvd.h"

#define WORD_BITS (sizeof(unsigned long) * CHAR_BIT)

static bool bit_test(const unsigned long *map, unsigned long bit)
{
	return map[bit / WORD_BITS] >> (bit % WORD_BITS) & 1ul;
}

/* Room for nbits, all clear; NULL without memory. */
unsigned long *hvd_bitmap_alloc(unsigned long nbits)
{
	return calloc((nbits + WORD_BITS - 1) / WORD_BITS, sizeof(unsigned long));
}

/* The first bit of the lowest run of count clear bits in [from, nbits), or -1. */
long hvd_bitmap_find(const unsigned long *map, unsigned long nbits, unsigned long from,
		     unsigned long count)
{
	unsigned long bit = from, run = 0;

	if (count == 0)
		return -1;
	while (bit < nbits) {
		if (run == 0 && bit % WORD_BITS == 0 && map[bit / WORD_BITS] == ~0ul) {
			bit += WORD_BITS;
			continue;
		}
		if (bit_test(map, bit)) {
			run = 0;
		} else if (++run == count) {
			return (long)(bit + 1 - count);
		}
		bit++;
	}
	return -1;
}

void hvd_bitmap_set(unsigned long *map, unsigned long start, unsigned long count)
{
	unsigned long bit;

	for (bit = start; bit < start + count; bit++)
		map[bit / WORD_BITS] |= 1ul << (bit % WORD_BITS);
}

void hvd_bitmap_clear(unsigned long *map, unsigned long start, unsigned long count)
{
	unsigned long bit;

	for (bit = start; bit < start + count; bit++)
		map[bit / WORD_BITS] &= ~(1ul << (bit % WORD_BITS));
}
