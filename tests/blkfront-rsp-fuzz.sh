#!/bin/sh
# blkfront-rsp-fuzz: build frontend/blk/rsp-fuzz.c (libFuzzer, ASan, UBSan) with
# libpvio-blkfront's request and response path (queue.c, ops.c, reconnect.c, buf.c, the grant
# pool) and fuzz it as a hostile back-end answers, lies about its ring and changes state, from
# tests/data/blkfront-rsp-fuzz-corpus for PVIO_FUZZ_SECONDS (default 30); see
# tests/libfuzzer.sh for skips and failures.
set -u
. "${PVIO_SRCDIR:-.}/tests/libfuzzer.sh"
fuzz_setup blkfront-rsp-fuzz
fuzz_build blkfront-rsp-fuzz -D__XEN_TOOLS__=1 frontend/blk/rsp-fuzz.c frontend/blk/queue.c \
	frontend/blk/ops.c frontend/blk/reconnect.c frontend/blk/buf.c grant/gntpool.c \
	ring/ring.c ring/ring-blkif.c ring/adaptive.c hv/log.c \
	-Wl,--wrap=calloc,--wrap=free
fuzz_run blkfront-rsp-fuzz 4096
