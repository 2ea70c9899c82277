#!/bin/sh
# userns-attacks: the whole stack as a normal user (issue 9).  As root, make a throwaway user
# with /etc/subuid and /etc/subgid ranges, then as that user:
#  - the attack programs, each against an embedded pvio-hv of its own, with its attacker in a
#    guest domain: domain-isolation (dom0's sockets, ptrace, /proc/PID/mem, process_vm_readv,
#    pidfd_getfd, another domain's pids and abstract socket, a root-only file), the grant
#    attacks (attach, map, write-ro, table, shrink: the victim and its back-end work on),
#    domain-exec-race, the daemons' budgets (hv-fd-budget, hv-attach-fds, hv-pipeline), xenstore
#    permissions (xs-domain-perms), the floods (flood-fair) and a guest against another's disk
#    (attack-disk); each must pass, not skip (hv-identity, xs-identity and hv-session-steal
#    need root: they make processes of other uids and namespaces);
#  - pvio up, two guests and a driver domain whose pvio-blkback serves a disk image (own:) to
#    the first guest, up to InitWait, with no capability, no new privileges and seccomp; each
#    domain runs under its own subordinate uid, neither the user's nor another's, its init
#    re-executed as pvio-init (no copy of dom0's memory nor environment in the domain); a --pids
#    limit, which needs root's cgroups, is refused saying so; a pvio with no pvio-init beside it
#    is refused a domain, naming pvio-init; with a guest's uid, /proc/PID/mem,
#    /proc/PID/environ and kill of the other guest, the driver domain and dom0's daemons fail,
#    and so does opening the driver domain's image; inside a guest, dom0's sockets are out of sight;
#    the victims still run afterwards;
#  - a user without subordinate ids: pvio up refuses with one line naming what is missing, and
#    pvio up --same-uid runs its domains under its own uid.
# The users, their processes and files go on every exit path.
set -u
build=${PVIO_BUILDDIR:-.}
pvio=$build/pvio
user=pvio-un$$
nosub=pvio-ns$$
tmp=""

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "root is needed to make a throwaway user"
for c in useradd userdel usermod setpriv newuidmap newgidmap timeout; do
	command -v $c >/dev/null 2>&1 || skip "no $c (newuidmap: the uidmap package)"
done
[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" != 0 ] ||
	skip "user namespaces are off"
[ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" != 0 ] ||
	skip "unprivileged user namespaces are off"
for t in "$pvio" "$build/pvio-hv" "$build/pvio-xenstored" "$build/tests/domain-isolation"; do
	[ -x "$t" ] || fail "$t not built (make check builds it)"
done

# The uids of a user and of its subordinate range: "UID" and "START COUNT" lines.
uid_of() { id -u "$1" 2>/dev/null; }
range_of() { awk -F: -v u="$1" '$1 == u { print $2, $3; exit }' /etc/subuid; }

# Kill, by pid, every process of uid $1 or of the range $2..$2+$3 (k_*: shell variables are global).
kill_uids() {
	awk -v u="$1" -v lo="${2:--1}" -v n="${3:-0}" '/^Uid:/ {
		if ($2 == u || ($2 >= lo && $2 < lo + n)) { split(FILENAME, k, "/"); print k[3] }
		nextfile }' /proc/[0-9]*/status 2>/dev/null |
		while read -r k_p; do kill -9 "$k_p" 2>/dev/null; done
}

cleanup() {
	for c_u in "$user" "$nosub"; do
		c_id=$(uid_of "$c_u") || continue
		set -- $(range_of "$c_u")
		# Twice: a dying init may still fork once.
		kill_uids "$c_id" "${1:-}" "${2:-}"
		sleep 0.2
		kill_uids "$c_id" "${1:-}" "${2:-}"
		userdel "$c_u" 2>/dev/null || echo "userdel $c_u failed"
		# userdel of this shadow removes the ranges too; make sure.
		sed -i "/^$c_u:/d" /etc/subuid /etc/subgid
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

useradd -M -N -s /bin/sh "$user" || fail "useradd $user"
if [ -z "$(range_of "$user")" ]; then
	# This useradd gives none: the next free 65536 above every range.
	start=$(cat /etc/subuid /etc/subgid | awk -F: 'BEGIN { m = 100000 }
		$2 + $3 > m { m = $2 + $3 } END { print m }')
	usermod --add-subuids "$start-$((start + 65535))" \
		--add-subgids "$start-$((start + 65535))" "$user" || fail "usermod --add-subuids"
fi
uid=$(uid_of "$user")
gid=$(id -g "$user")
set -- $(range_of "$user")
sub=$1
tmp=$(mktemp -d /tmp/userns-attacks-XXXXXX) || fail mktemp
chown "$uid:$gid" "$tmp"
chmod 0700 "$tmp"

# as CMD...: CMD as the user, with a private environment.
as() {
	setpriv --reuid "$uid" --regid "$gid" --clear-groups \
		env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME="$tmp" TMPDIR="$tmp" \
		PVIO_BUILDDIR="$build" PVIO_RUNDIR="$tmp/run" "$@"
}

# 1. The attack programs, their attacker in a guest domain, as the user.
for t in domain-isolation grant-attack-attach grant-attack-map grant-attack-write-ro \
	grant-attack-table grant-attack-shrink domain-exec-race hv-fd-budget hv-attach-fds hv-pipeline \
	xs-domain-perms flood-fair attack-disk; do
	[ -x "$build/tests/$t" ] || fail "$build/tests/$t not built"
	# In the background: a signal to this script then runs its traps at once.
	timeout 300 setpriv --reuid "$uid" --regid "$gid" --clear-groups \
		env HOME="$tmp" TMPDIR="$tmp" "$build/tests/$t" >"$tmp/$t.log" 2>&1 &
	wait $!
	rc=$?
	[ $rc = 0 ] || { cat "$tmp/$t.log"; fail "$t as a normal user: exit $rc"; }
	echo "ok: $t as a normal user"
done

# 2. The command line: two guests and a driver domain with a disk image.
as "$pvio" up >"$tmp/up.env" 2>"$tmp/up.err" || { cat "$tmp/up.err"; fail "pvio up"; }
dd if=/dev/zero of="$tmp/disk.img" bs=1024 count=64 2>/dev/null && chown "$uid:$gid" "$tmp/disk.img"
for d in g1 g2; do
	as "$pvio" create "$d" -- sleep 1000 >"$tmp/$d.id" || fail "pvio create $d"
done
as "$pvio" create -b "own:$tmp/disk.img" dd -- "$build/pvio-blkback" -v --storage "$tmp" \
	>"$tmp/dd.id" || fail "create dd"
as "$pvio" block-attach g1 "target=$tmp/disk.img,vdev=xvdb,backend=dd" || fail "block-attach"
be=/local/domain/$(cat "$tmp/dd.id")/backend/vbd/$(cat "$tmp/g1.id")/51728
i=0
until [ "$(as env XENSTORED_PATH="$tmp/run/xenstored.sock" xenstore-read "$be/state" \
	2>/dev/null)" = 2 ]; do
	i=$((i + 1))
	[ $i -lt 500 ] || fail "pvio-blkback never reached InitWait: $(cat "$tmp/run/dd.log")"
	sleep 0.02
done

# The domain's first process (its init's child, the sleep) in our pid namespace.
first_of() {
	read -r init _ <"$tmp/run/domain-$(cat "$tmp/$1.id").pgid" || return 1
	i=0
	until c=$(cat "/proc/$init/task/$init/children" 2>/dev/null) && [ -n "$c" ]; do
		i=$((i + 1)); [ $i -lt 250 ] || return 1; sleep 0.02
	done
	echo "${c%% *}"
}
seen=""
for d in g1 g2 dd; do
	p=$(first_of "$d") || fail "$d's first process"
	eval "pid_$d=$p"
	u=$(awk '/^Uid:/ { print $2; exit }' "/proc/$p/status")
	want=$((sub + $(cat "$tmp/$d.id")))
	[ "$u" = "$want" ] || fail "$d runs as uid $u, want its subordinate uid $want"
	case " $seen " in *" $u "*) fail "$d shares uid $u with another domain" ;; esac
	seen="$seen $u"
done
[ "$(stat -c %u "$tmp/disk.img")" = "$((sub + $(cat "$tmp/dd.id")))" ] ||
	fail "the driver domain's own: image was not given to its uid"
# Its init re-executed pvio-init: it holds no copy of dom0's memory for its domain to read.
read -r init _ <"$tmp/run/domain-$(cat "$tmp/g1.id").pgid"
[ "$(readlink "/proc/$init/exe")" = "$(readlink -f "$build/pvio-init")" ] ||
	fail "g1's init is $(readlink "/proc/$init/exe"), not pvio-init"
# ... nor its creator's environment, which it would show its domain's uid once dumpable.
env=$(tr '\0' ' ' <"/proc/$init/environ") || fail "no environ of g1's init"
[ -z "$env" ] || fail "g1's init (pvio-init) keeps dom0's environment: $env"
for f in "CapEff:	0000000000000000" "NoNewPrivs:	1" "Seccomp:	2"; do
	grep -qx "$f" "/proc/$pid_dd/status" || fail "pvio-blkback: no '$f' in its status"
done
echo "ok: g1, g2 and dd (pvio-blkback, no capability, seccomp) run as distinct subordinate uids"

# With g2's uid, as a process of g2 that escaped its pid namespace would hold it.
g2uid=$((sub + $(cat "$tmp/g2.id")))
as_g2() { setpriv --reuid "$g2uid" --regid "$g2uid" --clear-groups "$@" 2>/dev/null; }
for target in "$pid_g1" "$pid_dd"; do
	as_g2 dd if="/proc/$target/mem" of=/dev/null bs=1 count=1 &&
		fail "g2 read /proc/$target/mem"
	as_g2 cat "/proc/$target/environ" >/dev/null && fail "g2 read /proc/$target/environ"
	as_g2 kill -0 "$target" && fail "g2 may signal pid $target"
done
for f in "$tmp/run"/*.pid; do
	p=$(cat "$f")
	as_g2 kill -0 "$p" && fail "g2 may signal $(basename "$f" .pid) (pid $p)"
	as_g2 cat "/proc/$p/environ" >/dev/null && fail "g2 read $(basename "$f" .pid)'s environ"
done
as_g2 cat "$tmp/disk.img" >/dev/null && fail "g2 opened the driver domain's image"
echo "ok: g2's uid reaches neither g1, dd, dom0's daemons nor dd's image"

# Inside g2: dom0's sockets and runtime directory are out of sight.
as "$pvio" exec g2 -- sh -c "! test -e '$tmp/run/hv.sock' && ! test -e '$tmp/run' &&
	test -S /run/pvio/socket" || fail "inside g2, dom0's runtime directory is in sight"
echo "ok: inside g2, only its own xenstored socket"

as "$pvio" create --pids 8 lim -- true >/dev/null 2>"$tmp/lim.err" &&
	fail "a normal user's domain got a --pids limit"
grep -q "cgroup" "$tmp/lim.err" || fail "--pids refused without naming cgroups: $(cat "$tmp/lim.err")"
echo "ok: --pids refused, naming the cgroups"

# A pvio with no pvio-init beside it (nor in ../sbin): the domain is refused, not started
# with an init that holds a readable copy of dom0's memory.
mkdir "$tmp/noinit" && cp "$pvio" "$tmp/noinit/pvio" && chown -R "$uid:$gid" "$tmp/noinit" ||
	fail "copy pvio"
as "$tmp/noinit/pvio" create noinit -- sleep 1000 >/dev/null 2>"$tmp/noinit.err" &&
	fail "a domain was created without pvio-init"
grep -q "pvio-init" "$tmp/noinit.err" || fail "the refusal does not name pvio-init: $(cat "$tmp/noinit.err")"
as "$pvio" list | grep -q '^noinit ' && fail "the refused domain is left in pvio list"
echo "ok: without pvio-init a normal user's domain is refused"

for d in g1 dd; do
	eval "p=\$pid_$d"
	kill -0 "$p" 2>/dev/null || fail "victim $d died"
done
as "$pvio" list | grep -q '^g1 ' || fail "pvio list lost g1"
for d in g1 g2 dd; do as timeout 30 "$pvio" destroy "$d" || fail "destroy $d"; done
as "$pvio" down >/dev/null 2>&1 || fail "pvio down"
echo "ok: the victims ran on; destroy and down as the user"

# 3. A user without subordinate ids: refused with one line, unless --same-uid.
useradd -M -N -s /bin/sh "$nosub" || fail "useradd $nosub"
sed -i "/^$nosub:/d" /etc/subuid /etc/subgid
nuid=$(uid_of "$nosub")
chown "$nuid" "$tmp" || fail chown
as_nosub() {
	setpriv --reuid "$nuid" --regid "$gid" --clear-groups \
		env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME="$tmp" TMPDIR="$tmp" \
		PVIO_RUNDIR="$tmp/run2" "$@"
}
as_nosub "$pvio" up >/dev/null 2>"$tmp/nosub.err" && fail "pvio up without subuids started"
[ "$(grep -c . "$tmp/nosub.err")" = 1 ] && grep -q "no range for uid $nuid in /etc/subuid" \
	"$tmp/nosub.err" || { cat "$tmp/nosub.err"; fail "not one line naming /etc/subuid"; }
as_nosub "$pvio" up --same-uid >/dev/null 2>&1 || fail "pvio up --same-uid"
id=$(as_nosub "$pvio" create s -- sleep 1000) || fail "create under --same-uid"
read -r init _ <"$tmp/run2/domain-$id.pgid"
u=$(awk '/^Uid:/ { print $2; exit }' "/proc/$init/status")
[ "$u" = "$nuid" ] || fail "--same-uid: the domain runs as $u, want $nuid"
as_nosub "$pvio" down >/dev/null 2>&1
echo "ok: without subordinate ids, refused unless --same-uid"
exit 0
