#!/bin/sh
# pvio-down-domains: pvio down destroys every domain before it stops the daemons, guests first,
# so that nothing is left running (pvio-blkback in a driver domain, a guest's program, one with
# no hypervisor session of its own) and the driver domain's back-end closes the guest's device
# cleanly before it goes itself.
. "$(dirname "$0")/pvio-lib.sh"
blkback=$build/pvio-blkback
t_need "$pvio" "$blkback" xenstore-read
t_rundir pvio-down

eval "$("$pvio" up)" || fail "pvio up"
truncate -s 1M "$dir/disk.img" || fail "truncate"
: >"$dir/dd.pid"
: >"$dir/guest.pid"
: >"$dir/idle.pid"
# Each program records its pid (in its domain's pid namespace: only to say it started), then
# becomes the daemon (exec keeps the pid).  Each domain sees only its own file (and dd its disk).
dd=$("$pvio" create -b "own:$dir/dd.pid" -b "own:$dir/disk.img" dd -- \
	sh -c 'echo $$ >"$0"; exec "$1" -v --storage "$2"' "$dir/dd.pid" "$blkback" "$dir") ||
	fail "create dd"
guest=$("$pvio" create -b "own:$dir/guest.pid" guest -- \
	sh -c 'echo $$ >"$0"; exec "$1"' "$dir/guest.pid" "$blkback") || fail "create guest"
"$pvio" create -b "own:$dir/idle.pid" idle -- \
	sh -c 'echo $$ >"$0"; exec sleep 60' "$dir/idle.pid" >/dev/null || fail "create idle"
"$pvio" block-attach guest "target=$dir/disk.img,vdev=xvdb,backend=dd" || fail "block-attach"
be=/local/domain/$dd/backend/vbd/$guest/51728
wait_for sh -c "[ \"\$(xenstore-read $be/state)\" = 2 ]" || fail "the back-end never reached InitWait"
wait_for test -s "$dir/guest.pid" || fail "the guest's program did not start"
wait_for test -s "$dir/idle.pid" || fail "the idle domain's program did not start"
# Each domain's init (the first field of its record): once it is gone, so is all of its domain.
pids="$(cat "$dir/hv.pid" "$dir/xenstored.pid") $(cut -d' ' -f1 "$dir"/domain-*.pgid)"
timeout 60 "$pvio" down 2>"$dir/err" || fail "pvio down: $(cat "$dir/err")"
[ -s "$dir/err" ] && fail "pvio down said: $(cat "$dir/err")"
for p in $pids; do
	wait_for gone "$p" || fail "pid $p ($(cat "/proc/$p/comm")) still runs after pvio down"
done
grep -q "51728: forgotten" "$dir/dd.log" ||
	fail "the driver domain did not close the guest's device: $(cat "$dir/dd.log")"
exit 0
