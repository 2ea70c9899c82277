#!/bin/sh
# blk-bounce: the block device's end-to-end tests with pvio-blkback --bounce (reads and writes
# through private buffers, as on Xen by default): every request still answered with the right
# data, restarts included (blk-e2e's verified reads and writes, blk-kill-backend's kills).
set -u
. "${PVIO_SRCDIR:-.}/tests/blk-variant.sh"
PVIO_TEST_BLKBACK_BOUNCE=1
export PVIO_TEST_BLKBACK_BOUNCE
blk_variant --bounce
exit $status
