/* SPDX-License-Identifier: MIT */
/*
 * exec-tty.c - pvio exec's pty and its relay (exec-tty.h).
 *
 * One thread, one ppoll loop: the admin's keystrokes go to the pty through a small buffer
 * (written as the pty takes them, so a program that does not read cannot block its own output's
 * relay), the pty's output is copied to the admin's terminal, and the child's pidfd ends the loop
 * once the pty is drained.  SIGWINCH is blocked but during ppoll, so no resize is missed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tools/pvio/exec-tty.h"

#define EXEC_TTY_BUF	  4096
#define EXEC_TTY_DRAIN_NS 100000000 /* how long output may lag the program's exit */

static volatile sig_atomic_t exec_tty_resized;

static void exec_tty_winch(int sig)
{
	(void)sig;
	exec_tty_resized = 1;
}

/* The admin's window size onto the pty: the kernel signals the program's foreground group. */
static void exec_tty_winsize(const struct exec_tty *t)
{
	struct winsize ws;

	if (ioctl(t->winsize_from, TIOCGWINSZ, &ws) == 0)
		ioctl(t->master, TIOCSWINSZ, &ws);
}

int exec_tty_open(struct exec_tty *t)
{
	struct termios modes;
	char name[64];
	int ret;

	*t = (struct exec_tty){ .master = -1, .secondary = -1, .stdio = { -1, -1, -1 }, .in = -1 };
	for (int i = 2; i >= 0; i--) {
		if (isatty(i))
			t->winsize_from = i;
	}
	if (!isatty(0) && !isatty(1) && !isatty(2))
		return 0;
	t->in = isatty(0) ? 0 : -1;
	t->out = isatty(1) || !isatty(2) ? 1 : 2;
	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0 || grantpt(t->master) || unlockpt(t->master) ||
	    ptsname_r(t->master, name, sizeof(name)))
		goto fail;
	t->secondary = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->secondary < 0)
		goto fail;
	/* The program sees the modes the admin's terminal had (echo, line editing, ...). */
	if (tcgetattr(t->winsize_from, &modes) == 0)
		tcsetattr(t->secondary, TCSANOW, &modes);
	exec_tty_winsize(t);
	for (int i = 0; i < 3; i++)
		t->stdio[i] = isatty(i) ? t->secondary : -1;
	return 0;
fail:
	ret = -errno;
	exec_tty_close(t);
	return ret;
}

void exec_tty_close(struct exec_tty *t)
{
	if (t->raw)
		tcsetattr(t->in, TCSADRAIN, &t->saved);
	t->raw = false;
	if (t->secondary >= 0)
		close(t->secondary);
	if (t->master >= 0)
		close(t->master);
	t->secondary = t->master = -1;
}

/* Raw mode on the admin's terminal, the way a remote shell's client sets it. */
static int exec_tty_raw(struct exec_tty *t)
{
	struct termios raw;

	if (t->in < 0)
		return 0;
	if (tcgetattr(t->in, &t->saved) < 0)
		return -errno;
	raw = t->saved;
	cfmakeraw(&raw);
	/* TCSADRAIN, not TCSAFLUSH: what the admin typed ahead is the program's. */
	if (tcsetattr(t->in, TCSADRAIN, &raw) < 0)
		return -errno;
	t->raw = true;
	return 0;
}

/* Write all of buf to fd (the admin's terminal, blocking): 0 or a negative errno. */
static int exec_tty_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy what the pty has to the admin: 1 while it stays open, 0 at its end, or -errno. */
static int exec_tty_output(struct exec_tty *t)
{
	char buf[EXEC_TTY_BUF];
	ssize_t n = read(t->master, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	/* EIO: every secondary side is closed. */
	if (n <= 0)
		return n < 0 && errno != EIO ? -errno : 0;
	return exec_tty_write_all(t->out, buf, (size_t)n) < 0 ? 0 : 1;
}

/* The relay's state between rounds. */
struct exec_tty_loop {
	char in[EXEC_TTY_BUF]; /* keystrokes not yet taken by the pty */
	size_t in_len, in_off; /* how many, from where */
	bool in_open;	       /* the admin's stdin still reads */
	bool out_open;	       /* the pty still has a secondary side open */
	bool exited;	       /* the child has exited */
};

/* The admin's keystrokes: into l->in, then to the pty as it takes them. */
static void exec_tty_input(struct exec_tty *t, struct exec_tty_loop *l, short in_ev, short m_ev)
{
	ssize_t n;

	if (in_ev && !l->in_len) {
		n = read(t->in, l->in, sizeof(l->in));
		if (n > 0) {
			l->in_len = (size_t)n;
			l->in_off = 0;
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			l->in_open = false;
		}
	}
	if ((m_ev & POLLOUT) && l->in_len) {
		n = write(t->master, l->in + l->in_off, l->in_len);
		if (n > 0) {
			l->in_off += (size_t)n;
			l->in_len -= (size_t)n;
		}
	}
}

/* One ppoll round; false once the relay is over. */
static bool exec_tty_round(struct exec_tty *t, struct exec_tty_loop *l, int pidfd,
			   const sigset_t *during)
{
	struct pollfd p[3] = {
		{ .fd = l->exited ? -1 : pidfd, .events = POLLIN },
		{ .fd = t->master, .events = (short)(POLLIN | (l->in_len ? POLLOUT : 0)) },
		{ .fd = l->in_open && !l->in_len ? t->in : -1, .events = POLLIN },
	};
	/* After the exit: output still on its way, unless something else holds the pty open. */
	const struct timespec drain = { .tv_nsec = EXEC_TTY_DRAIN_NS };
	int ret;

	if (ppoll(p, 3, l->exited ? &drain : NULL, during) < 0) {
		if (errno != EINTR)
			return false;
		p[0].revents = p[1].revents = p[2].revents = 0;
	}
	if (exec_tty_resized) {
		exec_tty_resized = 0;
		exec_tty_winsize(t);
	}
	if (p[0].revents)
		l->exited = true;
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		ret = exec_tty_output(t);
		l->out_open = ret > 0;
	} else if (l->exited) {
		/* Exited and nothing more to read: what holds the pty open is not ours to wait on.
		 */
		return false;
	}
	exec_tty_input(t, l, p[2].revents, p[1].revents);
	return l->out_open;
}

int exec_tty_relay(struct exec_tty *t, pid_t child)
{
	struct sigaction sa = { .sa_handler = exec_tty_winch }, old_sa;
	struct exec_tty_loop l = { .in_open = t->in >= 0, .out_open = true };
	sigset_t winch, old;
	int pidfd, ret;

	if (t->master < 0)
		return 0;
	/* Ours no more: the master reads EIO once the program's side is all closed. */
	close(t->secondary);
	t->secondary = -1;
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0)
		return -errno;
	ret = exec_tty_raw(t);
	fcntl(t->master, F_SETFL, fcntl(t->master, F_GETFL) | O_NONBLOCK);
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	sigprocmask(SIG_BLOCK, &winch, &old);
	sigaction(SIGWINCH, &sa, &old_sa);
	exec_tty_winsize(t);
	while (ret == 0 && exec_tty_round(t, &l, pidfd, &old))
		;
	sigaction(SIGWINCH, &old_sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pidfd);
	if (t->raw)
		tcsetattr(t->in, TCSADRAIN, &t->saved);
	t->raw = false;
	return ret;
}
