/* SPDX-License-Identifier: MIT */
/*
 * grant-attack.h - the stage of the grant attack tests (tests/grant-attack-*.c): an embedded
 * hypervisor (launch/embed.h) with three guest domains.  The victim shares pages with the
 * back-end domain (one writable, one read-only) and with the attacker (one read-only page
 * holding GA_RO_TEXT, one already ended); the back-end maps and checks them each round and
 * writes an answer into the writable one.  The attack runs in a process forked into the
 * attacker domain and returns 0 when every attempt failed with the expected error; the victim
 * and the back-end must then still work (another round) and the victim's read-only page for
 * the attacker must still hold GA_RO_TEXT.
 *
 *	static int attack(struct ga_ctx *c) { ... T_CHECK(...); return 0; }
 *	int main(void) { return ga_run(attack); }
 */
#ifndef PVIO_TESTS_GRANT_ATTACK_H
#define PVIO_TESTS_GRANT_ATTACK_H

#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "hv/simproto.h"

/* What the victim's read-only page for the attacker holds, and must keep holding. */
#define GA_RO_TEXT "victim's read-only page"
/* What the victim writes into its pages for the back-end: a secret to the attacker. */
#define GA_SECRET "victim's secret for the back-end, round "

/* Who is who, and the refs the victim handed out. */
struct ga_refs {
	domid_t victim, back, attacker;
	grant_ref_t back_rw;   /* victim -> back-end, writable */
	grant_ref_t back_ro;   /* victim -> back-end, read-only */
	grant_ref_t att_ro;    /* victim -> attacker, read-only, holding GA_RO_TEXT */
	grant_ref_t att_ended; /* victim -> attacker, ended before the attack */
	grant_ref_t unused;    /* a ref the victim never filled */
};

/* What an attack gets. */
struct ga_ctx {
	struct ga_refs r;
	int back_cmd, back_rep; /* pipes to the back-end, for ga_back_hold and ga_back_read */
};

/* Run the stage with attack in the attacker domain: T_PASS, or T_FAIL after saying why. */
int ga_run(int (*attack)(struct ga_ctx *c));

/* Ask the back-end to map granter's ref read-only and keep it mapped: 0 or -1. */
int ga_back_hold(struct ga_ctx *c, domid_t granter, grant_ref_t ref);
/* Ask the back-end to read all of the page it holds and unmap it: 0 if it could, else -1. */
int ga_back_read(struct ga_ctx *c);

/*
 * A raw session of the calling domain with pvio-hv (tests/helpers.c t_session_open) and
 * GRANT_ATTACH to granter: 0 and the five fds (table, read-only pool, writable pool, active
 * table, pin records) and the pages per pool, or a negative errno.
 */
int ga_attach(int *sock, domid_t granter, int fds[5], uint32_t *pages);

/* Whether the mapping of len bytes of fd at offset can be made with prot: 0 or -errno. */
int ga_mmap_errno(int fd, size_t len, int prot);

/* As a process of another uid (forked, setresuid), open /proc/self/fd/<fd> with flags: 0 or -errno.
 */
int ga_reopen_as_other(int fd, int flags);

#endif
