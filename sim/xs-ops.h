/* SPDX-License-Identifier: MIT */
/*
 * xs-ops.h - pvio-xenstored's request handlers, shared between the node
 * operations (xs-ops.c) and the dispatcher with the connection-level
 * operations (xs-dispatch.c).
 */
#ifndef PVIO_SIM_XS_OPS_H
#define PVIO_SIM_XS_OPS_H

#include "sim/xs-daemon.h"

/* A handler: 0 after replying, or a negative errno for the caller to send. */
typedef int (*xs_op_fn)(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t);

/* The handler of a node operation, or NULL. */
xs_op_fn xs_node_op(uint32_t type);
int xs_args(struct xs_conn *c, const char **vec, unsigned int max);
int xs_canon(struct xs_daemon *d, struct xs_conn *c, const char *in, char *abs);
int xs_create(struct xs_daemon *d, struct xs_conn *c, struct xs_conn_txn *t, const char *abs);

#endif
