/* SPDX-License-Identifier: MIT */
/*
 * exec-tty: the two ends of tests/pvio-exec-tty.sh.
 *
 *   exec-tty admin CMD [ARG...]
 *	plays the admin's terminal: runs CMD in a session of its own on a fresh pty (its
 *	controlling terminal, 33 rows by 111 columns), types "hello" into it, copies what comes
 *	out to stdout, then prints "admin rdev=MAJ:MIN" (the terminal CMD had), "admin status N"
 *	and whether CMD left the terminal's modes as it found them ("admin termios same").
 *   exec-tty probe
 *	runs inside the domain and reports what of a terminal it can reach: for each of fds 0..2
 *	"fdN tty=B rdev=MAJ:MIN", "devtty sid=S self=S" (the session of /dev/tty's terminal, 0
 *	when out of sight, and its own) or "devtty err=E", "sti err=E" for TIOCSTI on fd 0,
 *	"winsize RxC", "line TEXT" for a line read from stdin; exits 5.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tests/helpers.h"

#define PROBE_STATUS 5

static void print_rdev(const char *what, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		printf("%s err=%d\n", what, errno);
	else
		printf("%s tty=%d rdev=%u:%u\n", what, isatty(fd), major(st.st_rdev),
		       minor(st.st_rdev));
}

static int probe(void)
{
	struct winsize ws = { 0 };
	char line[128], name[16], c = 'x';
	int fd;

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "fd%d", i);
		print_rdev(name, i);
	}
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		printf("devtty err=%d\n", errno);
	} else {
		pid_t sid = 0;

		/* fstat shows /dev/tty itself: the session of the terminal tells which one. */
		printf("devtty sid=%d self=%d\n", ioctl(fd, TIOCGSID, &sid) < 0 ? -errno : (int)sid,
		       (int)getsid(0));
		close(fd);
	}
	printf("sti err=%d\n", ioctl(0, TIOCSTI, &c) < 0 ? errno : 0);
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		printf("winsize %ux%u\n", ws.ws_row, ws.ws_col);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		printf("line %s\n", line);
	}
	fflush(stdout);
	return PROBE_STATUS;
}

/* The child: a session of its own on the pty's secondary side, then CMD. */
static void admin_child(const char *pts, char **argv)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 111 };
	int fd;

	setsid();
	fd = open(pts, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0 || ioctl(fd, TIOCSWINSZ, &ws) < 0)
		_exit(126);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	execvp(argv[0], argv);
	_exit(127);
}

static int admin(char **argv)
{
	struct termios before, after;
	char buf[4096], pts[64];
	struct stat st;
	int m, status;
	ssize_t n;
	pid_t pid;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	T_CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt: %s", strerror(errno));
	T_CHECK(ptsname_r(m, pts, sizeof(pts)) == 0 && stat(pts, &st) == 0, "ptsname");
	T_CHECK(tcgetattr(m, &before) == 0, "tcgetattr");
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0)
		admin_child(pts, argv);
	/* Typed ahead: the line waits in the terminal until something reads it. */
	T_CHECK(write(m, "hello\n", 6) == 6, "type");
	while ((n = read(m, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return T_FAIL;
	T_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	printf("\nadmin rdev=%u:%u\n", major(st.st_rdev), minor(st.st_rdev));
	printf("admin status %d\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	T_CHECK(tcgetattr(m, &after) == 0, "tcgetattr after");
	printf("admin termios %s\n", before.c_lflag == after.c_lflag &&
					     before.c_iflag == after.c_iflag &&
					     before.c_oflag == after.c_oflag
					 ? "same"
					 : "changed");
	return T_PASS;
}

int main(int argc, char **argv)
{
	t_time_limit(60);
	if (argc == 2 && !strcmp(argv[1], "probe"))
		return probe();
	if (argc > 2 && !strcmp(argv[1], "admin"))
		return admin(argv + 2);
	fprintf(stderr, "usage: exec-tty admin CMD [ARG...] | exec-tty probe\n");
	return 2;
}
