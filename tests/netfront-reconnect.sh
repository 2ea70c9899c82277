#!/bin/sh
# netfront-reconnect: tests/netfront-e2e with pvio-netback killed (kill -9) and restarted in the
# middle of the TCP stream: pvio-netfront reconnects and the connection survives.
PVIO_NF_KILL=1 exec timeout 120 "${PVIO_BUILDDIR:-.}/tests/netfront-e2e"
