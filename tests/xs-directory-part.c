/* SPDX-License-Identifier: MIT */
/*
 * xs-directory-part.c - DIRECTORY_PART answers "gencnt\0" and the child
 * names from the offset, with an extra "\0" at the end of the list; an
 * offset at or past the end (a directory that shrank between two calls)
 * gets the generation and an empty list, as cxenstored answers, so that
 * libxenstore sees the generation change and restarts.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* DIRECTORY_PART of path at offset off: the reply's length, body in buf. */
static int part(int fd, const char *path, const char *off, uint32_t *type, char *buf)
{
	char req[128];
	int len = snprintf(req, sizeof(req), "%s%c%s", path, '\0', off) + 1;

	return t_xs_raw_request(fd, XS_DIRECTORY_PART, req, (uint32_t)len, type, buf,
				XENSTORE_PAYLOAD_MAX);
}

/* Expect a DIRECTORY_PART reply of gen\0 then names (nlen bytes); *gen gets the generation. */
static int expect_part(int fd, const char *off, const char *names, int nlen, char *gen)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	uint32_t type;
	int len = part(fd, "/dp", off, &type, buf), glen;

	T_CHECK(len > 0, "offset %s: no reply", off);
	T_CHECK(type == XS_DIRECTORY_PART, "offset %s: reply type %u (%.*s)", off, type, len, buf);
	glen = (int)strnlen(buf, (size_t)len) + 1;
	T_CHECK(glen > 1 && glen < 24 && glen <= len, "offset %s: generation", off);
	T_CHECK(len - glen == nlen && !memcmp(buf + glen, names, (size_t)nlen),
		"offset %s: %d bytes of names, wanted %d", off, len - glen, nlen);
	memcpy(gen, buf, (size_t)glen);
	return 0;
}

int main(void)
{
	char gen[24], gen2[24], buf[XENSTORE_PAYLOAD_MAX];
	struct xs_handle *h;
	uint32_t type;
	int fd;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((h = t_xs_open()) && (fd = t_xs_raw_connect()) >= 0, "connect");
	T_CHECK(xs_write(h, XBT_NULL, "/dp/a", "", 0) && xs_write(h, XBT_NULL, "/dp/bb", "", 0),
		"setup");
	/* Children "a\0bb\0": 5 bytes; the list's end is marked by one more \0. */
	T_CHECK(expect_part(fd, "0", "a\0bb\0", 6, gen) == 0, "whole list");
	T_CHECK(expect_part(fd, "2", "bb\0", 4, gen2) == 0 && !strcmp(gen, gen2), "from bb");
	T_CHECK(expect_part(fd, "5", "", 1, gen2) == 0 && !strcmp(gen, gen2), "at the end");
	T_CHECK(expect_part(fd, "6", "", 1, gen2) == 0 && !strcmp(gen, gen2), "past the end");
	T_CHECK(expect_part(fd, "100000", "", 1, gen2) == 0, "far past the end");
	/* The directory shrinks between two calls: the next page is empty, the generation new. */
	T_CHECK(xs_rm(h, XBT_NULL, "/dp/bb"), "shrink");
	T_CHECK(expect_part(fd, "2", "", 1, gen2) == 0 && strcmp(gen, gen2), "after shrinking");
	T_CHECK(part(fd, "/dp", "x", &type, buf) > 0 && type == XS_ERROR && !strcmp(buf, "EINVAL"),
		"bad offset: EINVAL");
	T_CHECK(part(fd, "/none", "0", &type, buf) > 0 && type == XS_ERROR &&
		    !strcmp(buf, "ENOENT"),
		"missing node: ENOENT");
	T_CHECK(t_xs_alive(), "daemon alive");
	close(fd);
	xs_close(h);
	return T_PASS;
}
