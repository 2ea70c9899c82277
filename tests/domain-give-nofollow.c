/* SPDX-License-Identifier: MIT */
/*
 * domain-give-nofollow: giving a path to a domain's uid (sandbox_give: an "own:" bind, its
 * xenstored socket) changes that path only.  A domain that owned the directory of a path it is
 * given again (its socket's, as root; a reused domid) may have put a symlink there: the chown
 * must not follow it to a file of root's or of the caller's.  A regular file is still given.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch/sandbox.h"
#include "tests/helpers.h"

#define DOMID 7

int main(void)
{
	char dir[] = "/tmp/give-nofollow-XXXXXX", target[64], link[64], own[64];
	const char *paths[1];
	struct stat st;
	int fd, ret, rc = 1;

	t_time_limit(30);
	if (geteuid() != 0) {
		printf("SKIP: root is needed to give a path to another uid\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(target, sizeof(target), "%s/root-only", dir);
	snprintf(link, sizeof(link), "%s/socket", dir);
	snprintf(own, sizeof(own), "%s/own", dir);
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0 || symlink(target, link) < 0)
		goto out;
	fd = open(own, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0)
		goto out;

	paths[0] = link;
	ret = sandbox_give(paths, 1, DOMID, 0);
	if (stat(target, &st) < 0)
		goto out;
	if (st.st_uid != 0 || st.st_gid != 0) {
		printf("FAIL: giving a symlink gave its target to uid %u\n",
		       (unsigned int)st.st_uid);
		goto out;
	}
	if (ret == 0) {
		printf("FAIL: giving a symlink succeeded\n");
		goto out;
	}
	paths[0] = own;
	ret = sandbox_give(paths, 1, DOMID, 0);
	if (ret < 0 || stat(own, &st) < 0 || st.st_uid != sandbox_uid(DOMID, 0)) {
		printf("FAIL: a regular file was not given to the domain's uid: %s\n",
		       strerror(ret < 0 ? -ret : errno));
		goto out;
	}
	printf("ok: a symlink is refused, its target kept; a file is given\n");
	rc = 0;
out:
	unlink(own);
	unlink(link);
	unlink(target);
	rmdir(dir);
	return rc;
}
