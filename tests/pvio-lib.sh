# pvio-lib.sh - what the pvio(1) test scripts share; sourced by them, never run alone.
#
#	. "$(dirname "$0")/pvio-lib.sh"
#	t_need "$pvio" xenstore-read	(FAIL unless each built program is there; SKIP without a command)
#	t_rundir pvio-name		(a private runtime directory $dir, the only one in sight)
#
# At exit, pvio destroys the domains named in $t_domains, stops the daemons, kills what the pid
# files in $t_pidfiles name (a test's programs that should be gone) and removes $dir.
set -u
build=${PVIO_BUILDDIR:-.}
pvio=$build/pvio
t_domains=""
t_pidfiles=""

fail() { echo "FAIL: $*"; exit 1; }

# t_need PROG...: fail unless each built program (a path) is there; skip without a command.
t_need() {
	for t in "$@"; do
		case $t in
		*/*) [ -x "$t" ] || { echo "FAIL: $t not built (make check builds it)"; exit 1; } ;;
		*) command -v "$t" >/dev/null 2>&1 || { echo "SKIP: no $t"; exit 77; } ;;
		esac
	done
}

t_cleanup() {
	for d in $t_domains; do "$pvio" destroy "$d" >/dev/null 2>&1; done
	"$pvio" down >/dev/null 2>&1
	for f in $t_pidfiles; do
		p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$dir"
}

# t_rundir NAME: $dir, a fresh runtime directory in $PVIO_RUNDIR, and no other instance's sockets.
t_rundir() {
	dir=$(mktemp -d "/tmp/$1-XXXXXX") || exit 1
	PVIO_RUNDIR=$dir
	export PVIO_RUNDIR
	unset XENSTORED_PATH PVIO_HV_SOCKET PVIO_HV_FD
	trap t_cleanup EXIT
}

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
