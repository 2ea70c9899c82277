#!/bin/sh
# blk-poll-off: the block device's end-to-end tests with pvio-blkback's polling off
# (--poll-us 0, pure interrupt mode, as before adaptive polling became the default) and with a
# fixed budget (--poll-us 20), and the default where the clock is slow: every mode still
# answers everything, restarts included.
set -u
. "${PVIO_SRCDIR:-.}/tests/blk-variant.sh"
for us in 0 20; do
	PVIO_TEST_BLKBACK_POLL_US=$us
	export PVIO_TEST_BLKBACK_POLL_US
	blk_variant "--poll-us $us"
done
# As in a Xen PV domain under TCG, where each clock read is a system call (ring_clock_slow):
# the default mode polls off on both sides and times its statistics with the coarse clock.
unset PVIO_TEST_BLKBACK_POLL_US
PVIO_CLOCK_SLOW=1
export PVIO_CLOCK_SLOW
blk_variant "a slow clock (PVIO_CLOCK_SLOW=1)"
exit $status
