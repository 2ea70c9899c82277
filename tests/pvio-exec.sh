#!/bin/sh
# pvio-exec: pvio exec DOMAIN -- CMD starts a process inside a running domain confined exactly
# as the domain's first process: the same user, mount, pid, ipc and network namespaces as the
# domain's init, the same uid, NoNewPrivs, Seccomp 2, capabilities and cgroups as its first
# process; it is that domain to pvio-hv (hv_domid) and to xenstore; CMD's exit status is pvio's.
# Only dom0 can (not a process of the domain); an unknown or destroyed domain fails with one
# line; pvio destroy ends exec'd processes too.
. "$(dirname "$0")/pvio-lib.sh"
whoami=$build/tests/hv-whoami
t_need "$pvio" "$whoami" pgrep
t_rundir pvio-exec
t_domains="box"
[ "$(id -u)" = 0 ] || { echo "SKIP: the uid and cgroup checks need root"; exit 77; }

eval "$("$pvio" up)" || fail "pvio up"
# A pids limit, where the controller is there, gives the domain cgroups to compare.
limit=
[ -w /sys/fs/cgroup/pids ] && limit="--pids 64"
# shellcheck disable=SC2086
box=$("$pvio" create $limit box -- sleep 1000) || fail "create box"
init=$(cut -d' ' -f1 "$dir/domain-$box.pgid") || fail "no init recorded"
first=""
wait_for sh -c "pgrep -x sleep -P $init >/dev/null" || fail "no first process under the init"
first=$(pgrep -x sleep -P "$init")

# A process exec'd into the domain, left running to be looked at from dom0.
"$pvio" exec box -- sleep 1000 &
epid=$!
t_pidfiles="$dir/epid"
echo "$epid" >"$dir/epid"
# The command itself (named sleep once exec'd), not the child still joining the domain.
wait_for sh -c "pgrep -x sleep -P $epid >/dev/null" || fail "pvio exec started nothing"
x=$(pgrep -x sleep -P "$epid")

for ns in user mnt pid ipc net; do
	a=$(readlink "/proc/$x/ns/$ns") && b=$(readlink "/proc/$init/ns/$ns") ||
		fail "ns/$ns unreadable"
	[ "$a" = "$b" ] || fail "ns/$ns: exec'd $a, the domain's init $b"
done
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
for f in Uid Gid NoNewPrivs Seccomp CapEff CapPrm CapBnd CapAmb; do
	[ "$(field "$x" $f)" = "$(field "$first" $f)" ] ||
		fail "$f: exec'd '$(field "$x" $f)', the first process '$(field "$first" $f)'"
done
[ "$(field "$x" Seccomp)" = 2 ] || fail "Seccomp $(field "$x" Seccomp)"
[ "$(field "$x" NoNewPrivs)" = 1 ] || fail "NoNewPrivs $(field "$x" NoNewPrivs)"
[ "$(field "$x" Uid | cut -f1)" != 0 ] || fail "the exec'd process runs as host root"
[ "$(cat "/proc/$x/cgroup")" = "$(cat "/proc/$first/cgroup")" ] ||
	fail "cgroups differ: $(cat "/proc/$x/cgroup") / $(cat "/proc/$first/cgroup")"

# The domain to pvio-hv and to xenstore; the exit status passes through.
id=$("$pvio" exec box -- "$whoami") || fail "hv-whoami in the domain"
[ "$id" = "$box" ] || fail "pvio-hv knows the exec'd process as domain '$id', not $box"
name=$("$pvio" exec box -- xenstore-read name) || fail "xenstore-read name in the domain"
[ "$name" = box ] || fail "xenstore-read name: '$name'"
"$pvio" exec box -- sh -c 'exit 7'
[ $? = 7 ] || fail "the exit status of CMD is not pvio exec's"

# dom0 only: from inside the domain, pvio exec reaches no pvio-hv.
"$pvio" exec box -- "$pvio" exec box -- true 2>/dev/null &&
	fail "a process of the domain ran pvio exec"

# Unknown and destroyed domains: one line, exit 1.
"$pvio" exec nosuch -- true 2>"$dir/err" && fail "exec into an unknown domain succeeded"
[ "$(wc -l <"$dir/err")" = 1 ] || fail "unknown domain: $(cat "$dir/err")"
"$pvio" destroy box || fail "destroy box"
wait_for sh -c "! kill -0 $x 2>/dev/null || grep -q '^State:.*Z' /proc/$x/status" ||
	fail "the exec'd process survived pvio destroy"
wait "$epid"
"$pvio" exec box -- true 2>"$dir/err" && fail "exec into a destroyed domain succeeded"
[ "$(wc -l <"$dir/err")" = 1 ] || fail "destroyed domain: $(cat "$dir/err")"
echo "destroyed domain: $(cat "$dir/err")"
exit 0
