#!/bin/sh
# blk-bounce: the block device's end-to-end tests with pvio-blkback --bounce (reads and writes
# through private buffers, as on Xen by default): every request still answered with the right
# data, restarts included (blk-e2e's verified reads and writes, blk-kill-backend's kills).
set -u
b=${PVIO_BUILDDIR:-.}
status=0
for t in blk-e2e blk-kill-backend; do
	PVIO_TEST_BLKBACK_BOUNCE=1 timeout -k 10 300 "$b/tests/$t"
	rc=$?
	case $rc in
	0) ;;
	77) echo "SKIP: $t"; exit 77 ;;
	*)
		echo "FAIL: $t with --bounce (exit $rc)"
		status=1
		;;
	esac
done
exit $status
