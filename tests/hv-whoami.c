/* SPDX-License-Identifier: MIT */
/*
 * hv-whoami: print the domid the hypervisor knows the caller as (hv_open, hv_domid), for the
 * scripts that check which domain a process is (tests/pvio-exec.sh).  Exit 1 on an error.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hv/hv.h"

int main(void)
{
	struct hv *hv;
	domid_t domid;
	int ret = hv_open(&hv, NULL);

	if (ret < 0) {
		fprintf(stderr, "hv-whoami: hv_open: %s\n", strerror(-ret));
		return 1;
	}
	ret = hv_domid(hv, &domid);
	hv_close(hv);
	if (ret < 0) {
		fprintf(stderr, "hv-whoami: hv_domid: %s\n", strerror(-ret));
		return 1;
	}
	printf("%u\n", (unsigned int)domid);
	return 0;
}
