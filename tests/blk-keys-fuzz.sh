#!/bin/sh
# blk-keys-fuzz: build backend/blk/keys-fuzz.c (libFuzzer, ASan, UBSan) with pvio-blkback's
# control plane (backend/blk/xenbus.c, xenbus/xenbus.c, xenbus/backend.c) and fuzz its connect-time parsing of
# the keys a hostile front writes into its xenstore directory, from
# tests/data/blk-keys-fuzz-corpus for PVIO_FUZZ_SECONDS (default 30); see tests/libfuzzer.sh
# for skips and failures.
set -u
. "${PVIO_SRCDIR:-.}/tests/libfuzzer.sh"
fuzz_setup blk-keys-fuzz
fuzz_build blk-keys-fuzz -D__XEN_TOOLS__=1 backend/blk/keys-fuzz.c backend/blk/xenbus.c \
	xenbus/xenbus.c xenbus/backend.c hv/log.c
fuzz_run blk-keys-fuzz 4096
