/* SPDX-License-Identifier: MIT */
/*
 * pvio.h - what the files of pvio(1), the toolstack command of the embedded mode, share.
 *
 * Each subcommand is one function taking its own argc/argv (argv[0] is the subcommand's name)
 * and returning the program's exit status: 0, or 1 after printing one line "pvio: THING: why".
 */
#ifndef PVIO_TOOLS_PVIO_H
#define PVIO_TOOLS_PVIO_H

#include <limits.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xenstore.h>

#include "hv/log.h"
#include "hv/simctl.h"

#define PVIO_PROG "pvio"

/* Where the daemons are. */
struct pvio_env {
	char rundir[PATH_MAX];	/* the runtime directory (pid files, logs, sockets) */
	char hv_sock[PATH_MAX]; /* pvio-hv's socket: $PVIO_HV_SOCKET, else <rundir>/hv.sock */
	char xs_sock[PATH_MAX]; /* xenstored's dom0 socket: $XENSTORED_PATH, else in rundir */
};

/* The global -d/--dir, or NULL. */
extern const char *pvio_dir_opt;

/* Print "pvio: what: strerror(-err)" and return 1. */
int pvio_err(const char *what, int err);
/* Print "pvio: " and the message; return 1. */
__attribute__((format(printf, 1, 2))) int pvio_fail(const char *fmt, ...);
/* A logger for the library calls pvio makes: errors and warnings as pvio's own lines. */
struct pvio_log *pvio_tool_log(void);
/* Print "pvio: warning: " and the message. */
__attribute__((format(printf, 1, 2))) void pvio_warn(const char *fmt, ...);

/* pvio_env_init's flags. */
#define PVIO_ENV_SOCKETS 1u /* the sockets from $PVIO_HV_SOCKET and $XENSTORED_PATH if set */
#define PVIO_ENV_FOLLOW	 2u /* no -d nor $PVIO_RUNDIR: the directory of $PVIO_HV_SOCKET */
/* What the commands that use the daemons (all but up and down) resolve. */
#define PVIO_ENV_CLIENT (PVIO_ENV_SOCKETS | PVIO_ENV_FOLLOW)

/*
 * Resolve the runtime directory (dir, else -d, else $PVIO_RUNDIR, else with PVIO_ENV_FOLLOW the
 * directory of a $PVIO_HV_SOCKET named hv.sock, else $XDG_RUNTIME_DIR/pvio, else
 * /tmp/pvio-<uid>) and the sockets (in that directory unless PVIO_ENV_SOCKETS finds them set).
 */
int pvio_env_init(struct pvio_env *env, const char *dir, unsigned int flags);

/*
 * <rundir>/same-uid, written by pvio up --same-uid: a normal user without subordinate ids runs
 * its domains under its own uid rather than being refused (launch/sandbox.h sandbox_ids_check).
 * It counts only as a file of the user's in a runtime directory of the user's alone
 * (pvio_ours): whoever else could write it there would choose how isolated the domains are.
 */
#define PVIO_SAME_UID_FILE "same-uid"
bool pvio_same_uid(const struct pvio_env *env);
/* Whether path, not a symlink, is the caller's and writable by no one else. */
bool pvio_ours(const char *path);
/* Whether domain domid may be made isolated here: 0, or 1 after printing why not. */
int pvio_ids_check(const struct pvio_env *env, domid_t domid);

/*
 * Whether path could be replaced by no one but root and the caller: every component, as named
 * and as resolved, owned by one of them, and each directory writable by no one else unless
 * sticky.  0, or a negative errno (-EPERM: not trusted) with why filled in.
 */
int pvio_trusted(const char *path, char *why, size_t len);

/*
 * Connect to pvio-hv as dom0 (printing why not), and xs_open on dom0's xenstored socket; each
 * refuses a socket that pvio_trusted refuses (whoever could put a socket there would receive
 * dom0's commands).
 */
int pvio_hv_open(const struct pvio_env *env, struct hvctl **ctl);
int pvio_xs_open(const struct pvio_env *env, struct xs_handle **xs);

/* A domain by name or domid ("0" and "Domain-0" are dom0).  0, or 1 after printing why. */
int pvio_domain_lookup(const struct pvio_env *env, const char *what, domid_t *domid);

/*
 * getopt_long over a subcommand's argv with -h/--help added: the option character, -1 at the
 * end, 'h' after printing usage to stdout, '?' after printing it to stderr.
 */
int pvio_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
		const char *usage);

/*
 * Destroy domain domid as libxl does: pvio-hv kills its sessions' processes (nothing of the
 * guest can act any more, as libxl pauses it), the process group pvio create started is killed,
 * then teardown_devices() removes its devices and xenstore home.  0, the number of back-ends
 * removed after the wait, or a negative errno (-ESRCH: not alive).
 */
int pvio_domain_destroy(const struct pvio_env *env, struct hvctl *ctl, struct xs_handle *xs,
			domid_t domid);

/*
 * The init pvio create started in domid (its pid namespace's pid 1, in ours *pid), the start
 * time it had (field 22 of /proc/PID/stat) and the descriptor it keeps the domain's token at
 * (-1 if not recorded), as recorded in the runtime directory; a negative errno if none is.
 */
int pvio_domain_init(const struct pvio_env *env, domid_t domid, pid_t *pid,
		     unsigned long long *start, int *token);

/* The start time of the process whose /proc directory dir is (field 22), or 0 if it is gone. */
unsigned long long pvio_proc_start_at(int dir);

/*
 * The domain's xenstored socket on the host, <directory of env->xs_sock>/domain-<domid>/socket.
 */
void pvio_domain_xs_socket(const struct pvio_env *env, domid_t domid, char *buf, size_t len);

int pvio_cmd_up(int argc, char **argv);
int pvio_cmd_down(int argc, char **argv);
int pvio_cmd_create(int argc, char **argv);
int pvio_cmd_list(int argc, char **argv);
int pvio_cmd_destroy(int argc, char **argv);
int pvio_cmd_exec(int argc, char **argv);
int pvio_cmd_block_attach(int argc, char **argv);
int pvio_cmd_block_detach(int argc, char **argv);
int pvio_cmd_block_list(int argc, char **argv);
int pvio_cmd_network_attach(int argc, char **argv);
int pvio_cmd_network_detach(int argc, char **argv);
int pvio_cmd_network_list(int argc, char **argv);

/* What block-* and network-* share (pvio-block-dev.c). */
struct xenbus_device_spec;
/* libxl's LIBXL_DESTROY_TIMEOUT: how long a back-end gets to reach Closed. */
#define PVIO_DETACH_TIMEOUT_MS 10000
/* Whether the back-end directory of spec exists and names spec's front-end. */
bool pvio_backend_matches(struct xs_handle *xs, const struct xenbus_device_spec *spec);
/* Detach (unless force), wait up to PVIO_DETACH_TIMEOUT_MS for Closed, remove: 0 or 1. */
int pvio_device_detach(struct xs_handle *xs, struct xenbus_device_spec *spec, const char *what,
		       bool force);
/* A u32 key of dir as a signed number to print, -1 if absent or malformed. */
long pvio_xs_u32(struct xs_handle *xs, const char *dir, const char *key);
/* The guest-written backend path of dir, if it is printable and not absurd; else "-". */
void pvio_xs_backend(struct xs_handle *xs, const char *dir, char *buf, size_t len);
/* Print one device entry of domain fe's device directory base. */
typedef void pvio_list_fn(struct xs_handle *xs, const char *base, const char *entry, domid_t fe);
/* A *-list command: usage, domain fe's device/<kind>/ entries under header, one line each. */
int pvio_list_devices(int argc, char **argv, const char *usage, const char *kind,
		      const char *header, pvio_list_fn *one);

/* The device subcommands' command lines and specs (pvio-spec.c). */
/*
 * How a device spec reads: item(arg, key, value) for each comma-separated KEY=VALUE, or with
 * key NULL for an item without '=' (an empty one included); a value of rest_key (if not NULL)
 * runs to the end of the spec, commas and all, or up to the first of keys (",KEY=" strings,
 * NULL-terminated) found in it.  item returns 0, or 1 after printing why (parsing stops).
 */
struct pvio_spec_syntax {
	int (*item)(void *arg, const char *key, const char *val);
	const char *rest_key;
	const char *const *keys;
};
/* Parse spec (split in place): 0, or item's 1. */
int pvio_spec_parse(char *spec, const struct pvio_spec_syntax *syn, void *arg);
/* A virtual device name (xvda, sdb1, d0p1, 51712...) to its device id: 0, or 1 after why. */
int pvio_vdev(const char *vdev, uint32_t *devid);
/*
 * An attach's command line, DOMAIN SPEC (or DOMAIN alone when spec_optional) with -h: -1 to go
 * on (optind at DOMAIN), else the exit status (0 after --help, 2 after the usage).
 */
int pvio_attach_args(int argc, char **argv, const char *usage, bool spec_optional);
/* A detach's, DOMAIN DEVICE with -f/--force and -h: the same. */
int pvio_detach_args(int argc, char **argv, const char *usage, bool *force);
/* Resolve the daemons (pvio_env_init) and the front's and back-end's (NULL: 0) domains: 0 or 1. */
int pvio_attach_domains(struct pvio_env *env, const char *front, const char *backend, domid_t *fe,
			domid_t *be);

#endif
