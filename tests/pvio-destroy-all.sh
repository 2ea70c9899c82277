#!/bin/sh
# pvio-destroy-all: pvio destroy ends every process of the domain, those that never talked to
# pvio-hv and one that left the command's session included, and pvio list counts them all.
. "$(dirname "$0")/pvio-lib.sh"
t_need "$pvio" setsid pgrep
t_rundir pvio-destroy-all
t_domains="d"
# A duration no other process on the machine has, to find these sleeps by.
mark="1000 0.$$"

eval "$("$pvio" up)" || fail "pvio up"
"$pvio" create d -- sh -c 'setsid sleep $0 & exec sleep $0' "$mark" >/dev/null || fail "create d"
wait_for sh -c "[ \$(pgrep -cfx 'sleep $mark') = 2 ]" || fail "the sleeps did not start"
procs=$("$pvio" list | awk '$1 == "d" { print $3 }')
[ "$procs" = 2 ] || fail "pvio list counts $procs processes in d, want 2: $("$pvio" list)"
timeout 30 "$pvio" destroy d || fail "pvio destroy"
wait_for sh -c "! pgrep -fx 'sleep $mark'" ||
	{ pkill -9 -fx "sleep $mark"; fail "a process of d outlived pvio destroy"; }
exit 0
