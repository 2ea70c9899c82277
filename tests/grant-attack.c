/* SPDX-License-Identifier: MIT */
/*
 * grant-attack.c - the stage of the grant attack tests (grant-attack.h): the victim, the
 * back-end and the attacker domains of an embedded hypervisor, and the raw tools an attack
 * uses.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/grant-attack.h"
#include "tests/hv-test.h"
#include "launch/embed.h"

/* A command down a pipe, and its answer. */
struct ga_msg {
	uint32_t op;	 /* 'r' round, 'c' check, 'h' hold, 'd' read held, 'q' quit */
	uint32_t arg[2]; /* per op */
};

/* The pipes of the stage: commands from the test, answers back. */
struct ga_pipes {
	int vcmd[2], vrep[2]; /* victim */
	int bcmd[2], brep[2]; /* back-end */
};

static struct ga_pipes p;

static int send_cmd(int fd, uint32_t op, uint32_t a, uint32_t b)
{
	struct ga_msg m = { .op = op, .arg = { a, b } };

	return t_put(fd, &m, sizeof(m));
}

/* Send a command and wait for its answer: 0 when the other side says it went well. */
static int call(int cmd, int rep, uint32_t op, uint32_t a, uint32_t b)
{
	int32_t st;

	if (send_cmd(cmd, op, a, b) < 0 || t_get(rep, &st, sizeof(st)) < 0)
		return -1;
	return st;
}

static int answer(int fd, int st)
{
	int32_t v = st;

	return t_put(fd, &v, sizeof(v));
}

/* The victim's pages. */
struct victim_pages {
	char *rw, *ro_back, *ro_att; /* shared with the back-end (2) and the attacker */
};

static int victim_share(struct hv *hv, struct ga_refs *r, struct victim_pages *vp)
{
	char *ended;

	T_CHECK(hv_grant_share(hv, r->back, 1, true, (void **)&vp->rw, &r->back_rw) == 0,
		"victim: share writable");
	T_CHECK(hv_grant_share(hv, r->back, 1, false, (void **)&vp->ro_back, &r->back_ro) == 0,
		"victim: share read-only");
	T_CHECK(hv_grant_share(hv, r->attacker, 1, false, (void **)&vp->ro_att, &r->att_ro) == 0,
		"victim: share with the attacker");
	strcpy(vp->ro_att, GA_RO_TEXT);
	T_CHECK(hv_grant_share(hv, r->attacker, 1, false, (void **)&ended, &r->att_ended) == 0 &&
		    hv_grant_end(hv, ended, 1) == 0,
		"victim: share and end");
	r->unused = r->att_ended + 1000;
	return 0;
}

static int victim_round(struct victim_pages *vp, uint32_t op, uint32_t gen)
{
	char want[64];

	if (op == 'r') {
		snprintf(vp->rw, 64, GA_SECRET "%u", gen);
		snprintf(vp->ro_back, 64, GA_SECRET "%u", gen);
		memset(vp->rw + 2048, 0, 64);
		return 0;
	}
	snprintf(want, sizeof(want), "back-end's answer %u", gen);
	T_CHECK(!strcmp(vp->rw + 2048, want), "victim: the back-end's answer is \"%.63s\"",
		vp->rw + 2048);
	T_CHECK(!strcmp(vp->ro_att, GA_RO_TEXT), "victim: read-only page now \"%.63s\"",
		vp->ro_att);
	return 0;
}

static int victim(void *arg)
{
	struct ga_refs *r = arg;
	struct victim_pages vp;
	struct ga_msg m;
	struct hv *hv;

	T_CHECK(hv_open(&hv, NULL) == 0, "victim: hv_open");
	T_CHECK(victim_share(hv, r, &vp) == 0, "victim: shares");
	T_CHECK(t_put(p.vrep[1], r, sizeof(*r)) == 0, "victim: send refs");
	while (t_get(p.vcmd[0], &m, sizeof(m)) == 0 && m.op != 'q')
		T_CHECK(answer(p.vrep[1], victim_round(&vp, m.op, m.arg[0])) == 0,
			"victim: answer");
	T_CHECK(hv_grant_end(hv, vp.rw, 1) == 0 && hv_grant_end(hv, vp.ro_back, 1) == 0 &&
		    hv_grant_end(hv, vp.ro_att, 1) == 0,
		"victim: end its grants");
	hv_close(hv);
	return 0;
}

/* The back-end's round: map both pages, check the victim's data, answer. */
static int back_round(struct hv *hv, const struct ga_refs *r, uint32_t gen)
{
	char want[64], *rw, *ro;

	snprintf(want, sizeof(want), GA_SECRET "%u", gen);
	T_CHECK(hv_grant_map(hv, r->victim, 1, &r->back_rw, true, (void **)&rw) == 0,
		"back-end: map writable");
	T_CHECK(hv_grant_map(hv, r->victim, 1, &r->back_ro, false, (void **)&ro) == 0,
		"back-end: map read-only");
	T_CHECK(!strcmp(rw, want) && !strcmp(ro, want), "back-end: the victim's data");
	snprintf(rw + 2048, 64, "back-end's answer %u", gen);
	T_CHECK(hv_grant_unmap(hv, rw, 1) == 0 && hv_grant_unmap(hv, ro, 1) == 0,
		"back-end: unmap");
	return 0;
}

/* Read every byte of the held page (a SIGBUS would kill us), then unmap it. */
static int back_read(struct hv *hv, volatile char *held)
{
	unsigned int sum = 0;

	T_CHECK(held, "back-end: nothing held");
	for (size_t i = 0; i < HV_PAGE_SIZE; i++)
		sum += (unsigned char)held[i];
	(void)sum;
	T_CHECK(hv_grant_unmap(hv, (void *)held, 1) == 0, "back-end: unmap the held page");
	return 0;
}

static int back_cmd(struct hv *hv, const struct ga_refs *r, const struct ga_msg *m, char **held)
{
	grant_ref_t ref = m->arg[1];

	switch (m->op) {
	case 'r':
		return back_round(hv, r, m->arg[0]);
	case 'h':
		T_CHECK(hv_grant_map(hv, (domid_t)m->arg[0], 1, &ref, false, (void **)held) == 0,
			"back-end: map the page to hold");
		return 0;
	case 'd':
		T_CHECK(back_read(hv, *held) == 0, "back-end: read");
		*held = NULL;
		return 0;
	default:
		return 1;
	}
}

static int back(void *arg)
{
	struct ga_refs r;
	struct ga_msg m;
	char *held = NULL;
	struct hv *hv;

	(void)arg;
	T_CHECK(hv_open(&hv, NULL) == 0, "back-end: hv_open");
	T_CHECK(t_get(p.bcmd[0], &r, sizeof(r)) == 0, "back-end: refs");
	while (t_get(p.bcmd[0], &m, sizeof(m)) == 0 && m.op != 'q')
		T_CHECK(answer(p.brep[1], back_cmd(hv, &r, &m, &held)) == 0, "back-end: answer");
	hv_close(hv);
	return 0;
}

int ga_back_hold(struct ga_ctx *c, domid_t granter, grant_ref_t ref)
{
	return call(c->back_cmd, c->back_rep, 'h', granter, ref) == 0 ? 0 : -1;
}

int ga_back_read(struct ga_ctx *c)
{
	return call(c->back_cmd, c->back_rep, 'd', 0, 0) == 0 ? 0 : -1;
}

/* One round of work between the victim and the back-end. */
static int round_trip(uint32_t gen)
{
	T_CHECK(call(p.vcmd[1], p.vrep[0], 'r', gen, 0) == 0, "victim: round %u", gen);
	T_CHECK(call(p.bcmd[1], p.brep[0], 'r', gen, 0) == 0, "back-end: round %u", gen);
	T_CHECK(call(p.vcmd[1], p.vrep[0], 'c', gen, 0) == 0, "victim: check %u", gen);
	return 0;
}

static int (*the_attack)(struct ga_ctx *c);

static int attacker(void *arg)
{
	return the_attack(arg);
}

static int pipes_open(void)
{
	int *all[] = { p.vcmd, p.vrep, p.bcmd, p.brep };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (pipe2(all[i], O_CLOEXEC) < 0)
			return -1;
	return 0;
}

/* Start the victim and the back-end, and see them work once. */
static int stage_start(struct embed *e, struct ga_ctx *c, pid_t *pv, pid_t *pb)
{
	T_CHECK(embed_domain_create(e, "victim", &c->r.victim) == 0, "create victim");
	T_CHECK(embed_domain_create(e, "back", &c->r.back) == 0, "create back-end");
	T_CHECK(embed_domain_create(e, "attacker", &c->r.attacker) == 0, "create attacker");
	T_CHECK(pipes_open() == 0, "pipes");
	T_CHECK(embed_domain_fork(e, c->r.back, back, NULL, pb) == 0, "fork back-end");
	T_CHECK(embed_domain_fork(e, c->r.victim, victim, &c->r, pv) == 0, "fork victim");
	T_CHECK(t_get(p.vrep[0], &c->r, sizeof(c->r)) == 0, "refs from the victim");
	T_CHECK(t_put(p.bcmd[1], &c->r, sizeof(c->r)) == 0, "refs to the back-end");
	T_CHECK(round_trip(1) == 0, "before the attack");
	c->back_cmd = p.bcmd[1];
	c->back_rep = p.brep[0];
	return 0;
}

int ga_run(int (*attack)(struct ga_ctx *c))
{
	struct embed_opts opts = { .die_with_parent = true };
	struct ga_ctx c;
	struct embed *e;
	pid_t pv, pb, pa;

	t_time_limit(120);
	if (t_own_uids_or_skip())
		return T_SKIP;
	memset(&c, 0, sizeof(c));
	T_CHECK(embed_start(&e, &opts) == 0, "embed_start");
	T_CHECK(stage_start(e, &c, &pv, &pb) == 0, "stage");
	the_attack = attack;
	T_CHECK(embed_domain_fork(e, c.r.attacker, attacker, &c, &pa) == 0, "fork attacker");
	T_CHECK(t_wait(pa) == 0, "the attack did not fail as it should");
	T_CHECK(round_trip(2) == 0, "the victim and its back-end after the attack");
	T_CHECK(send_cmd(p.vcmd[1], 'q', 0, 0) == 0 && t_wait(pv) == 0, "victim's end");
	T_CHECK(send_cmd(p.bcmd[1], 'q', 0, 0) == 0 && t_wait(pb) == 0, "back-end's end");
	T_CHECK(embed_stop(e) == 0, "embed_stop");
	return T_PASS;
}

int ga_attach(int *sock, domid_t granter, int fds[5], uint32_t *pages)
{
	struct hvsim_msg hello, rep;
	unsigned int n = 0;
	int ret;

	ret = t_session_open(sock, &hello, NULL);
	if (ret < 0)
		return ret;
	for (int i = 0; i < 5; i++)
		fds[i] = -1;
	ret = t_rpc(*sock, HVSIM_GRANT_ATTACH, (uint32_t[]){ granter }, 1, &rep, fds, 5, &n);
	if (ret < 0)
		return ret;
	*pages = rep.arg[1];
	/* Fewer fds is an older protocol: the checks on what is there still say what leaks. */
	return n >= 4 ? 0 : -EPROTO;
}

int ga_mmap_errno(int fd, size_t len, int prot)
{
	void *m = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		return -errno;
	munmap(m, len);
	return 0;
}

int ga_reopen_as_other(int fd, int flags)
{
	char path[64];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int nfd;

		/* In a domain's user namespace 65534 is not mapped (EINVAL): the domain's own uid
		 * is already another than pvio-hv's, so the reopen is tried as it is. */
		if ((setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0) &&
		    errno != EINVAL)
			_exit(255);
		nfd = open(path, flags);
		_exit(nfd >= 0 ? 0 : errno);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return -ECHILD;
	return -WEXITSTATUS(status);
}
