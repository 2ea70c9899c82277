#!/bin/sh
# pvio-rundir-foreign: pvio up refuses a runtime directory that another user made or may write
# (/tmp/pvio-UID is a name anyone can take first): whoever writes it could plant the --same-uid
# mark and run a normal user's domains under that user's own uid, or replace its sockets.  And
# the mark counts only in a directory of the user's alone, as a file of the user's.
# The commands that talk to the daemons (pvio list, create, ...) and pvio down likewise use only
# sockets and pid files that no one but root and the caller could have put there: the socket,
# its directory and every directory above it owned by one of them and writable by no one else
# (a sticky one like /tmp excepted); whoever could plant a socket would receive dom0's commands.
. "$(dirname "$0")/pvio-lib.sh"
t_need "$pvio" setpriv timeout
[ "$(id -u)" = 0 ] || { echo "SKIP: root is needed to act as two users"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
t_rundir pvio-rundir-foreign
chmod 0755 "$dir"
nobody=$(id -u nobody)
as_nobody() {
	timeout 30 setpriv --reuid "$nobody" --regid "$(id -g nobody)" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME=/ PVIO_RUNDIR="$run" "$@"
}

# Root's directory, open to all: as another user would have taken it first.
run=$dir/foreign
mkdir -m 0777 "$run" && chmod 0777 "$run"
if as_nobody "$pvio" up --same-uid >/dev/null 2>"$dir/up.err"; then
	as_nobody "$pvio" down >/dev/null 2>&1
	fail "pvio up used $run, root's and writable by all"
fi
grep -q "$run" "$dir/up.err" || fail "the refusal does not name $run: $(cat "$dir/up.err")"
[ ! -e "$run/hv.pid" ] || fail "pvio up started daemons in $run"
echo "ok: a runtime directory of another user's, writable by all, is refused"

# The user's own directory, but group-writable: refused too.
run=$dir/group
mkdir "$run" && chown "$nobody" "$run" && chmod 0770 "$run"
as_nobody "$pvio" up --same-uid >/dev/null 2>&1 && {
	as_nobody "$pvio" down >/dev/null 2>&1
	fail "pvio up used $run, writable by its group"
}
echo "ok: a group-writable runtime directory is refused"

# Root's own daemons in root's own directory: the commands work.
chmod 0700 "$dir"
eval "$("$pvio" up)" || fail "pvio up"
"$pvio" list >/dev/null || fail "pvio list in root's own directory"
err=$dir/foreign/list.err
refused() { # what
	if "$pvio" list >/dev/null 2>"$err"; then fail "pvio list used $1"; fi
	grep -q "not trusted" "$err" || fail "the refusal of $1 says: $(cat "$err")"
	echo "ok: $1 is refused"
}
chown "$nobody" "$dir/hv.sock"
refused "a pvio-hv socket of another user's"
chown 0 "$dir/hv.sock"
chmod 0770 "$dir"
refused "a socket in a group-writable directory"
chmod 0700 "$dir"
# A directory above the socket that another user owns (here on the way through a symlink).
mkdir -m 0755 "$dir/foreign/above" && chown "$nobody" "$dir/foreign/above"
ln -s "$dir" "$dir/foreign/above/run"
PVIO_HV_SOCKET=$dir/foreign/above/run/hv.sock refused "a socket below another user's directory"
# pvio down signals the pids its pid files name: not from a directory it cannot trust.
chmod 0770 "$dir"
"$pvio" down >/dev/null 2>"$err" && fail "pvio down used a group-writable directory"
grep -q "not trusted" "$err" || fail "pvio down's refusal says: $(cat "$err")"
chmod 0700 "$dir"
"$pvio" list >/dev/null || fail "pvio list after the checks"
"$pvio" down >/dev/null || fail "pvio down"
echo "ok: pvio down refuses a directory it cannot trust"
exit 0
