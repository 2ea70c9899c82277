#!/bin/sh
# blk-poll-off: the block device's end-to-end tests with pvio-blkback's polling off
# (--poll-us 0, pure interrupt mode, as before adaptive polling became the default) and with a
# fixed budget (--poll-us 20): every mode still answers everything, restarts included.
set -u
b=${PVIO_BUILDDIR:-.}
status=0
for us in 0 20; do
	for t in blk-e2e blk-kill-backend; do
		PVIO_TEST_BLKBACK_POLL_US=$us timeout -k 10 300 "$b/tests/$t"
		rc=$?
		case $rc in
		0) ;;
		77) echo "SKIP: $t"; exit 77 ;;
		*)
			echo "FAIL: $t with --poll-us $us (exit $rc)"
			status=1
			;;
		esac
	done
done
exit $status
