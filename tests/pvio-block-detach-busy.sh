#!/bin/sh
# pvio-block-detach-busy: pvio block-detach of a disk that an idle pvio-blkfront(8) has mounted.
# The front-end answers the back-end's Closing even while no file operation runs, so the detach
# neither waits out its 10 s nor warns.  Needs root and /dev/fuse (pvio-blkfront built).
. "$(dirname "$0")/pvio-lib.sh"
blkback=$build/pvio-blkback
blkfront=$build/pvio-blkfront
t_need "$pvio" "$blkback" "$blkfront" xenstore-read fusermount3
[ -c /dev/fuse ] && [ "$(id -u)" = 0 ] || { echo "SKIP: needs root and /dev/fuse"; exit 77; }
t_rundir pvio-detach-busy
t_domains="guest dd"
mkdir "$dir/mnt" || exit 1
t_unmount() { fusermount3 -u "$dir/mnt" 2>/dev/null; t_cleanup; }
trap t_unmount EXIT

eval "$("$pvio" up)" || fail "pvio up"
truncate -s 1M "$dir/disk.img" || fail "truncate"
: >"$dir/mounted"
# The driver domain sees the disk, the guest its mount point and a file to say it mounted: the
# FUSE mount is in the guest's own mount namespace, out of dom0's sight.
dd=$("$pvio" create -b "own:$dir/disk.img" dd -- "$blkback" -v --storage "$dir") || fail "create dd"
# The guest mounts with the /dev/fuse descriptor it is handed (--fuse), isolated.
guest=$("$pvio" create -b "own:$dir/mnt" -b "own:$dir/mounted" --fuse guest -- sh -c \
	'"$0" -f --wait 10 xvdb "$1" & until [ -e "$1/disk" ]; do sleep 0.02; done; echo y >"$2"; wait' \
	"$blkfront" "$dir/mnt" "$dir/mounted") || fail "create guest"
"$pvio" block-attach guest "target=$dir/disk.img,vdev=xvdb,backend=dd" || fail "block-attach"
be=/local/domain/$dd/backend/vbd/$guest/51728
wait_for sh -c "[ \"\$(xenstore-read $be/state)\" = 4 ]" || fail "the device never connected"
wait_for test -s "$dir/mounted" || fail "pvio-blkfront did not mount: $(cat "$dir/guest.log")"
timeout 30 "$pvio" block-detach guest xvdb 2>"$dir/err" || fail "block-detach: $(cat "$dir/err")"
[ -s "$dir/err" ] && fail "block-detach said: $(cat "$dir/err")"
exit 0
