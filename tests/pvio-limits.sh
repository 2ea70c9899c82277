#!/bin/sh
# pvio-limits: pvio create --pids/--memory puts the domain's command in its own cgroups with those
# limits (the command cannot have more than --pids processes), a bad size is refused, pvio
# destroy removes the cgroups, and pvio down those of a domain that ended on its own.
. "$(dirname "$0")/pvio-lib.sh"
t_need "$pvio" stat
[ -w /sys/fs/cgroup/pids/cgroup.procs ] && [ -w /sys/fs/cgroup/memory/cgroup.procs ] ||
	{ echo "SKIP: no writable cgroup v1 pids and memory controllers"; exit 77; }
t_rundir pvio-limits
t_domains="lim"
mark="1000 0.$$"

"$pvio" create --memory 1x lim -- true 2>/dev/null && fail "--memory 1x was taken"
eval "$("$pvio" up)" || fail "pvio up"
# Ten sleeps asked for, four processes allowed: the init, perl and two sleeps.
domid=$("$pvio" create --pids 4 --memory 64M lim -- perl -e '
	$| = 1; my $n = 0;
	for (1 .. 10) {
		my $p = fork;
		if (!defined $p) { print "refused: ", ($!{EAGAIN} ? "EAGAIN" : "$!"), "\n"; last }
		exec "sleep", @ARGV if $p == 0;
		$n++;
	}
	print "forked $n\n";
	sleep 60;' 1000 "0.$$") || fail "create lim"
name=$(printf '%x.%x-%s' $(stat -L -c '%d %i' "$dir") "$domid")
pids=/sys/fs/cgroup/pids/pvio/$name
mem=/sys/fs/cgroup/memory/pvio/$name
[ "$(cat "$pids/pids.max")" = 4 ] || fail "pids.max in $pids: $(cat "$pids/pids.max")"
[ "$(cat "$mem/memory.limit_in_bytes")" = $((64 << 20)) ] || fail "memory limit in $mem"
wait_for grep -q forked "$dir/lim.log" || fail "no fork count in lim.log: $(cat "$dir/lim.log")"
grep -qx "refused: EAGAIN" "$dir/lim.log" && grep -qx "forked 2" "$dir/lim.log" ||
	fail "in a domain of 4 processes: $(cat "$dir/lim.log")"
[ "$(pgrep -cfx "sleep $mark")" = 2 ] || fail "$(pgrep -cfx "sleep $mark") sleeps, want 2"
[ "$(wc -l <"$pids/cgroup.procs")" = 4 ] || fail "$(wc -l <"$pids/cgroup.procs") processes in $pids"
timeout 30 "$pvio" destroy lim || fail "pvio destroy"
[ ! -e "$pids" ] && [ ! -e "$mem" ] || fail "the cgroups of lim are left after destroy"
# A limited domain whose command ends on its own leaves no cgroup behind once pvio down ran.
domid=$("$pvio" create --pids 4 short -- true) || fail "create short"
short=/sys/fs/cgroup/pids/pvio/$(printf '%x.%x-%s' $(stat -L -c '%d %i' "$dir") "$domid")
wait_for sh -c "! \"$pvio\" list | grep -q '^short '" || fail "short did not end"
"$pvio" down || fail "pvio down"
[ ! -e "$short" ] || fail "the cgroup of short is left after pvio down"
exit 0
