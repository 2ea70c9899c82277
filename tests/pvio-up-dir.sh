#!/bin/sh
# pvio-up-dir: pvio up --dir DIR prints everything a later command needs (PVIO_RUNDIR too), so
# that, tried as a new user would, pvio create logs into DIR and pvio down stops exactly DIR's
# daemons, not those of another instance in the default runtime directory.
. "$(dirname "$0")/pvio-lib.sh"
t_need "$pvio"
top=$(mktemp -d /tmp/pvio-updir-XXXXXX) || exit 1
# A new user: no pvio variable set; the default directory is $XDG_RUNTIME_DIR/pvio.
unset PVIO_RUNDIR XENSTORED_PATH PVIO_HV_SOCKET PVIO_HV_FD
XDG_RUNTIME_DIR=$top/xdg
export XDG_RUNTIME_DIR
mkdir -p "$XDG_RUNTIME_DIR" || exit 1
def=$XDG_RUNTIME_DIR/pvio
b=$top/b
cleanup() {
	"$pvio" -d "$b" down >/dev/null 2>&1
	"$pvio" -d "$def" down >/dev/null 2>&1
	rm -rf "$top"
}
trap cleanup EXIT
# alive DIR NAME: the daemon whose pid DIR/NAME.pid holds runs (not a zombie).
alive() {
	p=$(cat "$1/$2.pid" 2>/dev/null) || return 1
	[ -n "$p" ] && [ -r "/proc/$p/stat" ] || return 1
	s=$(sed 's/.*) //' "/proc/$p/stat" | cut -c1)
	[ "$s" != Z ] && [ "$s" != X ]
}

"$pvio" up >/dev/null || fail "pvio up (default directory)"
alive "$def" hv || fail "the default instance did not start"
"$pvio" up --dir "$b" >"$top/env" || fail "pvio up --dir"
(
	. "$top/env"
	"$pvio" create g -- sh -c 'echo hello' >/dev/null || exit 1
	i=0
	until grep -q hello "$b/g.log" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 250 ] || exit 2; sleep 0.02
	done
	"$pvio" down || exit 3
) || fail "create and down in DIR's environment (step $?)"
[ -e "$def/g.log" ] && fail "DIR's domain logged into the default directory"
alive "$b" hv && fail "pvio down left DIR's pvio-hv running"
alive "$b" xenstored && fail "pvio down left DIR's pvio-xenstored running"
alive "$def" hv || fail "pvio down stopped the default instance's pvio-hv"
alive "$def" xenstored || fail "pvio down stopped the default instance's pvio-xenstored"
grep -qx "export PVIO_RUNDIR=$b" "$top/env" || fail "up --dir did not print PVIO_RUNDIR: $(cat "$top/env")"
"$pvio" down || fail "pvio down (default directory)"
alive "$def" hv && fail "the default instance still runs"
exit 0
