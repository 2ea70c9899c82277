/* SPDX-License-Identifier: MIT */
/*
 * domain-give-nofollow: giving a path to a domain's uid (sandbox_give: an "own:" bind, its
 * xenstored socket) changes that path only.  A domain that owned the directory of a path it is
 * given again (its socket's, as root; a reused domid) may have put a symlink there: the chown
 * must not follow it to a file of root's or of the caller's.  Nor may a symlink the domain
 * made on the way: a directory of the domain's holding sub -> a root-only directory, and
 * own:<dir>/sub/file given, must leave that directory's file alone (-ELOOP), where a symlink
 * of root's on the way is followed.  A regular file is still given.
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
	char ddir[64], vdir[64], vfile[80], sub[80], via[96], rootlink[80], via_root[96];
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
	/* A domain's directory holding a symlink to a root-only directory, on the way. */
	snprintf(ddir, sizeof(ddir), "%s/domain-dir", dir);
	snprintf(vdir, sizeof(vdir), "%s/victim", dir);
	snprintf(vfile, sizeof(vfile), "%s/victim/file", dir);
	snprintf(sub, sizeof(sub), "%s/domain-dir/sub", dir);
	snprintf(via, sizeof(via), "%s/domain-dir/sub/file", dir);
	snprintf(rootlink, sizeof(rootlink), "%s/root-link", dir);
	snprintf(via_root, sizeof(via_root), "%s/root-link/file", dir);
	if (mkdir(ddir, 0755) < 0 || mkdir(vdir, 0700) < 0)
		goto out;
	fd = open(vfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0 || symlink(vdir, sub) < 0 ||
	    lchown(sub, sandbox_uid(DOMID, 0), sandbox_uid(DOMID, 0)) < 0 ||
	    chown(ddir, sandbox_uid(DOMID, 0), sandbox_uid(DOMID, 0)) < 0 ||
	    symlink(vdir, rootlink) < 0)
		goto out;
	paths[0] = via;
	ret = sandbox_give(paths, 1, DOMID, 0);
	if (stat(vfile, &st) < 0)
		goto out;
	if (ret != -ELOOP || st.st_uid != 0) {
		printf("FAIL: a domain's symlink on the way was followed: %s, the file's uid %u\n",
		       strerror(-ret), (unsigned int)st.st_uid);
		goto out;
	}
	paths[0] = via_root;
	ret = sandbox_give(paths, 1, DOMID, 0);
	if (ret < 0 || stat(vfile, &st) < 0 || st.st_uid != sandbox_uid(DOMID, 0)) {
		printf("FAIL: root's symlink on the way was not followed: %s\n",
		       strerror(ret < 0 ? -ret : errno));
		goto out;
	}
	printf("ok: a symlink is refused, its target kept; one of the domain's on the way too, "
	       "root's followed; a file is given\n");
	rc = 0;
out:
	unlink(via_root);
	unlink(rootlink);
	unlink(sub);
	unlink(vfile);
	rmdir(vdir);
	rmdir(ddir);
	unlink(own);
	unlink(link);
	unlink(target);
	rmdir(dir);
	return rc;
}
