#!/bin/sh
# pvio-block-detach: pvio block-detach of a disk that no front-end uses.  pvio-blkback answers
# the toolstack's Closing at once (nobody else will), so the detach neither waits out its 10 s
# nor warns, and the back-end forgets the device.
. "$(dirname "$0")/pvio-lib.sh"
blkback=$build/pvio-blkback
t_need "$pvio" "$blkback" xenstore-read xenstore-exists
t_rundir pvio-detach
t_domains="guest dd"

eval "$("$pvio" up)" || fail "pvio up"
truncate -s 1M "$dir/disk.img" || fail "truncate"
# The driver domain sees the disk, owned by its uid, and nothing else of the host's.
dd=$("$pvio" create -b "own:$dir/disk.img" dd -- "$blkback" -v --storage "$dir") || fail "create dd"
guest=$("$pvio" create guest -- sleep 60) || fail "create guest"
"$pvio" block-attach guest "target=$dir/disk.img,vdev=xvdb,backend=dd" || fail "block-attach"
be=/local/domain/$dd/backend/vbd/$guest/51728
wait_for sh -c "[ \"\$(xenstore-read $be/state)\" = 2 ]" || fail "the back-end never reached InitWait"
timeout 30 "$pvio" block-detach guest xvdb 2>"$dir/err" || fail "block-detach: $(cat "$dir/err")"
[ -s "$dir/err" ] && fail "block-detach said: $(cat "$dir/err")"
xenstore-exists "$be" 2>/dev/null && fail "back-end directory left"
wait_for grep -q "51728: forgotten" "$dir/dd.log" || fail "pvio-blkback kept the device: $(cat "$dir/dd.log")"
exit 0
