/* SPDX-License-Identifier: MIT */
/*
 * exec-tty.h - pvio exec's terminal: the domain never gets the admin's.
 *
 * When any of pvio's stdin, stdout or stderr is a terminal, the exec'd program gets instead the
 * secondary side of a fresh pty (each terminal fd replaced by it, the others passed as they are)
 * as its controlling terminal, and pvio relays between the pty and the admin's terminal, the
 * way lxc-attach and runc do: the admin's terminal in raw mode while the relay runs (restored on
 * every way out), its window size passed on at the start and on SIGWINCH.  A domain can then
 * push input (TIOCSTI) or read keystrokes only on its own pty, and writes reach the admin's
 * terminal only through the relay.
 */
#ifndef PVIO_TOOLS_EXEC_TTY_H
#define PVIO_TOOLS_EXEC_TTY_H

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

struct exec_tty {
	int master;	      /* the pty's main side, or -1: no terminal, nothing to relay */
	int secondary;	      /* its secondary side, for the child, or -1 once handed over */
	int stdio[3];	      /* the child's stdin, stdout, stderr (-1: pvio's own) */
	int in;		      /* the admin's terminal on stdin, relayed to the pty, or -1 */
	int out;	      /* where the pty's output goes (pvio's stdout, else stderr) */
	int winsize_from;     /* a terminal fd of the admin's, for its window size */
	bool raw;	      /* saved holds the admin's modes, to restore */
	struct termios saved; /* the admin's terminal modes before raw mode */
};

/*
 * Make the pty when any of fds 0..2 is a terminal (else t->master is -1 and nothing changes):
 * 0 or a negative errno.
 */
int exec_tty_open(struct exec_tty *t);

/*
 * Once the child runs: relay until it has exited and its output is drained, with the admin's
 * terminal raw meanwhile.  0 or a negative errno; the terminal is restored either way.
 */
int exec_tty_relay(struct exec_tty *t, pid_t child);

/* Close what is left (safe twice). */
void exec_tty_close(struct exec_tty *t);

#endif
