/* SPDX-License-Identifier: MIT */
/*
 * simproto.c - the pieces of the pvio-hv protocol that both ends run: message
 * framing with fd passing, and the grant pin protocol on shared tables.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hv/simproto.h"

_Static_assert(offsetof(grant_entry_v1_t, flags) == 0, "v1 entry: flags first");
_Static_assert(offsetof(grant_entry_v1_t, domid) == 2, "v1 entry: domid after flags");
_Static_assert(sizeof(grant_entry_v1_t) == 8, "v1 entry is 8 bytes");

/* Whether the entry word w lets mapper access frame (pins, or writes if write). */
static int entry_check(uint32_t w, uint32_t frame, const struct hvsim_gnt_view *v, bool write)
{
	uint16_t flags = HVSIM_WORD_FLAGS(w);

	if ((flags & GTF_type_mask) != GTF_permit_access || (flags & GTF_sub_page))
		return -EPERM;
	if (HVSIM_WORD_DOMID(w) != v->mapper)
		return -EPERM;
	if (write && (flags & GTF_readonly))
		return -EACCES;
	if (frame >= 2 * v->nr_pages)
		return -EINVAL;
	/* A page of the read-only pool: our fd of it cannot write, so refuse early. */
	if (write && frame < v->nr_pages)
		return -EACCES;
	return 0;
}

/* Drop one pin; true when it was the domain's last on an orphaned entry. */
static bool pin_drop(struct hvsim_active *a)
{
	if (__atomic_fetch_sub(&a->pins, 1, __ATOMIC_SEQ_CST) != 1)
		return false;
	/* Pairs with the daemon's barrier between marking and ending the entry. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&a->flags, __ATOMIC_RELAXED) & HVSIM_ACTIVE_ORPHAN;
}

int hvsim_pin(struct hvsim_gnt_view *v, grant_ref_t ref, bool write, uint32_t *frame)
{
	struct hvsim_active *a;
	uint32_t w, f;
	int ret;

	*frame = 0;
	if (ref >= v->nr_entries)
		return -EINVAL;
	a = &v->active[ref];
	/* Our own domain's processes are the only other writers: bound, don't trust. */
	if (__atomic_fetch_add(&a->pins, 1, __ATOMIC_SEQ_CST) >= UINT32_MAX / 2) {
		__atomic_fetch_sub(&a->pins, 1, __ATOMIC_SEQ_CST);
		return -EBUSY;
	}
	/*
	 * Pin first, then read the entry: the daemon ends an entry by clearing
	 * it first, then reading the pins, so one of us sees the other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	w = __atomic_load_n((const uint32_t *)(const void *)&v->table[ref].flags, __ATOMIC_ACQUIRE);
	f = __atomic_load_n(&v->table[ref].frame, __ATOMIC_RELAXED);
	ret = entry_check(w, f, v, write);
	if (ret < 0) {
		*frame = pin_drop(a) ? HVSIM_FRAME_RELEASE : 0;
		return ret;
	}
	v->rec[ref].pins++;
	*frame = f;
	return 0;
}

bool hvsim_unpin(struct hvsim_gnt_view *v, grant_ref_t ref)
{
	/* Pins this session never took are not its to drop. */
	if (ref >= v->nr_entries || v->rec[ref].pins == 0)
		return false;
	v->rec[ref].pins--;
	return pin_drop(&v->active[ref]);
}

void hvsim_unpin_all(struct hvsim_gnt_view *v)
{
	grant_ref_t ref;

	for (ref = 0; ref < v->nr_entries; ref++) {
		uint32_t n = v->rec[ref].pins, have;

		if (n == 0)
			continue;
		/* The records are the dead session's to write: take no more than there are. */
		have = __atomic_load_n(&v->active[ref].pins, __ATOMIC_RELAXED);
		do {
			if (have == 0)
				break;
		} while (!__atomic_compare_exchange_n(&v->active[ref].pins, &have,
						      have > n ? have - n : 0, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
		v->rec[ref].pins = 0;
	}
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
	if (rep->op != (req->op | HVSIM_OP_FROM_HV)) {
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
