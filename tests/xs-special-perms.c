/* SPDX-License-Identifier: MIT */
/*
 * xs-special-perms.c - dom0 lets a domain (a driver domain, say) watch
 * @introduceDomain by SET_PERMS on it, as xenstore.txt describes: that
 * domain then hears of introductions, one without read permission does
 * not, nor does either hear of @releaseDomain left closed; only dom0 (the
 * owner) changes the permissions, and GET_PERMS shows them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* A domain's handle watching both special paths, registration events read. */
static struct xs_handle *watcher(unsigned int domid)
{
	struct xs_handle *h = t_xs_open_domain(domid);

	if (!h || !xs_watch(h, "@introduceDomain", "in") || !xs_watch(h, "@releaseDomain", "out"))
		return NULL;
	free(t_xs_event(h, 2000));
	free(t_xs_event(h, 2000));
	return h;
}

static int check_perms(struct xs_handle *h, struct xs_handle *dd, struct xs_handle *other)
{
	struct xs_permissions mine[2] = { { 5, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	struct xs_permissions *p;
	unsigned int num;

	T_CHECK((p = xs_get_permissions(h, XBT_NULL, "@introduceDomain", &num)), "dom0 GET_PERMS");
	T_CHECK(num == 2 && p[0].id == 0 && p[0].perms == XS_PERM_NONE && p[1].id == 5 &&
		    p[1].perms == XS_PERM_READ,
		"perms as set");
	free(p);
	T_CHECK((p = xs_get_permissions(dd, XBT_NULL, "@introduceDomain", &num)),
		"GET_PERMS by the domain given r");
	free(p);
	T_CHECK(!xs_get_permissions(other, XBT_NULL, "@introduceDomain", &num) && errno == EACCES,
		"GET_PERMS by another domain: EACCES");
	T_CHECK(!xs_set_permissions(dd, XBT_NULL, "@introduceDomain", mine, 2) && errno == EACCES,
		"SET_PERMS by a non-owner: EACCES");
	T_CHECK(!xs_get_permissions(h, XBT_NULL, "@nosuch", &num) && errno == ENOENT,
		"unknown special path: ENOENT");
	return 0;
}

int main(void)
{
	struct xs_permissions give[2] = { { 0, XS_PERM_NONE }, { 5, XS_PERM_READ } };
	struct xs_handle *h, *dd, *other;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK(xs_introduce_domain(h, 5, 0, 0) && xs_introduce_domain(h, 6, 0, 0), "INTRODUCE");
	T_CHECK((dd = watcher(5)) && (other = watcher(6)), "domain watches");
	T_CHECK(xs_introduce_domain(h, 7, 0, 0), "INTRODUCE 7");
	T_CHECK(!t_xs_event(dd, 300) && !t_xs_event(other, 300), "no events without permission");
	T_CHECK(xs_set_permissions(h, XBT_NULL, "@introduceDomain", give, 2), "dom0 SET_PERMS");
	if (check_perms(h, dd, other))
		return T_FAIL;
	T_CHECK(xs_introduce_domain(h, 8, 0, 0), "INTRODUCE 8");
	T_CHECK(t_xs_expect(dd, "@introduceDomain", "in", 2000), "domain with r hears it");
	T_CHECK(!t_xs_event(other, 300), "domain without r does not");
	T_CHECK(xs_release_domain(h, 8), "RELEASE 8");
	T_CHECK(!t_xs_event(dd, 300), "@releaseDomain stays closed");
	xs_close(dd);
	xs_close(other);
	xs_close(h);
	return T_PASS;
}
