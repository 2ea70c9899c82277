#!/bin/sh
# netfront-rx-fuzz: build tests/netfront-rx-fuzz.c (libFuzzer, ASan, UBSan) with
# libpvio-netfront's receive path (frontend/net/rx.c) and fuzz it with a hostile back-end's RX
# responses, extra info and ring indices from tests/data/netfront-rx-fuzz-corpus for
# PVIO_FUZZ_SECONDS (default 30); see tests/libfuzzer.sh for skips and failures.
set -u
. "${PVIO_SRCDIR:-.}/tests/libfuzzer.sh"
fuzz_setup netfront-rx-fuzz
fuzz_build netfront-rx-fuzz tests/netfront-rx-fuzz.c frontend/net/rx.c ring/ring.c
fuzz_run netfront-rx-fuzz 4096
