#!/bin/sh
# blk-poll-off: the block device's end-to-end tests with pvio-blkback's polling off
# (--poll-us 0, pure interrupt mode, as before adaptive polling became the default) and with a
# fixed budget (--poll-us 20): every mode still answers everything, restarts included.
set -u
. "${PVIO_SRCDIR:-.}/tests/blk-variant.sh"
for us in 0 20; do
	PVIO_TEST_BLKBACK_POLL_US=$us
	export PVIO_TEST_BLKBACK_POLL_US
	blk_variant "--poll-us $us"
done
exit $status
