/* SPDX-License-Identifier: MIT */
/*
 * blkback-journal: the in-flight journal's recovery edges (backend/blk/journal.c), driven
 * directly.  Requests are taken and answered through the API; then the file is edited into
 * what a kill -9 leaves at each point between two of its stores (between a take's state and its
 * req_cons, between an answer's answered_at and its rsp_prod_pvt, and between that and the
 * slot's release), and the load must list exactly the requests to execute again.  Corrupt,
 * foreign, resized, loosened (mode 0644), linked and missing journals are refused with
 * -EBADMSG; a journal whose ring mark is not the ring's now, -ESTALE, and one of version 2
 * (no mark) loads; a fresh journal replaces any of them; executing a request again from a journal
 * does not move req_cons back.  The persistent-grant record beside a journal reads back what
 * was recorded and is refused when damaged or another front-end's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/blk/journal.h"
#include "tests/helpers.h"

#define NR 4 /* ring entries */

static const grant_ref_t refs[1] = { 7 };
static const struct blkback_journal_id id = {
	.frontend = 3, .order = 0, .nr_ents = NR, .refs = refs, .mark = 0x0123456789abcdefull
};
static char dir[] = "/tmp/pvio-journal-XXXXXX";
static int dfd;

/* Request n, taken at ring index n. */
static struct blkif_request req_of(uint64_t n)
{
	struct blkif_request r;

	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_WRITE;
	r.nr_segments = 1;
	r.id = n;
	r.sector_number = 8 * n;
	return r;
}

/* The file "j", mapped: to build what a kill leaves, and corruptions. */
static struct journal_head *raw(size_t *size)
{
	int fd = openat(dfd, "j", O_RDWR);
	struct stat st;
	void *m;

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	*size = (size_t)st.st_size;
	m = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

/* Load "j": a mask of the request ids to execute again (each at its own index), or -errno. */
static int pending(const char *name, uint32_t *req_cons, uint32_t *rsp)
{
	struct blkback_journal *j;
	struct blkif_request r;
	uint32_t slot = 0, idx, dummy[2];
	int mask = 0, rc = blkback_journal_open(&j, dfd, name, &id, false, 0);

	if (rc)
		return rc;
	blkback_journal_indices(j, req_cons ? req_cons : &dummy[0], rsp ? rsp : &dummy[1]);
	while (blkback_journal_next(j, &slot, &idx, &r)) {
		if (idx != r.id || r.sector_number != 8 * r.id || r.id > 30)
			mask = -EILSEQ;
		else if (mask >= 0)
			mask |= 1 << r.id;
	}
	blkback_journal_close(j);
	return mask;
}

/* Take requests 0 and 1, answer 1 (into response 0); check the load. */
static int first_steps(void)
{
	struct blkif_request r0 = req_of(0), r1 = req_of(1);
	struct blkback_journal *j;
	uint32_t rc_, rp;
	struct stat st;

	T_CHECK(blkback_journal_open(&j, dfd, "j", &id, true, 0) == 0, "fresh");
	T_CHECK(fstatat(dfd, "j", &st, 0) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	blkback_journal_take(j, 0, 0, &r0);
	blkback_journal_take(j, 1, 1, &r1);
	blkback_journal_answer(j, 1, 0);
	blkback_journal_close(j); /* kill -9 here loses nothing more: the stores are in the file */
	T_CHECK(pending("j", &rc_, &rp) == 1 && rc_ == 2 && rp == 1, "0 pending, indices 2/1");
	return 0;
}

/* Request 2 through the kill points of a take and of an answer. */
static int kill_points(struct journal_head *h)
{
	struct journal_slot *s = &h->slots[2];

	s->req = req_of(2);
	s->req_idx = 2;
	s->answered = 0;
	s->state = SLOT_TAKEN; /* killed before req_cons: the ring still has it */
	T_CHECK(pending("j", NULL, NULL) == 1, "taken, req_cons not stored: consumed again");
	h->req_cons = 3;
	T_CHECK(pending("j", NULL, NULL) == 5, "taken: executed again");
	s->answered_at = 1;
	s->answered = 1; /* killed before rsp_prod_pvt: its response was never pushed */
	T_CHECK(pending("j", NULL, NULL) == 5, "answered, not counted: executed again");
	h->rsp_prod_pvt = 2; /* killed before the release */
	T_CHECK(pending("j", NULL, NULL) == 1, "answered and counted: not again");
	s->state = SLOT_FREE;
	T_CHECK(pending("j", NULL, NULL) == 1, "released");
	return 0;
}

/* One corruption of the header or a slot at a time, each refused, then undone. */
static int corruptions(struct journal_head *h, size_t size)
{
	struct journal_head *save = malloc(size);
	uint32_t *fields[] = { &h->magic,    &h->version,	 &h->frontend,
			       &h->order,    &h->nr_ents,	 &h->refs[0],
			       &h->req_cons, &h->slots[0].state, &h->slots[NR].answered };
	const char *names[] = { "magic",    "version",	"frontend",   "order",	 "nr_ents",
				"ring ref", "req_cons", "slot state", "answered" };

	T_CHECK(save, "malloc");
	memcpy(save, h, size);
	for (unsigned int i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		*fields[i] += 7;
		T_CHECK(pending("j", NULL, NULL) == -EBADMSG, "corrupt %s accepted", names[i]);
		memcpy(h, save, size);
	}
	h->rsp_prod_pvt = h->req_cons + 1; /* more answered than taken */
	T_CHECK(pending("j", NULL, NULL) == -EBADMSG, "rsp_prod_pvt past req_cons accepted");
	memcpy(h, save, size);
	h->req_cons += 1; /* one consumed request in no slot */
	T_CHECK(pending("j", NULL, NULL) == -EBADMSG, "slots that do not add up accepted");
	memcpy(h, save, size);
	free(save);
	T_CHECK(pending("j", NULL, NULL) == 1, "restored");
	return 0;
}

/*
 * The tail's mark (the ring's when the journal started): another one is -ESTALE (the front set
 * its ring up anew); a journal of version 2, which ends at its slots, loads with no mark.
 */
static int marks(struct journal_head *h, size_t size)
{
	struct journal_tail *t = (void *)((char *)h + size - sizeof(*t)), save = *t;
	uint32_t mi = 99;
	int fd;

	T_CHECK(t->mark_lo == 0x89abcdefu && t->mark_hi == 0x01234567u, "mark recorded: %x %x",
		t->mark_lo, t->mark_hi);
	for (unsigned int w = 0; w < 2; w++) {
		(w ? &t->mark_hi : &t->mark_lo)[0] ^= 1u << 31;
		T_CHECK(pending("j", NULL, NULL) == -ESTALE, "another mark (word %u) accepted", w);
		T_CHECK(blkback_journal_peek(dfd, "j", &id, &mi) == -ESTALE && mi == 0,
			"peek: another mark (word %u)", w);
		h->magic ^= 1; /* not ours at all: that comes first */
		T_CHECK(pending("j", NULL, NULL) == -EBADMSG, "a corrupt journal said stale");
		h->magic ^= 1;
		*t = save;
	}
	T_CHECK(pending("j", NULL, NULL) == 1, "restored");
	fd = openat(dfd, "j", O_RDWR);
	T_CHECK(fd >= 0 && ftruncate(fd, (off_t)(size - sizeof(*t))) == 0, "cut the tail");
	T_CHECK(pending("j", NULL, NULL) == -EBADMSG, "version 3 without its tail accepted");
	T_CHECK(blkback_journal_peek(dfd, "j", &id, &mi) == -EBADMSG, "peek: no tail");
	h->version = 2;
	T_CHECK(pending("j", NULL, NULL) == 1, "a version 2 journal refused");
	T_CHECK(blkback_journal_peek(dfd, "j", &id, &mi) == 0, "peek: version 2");
	h->version = JOURNAL_VERSION;
	T_CHECK(ftruncate(fd, (off_t)size) == 0, "the tail back");
	close(fd);
	h->version = 2;
	T_CHECK(pending("j", NULL, NULL) == -EBADMSG, "version 2 with a tail accepted");
	h->version = JOURNAL_VERSION;
	*t = save;
	T_CHECK(pending("j", NULL, NULL) == 1, "restored");
	return 0;
}

/* The file itself: its mode, its size, a link, its absence, a name with a slash. */
static int files(void)
{
	struct blkback_journal *j;

	T_CHECK(fchmodat(dfd, "j", 0644, 0) == 0, "chmod");
	T_CHECK(pending("j", NULL, NULL) == -EBADMSG, "mode 0644 accepted");
	T_CHECK(fchmodat(dfd, "j", 0600, 0) == 0, "chmod");
	T_CHECK(symlinkat("j", dfd, "l") == 0, "symlink");
	T_CHECK(pending("l", NULL, NULL) == -EBADMSG, "a symbolic link followed");
	T_CHECK(pending("none", NULL, NULL) == -EBADMSG, "a missing journal");
	T_CHECK(blkback_journal_open(&j, dfd, "a/b", &id, true, 0) == -EINVAL, "a slash");
	/* A fresh journal replaces the link itself, never what it points to. */
	T_CHECK(blkback_journal_open(&j, dfd, "l", &id, true, 5) == 0, "fresh over a link");
	blkback_journal_close(j);
	T_CHECK(pending("j", NULL, NULL) == 1, "the link's target untouched");
	return 0;
}

/* Executing request 0 again from the journal leaves req_cons where it was. */
static int take_again(void)
{
	struct blkif_request r0 = req_of(0);
	struct blkback_journal *j;
	uint32_t rc_, rp;

	T_CHECK(blkback_journal_open(&j, dfd, "j", &id, false, 0) == 0, "load");
	blkback_journal_take(j, 0, 0, &r0);
	blkback_journal_indices(j, &rc_, &rp);
	T_CHECK(rc_ == 3 && rp == 2, "indices %u/%u after executing again", rc_, rp);
	blkback_journal_close(j);
	T_CHECK(blkback_journal_open(&j, dfd, "j", &id, true, 9) == 0, "fresh over it");
	blkback_journal_close(j);
	T_CHECK(pending("j", &rc_, &rp) == 0 && rc_ == 9 && rp == 9, "fresh: empty at 9");
	return 0;
}

/*
 * The persistent-grant record (j.grants) and the peek a successor makes before a hand-over:
 * what is recorded reads back, a journal of another ring or a damaged record is refused.
 */
static int grants(void)
{
	static const grant_ref_t other_refs[1] = { 8 };
	struct blkback_journal_id other = id;
	grant_ref_t got[8];
	uint32_t *rec, mi = 99;
	unsigned int n;
	size_t size;
	int fd;

	T_CHECK(blkback_journal_peek(dfd, "j", &id, &mi) == 0 && mi == 0, "peek: %u", mi);
	other.refs = other_refs;
	T_CHECK(blkback_journal_peek(dfd, "j", &other, &mi) == -EBADMSG, "another ring's journal");
	T_CHECK(blkback_grants_peek(dfd, "j", 3, got, 8, &n) == -EBADMSG, "no record yet");
	T_CHECK(blkback_grants_open(dfd, "j", 3, 4, &rec, &size) == 0, "record");
	rec[0] = 41 + 1;
	rec[2] = 0 + 1; /* reference 0 */
	T_CHECK(blkback_grants_peek(dfd, "j", 3, got, 8, &n) == 0 && n == 2 && got[0] == 41 &&
		    got[1] == 0,
		"read back: %u", n);
	T_CHECK(blkback_grants_peek(dfd, "j", 3, got, 1, &n) == 0 && n == 1, "bounded: %u", n);
	T_CHECK(blkback_grants_peek(dfd, "j", 4, got, 8, &n) == -EBADMSG, "another front-end's");
	blkback_grants_close(rec, size);
	fd = openat(dfd, "j.grants", O_RDWR);
	T_CHECK(fd >= 0 && ftruncate(fd, (off_t)size - 4) == 0, "shorten");
	close(fd);
	T_CHECK(blkback_grants_peek(dfd, "j", 3, got, 8, &n) == -EBADMSG && n == 0, "short record");
	blkback_grants_remove(dfd, "j");
	T_CHECK(faccessat(dfd, "j.grants", F_OK, 0) < 0, "removed");
	return 0;
}

int main(void)
{
	struct journal_head *h;
	size_t size;
	int ret;

	t_time_limit(30);
	T_CHECK(mkdtemp(dir), "mkdtemp");
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	T_CHECK(dfd >= 0, "open %s", dir);
	ret = first_steps();
	h = ret ? NULL : raw(&size);
	if (h)
		ret = kill_points(h) || corruptions(h, size) || marks(h, size) || files() ||
		      take_again() || grants();
	if (h)
		munmap(h, size);
	unlinkat(dfd, "j", 0);
	unlinkat(dfd, "l", 0);
	rmdir(dir);
	T_CHECK(ret == 0 && h, "journal");
	return T_PASS;
}
