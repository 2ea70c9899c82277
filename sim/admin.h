/* SPDX-License-Identifier: MIT */
/* admin.h - pvio-hv's client subcommands: list, create, destroy. */
#ifndef PVIO_SIM_ADMIN_H
#define PVIO_SIM_ADMIN_H

/* Run the subcommand argv[0] against the daemon on path; the exit status. */
int hvd_admin(const char *path, int argc, char **argv);

#endif
