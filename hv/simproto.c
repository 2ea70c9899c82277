/* SPDX-License-Identifier: MIT */
/*
 * simproto.c - the pieces of the pvio-hv protocol that both ends run: message
 * framing with fd passing, and the grant pin protocol on shared tables.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv/simproto.h"

/* The flags and domid of a v1 entry, read and swapped as one 32-bit word. */
#define ENTRY_WORD(e) ((uint32_t *)(void *)&(e)->flags)
#define WORD_FLAGS(w) ((uint16_t)((w)&0xffffu))
#define WORD_DOMID(w) ((domid_t)((w) >> 16))

_Static_assert(offsetof(grant_entry_v1_t, flags) == 0, "v1 entry: flags first");
_Static_assert(offsetof(grant_entry_v1_t, domid) == 2, "v1 entry: domid after flags");
_Static_assert(sizeof(grant_entry_v1_t) == 8, "v1 entry is 8 bytes");

/* A bounded spin: the holders are the mapping domain's own processes or the
 * daemon, and the daemon breaks the lock of a session that died holding it. */
static int active_lock(struct hvsim_active *a, uint32_t sid)
{
	unsigned long spins;

	for (spins = 0; spins < 100000000ul; spins++) {
		uint32_t free = 0;

		if (__atomic_compare_exchange_n(&a->lock, &free, sid, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
		if ((spins & 63) == 63)
			sched_yield();
	}
	return -EDEADLK;
}

static void active_unlock(struct hvsim_active *a)
{
	__atomic_store_n(&a->lock, 0, __ATOMIC_RELEASE);
}

/*
 * Set GTF_reading (and GTF_writing) if the entry grants the mapper access.
 * The granter may rewrite its entry at any moment, so decide on one read of
 * the word and publish with a compare-and-swap of that same word.
 */
static int entry_acquire(grant_entry_v1_t *e, domid_t mapper, bool write)
{
	uint32_t *word = ENTRY_WORD(e);
	uint32_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	int tries;

	for (tries = 0; tries < 64; tries++) {
		uint16_t flags = WORD_FLAGS(w);
		uint32_t want = w | GTF_reading | (write ? GTF_writing : 0);

		if ((flags & GTF_type_mask) != GTF_permit_access || (flags & GTF_sub_page))
			return -EPERM;
		if (WORD_DOMID(w) != mapper)
			return -EPERM;
		if (write && (flags & GTF_readonly))
			return -EACCES;
		if (want == w)
			return 0;
		if (__atomic_compare_exchange_n(word, &w, want, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
	}
	return -EBUSY;
}

/* Clear the in-use flags that no pin needs any more. */
static void entry_release(grant_entry_v1_t *e, const struct hvsim_active *a)
{
	uint16_t clear = 0;

	if (a->wpins == 0)
		clear |= GTF_writing;
	if (a->rpins == 0 && a->wpins == 0)
		clear |= GTF_reading;
	if (clear)
		__atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_RELEASE);
}

static int pin_locked(struct hvsim_gnt_view *v, grant_ref_t ref, bool write, uint32_t *frame)
{
	grant_entry_v1_t *e = &v->table[ref];
	struct hvsim_active *a = &v->active[ref];
	struct hvsim_pinrec *r = &v->rec[ref];
	bool first = a->rpins == 0 && a->wpins == 0;
	int ret;

	if ((write ? a->wpins : a->rpins) == UINT16_MAX)
		return -EBUSY;
	ret = entry_acquire(e, v->mapper, write);
	if (ret < 0)
		return ret;
	if (first) {
		uint32_t f = __atomic_load_n(&e->frame, __ATOMIC_RELAXED);

		if (f >= v->nr_pages) {
			entry_release(e, a);
			return -EINVAL;
		}
		a->frame = f;
	}
	if (write) {
		a->wpins++;
		r->wpins++;
	} else {
		a->rpins++;
		r->rpins++;
	}
	*frame = a->frame;
	return 0;
}

int hvsim_pin(struct hvsim_gnt_view *v, grant_ref_t ref, bool write, uint32_t *frame)
{
	struct hvsim_active *a;
	int ret;

	if (ref >= v->nr_entries)
		return -EINVAL;
	a = &v->active[ref];
	ret = active_lock(a, v->sid);
	if (ret < 0)
		return ret;
	ret = pin_locked(v, ref, write, frame);
	active_unlock(a);
	return ret;
}

static void unpin_locked(struct hvsim_gnt_view *v, grant_ref_t ref, bool write)
{
	struct hvsim_active *a = &v->active[ref];
	struct hvsim_pinrec *r = &v->rec[ref];

	/* Pins this session never took are not its to drop. */
	if (write) {
		if (r->wpins == 0 || a->wpins == 0)
			return;
		r->wpins--;
		a->wpins--;
	} else {
		if (r->rpins == 0 || a->rpins == 0)
			return;
		r->rpins--;
		a->rpins--;
	}
	entry_release(&v->table[ref], a);
}

bool hvsim_unpin(struct hvsim_gnt_view *v, grant_ref_t ref, bool write)
{
	struct hvsim_active *a;
	bool idle;

	if (ref >= v->nr_entries)
		return false;
	a = &v->active[ref];
	if (active_lock(a, v->sid) < 0)
		return false;
	unpin_locked(v, ref, write);
	idle = a->rpins == 0 && a->wpins == 0;
	active_unlock(a);
	if (!idle)
		return false;
	/* Pairs with the daemon's barrier between marking and ending the entry. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&a->flags, __ATOMIC_RELAXED) & HVSIM_ACTIVE_ORPHAN;
}

void hvsim_unpin_all(struct hvsim_gnt_view *v, uint32_t dead_sid)
{
	grant_ref_t ref;

	for (ref = 0; ref < v->nr_entries; ref++) {
		struct hvsim_active *a = &v->active[ref];
		struct hvsim_pinrec *r = &v->rec[ref];
		uint32_t held = dead_sid;
		bool taken;

		/*
		 * Take over a lock the dead session held, even on an entry where
		 * it recorded no pin: it may have died between locking and
		 * counting (or after its last unpin), and the lock would stay
		 * held for ever.  Its flags are then made to match the counts.
		 */
		taken = __atomic_compare_exchange_n(&a->lock, &held, v->sid, false,
						    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
		if (r->rpins == 0 && r->wpins == 0) {
			if (taken) {
				entry_release(&v->table[ref], a);
				active_unlock(a);
			}
			continue;
		}
		if (!taken && active_lock(a, v->sid) < 0)
			continue;
		while (r->rpins && a->rpins)
			unpin_locked(v, ref, false);
		while (r->wpins && a->wpins)
			unpin_locked(v, ref, true);
		r->rpins = r->wpins = 0;
		active_unlock(a);
	}
}

int hvsim_end_access(grant_entry_v1_t *entry)
{
	uint16_t flags = __atomic_load_n(&entry->flags, __ATOMIC_ACQUIRE);

	do {
		if (flags & (GTF_reading | GTF_writing))
			return -EBUSY;
	} while (!__atomic_compare_exchange_n(&entry->flags, &flags, 0, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return 0;
}

void hvsim_grant_entry(grant_entry_v1_t *entry, domid_t peer, uint32_t frame, bool writable)
{
	entry->domid = peer;
	entry->frame = frame;
	/* The mapper must see domid and frame before the flags that validate them. */
	__atomic_store_n(&entry->flags,
			 (uint16_t)(GTF_permit_access | (writable ? 0 : GTF_readonly)),
			 __ATOMIC_RELEASE);
}

static int send_flags(int sock, const struct hvsim_msg *msg, const int *fds, unsigned int nfds,
		      int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HVSIM_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > HVSIM_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &mh, flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*msg) ? 0 : -EPROTO;
}

int hvsim_send(int sock, const struct hvsim_msg *msg, const int *fds, unsigned int nfds)
{
	return send_flags(sock, msg, fds, nfds, MSG_NOSIGNAL);
}

int hvsim_send_nowait(int sock, const struct hvsim_msg *msg, const int *fds, unsigned int nfds)
{
	return send_flags(sock, msg, fds, nfds, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Keep up to max passed fds, close the rest: a peer cannot leak fds into us. */
static unsigned int take_fds(struct msghdr *mh, int *fds, unsigned int max)
{
	unsigned int kept = 0;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds && kept < max)
				fds[kept++] = fd;
			else
				close(fd);
		}
	}
	return kept;
}

int hvsim_recv(int sock, struct hvsim_msg *msg, int *fds, unsigned int max, unsigned int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HVSIM_MAX_FDS * 2)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int kept;
	ssize_t n;

	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	kept = take_fds(&mh, fds, max);
	if (nfds)
		*nfds = kept;
	if (n != (ssize_t)sizeof(*msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		while (kept)
			close(fds[--kept]);
		if (nfds)
			*nfds = 0;
		return -EPROTO;
	}
	msg->name[HVSIM_NAME_MAX - 1] = '\0';
	return 0;
}

int hvsim_call(int sock, struct hvsim_msg *req, const int *fds, unsigned int nfds,
	       struct hvsim_msg *rep, int *rfds, unsigned int rmax, unsigned int *rnfds)
{
	unsigned int got = 0;
	int ret;

	ret = hvsim_send(sock, req, fds, nfds);
	if (ret < 0)
		return ret;
	ret = hvsim_recv(sock, rep, rfds, rmax, &got);
	if (ret < 0)
		return ret;
	if (rep->op != req->op) {
		while (got)
			close(rfds[--got]);
		return -EPROTO;
	}
	if (rep->err < 0) {
		while (got)
			close(rfds[--got]);
		return rep->err;
	}
	if (rnfds)
		*rnfds = got;
	return 0;
}

int hvsim_socket_path(char *buf, size_t len)
{
	const char *env = getenv(HVSIM_SOCKET_ENV);
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/pvio/hv.sock");
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/pvio/hv.sock", xdg);
	else
		n = snprintf(buf, len, "/tmp/pvio-%u/hv.sock", (unsigned int)geteuid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
