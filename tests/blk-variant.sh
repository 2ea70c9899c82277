# blk-variant.sh - sourced by the scripts that run the block device's end-to-end tests again
# with pvio-blkback in another mode (tests/blk-poll-off.sh, tests/blk-bounce.sh; the mode is
# in the environment blk-env reads): blk_variant WHAT runs blk-e2e and blk-kill-backend, each
# with a time limit, and sets status to 1 on a failure, naming WHAT; exits 77 on a skip.
# shellcheck shell=sh

status=0

blk_variant() {
	for t in blk-e2e blk-kill-backend; do
		timeout -k 10 300 "${PVIO_BUILDDIR:-.}/tests/$t"
		rc=$?
		case $rc in
		0) ;;
		77) echo "SKIP: $t"; exit 77 ;;
		*)
			echo "FAIL: $t with $1 (exit $rc)"
			status=1
			;;
		esac
	done
}
