/* SPDX-License-Identifier: MIT */
/*
 * xen.c - the "xen" provider of the hypervisor seam: thin wrappers over
 * Debian 12's libxengntshr (gntalloc), libxengnttab (gntdev), libxenevtchn,
 * libxenctrl (EVTCHNOP_status only) and libxenstore (our domid, read once).
 *
 * Errors convert once, here, to a negative errno.  Everything libxen* logs
 * goes to hv->log at debug level: those messages repeat failures we already
 * return, and a hostile peer can trigger them at will (a bad grant ref).
 *
 * Where Xen's behaviour is not the sim's, hv/sim.c lists it; the ones this
 * file shapes:
 *   - hv_grant_end never returns -EBUSY.  libxengntshr unshares by munmap
 *     and gntalloc, finding the peer still mapping a page, defers
 *     end-foreign-access and lets the kernel reclaim the page later.
 *   - gntdev turns every per-grant map failure into -EINVAL, so the finer
 *     -EPERM/-EACCES/-ESRCH of hv_grant_map are sim-only.
 *   - gntdev refuses local-to-local grant copies; they get
 *     GNTST_bad_copy_arg here.
 *   - hv_evtchn_state asks Xen about a port of our domain, not of this
 *     handle: a port bound by someone else reports its real state.  It is a
 *     hypercall through privcmd, which Linux restricts in a domU to the
 *     domain's own target (EPERM unless privcmd is loaded unrestricted=1):
 *     hv_evtchn_state_observable says false here, so front-ends never poll
 *     it and follow the back-end's xenstore state instead (as Linux's
 *     xen-blkfront does).  A refusal is remembered and logged once; later
 *     calls answer it without a hypercall.
 *   - hv_grant_left reads gntalloc's `limit` (module parameter, 1024 by
 *     default).  gntalloc checks it against the grants the device holds for
 *     every process, including ones a peer still maps after their process
 *     unshared them; we can subtract only what this handle shares, so the
 *     answer is an upper bound.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "hv/provider.h"

/* Grant-copy segments converted per libxengnttab call (netback's batch). */
#define XEN_COPY_BATCH 64

struct xen_priv {
	xentoollog_logger xtl;	  /* first: libxen* log through it to hv->log */
	struct hv *hv;		  /* whose log xtl writes to */
	xengntshr_handle *shr;	  /* /dev/xen/gntalloc: pages we grant */
	xengnttab_handle *tab;	  /* /dev/xen/gntdev: grants we map or copy */
	xenevtchn_handle *evtchn; /* /dev/xen/evtchn: our ports, O_NONBLOCK */
	xc_interface *xc;	  /* /dev/xen/privcmd for EVTCHNOP_status; opened on first use */
	int state_refused;	  /* privcmd's refusal of EVTCHNOP_status (-EPERM...), or 0 */
	unsigned long shared;	  /* pages this handle shares through gntalloc */
	domid_t domid;		  /* ours, read from xenstore at open */
};

static struct xen_priv *priv(struct hv *hv)
{
	return hv->priv;
}

/* libxen* promise errno on failure; never let a stale 0 read as success. */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int open_failed(struct hv *hv, const char *what)
{
	int ret = neg_errno();

	hv_err(hv, "xen: %s: %s", what, strerror(-ret));
	return ret;
}

/* libxen* messages, at debug level for the reason given at the top. */
__attribute__((format(printf, 5, 0))) static void xtl_vmessage(xentoollog_logger *xtl,
							       xentoollog_level level, int errnoval,
							       const char *context, const char *fmt,
							       va_list ap)
{
	struct xen_priv *xp = (struct xen_priv *)xtl;
	char msg[256];

	(void)level;
	if (PVIO_LOG_DEBUG > xp->hv->log->max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	hv_debug(xp->hv, "xen: %s: %s%s%s", context ? context : "libxen", msg,
		 errnoval >= 0 ? ": " : "", errnoval >= 0 ? strerror(errnoval) : "");
}

/*
 * xenevtchn.h warns that O_NONBLOCK may be ignored, so xen_evtchn_wait
 * polls first; the flag still saves a caller racing us on the same fd.
 * libxengntshr opens gntalloc without O_CLOEXEC.
 */
static int fds_setup(struct xen_priv *xp)
{
	int fd = xenevtchn_fd(xp->evtchn);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return neg_errno();
	fd = xengntshr_fd(xp->shr);
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return neg_errno();
	return 0;
}

static int handles_open(struct hv *hv, struct xen_priv *xp)
{
	int ret;

	xp->shr = xengntshr_open(&xp->xtl, 0);
	if (!xp->shr)
		return open_failed(hv, "/dev/xen/gntalloc");
	xp->tab = xengnttab_open(&xp->xtl, 0);
	if (!xp->tab) {
		ret = open_failed(hv, "/dev/xen/gntdev");
		goto close_shr;
	}
	xp->evtchn = xenevtchn_open(&xp->xtl, 0);
	if (!xp->evtchn) {
		ret = open_failed(hv, "/dev/xen/evtchn");
		goto close_tab;
	}
	ret = fds_setup(xp);
	if (ret < 0) {
		hv_err(hv, "xen: fcntl: %s", strerror(-ret));
		goto close_evtchn;
	}
	return 0;

close_evtchn:
	xenevtchn_close(xp->evtchn);
close_tab:
	xengnttab_close(xp->tab);
close_shr:
	xengntshr_close(xp->shr);
	return ret;
}

static void handles_close(struct xen_priv *xp)
{
	if (xp->xc)
		xc_interface_close(xp->xc);
	xenevtchn_close(xp->evtchn);
	xengnttab_close(xp->tab);
	xengntshr_close(xp->shr);
}

/* Decimal digits only, all len of them, and an ordinary (unreserved) id. */
static int domid_parse(const char *s, unsigned int len, domid_t *domid)
{
	unsigned long v;
	char *end;

	if (len == 0 || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end != s + len || v >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	*domid = (domid_t)v;
	return 0;
}

/* The relative key "domid" is /local/domain/<self>/domid, which the toolstack writes. */
static int domid_read(struct hv *hv, domid_t *domid)
{
	struct xs_handle *xs = xs_open(0);
	unsigned int len;
	char *val;
	int ret;

	if (!xs)
		return open_failed(hv, "xenstore");
	val = xs_read(xs, XBT_NULL, "domid", &len);
	if (!val) {
		ret = open_failed(hv, "xenstore: domid");
		goto close_xs;
	}
	ret = domid_parse(val, len, domid);
	if (ret < 0)
		hv_err(hv, "xen: xenstore: domid: not a domain id");
	free(val);
close_xs:
	xs_close(xs);
	return ret;
}

static int xen_open(struct hv *hv, const struct hv_open_opts *opts)
{
	struct xen_priv *xp;
	int ret;

	(void)opts;
	xp = calloc(1, sizeof(*xp));
	if (!xp)
		return -ENOMEM;
	/* No progress or destroy: libxen* destroy only loggers they made. */
	xp->xtl.vmessage = xtl_vmessage;
	xp->hv = hv;
	ret = handles_open(hv, xp);
	if (ret < 0)
		goto free_xp;
	ret = domid_read(hv, &xp->domid);
	if (ret < 0)
		goto close_handles;
	hv->priv = xp;
	return 0;

close_handles:
	handles_close(xp);
free_xp:
	free(xp);
	return ret;
}

/* Shares and maps still live are the caller's to end first; closing ends none. */
static void xen_close(struct hv *hv)
{
	struct xen_priv *xp = priv(hv);

	handles_close(xp);
	free(xp);
	hv->priv = NULL;
}

static int xen_domid(struct hv *hv, domid_t *domid)
{
	*domid = priv(hv)->domid;
	return 0;
}

/* gntalloc hands out zeroed pages, as hv.h promises. */
static int xen_grant_share(struct hv *hv, domid_t peer, unsigned int count, bool writable,
			   void **addr, grant_ref_t *refs)
{
	void *p;

	if (count > INT_MAX)
		return -EINVAL;
	p = xengntshr_share_pages(priv(hv)->shr, peer, (int)count, refs, writable);
	if (!p)
		return neg_errno();
	*addr = p;
	priv(hv)->shared += count;
	return 0;
}

/*
 * libxengntshr dropped its gntalloc handle on the grants at share time, so
 * this munmap is the last reference.  If the peer still maps a page,
 * gntalloc cannot end foreign access now: it defers, and the kernel
 * retries and frees the page once the peer unmaps.  So on Xen this
 * succeeds where the sim returns -EBUSY, and the range leaves our address
 * space at once.
 */
static int xen_grant_end(struct hv *hv, void *addr, unsigned int count)
{
	if (xengntshr_unshare(priv(hv)->shr, addr, count))
		return neg_errno();
	priv(hv)->shared -= count < priv(hv)->shared ? count : priv(hv)->shared;
	return 0;
}

/* gntdev maps all or nothing, and reports any refused grant as EINVAL. */
static int xen_grant_map(struct hv *hv, domid_t granter, unsigned int count,
			 const grant_ref_t *refs, bool writable, void **addr)
{
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
	void *p;

	/* refs is not const in libxengnttab's prototype, but only read. */
	p = xengnttab_map_domain_grant_refs(priv(hv)->tab, count, granter, (uint32_t *)refs, prot);
	if (!p)
		return neg_errno();
	*addr = p;
	return 0;
}

static int xen_grant_unmap(struct hv *hv, void *addr, unsigned int count)
{
	if (xengnttab_unmap(priv(hv)->tab, addr, count))
		return neg_errno();
	return 0;
}

/*
 * gntdev fails the whole ioctl on one malformed segment, leaving the batch
 * half done; screen here so a bad segment gets its own status instead.
 */
static bool copy_seg_valid(const struct hv_copy_seg *seg)
{
	const unsigned int grefs = GNTCOPY_source_gref | GNTCOPY_dest_gref;

	if (!(seg->flags & grefs) || (seg->flags & ~grefs))
		return false;
	if ((seg->flags & GNTCOPY_source_gref) &&
	    seg->source.foreign.offset + seg->len > HV_PAGE_SIZE)
		return false;
	if ((seg->flags & GNTCOPY_dest_gref) && seg->dest.foreign.offset + seg->len > HV_PAGE_SIZE)
		return false;
	return true;
}

static void copy_ptr_convert(union xengnttab_copy_ptr *to, const union hv_copy_ptr *from,
			     bool foreign)
{
	if (foreign) {
		to->foreign.ref = from->foreign.ref;
		to->foreign.offset = from->foreign.offset;
		to->foreign.domid = from->foreign.domid;
	} else {
		to->virt = from->virt;
	}
}

static void copy_seg_convert(xengnttab_grant_copy_segment_t *to, const struct hv_copy_seg *from)
{
	copy_ptr_convert(&to->source, &from->source, from->flags & GNTCOPY_source_gref);
	copy_ptr_convert(&to->dest, &from->dest, from->flags & GNTCOPY_dest_gref);
	to->len = from->len;
	to->flags = from->flags;
	to->status = GNTST_general_error;
}

/* Copy n <= XEN_COPY_BATCH segments: 0 once all have a status, or -errno. */
static int copy_batch(xengnttab_handle *tab, struct hv_copy_seg *segs, unsigned int n)
{
	xengnttab_grant_copy_segment_t xsegs[XEN_COPY_BATCH];
	unsigned char idx[XEN_COPY_BATCH]; /* xsegs[k] came from segs[idx[k]] */
	unsigned int i, k = 0;
	int ret = 0;

	for (i = 0; i < n; i++) {
		if (!copy_seg_valid(&segs[i])) {
			segs[i].status = GNTST_bad_copy_arg;
			continue;
		}
		copy_seg_convert(&xsegs[k], &segs[i]);
		idx[k++] = (unsigned char)i;
	}
	if (k && xengnttab_grant_copy(tab, k, xsegs))
		ret = neg_errno();
	for (i = 0; i < k; i++)
		segs[idx[i]].status = ret ? GNTST_general_error : xsegs[i].status;
	return ret;
}

static int xen_grant_copy(struct hv *hv, unsigned int count, struct hv_copy_seg *segs)
{
	unsigned int done, n;
	bool tried = false;
	int ret, err = 0;

	/* A failed batch marks its segments and the rest still run. */
	for (done = 0; done < count; done += n) {
		n = count - done < XEN_COPY_BATCH ? count - done : XEN_COPY_BATCH;
		ret = copy_batch(priv(hv)->tab, segs + done, n);
		if (ret < 0)
			err = ret;
		else
			tried = true;
	}
	return tried ? 0 : err;
}

static int xen_evtchn_alloc_unbound(struct hv *hv, domid_t remote, evtchn_port_t *port)
{
	xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(priv(hv)->evtchn, remote);

	if (p < 0)
		return neg_errno();
	*port = (evtchn_port_t)p;
	return 0;
}

static int xen_evtchn_bind(struct hv *hv, domid_t remote, evtchn_port_t remote_port,
			   evtchn_port_t *port)
{
	xenevtchn_port_or_error_t p =
	    xenevtchn_bind_interdomain(priv(hv)->evtchn, remote, remote_port);

	if (p < 0)
		return neg_errno();
	*port = (evtchn_port_t)p;
	return 0;
}

/* Xen itself drops a send on a port whose peer has gone (it is unbound again). */
static int xen_evtchn_notify(struct hv *hv, evtchn_port_t port)
{
	if (xenevtchn_notify(priv(hv)->evtchn, port))
		return neg_errno();
	return 0;
}

static int xen_evtchn_fd(struct hv *hv)
{
	return xenevtchn_fd(priv(hv)->evtchn);
}

/* xenevtchn_pending is a plain read(2): poll first so that it cannot block. */
static int xen_evtchn_wait(struct hv *hv, evtchn_port_t *port, int timeout_ms)
{
	xenevtchn_handle *xce = priv(hv)->evtchn;
	struct pollfd pfd = { .fd = xenevtchn_fd(xce), .events = POLLIN };
	xenevtchn_port_or_error_t p;
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return neg_errno();
	if (n == 0)
		return -EAGAIN;
	p = xenevtchn_pending(xce);
	if (p < 0)
		return neg_errno();
	*port = (evtchn_port_t)p;
	return 0;
}

static int xen_evtchn_unmask(struct hv *hv, evtchn_port_t port)
{
	if (xenevtchn_unmask(priv(hv)->evtchn, port))
		return neg_errno();
	return 0;
}

static int xen_evtchn_unbind(struct hv *hv, evtchn_port_t port)
{
	if (xenevtchn_unbind(priv(hv)->evtchn, port))
		return neg_errno();
	return 0;
}

/* A refusal that says privcmd will never allow this call to this process. */
static bool refusal(int err)
{
	return err == -EPERM || err == -EACCES || err == -ENOSYS || err == -ENOENT;
}

/* Remember and log once that EVTCHNOP_status is not ours to make. */
static int state_refused(struct hv *hv, int err)
{
	struct xen_priv *xp = priv(hv);

	if (refusal(err) && !xp->state_refused) {
		xp->state_refused = err;
		pvio_log(hv->log, PVIO_LOG_INFO, "hv",
			 "xen: EVTCHNOP_status refused (%s): port states are unknown to this "
			 "process",
			 strerror(-err));
	}
	return err;
}

/* Xen puts our end back to unbound when the remote end closes. */
static int xen_evtchn_state(struct hv *hv, evtchn_port_t port)
{
	xc_evtchn_status_t st = { .dom = DOMID_SELF, .port = port };
	struct xen_priv *xp = priv(hv);

	if (xp->state_refused)
		return xp->state_refused;
	/*
	 * Only this call needs privcmd, which a deprivileged driver-domain
	 * process may lack: open it here so that everything else works without.
	 */
	if (!xp->xc && !(xp->xc = xc_interface_open(&xp->xtl, &xp->xtl, 0)))
		return state_refused(hv, neg_errno());
	if (xc_evtchn_status(xp->xc, &st) < 0)
		return state_refused(hv, neg_errno());
	switch (st.status) {
	case EVTCHNSTAT_closed:
		return HV_EVTCHN_CLOSED;
	case EVTCHNSTAT_unbound:
		return HV_EVTCHN_UNBOUND;
	case EVTCHNSTAT_interdomain:
		return HV_EVTCHN_CONNECTED;
	default:
		return -EINVAL; /* a pirq, virq or ipi port: never one of ours */
	}
}

#define GNTALLOC_LIMIT "/sys/module/xen_gntalloc/parameters/limit"

static int xen_grant_left(struct hv *hv, unsigned int *left)
{
	unsigned long limit, shared = priv(hv)->shared;
	FILE *f = fopen(GNTALLOC_LIMIT, "re");
	int n;

	if (!f)
		return neg_errno();
	n = fscanf(f, "%lu", &limit);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	limit = limit > shared ? limit - shared : 0;
	*left = limit > UINT_MAX ? UINT_MAX : (unsigned int)limit;
	return 0;
}

const struct hv_ops hv_xen_ops = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.domid = xen_domid,
	.grant_share = xen_grant_share,
	.grant_end = xen_grant_end,
	.grant_map = xen_grant_map,
	.grant_unmap = xen_grant_unmap,
	.grant_copy = xen_grant_copy,
	.evtchn_alloc_unbound = xen_evtchn_alloc_unbound,
	.evtchn_bind = xen_evtchn_bind,
	.evtchn_notify = xen_evtchn_notify,
	.evtchn_fd = xen_evtchn_fd,
	.evtchn_wait = xen_evtchn_wait,
	.evtchn_unmask = xen_evtchn_unmask,
	.evtchn_unbind = xen_evtchn_unbind,
	.evtchn_state = xen_evtchn_state,
	.grant_left = xen_grant_left,
	.evtchn_state_privileged = true,
};
