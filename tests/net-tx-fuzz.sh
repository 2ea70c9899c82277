#!/bin/sh
# net-tx-fuzz: build backend/net/tx-fuzz.c (libFuzzer, ASan, UBSan) with netback's data plane
# and fuzz its TX path, as a hostile front writes slots, extra info and GSO fields, from
# tests/data/net-tx-fuzz-corpus for PVIO_FUZZ_SECONDS (default 30); see tests/libfuzzer.sh for
# skips and failures.
set -u
. "${PVIO_SRCDIR:-.}/tests/libfuzzer.sh"
fuzz_setup net-tx-fuzz
fuzz_build net-tx-fuzz -D__XEN_TOOLS__=1 backend/net/tx-fuzz.c backend/net/netback.c \
	backend/net/tx.c backend/net/rx.c backend/net/credit.c ring/ring.c hv/log.c \
	backend/net/hash.c backend/net/mcast.c ring/eoi.c
fuzz_run net-tx-fuzz 8192
