/* SPDX-License-Identifier: MIT */
/*
 * buf.c - caller memory granted to the back-end (blkfront_buf_alloc), so that I/O on it needs
 * no copy through the library's pool: Linux blkfront's non-persistent path grants the bio's own
 * pages the same way.  Each allocation is one hv_grant_share of whole pages; a part whose data
 * starts on a page of a region and stays inside it sends that region's references.
 *
 * A region is granted to one back-end domain.  After a reconnect to another domain its
 * references mean nothing there, so bf_region_refs stops matching and the data is copied again.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "frontend/blk/blkfront-priv.h"

int blkfront_buf_alloc(struct blkfront *bf, size_t len, void **out)
{
	struct bf_region *g;
	size_t pages = (len + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;
	void *addr;
	int ret;

	if (!bf || !out || len == 0 || pages > UINT32_MAX / 2)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (g)
		g->refs = calloc(pages, sizeof(*g->refs));
	if (!g || !g->refs) {
		free(g);
		return -ENOMEM;
	}
	g->domid = (domid_t)bf->info.backend_id;
	ret = hv_grant_share(bf->hv, g->domid, (unsigned int)pages, true, &addr, g->refs);
	if (ret < 0) {
		free(g->refs);
		free(g);
		return ret;
	}
	g->addr = addr;
	g->pages = (unsigned int)pages;
	g->next = bf->regions;
	bf->regions = g;
	*out = addr;
	return 0;
}

/* End a region's grants; what the back-end still maps waits as a zombie. */
static void region_end(struct blkfront *bf, struct bf_region *g)
{
	if (hv_grant_end(bf->hv, g->addr, g->pages) < 0)
		bf_zombie_add(bf, g->addr, g->pages, NULL);
	free(g->refs);
	free(g);
}

void blkfront_buf_free(struct blkfront *bf, void *buf)
{
	struct bf_region **gp;

	if (!bf || !buf)
		return;
	for (gp = &bf->regions; *gp; gp = &(*gp)->next) {
		struct bf_region *g = *gp;

		if (g->addr == buf) {
			*gp = g->next;
			region_end(bf, g);
			return;
		}
	}
}

void bf_regions_release(struct blkfront *bf)
{
	while (bf->regions) {
		struct bf_region *g = bf->regions;

		bf->regions = g->next;
		region_end(bf, g);
	}
}

const grant_ref_t *bf_region_refs(const struct blkfront *bf, const struct bf_part *p)
{
	const uint8_t *start;
	const struct bf_region *g;

	/* A flush has no buffer: no offset may be added to its NULL (undefined behaviour). */
	if (!p->op->buf || p->nseg == 0)
		return NULL;
	start = p->op->buf + p->op_off;
	if ((uintptr_t)start & (HV_PAGE_SIZE - 1))
		return NULL;
	for (g = bf->regions; g; g = g->next) {
		size_t bytes = (size_t)g->pages * HV_PAGE_SIZE;

		if (start < g->addr || start >= g->addr + bytes)
			continue;
		if (p->len > bytes - (size_t)(start - g->addr) || g->domid != bf->info.backend_id)
			return NULL;
		return &g->refs[(size_t)(start - g->addr) / HV_PAGE_SIZE];
	}
	return NULL;
}
