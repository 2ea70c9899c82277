/* SPDX-License-Identifier: MIT */
/*
 * handover-user: a --takeover successor reaches a predecessor that dropped to its --user.  Both
 * daemons start as root and open the hand-over socket before their sandbox: the predecessor
 * listens as root, then runs as its user; the successor connects as root.  The predecessor
 * must accept the one who started it (whoever opened the listening socket), not only its own
 * uid of now (as pvio-blkback --user pvio-blkback under Xen, where every --takeover was refused
 * with EPERM); a process of another uid is still refused.  Needs root (exit 77 otherwise).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driverdomain/handover.h"

#define DROP_UID 65534 /* nobody: the predecessor's --user */
#define PEER_UID 65533 /* another user, to be refused */

/* Connect as uid in a child (we keep a saved uid of root) and report what the predecessor's accept
 * says. */
static int try_peer(const char *dir, int lfd, uid_t uid)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setresuid(uid, uid, uid))
			_exit(2);
		fd = dd_handover_connect(dir, "prog");
		_exit(fd >= 0 ? 0 : 1);
	}
	/*
	 * A connection waits in the backlog after its end exits (whether or not that end liked
	 * us): accept it then.  No connection at all gives EAGAIN.
	 */
	waitpid(pid, NULL, 0);
	fd = dd_handover_accept(lfd);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : fd;
}

int main(void)
{
	char dir[] = "/tmp/handover-user.XXXXXX", sock[64];
	int lfd, ret, fails = 0;

	alarm(30);
	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	if (!mkdtemp(dir) || chmod(dir, 0711))
		return perror("mkdtemp"), 1;
	snprintf(sock, sizeof(sock), "%s/prog.sock", dir);
	lfd = dd_handover_listen(dir, "prog");
	if (lfd < 0)
		return fprintf(stderr, "listen: %s\n", strerror(-lfd)), 1;
	/* As the sandbox does: every id to the user's (the socket stays open). */
	if (setresuid(DROP_UID, DROP_UID, 0)) /* saved root, to clean up */
		return perror("setresuid"), 1;
	ret = try_peer(dir, lfd, 0);
	printf("%s: a successor started as root is accepted (%s)\n", ret ? "FAIL" : "ok",
	       ret ? strerror(-ret) : "");
	fails += ret != 0;
	if (setresuid(0, 0, 0))
		return perror("setresuid"), 1;
	/* Let another user reach the socket, so that only the peer check can refuse it. */
	if (chmod(sock, 0666))
		return perror("chmod"), 1;
	ret = try_peer(dir, lfd, PEER_UID);
	printf("%s: another user is refused (%s)\n", ret == -EPERM ? "ok" : "FAIL",
	       ret ? strerror(-ret) : "accepted");
	fails += ret != -EPERM;
	close(lfd);
	unlink(sock);
	rmdir(dir);
	return fails ? 1 : 0;
}
