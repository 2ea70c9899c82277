/* SPDX-License-Identifier: MIT */
/*
 * mcast.c - a vif's multicast filter (see mcast.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "backend/net/mcast.h"

void netback_mcast_init(struct netback_mcast *m, bool on)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	atomic_store(&m->on, on);
}

void netback_mcast_fini(struct netback_mcast *m)
{
	pthread_mutex_destroy(&m->lock);
}

int netback_mcast_add(struct netback_mcast *m, const uint8_t addr[6])
{
	int ret = 0;

	/* Any address, as Linux netback's xenvif_mcast_add: a unicast one never matches. */
	pthread_mutex_lock(&m->lock);
	if (m->n == NETBACK_MCAST_MAX) {
		m->overflow = true;
		ret = -ENOSPC;
	} else {
		memcpy(m->addr[m->n++], addr, 6);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

void netback_mcast_del(struct netback_mcast *m, const uint8_t addr[6])
{
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->n; i++) {
		if (memcmp(m->addr[i], addr, 6))
			continue;
		memmove(m->addr[i], m->addr[i + 1], (size_t)(m->n - i - 1) * 6);
		m->n--;
		m->overflow = false; /* room again: the list is exact from here */
		break;
	}
	pthread_mutex_unlock(&m->lock);
}

bool netback_mcast_pass(struct netback_mcast *m, const uint8_t dst[6])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	bool pass;

	if (!(dst[0] & 1) || !atomic_load(&m->on) || !memcmp(dst, bcast, 6))
		return true;
	pthread_mutex_lock(&m->lock);
	pass = m->overflow;
	for (unsigned int i = 0; !pass && i < m->n; i++)
		pass = !memcmp(m->addr[i], dst, 6);
	pthread_mutex_unlock(&m->lock);
	return pass;
}
