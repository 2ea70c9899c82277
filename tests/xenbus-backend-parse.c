/* SPDX-License-Identifier: MIT */
/*
 * xenbus-backend-parse.c - xenbus_backend_parse (xenbus/backend.h), the directory name blkback
 * and netback both take a device's identity from: the canonical form parses; a number that
 * wraps 32 bits (4294967296 would be domain 0), a sign, white space, a leading zero (a second
 * directory naming the same vif and TAP), an empty or over-long field, trailing text, a kind of
 * other characters and a name of 4 KiB are all refused.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tests/helpers.h"
#include "xenbus/backend.h"

static int good(const char *path, const char *kind, unsigned int fe, unsigned int devid)
{
	char k[16];
	unsigned int f = ~0u, d = ~0u;

	T_CHECK(xenbus_backend_parse(path, k, &f, &d) == 0, "%s refused", path);
	T_CHECK(!strcmp(k, kind) && f == fe && d == devid, "%s: %s %u %u", path, k, f, d);
	return 0;
}

static int bad(const char *path)
{
	char k[16];
	unsigned int f = ~0u, d = ~0u;

	T_CHECK(xenbus_backend_parse(path, k, &f, &d) == -EINVAL, "%s parsed as %s %u %u", path, k,
		f, d);
	return 0;
}

static char longname[4096];

int main(void)
{
	static const char *const refused[] = {
		"/local/domain/0/backend/vif/4294967296/0", /* wraps to domain 0 */
		"/local/domain/0/backend/vif/1/4294967296",
		"/local/domain/0/backend/vif/18446744073709551617/0",
		"/local/domain/4294967296/backend/vif/1/0",
		"/local/domain/0/backend/vif/-1/0",
		"/local/domain/0/backend/vif/-4294967295/0", /* strtoul makes it 1 */
		"/local/domain/0/backend/vif/+1/0",
		"/local/domain/0/backend/vif/ 1/0",
		"/local/domain/0/backend/vif/1/ 0",
		"/local/domain/0/backend/vif/01/0", /* the same vif as .../1/0 */
		"/local/domain/0/backend/vif/1/00",
		"/local/domain/0/backend/vif//0",
		"/local/domain/0/backend/vif/1/",
		"/local/domain/0/backend/vif/1",
		"/local/domain/0/backend/vif/1/0/",
		"/local/domain/0/backend/vif/1/0x",
		"/local/domain/0/backend/vif/0x1/0",
		"/local/domain/0/backend//1/0",
		"/local/domain/0/backend/VIF/1/0",
		"/local/domain/0/backend/a1234567890123456/1/0", /* 17 characters */
		"/local/domain/0/backend/vif/1/0\n",
		"/local/domain//backend/vif/1/0",
		"local/domain/0/backend/vif/1/0",
		"",
	};

	t_time_limit(10);
	if (good("/local/domain/0/backend/vif/1/0", "vif", 1, 0) ||
	    good("/local/domain/7/backend/vbd/32752/51712", "vbd", 32752, 51712) ||
	    good("/local/domain/0/backend/qdisk/4294967295/4294967295", "qdisk", 4294967295u,
		 4294967295u) ||
	    good("/local/domain/0/backend/a12345678901234/10/0", "a12345678901234", 10, 0))
		return T_FAIL;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (bad(refused[i]))
			return T_FAIL;
	/* A very long name: a devid of 4000 digits, mostly zeros after a 1. */
	memset(longname, '0', sizeof(longname) - 1);
	memcpy(longname, "/local/domain/0/backend/vif/1/1", 31);
	return bad(longname) ? T_FAIL : T_PASS;
}
