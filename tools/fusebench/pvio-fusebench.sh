#!/bin/sh
# pvio-fusebench: fio on the guest's disk as users see it (a loop device over pvio-blkfront's
# MOUNTPOINT/disk) against the same fio on the image file under it, in one run.
#
#	tools/fusebench/pvio-fusebench.sh [-b BUILDDIR] [-t SECONDS] [-s MIB]
#
# A SIZE MiB image (default 256) in /dev/shm is measured directly, then served by pvio-blkback
# in a driver domain to pvio-blkfront in a guest on the embedded hypervisor
# (tests/blk-fuse-env), and measured on MOUNTPOINT/disk itself and through
# `losetup --direct-io=off` and `--direct-io=on`.
# Each job: fio libaio, O_DIRECT, SECONDS each (default 10): 4 KiB random read and write at
# iodepth 1 and 32, and 1 MiB sequential read and write at iodepth 4.  Prints one line per job:
# where, rw, block size, depth, IOPS, ratio to the file's IOPS in the same run, and for the loop
# device with --direct-io=on (the README's way) issue 12's target beside it: >= 0.5 at 4 KiB
# iodepth 32, >= 0.8 at 1 MiB.
# Needs root, /dev/fuse, loop devices, fio and python3 (to read fio's JSON).
set -u

# The jobs on $1, one "rw bs depth iops" line each.
jobs() {
	for job in "randread 4k 1" "randread 4k 32" "randwrite 4k 1" "randwrite 4k 32" \
		"read 1m 4" "write 1m 4"; do
		set -- "$1" $job
		fio --name=fusebench --filename="$1" --rw="$2" --bs="$3" --ioengine=libaio \
			--direct=1 --iodepth="$4" --time_based --runtime="$runtime" \
			--ramp_time=1 --norandommap --output-format=json >"$tmp/fio.json" ||
			return 1
		iops=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["jobs"][0]
print(int(j["read"]["iops"] + j["write"]["iops"]))' "$tmp/fio.json") || return 1
		echo "$2 $3 $4 $iops"
	done
}

# Run by blk-fuse-env in dom0 once MOUNTPOINT/disk exists: the FUSE file itself, then the loop
# device in both modes.
inner() {
	jobs "$1/disk" | sed "s/^/fuse-file /" || return 1
	for dio in off on; do
		loop=$(losetup -f --show --direct-io=$dio "$1/disk") || return 1
		jobs "$loop" | sed "s/^/loop-dio-$dio /"
		rc=$?
		losetup -d "$loop"
		[ $rc -eq 0 ] || return 1
	done
}

if [ "${1:-}" = --inner ]; then
	tmp=$2 runtime=$3
	inner "$4"
	exit $?
fi

builddir=build runtime=10 size=256
while getopts b:t:s: o; do
	case $o in
	b) builddir=$OPTARG ;;
	t) runtime=$OPTARG ;;
	s) size=$OPTARG ;;
	*) echo "usage: $0 [-b BUILDDIR] [-t SECONDS] [-s MIB]" >&2 && exit 2 ;;
	esac
done
builddir=$(cd "$builddir" && pwd) || exit 1
tmp=$(mktemp -d /dev/shm/pvio-fusebench.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
mkdir "$tmp/mnt" || exit 1
# Written through once, so that neither side reads holes.
dd if=/dev/urandom of="$img" bs=1M count="$size" status=none || exit 1
echo "# $(uname -srm), $(nproc) CPUs; fio $(fio --version); ${size} MiB image in /dev/shm"
echo "# fio libaio, direct, ${runtime} s per job; ratio = IOPS / the image file's in this run"
jobs "$img" | sed 's/^/file /' >"$tmp/file.txt" || exit 1
PVIO_BUILDDIR=$builddir timeout $((runtime * 60 + 600)) "$builddir/tests/blk-fuse-env" \
	"$img" "$tmp/mnt" sh "$0" --inner "$tmp" "$runtime" "$tmp/mnt" >"$tmp/loop.txt" ||
	{ cat "$tmp/loop.txt" >&2 && exit 1; }
cat "$tmp/file.txt" "$tmp/loop.txt" | awk '
	$1 == "file" { base[$2 " " $3 " " $4] = $5 }
	{ r = base[$2 " " $3 " " $4] ? $5 / base[$2 " " $3 " " $4] : 0
	  t = ""
	  if ($1 == "loop-dio-on" && $3 == "4k" && $4 == 32) t = 0.5
	  if ($1 == "loop-dio-on" && $3 == "1m") t = 0.8
	  printf "%-13s %-9s %-2s depth %-2s %8d IOPS  %.3f", $1, $2, $3, $4, $5, r
	  if (t != "") printf "  target >= %.1f %s", t, (r >= t ? "met" : "not met")
	  printf "\n" }'
