#!/bin/sh
# shellcheck disable=SC2317 # the cleanup functions run from traps
# blk-fuse: pvio-blkfront(8) makes the guest's disk a file that losetup turns into a working
# block device.  On the embedded hypervisor, with pvio-blkback serving a 64 MiB image in a driver
# domain (tests/blk-fuse-env), it runs on the loop device: fio random writes of 4 KiB and 64 KiB
# with crc32c verification (O_DIRECT if the loop device takes it, else buffered), then, where
# mkfs.ext4 exists, mkfs + mount + a file written, read back after a remount, and fsck.
# Passes only if fio's verification passed.  Needs root, /dev/fuse, loop devices, losetup, fio.
set -u

# The part run by blk-fuse-env once MOUNTPOINT/disk exists: $1 is the mount point.
inner() {
	mnt=$1
	loop=""
	fsdir=""
	work=""
	trap 'inner_cleanup' EXIT
	if ! out=$(losetup -f --show "$mnt/disk" 2>&1); then
		case $out in
		*"ermission denied"* | *"not permitted"*)
			echo "SKIP: losetup: $out"
			exit 77
			;;
		esac
		echo "FAIL: losetup -f --show $mnt/disk: $out" >&2
		exit 1
	fi
	loop=$out
	echo "loop device: $loop"
	inner_fio || exit 1
	if command -v mkfs.ext4 >/dev/null 2>&1; then
		inner_ext4 || exit 1
	else
		echo "no mkfs.ext4: file system part left out"
	fi
	exit 0
}

inner_cleanup() {
	[ -n "$work" ] && rm -rf "$work"
	[ -n "$fsdir" ] && mountpoint -q "$fsdir" && umount "$fsdir"
	[ -n "$loop" ] && losetup -d "$loop"
	[ -n "$fsdir" ] && rmdir "$fsdir"
}

# fio on the loop device; verification must have read the data back ("READ:" in the output).
inner_fio() {
	# O_DIRECT on the loop device unless it refuses (then buffered, still verified).
	direct=1
	engine=libaio
	if ! dd if="$loop" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; then
		direct=0
		engine=psync
	fi
	# fio keeps its verify state file in the working directory.
	work=$(mktemp -d "${TMPDIR:-/tmp}/blk-fuse-fio.XXXXXX") || return 1
	set -- --name=blk-fuse --filename="$loop" --rw=randwrite --bssplit=4k/50:64k/50 \
		--ioengine=$engine --iodepth=8 --direct=$direct --size=32M \
		--verify=crc32c --do_verify=1 --verify_fatal=1
	(cd "$work" && fio "$@" --runtime=10 --output="$work/write.log")
	rc=$?
	cat "$work/write.log"
	log=$work/write.log
	# The runtime ended the writes before fio's verify phase: verify what was written.
	if [ $rc -eq 0 ] && ! grep -q 'READ: bw=' "$log"; then
		echo "write phase cut at 10 s: verifying what was written"
		(cd "$work" && fio "$@" --verify_only --verify_state_load=1 \
			--output="$work/verify.log")
		rc=$?
		cat "$work/verify.log"
		log=$work/verify.log
	fi
	if [ $rc -ne 0 ] || ! grep -q 'READ: bw=' "$log"; then
		echo "FAIL: fio (direct=$direct) exited $rc or did not verify" >&2
		rm -rf "$work"
		return 1
	fi
	rm -rf "$work"
	echo "fio verify passed (direct=$direct)"
}

inner_ext4() {
	fsdir=$(mktemp -d "${TMPDIR:-/tmp}/blk-fuse-fs.XXXXXX") || return 1
	data=$fsdir.data
	mkfs.ext4 -q -F "$loop" || { echo "FAIL: mkfs.ext4 $loop" >&2; return 1; }
	if ! out=$(mount "$loop" "$fsdir" 2>&1); then
		case $out in
		*"ermission denied"* | *"not permitted"*)
			# A user namespace mounts FUSE but not ext4: the fio part stands alone.
			echo "ext4 part left out: $out"
			return 0
			;;
		esac
		echo "FAIL: mount $loop: $out" >&2
		return 1
	fi
	dd if=/dev/urandom of="$data" bs=64k count=64 2>/dev/null || return 1
	if ! cp "$data" "$fsdir/file" || ! sync; then
		echo "FAIL: write a file" >&2
		rm -f "$data"
		return 1
	fi
	if ! umount "$fsdir" || ! mount "$loop" "$fsdir"; then
		echo "FAIL: remount" >&2
		rm -f "$data"
		return 1
	fi
	if ! cmp "$data" "$fsdir/file"; then
		echo "FAIL: the file read back differs" >&2
		rm -f "$data"
		return 1
	fi
	rm -f "$data"
	umount "$fsdir" || return 1
	fsck.ext4 -fn "$loop" >/dev/null 2>&1 || { echo "FAIL: fsck.ext4 -fn $loop" >&2; return 1; }
	echo "ext4: mkfs, mount, file written and read back, fsck clean"
}

if [ "${1:-}" = --inner ]; then
	inner "$2"
fi

skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "not root"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -c /dev/loop-control ] || skip "no /dev/loop-control"
command -v losetup >/dev/null 2>&1 || skip "no losetup"
command -v fio >/dev/null 2>&1 || skip "no fio"
command -v fusermount3 >/dev/null 2>&1 || skip "no fusermount3"
bindir=${PVIO_BUILDDIR:-.}
env=$bindir/tests/blk-fuse-env
# make check builds it: missing means a broken build, not a host that cannot run the test.
[ -x "$env" ] || { echo "FAIL: $env not built" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/blk-fuse.XXXXXX") || exit 1
log=$dir/env.log
cleanup() {
	# blk-fuse-env tears down; this is for a test killed half-way.
	for l in $(losetup -n -O NAME -j "$dir/mnt/disk" 2>/dev/null); do
		losetup -d "$l"
	done
	mountpoint -q "$dir/mnt" 2>/dev/null && umount -l "$dir/mnt"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$dir/mnt" || exit 1
truncate -s 64M "$dir/disk.img" || exit 1

# Bounded: a hang anywhere (the daemons, FUSE, fio) fails the test; cleanup() then tidies up.
timeout -k 10 600 "$env" "$dir/disk.img" "$dir/mnt" sh "$0" --inner "$dir/mnt" 2>"$log"
rc=$?
cat "$log" >&2
case $rc in
0) echo "PASS" ;;
77) ;;
3)
	# pvio-blkfront could not mount: an unprivileged container is a skip, the rest a failure.
	if grep -qi 'permission denied\|not permitted' "$log"; then
		skip "mounting FUSE is not permitted here"
	fi
	echo "FAIL: pvio-blkfront did not come up" >&2
	rc=1
	;;
*) echo "FAIL: exit status $rc" >&2 ;;
esac
exit $rc
