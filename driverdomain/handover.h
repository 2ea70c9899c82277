/* SPDX-License-Identifier: MIT */
/*
 * handover.h - the channel of a planned hand-over between two back-end daemons of one driver
 * domain (pvio-blkback --takeover): a Unix SOCK_SEQPACKET socket in the daemon's journal
 * directory, named <prog>.sock.
 *
 * Who can reach it: the directory is the driver domain's own (a guest has no file system in
 * common with it), the socket is mode 0600, and each end checks the other's uid (SO_PEERCRED):
 * the predecessor accepts the uid that opened the listening socket (root for a daemon started
 * with --user, which it has dropped to since), the successor a peer of its own uid, so only
 * whoever starts the daemon in the driver domain can ask for a hand-over.  It carries one byte
 * a message:
 *   successor -> predecessor  'G'  leave every device now;
 *   predecessor -> successor  'D'  done: every ring is quiesced and its ports unbound (with the
 *                                   listening socket itself, SCM_RIGHTS, for the next one);
 *   successor -> predecessor  'T'  taken over: exit.
 * A successor that goes away after 'D' without 'T' (its end closes when it dies) leaves the
 * devices to the predecessor, which serves them again from the journals.  No step waits on a
 * timer: each waits for a message or for the other end to close.
 */
#ifndef PVIO_DRIVERDOMAIN_HANDOVER_H
#define PVIO_DRIVERDOMAIN_HANDOVER_H

#define DD_HANDOVER_GO	  'G'
#define DD_HANDOVER_DONE  'D'
#define DD_HANDOVER_TAKEN 'T'

/*
 * The predecessor's side, before its sandbox: bind <dir>/<prog>.sock (a stale one is replaced)
 * and listen.  The socket's fd, or a negative errno (-ENAMETOOLONG for a path too long).
 */
int dd_handover_listen(const char *dir, const char *prog);
/* Accept one connection on lfd from our own uid: its fd, or a negative errno (-EPERM). */
int dd_handover_accept(int lfd);
/* The successor's side: connect to <dir>/<prog>.sock, run by our own uid: its fd or -errno. */
int dd_handover_connect(const char *dir, const char *prog);
/* Send msg, with pass_fd (>= 0) attached: 0 or a negative errno (-EPIPE: the other end left). */
int dd_handover_send(int fd, char msg, int pass_fd);
/*
 * Wait for a message: 0 with *msg (and *got_fd the fd it carried, or -1), -EPIPE when the other
 * end closed, or another negative errno.
 */
int dd_handover_recv(int fd, char *msg, int *got_fd);

/*
 * Record the serving daemon's pid in <prog>.pid beneath dirfd (replaced atomically): written by
 * a daemon when it starts serving and by a successor once it has taken over.  0 or -errno.
 */
int dd_handover_pidfile(int dirfd, const char *prog);

#endif
