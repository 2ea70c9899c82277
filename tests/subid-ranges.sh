#!/bin/sh
# subid-ranges: a normal user's /etc/subuid and /etc/subgid ranges are taken only where each
# domain's host id is its own: pvio up refuses a range whose start plus a domid passes the
# largest id (it would wrap to root's), and one that holds the user's own uid or another
# account's (its domains would share that uid: no isolation, silently).  A sane range is taken.
. "$(dirname "$0")/pvio-lib.sh"
t_need "$pvio" setpriv timeout newuidmap newgidmap
[ "$(id -u)" = 0 ] || { echo "SKIP: root is needed to give ranges to a user"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
grep -q '^nobody:' /etc/subuid /etc/subgid && { echo "SKIP: nobody has ranges already"; exit 77; }
[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" != 0 ] ||
	{ echo "SKIP: user namespaces are off"; exit 77; }
t_rundir subid-ranges
chmod 0755 "$dir"
nobody=$(id -u nobody)
ranges_off() { sed -i '/^nobody:/d' /etc/subuid /etc/subgid; }
trap 'ranges_off; t_cleanup' EXIT
trap 'exit 1' INT TERM HUP

# try START COUNT: pvio up as nobody with that range, in a fresh directory of its own.
try() {
	ranges_off
	echo "nobody:$1:$2" >>/etc/subuid
	echo "nobody:$1:$2" >>/etc/subgid
	run=$(mktemp -d "$dir/run-XXXXXX") && chown "$nobody" "$run" || exit 1
	timeout 30 setpriv --reuid "$nobody" --regid "$(id -g nobody)" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME=/ PVIO_RUNDIR="$run" "$pvio" up >/dev/null 2>"$run/err"
	rc=$?
	[ $rc = 0 ] && timeout 30 setpriv --reuid "$nobody" --regid "$(id -g nobody)" \
		--clear-groups env -i PATH=/usr/bin:/bin PVIO_RUNDIR="$run" "$pvio" down >/dev/null 2>&1
	return $rc
}

try 4294967295 65536 && fail "a range wrapping past the largest id (domain 1: uid 0) was taken"
echo "ok: a range that wraps is refused: $(cat "$run/err")"
try $((nobody - 1)) 10 && fail "a range holding the user's own uid $nobody (domain 1) was taken"
echo "ok: a range holding the user's own uid is refused: $(cat "$run/err")"
try 0 10 && fail "a range holding another account's uid (domain 1: uid 1) was taken"
echo "ok: a range holding another account's uid is refused: $(cat "$run/err")"
try 4100000000 65536 || fail "a sane range was refused: $(cat "$run/err")"
echo "ok: a sane range is taken"
exit 0
