#!/bin/sh
# pvio-rundir-foreign: pvio up refuses a runtime directory that another user made or may write
# (/tmp/pvio-UID is a name anyone can take first): whoever writes it could plant the --same-uid
# mark and run a normal user's domains under that user's own uid, or replace its sockets.  And
# the mark counts only in a directory of the user's alone, as a file of the user's.
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
exit 0
