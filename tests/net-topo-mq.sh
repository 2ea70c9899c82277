#!/bin/sh
# net-topo-mq: tests/net-topo-e2e with four queues (pvio-netback --max-queues 4, pvio-netfront
# --queues 4, which must say that it connected four).
PVIO_NTO_QUEUES=4 exec timeout 300 "${PVIO_BUILDDIR:-.}/tests/net-topo-e2e"
