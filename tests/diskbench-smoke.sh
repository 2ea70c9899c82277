#!/bin/sh
# diskbench-smoke: pvio-diskbench --quick runs the guest, the driver domain, the baselines
# (libaio, and fio when installed) and the guest's loop device over pvio-blkfront (FUSE; where
# root, /dev/fuse, losetup and fio are there, else it prints its skip line) to the end, exits 0
# and prints a line for every workload and engine and a verdict for every workload.  No figure
# is checked: performance is never asserted by a test.
set -u

bench="${PVIO_BUILDDIR:-.}/pvio-diskbench"
if [ ! -x "$bench" ]; then
	echo "diskbench-smoke: $bench: not built" >&2
	exit 1
fi
if [ ! -d /dev/shm ] || [ ! -w /dev/shm ]; then
	echo "diskbench-smoke: no writable /dev/shm" >&2
	exit 77
fi

out=$(mktemp "${TMPDIR:-/tmp}/diskbench-smoke.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

engines='pvio aio'
fio=--no-fio
if command -v fio >/dev/null 2>&1; then
	engines='pvio aio fio'
	fio=
fi

if ! timeout -k 10 600 "$bench" --quick $fio >"$out"; then
	echo "diskbench-smoke: pvio-diskbench --quick $fio failed" >&2
	cat "$out" >&2
	exit 1
fi

status=0
# check_table ENGINES VERDICT-ENGINE VERDICT-END WORKLOAD...: a line per workload and engine,
# and a verdict line per workload (its baseline VERDICT-ENGINE, ending in VERDICT-END).
check_table() {
	engs=$1
	veng=$2
	vend=$3
	shift 3
	for wl in "$@"; do
		for engine in $engs; do
			if ! grep -Eq "^$wl +$engine +[0-9]+ " "$out"; then
				echo "diskbench-smoke: no \"$wl\" line for $engine" >&2
				status=1
			fi
		done
		if ! grep -Eq "^$wl +$veng +[0-9.]+ .*$vend\$" "$out"; then
			echo "diskbench-smoke: no verdict for \"$wl\" against $veng" >&2
			status=1
		fi
	done
}

check_table "$engines" aio '(met|not met)' 'randread 4k qd1' 'randwrite 4k qd1' \
	'randread 4k qd32' 'randwrite 4k qd32' 'seqread 128k qd32' 'seqwrite 128k qd32'
if ! grep -Eq '^idle CPU +pvio-blkback [0-9.]+%, blkfront [0-9.]+% .*(met|not met)$' "$out"; then
	echo "diskbench-smoke: no idle CPU line" >&2
	status=1
fi
# The guest's loop device (pvio-blkfront over FUSE): every row and verdict, or the skip line.
if grep -Eq '^loop: +skipped' "$out"; then
	grep -E '^loop: +skipped' "$out"
else
	check_table 'loop image' image '(met|not met|-)' 'randread 4k qd1' 'randwrite 4k qd1' \
		'randread 4k qd32' 'randwrite 4k qd32' 'seqread 1m qd4' 'seqwrite 1m qd4'
fi
for fact in 'machine:' 'cpu:' 'file:' 'runtime:' 'pvio:' 'negotiated:' 'baselines:'; do
	if ! grep -q "^$fact" "$out"; then
		echo "diskbench-smoke: no \"$fact\" line" >&2
		status=1
	fi
done
[ "$status" -eq 0 ] || cat "$out" >&2
exit "$status"
