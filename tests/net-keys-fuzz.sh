#!/bin/sh
# net-keys-fuzz: build backend/net/keys-fuzz.c (libFuzzer, ASan, UBSan) with pvio-netback's
# control plane (backend/net/xenbus.c, xenbus/) and fuzz it as a hostile front writes its
# xenstore keys and a toolstack changes the back-end's, from tests/data/net-keys-fuzz-corpus
# for PVIO_FUZZ_SECONDS (default 30); see tests/libfuzzer.sh for skips and failures.
set -u
. "${PVIO_SRCDIR:-.}/tests/libfuzzer.sh"
fuzz_setup net-keys-fuzz
fuzz_build net-keys-fuzz -D__XEN_TOOLS__=1 backend/net/keys-fuzz.c backend/net/xenbus.c \
	backend/net/hash.c backend/net/mcast.c backend/net/credit.c xenbus/xenbus.c \
	xenbus/backend.c hv/log.c
fuzz_run net-keys-fuzz 4096
