/* SPDX-License-Identifier: MIT */
/*
 * hv-daemon-grants: pvio-hv's side of grant tables over the raw protocol.  A
 * domain shares pages with dom0, from its pools for dom0; dom0 attaches (a
 * read-only table, the two pools) and pins them with the pin protocol;
 * freeing a pinned share is -EBUSY; a mapper's session closing drops its
 * pins; a share whose session closed while mapped stays granted until its
 * last mapper goes; a freed share comes back zeroed.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/hv.h"
#include "hv/simctl.h"
#include "tests/helpers.h"

#define TABLE_BYTES ((size_t)HVSIM_GNT_ENTRIES * sizeof(grant_entry_v1_t))

/* Pipes between dom0 (the test) and the granting domain; the stranger's stop. */
static int to_guest[2], to_dom0[2], stop[2];

static int put(int fd, uint32_t v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static int get(int fd, uint32_t *v)
{
	if (!t_readable(fd, 20000))
		return -1;
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

static void *map_fd(int fd, size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The granter's own view: its table and its pools for dom0. */
struct granter {
	int sock;		 /* session socket */
	grant_entry_v1_t *table; /* own grant table */
	char *pool[2];		 /* own pools for dom0: read-only, writable */
	uint32_t pages;		 /* pages per pool */
};

static int granter_open(struct granter *g)
{
	struct hvsim_msg hello;
	int fds[3];

	memset(g, 0, sizeof(*g));
	T_CHECK(t_session_open(&g->sock, &hello, fds) == 0, "granter session");
	g->pages = hello.arg[3];
	g->table = map_fd(fds[0], TABLE_BYTES, PROT_READ | PROT_WRITE);
	T_CHECK(g->table, "map own table");
	T_CHECK(!map_fd(fds[1], TABLE_BYTES, PROT_READ | PROT_WRITE), "read-only table writable");
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	return 0;
}

/* Share count pages with dom0 from the pool for access w; *frame is the first frame. */
static int share(struct granter *g, uint32_t count, bool w, uint32_t *ref, uint32_t *frame)
{
	uint32_t args[4] = { count, 0, w, 0 }, i, page;
	struct hvsim_msg rep;
	unsigned int nfds;
	int fd;

	T_CHECK(t_rpc(g->sock, HVSIM_GRANT_ALLOC, args, 4, &rep, &fd, 1, &nfds) == 0 && nfds == 1,
		"alloc");
	if (!g->pool[w])
		g->pool[w] = map_fd(fd, (size_t)g->pages * HV_PAGE_SIZE, PROT_READ | PROT_WRITE);
	close(fd);
	T_CHECK(g->pool[w], "map the pool");
	*ref = rep.arg[0];
	*frame = rep.arg[1];
	T_CHECK(*ref >= GNTTAB_NR_RESERVED_ENTRIES, "reserved ref %u handed out", *ref);
	T_CHECK(*frame >= (w ? g->pages : 0) && *frame + count <= (w ? 2 : 1) * g->pages,
		"frame %u out of the pool", *frame);
	page = *frame - (w ? g->pages : 0);
	for (i = 0; i < count; i++) {
		T_CHECK(g->pool[w][(size_t)(page + i) * HV_PAGE_SIZE] == 0, "page not zeroed");
		hvsim_grant_entry(&g->table[*ref + i], 0, *frame + i, w);
	}
	return 0;
}

static char *page_of(struct granter *g, uint32_t frame)
{
	bool w = frame >= g->pages;

	return g->pool[w] + (size_t)(frame - (w ? g->pages : 0)) * HV_PAGE_SIZE;
}

static int grant_free(struct granter *g, uint32_t ref, uint32_t count)
{
	struct hvsim_msg rep;

	return t_rpc(g->sock, HVSIM_GRANT_FREE, (uint32_t[]){ ref, count }, 2, &rep, NULL, 0, NULL);
}

static int guest_busy_then_free(struct granter *g, uint32_t ref, uint32_t frame, uint32_t ref_ro)
{
	uint32_t v, ref2, frame2;

	T_CHECK(get(to_guest[0], &v) == 0, "wait for dom0's maps");
	T_CHECK(!strcmp(page_of(g, frame) + 100, "world"), "dom0's write");
	T_CHECK(grant_free(g, ref, 1) == -EBUSY, "free while mapped");
	T_CHECK(g->table[ref].flags == (GTF_permit_access), "entry not restored after -EBUSY");
	T_CHECK(grant_free(g, ref, 2) == -EINVAL, "free with the wrong count");
	T_CHECK(put(to_dom0[1], 1) == 0 && get(to_guest[0], &v) == 0, "wait for dom0's close");
	T_CHECK(grant_free(g, ref, 1) == 0, "free after the mapper closed");
	T_CHECK(grant_free(g, ref_ro, 1) == 0, "free (read-only)");
	T_CHECK(g->table[ref].flags == 0, "entry not cleared");
	T_CHECK(share(g, 1, true, &ref2, &frame2) == 0, "share again");
	T_CHECK(ref2 == ref && frame2 == frame, "first fit: %u/%u then %u/%u", ref, frame, ref2,
		frame2);
	return 0;
}

/* A second session shares a page, dom0 maps it, and the session closes. */
static int guest_orphan(void)
{
	struct granter g2;
	uint32_t ref, frame, v;

	T_CHECK(granter_open(&g2) == 0, "second session");
	T_CHECK(share(&g2, 1, true, &ref, &frame) == 0, "share from the second session");
	T_CHECK(put(to_dom0[1], ref) == 0 && get(to_guest[0], &v) == 0, "wait for dom0's map");
	close(g2.sock);
	T_CHECK(put(to_dom0[1], 1) == 0, "tell dom0");
	return 0;
}

static int guest(void *arg)
{
	struct granter g;
	uint32_t ref, frame, ref_ro, frame_ro, v;

	(void)arg;
	close(to_guest[1]);
	close(to_dom0[0]);
	T_CHECK(granter_open(&g) == 0, "granter");
	T_CHECK(share(&g, 1, true, &ref, &frame) == 0, "share writable");
	T_CHECK(share(&g, 1, false, &ref_ro, &frame_ro) == 0, "share read-only");
	T_CHECK(ref_ro == ref + 1, "refs %u then %u", ref, ref_ro);
	strcpy(page_of(&g, frame), "hello");
	strcpy(page_of(&g, frame_ro), "read me");
	/* An entry granted elsewhere, one with a frame out of the pools. */
	hvsim_grant_entry(&g.table[ref + 2], 7, frame, true);
	hvsim_grant_entry(&g.table[ref + 3], 0, 2 * g.pages, false);
	T_CHECK(put(to_dom0[1], ref) == 0, "send ref");
	T_CHECK(guest_busy_then_free(&g, ref, frame, ref_ro) == 0, "busy then free");
	T_CHECK(guest_orphan() == 0, "orphan");
	T_CHECK(get(to_guest[0], &v) == 0, "wait for the end");
	return 0;
}

/* dom0's view of the granter: what GRANT_ATTACH gave, mapped. */
struct mapper {
	int sock;		    /* dom0 session */
	uint32_t sid;		    /* its id */
	struct hvsim_gnt_view view; /* table, active, records */
	char *pool_ro, *pool_rw;    /* the granter's pools for dom0 */
	ino_t active_ino, rec_ino;  /* identities of the active table and records */
};

/* The objects GRANT_ATTACH hands over, checked for their access. */
static int mapper_map(struct mapper *m, const struct hvsim_msg *rep, const int *fds)
{
	size_t pool_len = (size_t)rep->arg[1] * HV_PAGE_SIZE;
	struct stat st;

	T_CHECK(!map_fd(fds[0], TABLE_BYTES, PROT_READ | PROT_WRITE), "table writable");
	T_CHECK(!map_fd(fds[1], pool_len, PROT_READ | PROT_WRITE), "read-only pool writable");
	m->view.table = map_fd(fds[0], TABLE_BYTES, PROT_READ);
	m->pool_ro = map_fd(fds[1], pool_len, PROT_READ);
	m->pool_rw = map_fd(fds[2], pool_len, PROT_READ | PROT_WRITE);
	m->view.active =
	    map_fd(fds[3], rep->arg[0] * sizeof(struct hvsim_active), PROT_READ | PROT_WRITE);
	m->view.rec =
	    map_fd(fds[4], rep->arg[0] * sizeof(struct hvsim_pinrec), PROT_READ | PROT_WRITE);
	T_CHECK(m->view.table && m->pool_ro && m->pool_rw && m->view.active && m->view.rec,
		"map attach");
	T_CHECK(fstat(fds[3], &st) == 0, "fstat");
	m->active_ino = st.st_ino;
	T_CHECK(fstat(fds[4], &st) == 0, "fstat");
	m->rec_ino = st.st_ino;
	return 0;
}

static int mapper_attach(struct mapper *m, domid_t granter)
{
	struct hvsim_msg hello, rep;
	unsigned int nfds;
	int fds[5], i, ret;

	T_CHECK(t_session_open(&m->sock, &hello, NULL) == 0, "dom0 session");
	m->sid = hello.arg[1];
	T_CHECK(t_rpc(m->sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ granter }, 1, &rep, fds, 5,
		      &nfds) == 0 &&
		    nfds == 5,
		"attach");
	m->view = (struct hvsim_gnt_view){ .nr_entries = rep.arg[0],
					   .nr_pages = rep.arg[1],
					   .mapper = 0 };
	ret = mapper_map(m, &rep, fds);
	for (i = 0; i < 5; i++)
		close(fds[i]);
	return ret;
}

/* Attaching twice from one session hands out the same objects. */
static int mapper_attach_again(struct mapper *m, domid_t granter)
{
	struct hvsim_msg rep;
	unsigned int nfds;
	struct stat a, r;
	int fds[5], i;

	T_CHECK(t_rpc(m->sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ granter }, 1, &rep, fds, 5,
		      &nfds) == 0 &&
		    nfds == 5,
		"attach again");
	T_CHECK(fstat(fds[3], &a) == 0 && fstat(fds[4], &r) == 0, "fstat");
	for (i = 0; i < 5; i++)
		close(fds[i]);
	T_CHECK(a.st_ino == m->active_ino && r.st_ino == m->rec_ino, "new objects on re-attach");
	return 0;
}

/* Wait until dom0's domain holds no pin on the entry (the daemon cleans up async). */
static bool entry_idle(const struct hvsim_active *a)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (__atomic_load_n(&a->pins, __ATOMIC_ACQUIRE) == 0)
			return true;
		t_msleep(10);
	}
	return false;
}

static int dom0_pins(struct mapper *m, uint32_t ref)
{
	uint32_t frame, n = m->view.nr_pages;

	T_CHECK(hvsim_pin(&m->view, ref, true, &frame) == 0, "pin writable");
	T_CHECK(frame >= n && frame < 2 * n, "writable frame %u", frame);
	T_CHECK(!strcmp(m->pool_rw + (size_t)(frame - n) * HV_PAGE_SIZE, "hello"),
		"granter's data");
	strcpy(m->pool_rw + (size_t)(frame - n) * HV_PAGE_SIZE + 100, "world");
	T_CHECK(hvsim_pin(&m->view, ref + 1, true, &frame) == -EACCES, "writable pin of ro");
	T_CHECK(hvsim_pin(&m->view, ref + 1, false, &frame) == 0 && frame < n, "read-only pin");
	T_CHECK(!strcmp(m->pool_ro + (size_t)frame * HV_PAGE_SIZE, "read me"), "read-only data");
	T_CHECK(hvsim_pin(&m->view, ref + 2, false, &frame) == -EPERM, "pin of another's grant");
	T_CHECK(hvsim_pin(&m->view, ref + 3, false, &frame) == -EINVAL, "pin of a bad frame");
	T_CHECK(hvsim_pin(&m->view, HVSIM_GNT_ENTRIES, false, &frame) == -EINVAL, "bad ref");
	T_CHECK(m->view.active[ref].pins == 1 && m->view.active[ref + 1].pins == 1 &&
		    m->view.active[ref + 2].pins == 0,
		"pins counted wrong");
	return 0;
}

/* Domain info of id, polled until pool_used and sessions match. */
static int info_wait(domid_t id, unsigned int used, unsigned int sessions)
{
	struct hvctl_domain_info info[4];
	struct hvctl *ctl;
	int i, n = 0;

	T_CHECK(hvctl_open(&ctl, NULL) == 0, "hvctl_open");
	for (i = 0; i < 500; i++) {
		n = hvctl_domain_list(ctl, info, 4);
		if (n == 1 && info[0].domid == id && info[0].pool_used == used &&
		    info[0].sessions == sessions)
			break;
		t_msleep(10);
	}
	hvctl_close(ctl);
	T_CHECK(i < 500, "domain %u: want %u pages used by %u sessions, have %u by %u", id, used,
		sessions, n == 1 ? info[0].pool_used : 0, n == 1 ? info[0].sessions : 0);
	return 0;
}

static int dom0_orphan(domid_t id)
{
	struct mapper m;
	uint32_t ref, frame, v;

	T_CHECK(get(to_dom0[0], &ref) == 0, "orphan ref");
	T_CHECK(mapper_attach(&m, id) == 0, "attach for the orphan");
	T_CHECK(hvsim_pin(&m.view, ref, true, &frame) == 0, "pin the orphan-to-be");
	T_CHECK(put(to_guest[1], 1) == 0 && get(to_dom0[0], &v) == 0, "second session closed");
	/* The share outlives its session while mapped: 1 + 1 pages in use. */
	T_CHECK(info_wait(id, 2, 1) == 0, "orphan kept");
	close(m.sock);
	T_CHECK(info_wait(id, 1, 1) == 0, "orphan freed after its last mapper closed");
	return 0;
}

/* A domain that shares nothing, until told to go. */
static int idle_guest(void *arg)
{
	uint32_t v;

	(void)arg;
	close(stop[1]);
	return get(stop[0], &v) == 0 ? 0 : 1;
}

/* dom0 grants to itself: it attaches its own pools; and nobody attaches a stranger. */
static int check_self(void)
{
	struct granter g;
	struct mapper m;
	struct hvsim_msg rep;
	uint32_t ref, frame, got;
	domid_t stranger;
	pid_t pid;

	T_CHECK(pipe(stop) == 0, "pipe");
	T_CHECK(t_domain_fork("stranger", idle_guest, NULL, &stranger, &pid) == 0, "fork");
	close(stop[0]);
	T_CHECK(granter_open(&g) == 0, "dom0 as granter");
	T_CHECK(share(&g, 1, false, &ref, &frame) == 0, "dom0 shares with itself");
	T_CHECK(mapper_attach(&m, 0) == 0, "self attach");
	T_CHECK(hvsim_pin(&m.view, ref, true, &got) == -EACCES, "write pin of a read-only grant");
	T_CHECK(hvsim_pin(&m.view, ref, false, &got) == 0 && got == frame, "pin");
	T_CHECK(grant_free(&g, ref, 1) == -EBUSY, "free while pinned");
	T_CHECK(!hvsim_unpin(&m.view, ref), "unpin");
	T_CHECK(!hvsim_unpin(&m.view, ref), "unpin of a pin never taken");
	T_CHECK(m.view.active[ref].pins == 0, "pin count went below zero");
	T_CHECK(grant_free(&g, ref, 1) == 0, "free");
	T_CHECK(t_rpc(m.sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ stranger }, 1, &rep, NULL, 0,
		      NULL) == -EPERM,
		"attach to a domain that shared nothing with us");
	close(m.sock);
	close(g.sock);
	T_CHECK(put(stop[1], 1) == 0 && t_wait(pid) == 0, "the stranger failed");
	return 0;
}

int main(void)
{
	struct hvsim_msg hello;
	struct mapper m;
	uint32_t ref, v;
	domid_t id;
	pid_t pid;

	t_time_limit(120);
	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(pipe(to_guest) == 0 && pipe(to_dom0) == 0, "pipes");
	T_CHECK(t_domain_fork("granter", guest, NULL, &id, &pid) == 0, "fork");
	close(to_guest[0]);
	close(to_dom0[1]);
	T_CHECK(get(to_dom0[0], &ref) == 0, "ref from the granter");
	T_CHECK(mapper_attach(&m, id) == 0, "attach");
	T_CHECK(mapper_attach_again(&m, id) == 0, "attach again");
	T_CHECK(dom0_pins(&m, ref) == 0, "pins");
	T_CHECK(put(to_guest[1], 1) == 0 && get(to_dom0[0], &v) == 0, "granter's busy checks");
	/* Close without unpinning: the daemon drops the session's pins. */
	close(m.sock);
	T_CHECK(entry_idle(&m.view.active[ref]) && entry_idle(&m.view.active[ref + 1]),
		"pins of a closed session left in place");
	T_CHECK(put(to_guest[1], 1) == 0, "tell the granter");
	T_CHECK(dom0_orphan(id) == 0, "orphan");
	T_CHECK(put(to_guest[1], 1) == 0, "end");
	T_CHECK(t_wait(pid) == 0, "the granter's checks failed");
	T_CHECK(check_self() == 0, "self grants");
	T_CHECK(t_session_open(&m.sock, &hello, NULL) == 0, "dom0 session");
	T_CHECK(t_rpc(m.sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ id }, 1, &hello, NULL, 0, NULL) ==
		    -ESRCH,
		"attach to a dead granter");
	close(m.sock);
	return T_PASS;
}
