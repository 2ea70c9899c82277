/* SPDX-License-Identifier: MIT */
/*
 * xs-control-quota.c - CONTROL "quota" as xenstore-control sends it:
 * "quota" lists the settings, "quota set NAME VALUE" changes one at run
 * time (and the new limit binds), "quota DOMID" shows a domain's usage;
 * unknown names, bad values and unknown domains fail.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* CONTROL quota with args (NUL-separated, len bytes): the reply, or NULL with errno. */
static char *quota(struct xs_handle *h, const char *args, unsigned int len)
{
	return xs_control_command(h, "quota", (void *)args, len);
}

/* Whether the listing has the line "name: value ...". */
static bool has_setting(const char *list, const char *name, unsigned int value)
{
	char want[64];
	const char *p;

	for (p = list; (p = strstr(p, name)); p++) {
		if (p != list && p[-1] != '\n')
			continue;
		snprintf(want, sizeof(want), ": %8u ", value);
		if (!strncmp(p + 17, want, strlen(want)))
			return true;
	}
	return false;
}

static int check_domain(struct xs_handle *h)
{
	struct xs_handle *g;
	char *r;

	T_CHECK(xs_introduce_domain(h, 4, 0, 0), "INTRODUCE 4");
	T_CHECK((g = t_xs_open_domain(4)), "domain xs_open");
	T_CHECK(xs_write(g, XBT_NULL, "a", "", 0), "domain writes its first node");
	T_CHECK(!xs_write(g, XBT_NULL, "b", "", 0) && errno == ENOSPC,
		"nodes=2 binds: home + a, then ENOSPC");
	T_CHECK(!xs_control_command(g, "quota", NULL, 0) && errno == EACCES,
		"CONTROL from a domain: EACCES");
	xs_close(g);
	T_CHECK((r = quota(h, "4", 2)), "quota 4");
	T_CHECK(!strncmp(r, "Domain 4:\n", 10) && strstr(r, "\nnodes            :        2\n"),
		"domain usage: %s", r);
	free(r);
	T_CHECK(!quota(h, "9", 2) && errno == ENOENT, "quota of an unknown domain: ENOENT");
	return 0;
}

int main(void)
{
	struct xs_handle *h;
	char *r;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()), "xs_open");
	T_CHECK((r = quota(h, NULL, 0)), "quota");
	T_CHECK(!strncmp(r, "Quota settings:\n", 16) && has_setting(r, "nodes", 1000) &&
		    has_setting(r, "watches", 128) && has_setting(r, "transactions", 10),
		"cxenstored's defaults listed: %s", r);
	free(r);
	T_CHECK((r = quota(h, "set\0nodes\0002", 12)), "quota set nodes 2");
	T_CHECK(!strcmp(r, "OK"), "quota set answers OK");
	free(r);
	T_CHECK((r = quota(h, NULL, 0)) && has_setting(r, "nodes", 2), "new value listed");
	free(r);
	T_CHECK(!quota(h, "set\0bogus\0005", 12) && errno == EINVAL, "unknown name: EINVAL");
	T_CHECK(!quota(h, "set\0nodes\0000", 12) && errno == EINVAL, "value 0: EINVAL");
	T_CHECK(!quota(h, "set\0nodes\0x", 12) && errno == EINVAL, "non-number: EINVAL");
	T_CHECK(!quota(h, "set\0nodes", 10) && errno == EINVAL, "missing value: EINVAL");
	if (check_domain(h))
		return T_FAIL;
	xs_close(h);
	return T_PASS;
}
