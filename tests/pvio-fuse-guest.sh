#!/bin/sh
# pvio-fuse-guest: a guest created with pvio create --fuse=2, isolated (no --shared), runs
# pvio-blkfront(8) on a /dev/fuse descriptor it was handed: it writes 1 MiB of random data
# through MOUNTPOINT/disk and reads it back, and dom0 then finds the same bytes in the image the
# driver domain serves.  A second front-end started with pvio exec takes the other descriptor
# and serves a second disk the same way.  A domain created without --fuse has no /dev/fuse and
# cannot mount.
# Needs root and /dev/fuse (pvio-blkfront built).
. "$(dirname "$0")/pvio-lib.sh"
blkback=$build/pvio-blkback
blkfront=$build/pvio-blkfront
t_need "$pvio" "$blkback" "$blkfront" xenstore-read cmp
[ -c /dev/fuse ] && [ "$(id -u)" = 0 ] || { echo "SKIP: needs root and /dev/fuse"; exit 77; }
t_rundir pvio-fuse-guest
t_domains="guest nofuse dd"

eval "$("$pvio" up)" || fail "pvio up"
truncate -s 4M "$dir/disk.img" "$dir/disk2.img" || fail "truncate"
dd if=/dev/urandom of="$dir/pattern" bs=65536 count=16 2>/dev/null || fail "pattern"
dd if=/dev/urandom of="$dir/pattern2" bs=65536 count=16 2>/dev/null || fail "pattern2"
mkdir "$dir/mnt" "$dir/mnt2" || fail "mkdir"
: >"$dir/result"
: >"$dir/result2"
dd=$("$pvio" create -b "own:$dir/disk.img" -b "own:$dir/disk2.img" dd -- "$blkback" -v \
	--storage "$dir") || fail "create dd"

# The guest: mount, write the pattern through the file, read it back, say how it went, stay.
guest=$("$pvio" create --fuse=2 -b "own:$dir/mnt" -b "own:$dir/result" -b "ro:$dir/pattern" \
	-b "ro:$dir/pattern2" \
	guest -- sh -c '
	"$0" -f --wait 10 xvdb "$1" & i=0
	until [ -e "$1/disk" ]; do i=$((i + 1)); [ $i -lt 500 ] || exit 1; sleep 0.02; done
	if dd if="$2" of="$1/disk" bs=65536 conv=notrunc,fsync 2>/dev/null &&
		cmp -n 1048576 "$2" "$1/disk"; then echo ok >"$3"; else echo bad >"$3"; fi
	exec sleep 1000' "$blkfront" "$dir/mnt" "$dir/pattern" "$dir/result") ||
	fail "create guest"
"$pvio" block-attach guest "target=$dir/disk.img,vdev=xvdb,backend=dd" || fail "block-attach"
wait_for test -s "$dir/result" || fail "no result from the guest: $(cat "$dir/guest.log")"
[ "$(cat "$dir/result")" = ok ] || fail "the guest read back other data: $(cat "$dir/guest.log")"
cmp -n 1048576 "$dir/pattern" "$dir/disk.img" || fail "the image does not hold what the guest wrote"

# A second front-end started later in the guest (pvio exec) takes the second descriptor, not
# the first one's mount: its own disk gets the other data.
"$pvio" block-attach guest "target=$dir/disk2.img,vdev=xvdc,backend=dd" || fail "block-attach 2"
out=$("$pvio" exec guest -- sh -c '
	mkdir -p /tmp/m2 && "$0" -f --wait 10 xvdc /tmp/m2 >/dev/null 2>&1 & i=0
	until [ -e /tmp/m2/disk ]; do i=$((i + 1)); [ $i -lt 500 ] || exit 1; sleep 0.02; done
	dd if="$1" of=/tmp/m2/disk bs=65536 conv=notrunc,fsync 2>/dev/null &&
		cmp -n 1048576 "$1" /tmp/m2/disk && echo ok
	kill $!; wait' "$blkfront" "$dir/pattern2") || fail "exec'd front-end: $out"
[ "$out" = ok ] || fail "exec'd front-end: '$out'"
cmp -n 1048576 "$dir/pattern2" "$dir/disk2.img" || fail "the second image lacks the second data"
cmp -n 1048576 "$dir/pattern" "$dir/disk.img" || fail "the first image was overwritten"

# Without --fuse: no /dev/fuse, and pvio-blkfront cannot mount.
"$pvio" create -b "own:$dir/mnt2" -b "own:$dir/result2" nofuse -- sh -c '
	if [ -e /dev/fuse ] || (exec 3</dev/fuse) 2>/dev/null; then echo open >"$2";
	elif "$0" -f --wait 1 xvdb "$1"; then echo mounted >"$2"; else echo refused >"$2"; fi
	exec sleep 1000' "$blkfront" "$dir/mnt2" "$dir/result2" >/dev/null || fail "create nofuse"
wait_for test -s "$dir/result2" || fail "no result from nofuse: $(cat "$dir/nofuse.log")"
[ "$(cat "$dir/result2")" = refused ] || fail "a domain without --fuse: $(cat "$dir/result2")"
exit 0
