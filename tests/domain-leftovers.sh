#!/bin/sh
# domain-leftovers: a domain that ends on its own (its command exits, and with it its last
# process) has its /dev/net/tun node (<rundir>/domain-N.tun) and its cgroups removed when the
# reaper sees pvio-hv report its death, not when its domid is reused or at pvio down.
. "$(dirname "$0")/pvio-lib.sh"
t_need "$pvio" stat
[ -w /sys/fs/cgroup/pids/cgroup.procs ] ||
	{ echo "SKIP: no writable cgroup v1 pids controller"; exit 77; }
t_rundir domain-leftovers
t_domains="gone"

eval "$("$pvio" up)" || fail "pvio up"
# It lives until told to end, so that both leftovers are seen to exist first.
domid=$("$pvio" create --pids 8 gone -- sh -c 'while [ ! -e /tmp/end ]; do sleep 0.05; done') ||
	fail "create gone"
tun=$dir/domain-$domid.tun
pids=/sys/fs/cgroup/pids/pvio/$(printf '%x.%x-%s' $(stat -L -c '%d %i' "$dir") "$domid")
[ -c "$tun" ] || fail "no TAP node $tun while gone runs"
[ -d "$pids" ] || fail "no cgroup $pids while gone runs"
"$pvio" exec gone -- touch /tmp/end || fail "pvio exec"
wait_for sh -c "! \"$pvio\" list | grep -q '^gone '" || fail "gone did not end on its own"
# The reaper's teardown follows the death report: bounded by its 10 s device wait.
i=0
while [ -e "$tun" ] || [ -e "$pids" ]; do
	i=$((i + 1))
	[ $i -lt 750 ] || fail "left after gone ended: $(ls -d "$tun" "$pids" 2>/dev/null)"
	sleep 0.02
done
exit 0
