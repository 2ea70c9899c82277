#!/bin/sh
# xs-utils: Debian's xenstore-utils work unchanged against pvio-xenstored.
set -u
build=${PVIO_BUILDDIR:-.}
for t in xenstore-write xenstore-read xenstore-ls xenstore-rm xenstore-chmod \
	xenstore-exists xenstore-list xenstore-watch; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: no $t"; exit 77; }
done
dir=$(mktemp -d /tmp/pvio-xs-utils-XXXXXX) || exit 1
"$build/pvio-xenstored" -s "$dir/socket" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
XENSTORED_PATH=$dir/socket
export XENSTORED_PATH
fail() { echo "FAIL: $*"; exit 1; }
i=0
until [ -S "$dir/socket" ]; do
	i=$((i + 1)); [ $i -lt 500 ] || fail "daemon did not start"; sleep 0.02
done

xenstore-write /vm/name demo /vm/mem 512 || fail "write"
[ "$(xenstore-read /vm/name)" = demo ] || fail "read"
[ "$(xenstore-list /vm | tr '\n' ' ')" = "name mem " ] || fail "list"
xenstore-ls /vm | grep -q 'mem = "512"' || fail "ls"
xenstore-chmod /vm/name n0 r3 || fail "chmod"
xenstore-ls -p /vm | grep -q '(n0,r3)' || fail "ls -p after chmod"
xenstore-exists /vm/name || fail "exists"
xenstore-watch -n 2 /vm > "$dir/events" &
wpid=$!
sleep 0.3
xenstore-write /vm/state 1 || fail "write for watch"
wait "$wpid" || fail "xenstore-watch"
grep -qx /vm "$dir/events" && grep -qx /vm/state "$dir/events" || fail "watch events"
xenstore-rm /vm || fail "rm"
xenstore-exists /vm 2>/dev/null && fail "rm left /vm"
if command -v xenstore-control >/dev/null 2>&1; then
	xenstore-control check || fail "xenstore-control check"
fi
kill "$pid"; wait "$pid" || fail "daemon exit status"
[ ! -e "$dir/socket" ] || fail "socket not removed"
echo PASS
