/* SPDX-License-Identifier: MIT */
/*
 * pvio-init.c - the init of a normal user's domain, after its exec (launch/sandbox.h
 * SANDBOX_INIT_PROG): reaps until the domain's first process exits.  Not run by hand.
 */
#include "config.h"

#include "launch/sandbox.h"

int main(int argc, char **argv)
{
	return sandbox_init_main(argc, argv);
}
