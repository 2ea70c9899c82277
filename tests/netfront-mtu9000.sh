#!/bin/sh
# netfront-mtu9000: tests/netfront-e2e with MTU 9000 on the guest's eth0 and the vif (frames of
# several slots both ways).
PVIO_NF_MTU=9000 exec timeout 120 "${PVIO_BUILDDIR:-.}/tests/netfront-e2e"
