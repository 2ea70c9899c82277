/*
 * grant-pool: a front-end's pool of pre-granted pages.  Get and put are a
 * stack (exhaustion gives -ENOSPC, a double or out-of-range put is refused);
 * every page, across more than one share, reaches the back-end, which reads
 * the front-end's pattern and writes its own; a read-only pool refuses a
 * writable map; and destroy, while the back-end still maps a page, returns
 * -EBUSY, keeps that page granted and untouched, and succeeds once it is
 * unmapped.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "grant/gntpool.h"
#include "tests/hv-test.h"

/* More than one share: GNTPOOL_BATCH pages and a partial second. */
#define NPAGES (GNTPOOL_BATCH + 44)
/* The page the back-end keeps mapped while the front-end destroys: in the second share. */
#define HELD (GNTPOOL_BATCH + 1)

/* What the front-end tells the back-end. */
struct pool_msg {
	domid_t front;		  /* the granter */
	grant_ref_t refs[NPAGES]; /* the pool, in index order */
	grant_ref_t ro_ref;	  /* the page of a read-only pool */
};

static struct t_link pipes;
static domid_t back_domid;

static uint8_t front_byte(unsigned int i)
{
	return (uint8_t)(i * 7 + 1);
}

static uint8_t back_byte(unsigned int i)
{
	return (uint8_t)(i * 13 + 5);
}

static bool page_is(const void *page, uint8_t byte)
{
	const uint8_t *p = page;
	unsigned int i;

	for (i = 0; i < HV_PAGE_SIZE; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/* Front: take every page, check the stack's order and limits, fill each page. */
static int front_take_all(struct gntpool *p, grant_ref_t *refs)
{
	struct gntpool_page pg;
	unsigned int i;

	T_CHECK(gntpool_size(p) == NPAGES && gntpool_free_count(p) == NPAGES, "size");
	for (i = 0; i < NPAGES; i++) {
		T_CHECK(gntpool_get(p, &pg) == 0, "get %u", i);
		T_CHECK(pg.index == i, "get %u: index %u", i, pg.index);
		T_CHECK(pg.ref == gntpool_ref_of(p, i) && pg.addr == gntpool_addr_of(p, i),
			"get %u: accessors", i);
		T_CHECK(page_is(pg.addr, 0), "page %u not zeroed", i);
		memset(pg.addr, front_byte(i), HV_PAGE_SIZE);
		refs[i] = pg.ref;
	}
	T_CHECK(gntpool_free_count(p) == 0, "free count after taking all");
	T_CHECK(gntpool_get(p, &pg) == -ENOSPC, "get from an empty pool");
	return 0;
}

/* Front: put is a push, refusing what is not out. */
static int front_put_checks(struct gntpool *p)
{
	struct gntpool_page pg;

	T_CHECK(gntpool_put(p, NPAGES) == -EINVAL, "put past the end");
	T_CHECK(gntpool_put(p, UINT32_MAX) == -EINVAL, "put UINT_MAX");
	T_CHECK(gntpool_put(p, 3) == 0 && gntpool_put(p, 9) == 0, "put 3 and 9");
	T_CHECK(gntpool_put(p, 3) == -EINVAL, "double put accepted");
	T_CHECK(gntpool_free_count(p) == 2, "free count after puts");
	T_CHECK(gntpool_get(p, &pg) == 0 && pg.index == 9, "last put is first out");
	T_CHECK(gntpool_get(p, &pg) == 0 && pg.index == 3, "then the one before");
	T_CHECK(gntpool_get(p, &pg) == -ENOSPC, "empty again");
	return 0;
}

/* Front: destroy refused while HELD is mapped, and the page stays shared. */
static int front_destroy(struct gntpool *p)
{
	struct gntpool_page pg;
	char c;

	T_CHECK(gntpool_destroy(p) == -EBUSY, "destroy while the back-end maps a page");
	T_CHECK(gntpool_get(p, &pg) == -ESHUTDOWN, "get after destroy began");
	T_CHECK(gntpool_destroy(p) == -EBUSY, "destroy again, still mapped");
	T_CHECK(t_put(pipes.ab[1], "D", 1) == 0, "send D");
	T_CHECK(t_get(pipes.ba[0], &c, 1) == 0 && c == 'W', "back-end wrote and unmapped");
	T_CHECK(page_is(gntpool_addr_of(p, HELD), 0x5a), "held page lost the late write");
	T_CHECK(gntpool_destroy(p) == 0, "destroy after unmap");
	return 0;
}

static int front(void *arg)
{
	static struct pool_msg msg;
	struct gntpool *p, *ro;
	struct hv *hv;
	unsigned int i;
	char c;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0 && hv_domid(hv, &msg.front) == 0, "front: hv_open");
	T_CHECK(gntpool_create(&p, hv, back_domid, 0, true) == -EINVAL, "empty pool");
	T_CHECK(gntpool_create(&p, hv, back_domid, NPAGES, true) == 0, "create");
	T_CHECK(gntpool_create(&ro, hv, back_domid, 1, false) == 0, "create read-only");
	msg.ro_ref = gntpool_ref_of(ro, 0);
	T_CHECK(front_take_all(p, msg.refs) == 0, "take all");
	T_CHECK(front_put_checks(p) == 0, "puts");
	T_CHECK(t_put(pipes.ab[1], &msg, sizeof(msg)) == 0, "send refs");
	T_CHECK(t_get(pipes.ba[0], &c, 1) == 0 && c == 'H', "back-end holds a page");
	for (i = 0; i < NPAGES; i++)
		T_CHECK(page_is(gntpool_addr_of(p, i), back_byte(i)), "page %u: back's pattern", i);
	T_CHECK(gntpool_destroy(ro) == 0, "destroy the read-only pool");
	T_CHECK(front_destroy(p) == 0, "destroy");
	T_CHECK(t_put(pipes.ab[1], "E", 1) == 0, "send E");
	T_CHECK(t_get(pipes.ba[0], &c, 1) == 0 && c == 'X', "back-end done");
	hv_close(hv);
	return 0;
}

/* Back: map the whole pool at once, check the front's pattern, write ours. */
static int back_map_all(struct hv *hv, const struct pool_msg *msg)
{
	uint8_t *all;
	unsigned int i;

	T_CHECK(hv_grant_map(hv, msg->front, NPAGES, msg->refs, true, (void **)&all) == 0,
		"map %u pages", NPAGES);
	for (i = 0; i < NPAGES; i++) {
		T_CHECK(page_is(all + (size_t)i * HV_PAGE_SIZE, front_byte(i)), "page %u", i);
		memset(all + (size_t)i * HV_PAGE_SIZE, back_byte(i), HV_PAGE_SIZE);
	}
	T_CHECK(hv_grant_unmap(hv, all, NPAGES) == 0, "unmap all");
	return 0;
}

static int back_read_only(struct hv *hv, const struct pool_msg *msg)
{
	void *addr;

	T_CHECK(hv_grant_map(hv, msg->front, 1, &msg->ro_ref, true, &addr) == -EACCES,
		"writable map of a read-only pool");
	T_CHECK(hv_grant_map(hv, msg->front, 1, &msg->ro_ref, false, &addr) == 0, "read-only map");
	T_CHECK(hv_grant_unmap(hv, addr, 1) == 0, "unmap read-only");
	return 0;
}

static int back(void *arg)
{
	static struct pool_msg msg;
	struct hv *hv;
	uint8_t *held;
	void *addr;
	char c;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back: hv_open");
	T_CHECK(t_get(pipes.ab[0], &msg, sizeof(msg)) == 0, "receive refs");
	T_CHECK(back_map_all(hv, &msg) == 0, "map all");
	T_CHECK(back_read_only(hv, &msg) == 0, "read-only");
	T_CHECK(hv_grant_map(hv, msg.front, 1, &msg.refs[HELD], true, (void **)&held) == 0,
		"map the held page");
	T_CHECK(t_put(pipes.ba[1], "H", 1) == 0, "send H");
	T_CHECK(t_get(pipes.ab[0], &c, 1) == 0 && c == 'D', "destroy refused");
	/* The share the back-end did not map has ended; the held page is still ours. */
	T_CHECK(hv_grant_map(hv, msg.front, 1, &msg.refs[0], true, &addr) < 0,
		"page 0 still granted after destroy");
	memset(held, 0x5a, HV_PAGE_SIZE);
	T_CHECK(hv_grant_unmap(hv, held, 1) == 0, "unmap the held page");
	T_CHECK(t_put(pipes.ba[1], "W", 1) == 0, "send W");
	T_CHECK(t_get(pipes.ab[0], &c, 1) == 0 && c == 'E', "pool destroyed");
	T_CHECK(hv_grant_map(hv, msg.front, 1, &msg.refs[HELD], true, &addr) < 0,
		"held page still granted after destroy");
	T_CHECK(t_put(pipes.ba[1], "X", 1) == 0, "send X");
	hv_close(hv);
	return 0;
}

int main(void)
{
	pid_t fpid, bpid;

	T_CHECK(t_hv_start() == 0, "pvio-hv did not start");
	T_CHECK(t_link_init(&pipes) == 0, "pipes");
	T_CHECK(t_domain_fork("back", back, NULL, &back_domid, &bpid) == 0, "fork back");
	T_CHECK(t_domain_fork("front", front, NULL, NULL, &fpid) == 0, "fork front");
	T_CHECK(t_wait(fpid) == 0, "front-end failed");
	T_CHECK(t_wait(bpid) == 0, "back-end failed");
	return T_PASS;
}
