#!/bin/sh
# net-topo-mtu9000: tests/net-topo-e2e at MTU 9000 on every link (jumbo frames over several ring
# slots each way, unfragmented pings of 8972 bytes).
PVIO_NTO_MTU=9000 exec timeout 300 "${PVIO_BUILDDIR:-.}/tests/net-topo-e2e"
