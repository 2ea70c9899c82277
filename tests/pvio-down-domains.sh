#!/bin/sh
# pvio-down-domains: pvio down destroys every domain before it stops the daemons, guests first,
# so that nothing is left running (pvio-blkback in a driver domain, a guest's program) and the
# driver domain's back-end closes the guest's device cleanly before it goes itself.
set -u
build=${PVIO_BUILDDIR:-.}
pvio=$build/pvio
blkback=$build/pvio-blkback
[ -x "$pvio" ] && [ -x "$blkback" ] || { echo "SKIP: pvio or pvio-blkback not built"; exit 77; }
command -v xenstore-read >/dev/null 2>&1 || { echo "SKIP: no xenstore-read"; exit 77; }
dir=$(mktemp -d /tmp/pvio-down-XXXXXX) || exit 1
PVIO_RUNDIR=$dir
export PVIO_RUNDIR
unset XENSTORED_PATH PVIO_HV_SOCKET PVIO_HV_FD
cleanup() {
	"$pvio" down >/dev/null 2>&1
	for f in dd guest; do
		p=$(cat "$dir/$f.pid" 2>/dev/null) && [ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
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
# gone PID: no such process, or a zombie.
gone() {
	[ -r "/proc/$1/stat" ] || return 0
	s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -z "$s" ] || [ "$s" = Z ] || [ "$s" = X ]
}

eval "$("$pvio" up)" || fail "pvio up"
# Each program records its pid, then becomes the daemon (exec keeps the pid).
dd=$("$pvio" create dd -- sh -c 'echo $$ >"$0"; exec "$1" -v' "$dir/dd.pid" "$blkback") ||
	fail "create dd"
guest=$("$pvio" create guest -- sh -c 'echo $$ >"$0"; exec "$1"' "$dir/guest.pid" "$blkback") ||
	fail "create guest"
truncate -s 1M "$dir/disk.img" || fail "truncate"
"$pvio" block-attach guest "target=$dir/disk.img,vdev=xvdb,backend=dd" || fail "block-attach"
be=/local/domain/$dd/backend/vbd/$guest/51728
wait_for sh -c "[ \"\$(xenstore-read $be/state)\" = 2 ]" || fail "the back-end never reached InitWait"
wait_for test -s "$dir/guest.pid" || fail "the guest's program did not start"
pids="$(cat "$dir/hv.pid" "$dir/xenstored.pid" "$dir/dd.pid" "$dir/guest.pid")"
timeout 60 "$pvio" down 2>"$dir/err" || fail "pvio down: $(cat "$dir/err")"
[ -s "$dir/err" ] && fail "pvio down said: $(cat "$dir/err")"
for p in $pids; do
	wait_for gone "$p" || fail "pid $p ($(cat "/proc/$p/comm")) still runs after pvio down"
done
grep -q "51728: forgotten" "$dir/dd.log" ||
	fail "the driver domain did not close the guest's device: $(cat "$dir/dd.log")"
exit 0
