/* SPDX-License-Identifier: MIT */
/*
 * xs-hostile.c - malformed xs_wire messages on a raw socket: an oversized
 * length closes that connection only, an unknown type gets ENOSYS, a
 * missing NUL gets EINVAL, and a request split across writes still works.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "tests/helpers.h"
#include "tests/xs-helpers.h"

/* Send type/payload (split after split bytes), expect a reply of rtype with body want. */
static int exchange(int fd, uint32_t type, const char *p, uint32_t len, uint32_t rtype,
		    const char *want, size_t split)
{
	struct xsd_sockmsg m = { .type = type, .req_id = 42, .len = len }, r;
	char buf[XENSTORE_PAYLOAD_MAX];

	T_CHECK(write(fd, &m, split) == (ssize_t)split, "write 1");
	t_msleep(20);
	T_CHECK(write(fd, (char *)&m + split, sizeof(m) - split) == (ssize_t)(sizeof(m) - split),
		"write 2");
	T_CHECK(write(fd, p, len) == (ssize_t)len, "write payload");
	T_CHECK(t_readable(fd, 2000) && read(fd, &r, sizeof(r)) == sizeof(r), "reply header");
	T_CHECK(r.type == rtype && r.req_id == 42 && r.len < sizeof(buf), "reply type %u", r.type);
	T_CHECK(read(fd, buf, r.len) == (ssize_t)r.len, "reply body");
	T_CHECK(r.len == strlen(want) + 1 && !memcmp(buf, want, r.len), "reply %.*s", (int)r.len,
		buf);
	return 0;
}

int main(void)
{
	struct xsd_sockmsg big = { .type = XS_WRITE, .len = XENSTORE_PAYLOAD_MAX + 1 };
	int fd, other;
	char c;

	T_CHECK(t_xs_start(NULL) == 0, "pvio-xenstored did not start");
	T_CHECK((fd = t_xs_raw_connect()) >= 0 && (other = t_xs_raw_connect()) >= 0, "connect");
	T_CHECK(exchange(fd, 99, "", 0, XS_ERROR, "ENOSYS", 3) == 0, "unknown type");
	T_CHECK(exchange(fd, XS_READ, "/abc", 4, XS_ERROR, "EINVAL", 8) == 0, "missing NUL");
	T_CHECK(exchange(fd, XS_WRITE, "/k\0v", 4, XS_WRITE, "OK", 1) == 0, "split write");
	T_CHECK(exchange(fd, XS_CONTROL, "bogus", 6, XS_ERROR, "EINVAL", 16) == 0, "control");
	T_CHECK(write(fd, &big, sizeof(big)) == sizeof(big), "oversized header");
	T_CHECK(t_readable(fd, 2000) && read(fd, &c, 1) == 0, "oversized length closes");
	T_CHECK(exchange(other, XS_GET_DOMAIN_PATH, "3", 2, XS_GET_DOMAIN_PATH, "/local/domain/3",
			 0) == 0,
		"the other connection lives");
	close(fd);
	close(other);
	return T_PASS;
}
