#!/bin/sh
# netfront-e2e-mq: tests/netfront-e2e with four queues (queue-N/ keys, a multi-queue TAP on
# both sides, one event channel per queue).
PVIO_NF_QUEUES=4 exec timeout 120 "${PVIO_BUILDDIR:-.}/tests/netfront-e2e"
