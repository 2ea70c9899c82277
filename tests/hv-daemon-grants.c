/* SPDX-License-Identifier: MIT */
/*
 * hv-daemon-grants: pvio-hv's side of grant tables over the raw protocol.  A
 * domain shares pages with dom0; dom0 attaches and pins them with the pin
 * protocol; freeing a pinned share is -EBUSY; a mapper's session closing
 * drops its pins; a share whose session closed while mapped stays granted
 * until its last mapper goes; a freed share comes back zeroed.
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

/* Pipes between dom0 (the test) and the granting domain. */
static int to_guest[2], to_dom0[2];

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

static void *map_fd(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The granter's own view: its table and pool. */
struct granter {
	int sock;		 /* session socket */
	grant_entry_v1_t *table; /* own grant table */
	char *pool;		 /* own pool */
	uint32_t pages;		 /* pool pages */
};

static int granter_open(struct granter *g)
{
	struct hvsim_msg hello;
	int fds[3];

	T_CHECK(t_session_open(&g->sock, &hello, fds) == 0, "granter session");
	g->pages = hello.arg[3];
	g->table = map_fd(fds[0], TABLE_BYTES);
	g->pool = map_fd(fds[1], (size_t)g->pages * HV_PAGE_SIZE);
	T_CHECK(g->table && g->pool, "map own table and pool");
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	return 0;
}

/* Share count pages with dom0: entries filled, the first writable only. */
static int share(struct granter *g, uint32_t count, uint32_t *ref, uint32_t *page)
{
	struct hvsim_msg rep;
	uint32_t i;

	T_CHECK(t_rpc(g->sock, HVSIM_GRANT_ALLOC, &count, 1, &rep, NULL, 0, NULL) == 0, "alloc");
	*ref = rep.arg[0];
	*page = rep.arg[1];
	T_CHECK(*ref >= GNTTAB_NR_RESERVED_ENTRIES, "reserved ref %u handed out", *ref);
	for (i = 0; i < count; i++) {
		T_CHECK(g->pool[(size_t)(*page + i) * HV_PAGE_SIZE] == 0, "page not zeroed");
		hvsim_grant_entry(&g->table[*ref + i], 0, *page + i, i == 0);
	}
	return 0;
}

static int grant_free(struct granter *g, uint32_t ref, uint32_t count)
{
	struct hvsim_msg rep;

	return t_rpc(g->sock, HVSIM_GRANT_FREE, (uint32_t[]){ ref, count }, 2, &rep, NULL, 0, NULL);
}

static int guest_busy_then_free(struct granter *g, uint32_t ref, uint32_t page)
{
	uint32_t v, ref2, page2;

	T_CHECK(get(to_guest[0], &v) == 0, "wait for dom0's maps");
	T_CHECK(!strcmp(g->pool + (size_t)page * HV_PAGE_SIZE + 100, "world"), "dom0's write");
	T_CHECK(hvsim_end_access(&g->table[ref]) == -EBUSY, "end access while mapped");
	T_CHECK(grant_free(g, ref, 2) == -EBUSY, "free while mapped");
	T_CHECK(grant_free(g, ref, 1) == -EINVAL, "free with the wrong count");
	T_CHECK(grant_free(g, ref + 1, 1) == -EINVAL, "free from the middle");
	T_CHECK(put(to_dom0[1], 1) == 0 && get(to_guest[0], &v) == 0, "wait for dom0's close");
	T_CHECK(hvsim_end_access(&g->table[ref]) == 0, "end access after the mapper closed");
	T_CHECK(hvsim_end_access(&g->table[ref + 1]) == 0, "end access (read-only)");
	T_CHECK(grant_free(g, ref, 2) == 0, "free");
	T_CHECK(share(g, 2, &ref2, &page2) == 0, "share again");
	T_CHECK(ref2 == ref && page2 == page, "first fit: %u/%u then %u/%u", ref, page, ref2,
		page2);
	return 0;
}

/* A second session shares a page, dom0 maps it, and the session closes. */
static int guest_orphan(void)
{
	struct granter g2;
	uint32_t ref, page, v;

	T_CHECK(granter_open(&g2) == 0, "second session");
	T_CHECK(share(&g2, 1, &ref, &page) == 0, "share from the second session");
	T_CHECK(put(to_dom0[1], ref) == 0 && get(to_guest[0], &v) == 0, "wait for dom0's map");
	close(g2.sock);
	T_CHECK(put(to_dom0[1], 1) == 0, "tell dom0");
	return 0;
}

static int guest(void *arg)
{
	struct granter g;
	uint32_t ref, page, v;

	(void)arg;
	close(to_guest[1]);
	close(to_dom0[0]);
	T_CHECK(granter_open(&g) == 0, "granter");
	T_CHECK(share(&g, 2, &ref, &page) == 0, "share");
	strcpy(g.pool + (size_t)page * HV_PAGE_SIZE, "hello");
	/* A third entry granted elsewhere, one with a frame out of the pool. */
	hvsim_grant_entry(&g.table[ref + 2], 7, page, true);
	hvsim_grant_entry(&g.table[ref + 3], 0, g.pages, true);
	T_CHECK(put(to_dom0[1], ref) == 0, "send ref");
	T_CHECK(guest_busy_then_free(&g, ref, page) == 0, "busy then free");
	T_CHECK(guest_orphan() == 0, "orphan");
	T_CHECK(get(to_guest[0], &v) == 0, "wait for the end");
	return 0;
}

/* dom0's view of the granter: what GRANT_ATTACH gave, mapped. */
struct mapper {
	int sock;		    /* dom0 session */
	struct hvsim_gnt_view view; /* table, active, records */
	char *pool;		    /* the granter's pool */
	ino_t active_ino, rec_ino;  /* identities of the active table and records */
};

static int mapper_attach(struct mapper *m, domid_t granter)
{
	struct hvsim_msg hello, rep;
	unsigned int nfds;
	struct stat st;
	int fds[4], i;

	T_CHECK(t_session_open(&m->sock, &hello, NULL) == 0, "dom0 session");
	T_CHECK(t_rpc(m->sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ granter }, 1, &rep, fds, 4,
		      &nfds) == 0 &&
		    nfds == 4,
		"attach");
	m->view = (struct hvsim_gnt_view){
		.nr_entries = rep.arg[0], .nr_pages = rep.arg[1], .sid = hello.arg[1], .mapper = 0
	};
	m->view.table = map_fd(fds[0], TABLE_BYTES);
	m->pool = map_fd(fds[1], (size_t)rep.arg[1] * HV_PAGE_SIZE);
	m->view.active = map_fd(fds[2], rep.arg[0] * sizeof(struct hvsim_active));
	m->view.rec = map_fd(fds[3], rep.arg[0] * sizeof(struct hvsim_pinrec));
	T_CHECK(m->view.table && m->pool && m->view.active && m->view.rec, "map attach");
	T_CHECK(fstat(fds[2], &st) == 0, "fstat");
	m->active_ino = st.st_ino;
	T_CHECK(fstat(fds[3], &st) == 0, "fstat");
	m->rec_ino = st.st_ino;
	for (i = 0; i < 4; i++)
		close(fds[i]);
	return 0;
}

/* Attaching twice from one session hands out the same objects. */
static int mapper_attach_again(struct mapper *m, domid_t granter)
{
	struct hvsim_msg rep;
	unsigned int nfds;
	struct stat a, r;
	int fds[4], i;

	T_CHECK(t_rpc(m->sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ granter }, 1, &rep, fds, 4,
		      &nfds) == 0 &&
		    nfds == 4,
		"attach again");
	T_CHECK(fstat(fds[2], &a) == 0 && fstat(fds[3], &r) == 0, "fstat");
	for (i = 0; i < 4; i++)
		close(fds[i]);
	T_CHECK(a.st_ino == m->active_ino && r.st_ino == m->rec_ino, "new objects on re-attach");
	return 0;
}

/* Wait until the granter's entry has no pin flag left (the daemon cleans up async). */
static bool entry_idle(const grant_entry_v1_t *e)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & (GTF_reading | GTF_writing)))
			return true;
		t_msleep(10);
	}
	return false;
}

static int dom0_pins(struct mapper *m, uint32_t ref)
{
	uint32_t frame;

	T_CHECK(hvsim_pin(&m->view, ref, true, &frame) == 0, "pin writable");
	T_CHECK(!strcmp(m->pool + (size_t)frame * HV_PAGE_SIZE, "hello"), "granter's data");
	strcpy(m->pool + (size_t)frame * HV_PAGE_SIZE + 100, "world");
	T_CHECK(hvsim_pin(&m->view, ref + 1, true, &frame) == -EACCES, "writable pin of ro");
	T_CHECK(hvsim_pin(&m->view, ref + 1, false, &frame) == 0, "read-only pin");
	T_CHECK(hvsim_pin(&m->view, ref + 2, false, &frame) == -EPERM, "pin of another's grant");
	T_CHECK(hvsim_pin(&m->view, ref + 3, false, &frame) == -EINVAL, "pin of a bad frame");
	T_CHECK(hvsim_pin(&m->view, HVSIM_GNT_ENTRIES, false, &frame) == -EINVAL, "bad ref");
	T_CHECK(m->view.table[ref].flags & GTF_writing, "GTF_writing not set");
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
	/* The share outlives its session while mapped: 2 + 1 pages in use. */
	T_CHECK(info_wait(id, 3, 1) == 0, "orphan kept");
	close(m.sock);
	T_CHECK(info_wait(id, 2, 1) == 0, "orphan freed after its last mapper closed");
	return 0;
}

/*
 * A session that died holding an entry's lock without a pin recorded there
 * (between locking and counting): the daemon breaks the lock, so the next
 * mapper of the same domain pins at once instead of spinning to -EDEADLK.
 */
static int check_dead_lock(void)
{
	struct granter g;
	struct mapper a, b;
	uint32_t ref, page, frame;

	T_CHECK(granter_open(&g) == 0, "dom0 as granter");
	T_CHECK(share(&g, 1, &ref, &page) == 0, "dom0 shares with itself");
	T_CHECK(mapper_attach(&a, 0) == 0, "first mapper");
	__atomic_store_n(&a.view.active[ref].lock, a.view.sid, __ATOMIC_RELEASE);
	close(a.sock);
	T_CHECK(mapper_attach(&b, 0) == 0, "second mapper");
	T_CHECK(b.view.sid != a.view.sid, "a new session");
	T_CHECK(hvsim_pin(&b.view, ref, true, &frame) == 0 && frame == page, "pin after the death");
	hvsim_unpin(&b.view, ref, true);
	T_CHECK(hvsim_end_access(&g.table[ref]) == 0 && grant_free(&g, ref, 1) == 0, "free");
	close(b.sock);
	close(g.sock);
	return 0;
}

int main(void)
{
	struct hvsim_msg hello;
	struct mapper m;
	uint32_t ref, v;
	domid_t id;
	pid_t pid;

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
	T_CHECK(entry_idle(&m.view.table[ref]) && entry_idle(&m.view.table[ref + 1]),
		"pins of a closed session left in place");
	T_CHECK(put(to_guest[1], 1) == 0, "tell the granter");
	T_CHECK(dom0_orphan(id) == 0, "orphan");
	T_CHECK(put(to_guest[1], 1) == 0, "end");
	T_CHECK(t_wait(pid) == 0, "the granter's checks failed");
	T_CHECK(t_session_open(&m.sock, &hello, NULL) == 0, "dom0 session");
	T_CHECK(t_rpc(m.sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ id }, 1, &hello, NULL, 0, NULL) ==
		    -ESRCH,
		"attach to a dead granter");
	close(m.sock);
	T_CHECK(check_dead_lock() == 0, "lock of a dead session");
	return T_PASS;
}
