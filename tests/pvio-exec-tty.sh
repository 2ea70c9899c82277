#!/bin/sh
# pvio-exec-tty: pvio exec never hands the admin's terminal to the domain.  Run from a terminal
# (tests/exec-tty admin plays it), the exec'd program gets a fresh pty's secondary side as its
# stdin, stdout, stderr and controlling terminal: none of them is the admin's terminal, /dev/tty
# is not it either, TIOCSTI is refused, the typed line and the window size come through pvio's
# relay, its exit status is pvio's and the admin's terminal modes are restored.  With stdio not
# terminals (redirected), the program gets them as they are and no controlling terminal at all:
# /dev/tty, the admin's otherwise, fails to open.
. "$(dirname "$0")/pvio-lib.sh"
tty=$build/tests/exec-tty
t_need "$pvio" "$tty"
t_rundir pvio-exec-tty
t_domains="box"

eval "$("$pvio" up)" || fail "pvio up"
"$pvio" create box -- sleep 1000 >/dev/null || fail "create box"

# field NAME FILE: the value after "NAME " on its line.
field() { tr -d '\r' <"$2" | sed -n "s/^$1 //p" | head -n1; }

timeout 60 "$tty" admin "$pvio" exec box -- "$tty" probe >"$dir/out" 2>&1 || {
	cat "$dir/out"
	fail "exec-tty admin"
}
cat "$dir/out"
admin=$(tr -d '\r' <"$dir/out" | sed -n 's/^admin rdev=//p')
[ -n "$admin" ] || fail "no admin terminal"
for f in fd0 fd1 fd2; do
	v=$(field "$f" "$dir/out")
	case $v in
	"tty=1 rdev=$admin") fail "$f is the admin's terminal ($v)" ;;
	"tty=1 rdev="*) ;;
	*) fail "$f is not a terminal: $v" ;;
	esac
done
v=$(field devtty "$dir/out")
# The terminal of its own session: the admin's session is out of its pid namespace (sid 0).
[ "${v#sid=}" != "$v" ] && [ "${v%% *}" = "sid=${v#*self=}" ] && [ "${v%% *}" != sid=0 ] ||
	fail "/dev/tty is not the terminal of its own session: $v"
[ "$(field sti "$dir/out")" != "err=0" ] || fail "TIOCSTI accepted"
[ "$(field winsize "$dir/out")" = 33x111 ] || fail "window size: $(field winsize "$dir/out")"
[ "$(field line "$dir/out")" = hello ] || fail "the typed line did not come through"
[ "$(field "admin status" "$dir/out")" = 5 ] || fail "exit status not passed on"
[ "$(field "admin termios" "$dir/out")" = same ] || fail "the admin's terminal modes changed"

# Not terminals: passed as they are, and no controlling terminal to open.
timeout 60 "$tty" admin sh -c "'$pvio' exec box -- '$tty' probe </dev/null >'$dir/plain' 2>&1" \
	>"$dir/out2" 2>&1 || fail "exec-tty admin, redirected"
cat "$dir/plain"
[ "$(field "admin status" "$dir/out2")" = 5 ] || fail "redirected: exit status not passed on"
[ "$(field fd0 "$dir/plain" | cut -d' ' -f1)" = tty=0 ] || fail "redirected stdin is a terminal"
[ "$(field fd1 "$dir/plain" | cut -d' ' -f1)" = tty=0 ] || fail "redirected stdout is a terminal"
case $(field devtty "$dir/plain") in
err=*) ;;
*) fail "/dev/tty opened with stdio redirected: $(field devtty "$dir/plain")" ;;
esac
exit 0
