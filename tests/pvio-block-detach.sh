#!/bin/sh
# pvio-block-detach: pvio block-detach of a disk that no front-end uses.  pvio-blkback answers
# the toolstack's Closing at once (nobody else will), so the detach neither waits out its 10 s
# nor warns, and the back-end forgets the device.
set -u
build=${PVIO_BUILDDIR:-.}
pvio=$build/pvio
blkback=$build/pvio-blkback
[ -x "$pvio" ] && [ -x "$blkback" ] || { echo "SKIP: pvio or pvio-blkback not built"; exit 77; }
command -v xenstore-exists >/dev/null 2>&1 || { echo "SKIP: no xenstore-exists"; exit 77; }
dir=$(mktemp -d /tmp/pvio-detach-XXXXXX) || exit 1
PVIO_RUNDIR=$dir
export PVIO_RUNDIR
unset XENSTORED_PATH PVIO_HV_SOCKET PVIO_HV_FD
cleanup() {
	for d in guest dd; do "$pvio" destroy "$d" >/dev/null 2>&1; done
	"$pvio" down >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# wait_for CMD...: up to 5 s for CMD to succeed.
wait_for() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 250 ] || return 1; sleep 0.02
	done
}

eval "$("$pvio" up)" || fail "pvio up"
dd=$("$pvio" create dd -- "$blkback" -v) || fail "create dd"
guest=$("$pvio" create guest -- sleep 60) || fail "create guest"
truncate -s 1M "$dir/disk.img" || fail "truncate"
"$pvio" block-attach guest "target=$dir/disk.img,vdev=xvdb,backend=dd" || fail "block-attach"
be=/local/domain/$dd/backend/vbd/$guest/51728
wait_for sh -c "[ \"\$(xenstore-read $be/state)\" = 2 ]" || fail "the back-end never reached InitWait"
timeout 30 "$pvio" block-detach guest xvdb 2>"$dir/err" || fail "block-detach: $(cat "$dir/err")"
[ -s "$dir/err" ] && fail "block-detach said: $(cat "$dir/err")"
xenstore-exists "$be" 2>/dev/null && fail "back-end directory left"
wait_for grep -q "51728: forgotten" "$dir/dd.log" || fail "pvio-blkback kept the device: $(cat "$dir/dd.log")"
exit 0
