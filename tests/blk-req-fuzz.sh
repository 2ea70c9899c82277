#!/bin/sh
# blk-req-fuzz: build backend/blk/req-fuzz.c (libFuzzer, ASan, UBSan) with pvio-blkback's data
# plane (blkback.c, request.c, io.c, the persistent-grant cache) and fuzz its request path, as
# a hostile front writes requests, indirect descriptors and ring indices, from
# tests/data/blk-req-fuzz-corpus for PVIO_FUZZ_SECONDS (default 30); see tests/libfuzzer.sh
# for skips and failures.
set -u
. "${PVIO_SRCDIR:-.}/tests/libfuzzer.sh"
fuzz_setup blk-req-fuzz
fuzz_build blk-req-fuzz -D__XEN_TOOLS__=1 backend/blk/req-fuzz.c backend/blk/blkback.c \
	backend/blk/request.c backend/blk/io.c backend/blk/journal.c grant/mapcache.c \
	ring/ring.c ring/ring-blkif.c ring/adaptive.c ring/eoi.c hv/log.c \
	-Wl,--wrap=calloc,--wrap=free
# A quarantine of 32 MiB, not ASan's 256: an input frees far less than that, so a use after
# free within one input is still caught, and freed memory is reused while its pages are still
# mapped (the default made page faults a third of the run's CPU).
fuzz_run blk-req-fuzz 16384 quarantine_size_mb=32
