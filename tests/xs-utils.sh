#!/bin/sh
# xs-utils: Debian's xenstore-utils work unchanged against pvio-xenstored.
set -u
build=${PVIO_BUILDDIR:-.}
for t in xenstore-write xenstore-read xenstore-ls xenstore-rm xenstore-chmod \
	xenstore-exists xenstore-list xenstore-watch; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: no $t"; exit 77; }
done
dir=$(mktemp -d /tmp/pvio-xs-utils-XXXXXX) || exit 1
# Every wait is bounded: a daemon or a client that hangs fails the test instead of stalling it.
# --foreground: a plain timeout signals its whole process group, and a SIGTERM that reaches
# LeakSanitizer's tracer while it checks the exiting daemon hangs the daemon for good.
timeout --foreground -k 10 60 "$build/pvio-xenstored" -s "$dir/socket" &
pid=$!
wpid=
cleanup() {
	[ -z "$wpid" ] || kill "$wpid" 2>/dev/null
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"
}
trap cleanup EXIT
XENSTORED_PATH=$dir/socket
export XENSTORED_PATH
fail() { echo "FAIL: $*"; exit 1; }
run() { timeout 20 "$@"; }
# wait_until SECONDS CMD...: run CMD every 20 ms until it succeeds, for SECONDS at most.
wait_until() {
	secs=$1; shift
	timeout "$secs" sh -c 'until "$@"; do sleep 0.02; done' wait_until "$@"
}
wait_until 10 test -S "$dir/socket" || fail "daemon did not start"

run xenstore-write /vm/name demo /vm/mem 512 || fail "write"
[ "$(run xenstore-read /vm/name)" = demo ] || fail "read"
[ "$(run xenstore-list /vm | tr '\n' ' ')" = "name mem " ] || fail "list"
run xenstore-ls /vm | grep -q 'mem = "512"' || fail "ls"
run xenstore-chmod /vm/name n0 r3 || fail "chmod"
run xenstore-ls -p /vm | grep -q '(n0,r3)' || fail "ls -p after chmod"
run xenstore-exists /vm/name || fail "exists"
timeout 20 xenstore-watch -n 2 /vm >"$dir/events" &
wpid=$!
# The watch fires for /vm once it is registered: only then can the write's event not be missed.
wait_until 10 grep -qx /vm "$dir/events" || fail "no event when the watch was registered"
run xenstore-write /vm/state 1 || fail "write for watch"
wait "$wpid" || fail "xenstore-watch"
wpid=
grep -qx /vm "$dir/events" && grep -qx /vm/state "$dir/events" || fail "watch events"
run xenstore-rm /vm || fail "rm"
run xenstore-exists /vm 2>/dev/null && fail "rm left /vm"
if command -v xenstore-control >/dev/null 2>&1; then
	run xenstore-control check || fail "xenstore-control check"
fi
kill "$pid"; wait "$pid" || fail "daemon exit status"
[ ! -e "$dir/socket" ] || fail "socket not removed"
echo PASS
