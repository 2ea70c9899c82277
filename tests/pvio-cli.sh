#!/bin/sh
# pvio-cli: pvio(1) end to end in a private runtime directory: up (and up again refused),
# create (and a missing program), list, block-attach (xenstore checked key by key, a missing
# target and a bad vdev refused with one clear line), block-list, block-detach (a back-end
# that reached Closed, and --force), destroy, down.
. "$(dirname "$0")/pvio-lib.sh"
t_need "$pvio" xenstore-read xenstore-write xenstore-ls xenstore-exists
t_rundir pvio-cli
t_domains="guest dd"
# expect_err WANT CMD...: CMD fails and its stderr is exactly WANT.
expect_err() {
	want=$1; shift
	if "$@" >"$dir/out" 2>"$dir/err"; then fail "$* succeeded"; fi
	[ "$(cat "$dir/err")" = "$want" ] || fail "$*: said '$(cat "$dir/err")', wanted '$want'"
}

"$pvio" up >"$dir/env" || fail "pvio up"
grep -qx "export PVIO_HV_SOCKET=$dir/hv.sock" "$dir/env" || fail "up: $(cat "$dir/env")"
grep -qx "export XENSTORED_PATH=$dir/xenstored.sock" "$dir/env" || fail "up: XENSTORED_PATH"
. "$dir/env"
[ -s "$dir/hv.pid" ] && [ -s "$dir/xenstored.pid" ] || fail "pid files"
"$pvio" up >/dev/null 2>&1 && fail "a second pvio up succeeded"

dd=$("$pvio" create dd -- sleep 60) || fail "create dd"
# A domain sees of the host only what it is given: the file it writes, owned by its uid.
: >"$dir/guest-name"
guest=$("$pvio" create -b "own:$dir/guest-name" guest -- \
	sh -c 'xenstore-read name >"$0"; exec sleep 60' "$dir/guest-name") || fail "create guest"
case "$dd$guest" in *[!0-9]*) fail "domids: '$dd' '$guest'";; esac
"$pvio" list >"$dir/list" || fail "list"
grep -Eq "^guest +$guest " "$dir/list" && grep -Eq "^dd +$dd " "$dir/list" || fail "list: $(cat "$dir/list")"
wait_for test -s "$dir/guest-name" || fail "the guest did not read its name"
[ "$(cat "$dir/guest-name")" = guest ] || fail "the guest's xenstore: $(cat "$dir/guest-name")"
expect_err "pvio: /nonexistent/prog: No such file or directory" \
	"$pvio" create bad -- /nonexistent/prog
"$pvio" list | grep -q '^bad ' && fail "a failed create left its domain"

cd "$dir" || exit 1
truncate -s 1M disk.img || fail "truncate"
"$pvio" block-attach guest target=disk.img,vdev=xvdb,backend=dd || fail "block-attach"
fe=/local/domain/$guest/device/vbd/51728
be=/local/domain/$dd/backend/vbd/$guest/51728
check() { [ "$(xenstore-read "$1")" = "$2" ] || fail "$1 = '$(xenstore-read "$1")', wanted '$2'"; }
check $fe/backend $be
check $fe/backend-id "$dd"
check $fe/virtual-device 51728
check $fe/device-type disk
check $fe/trusted 1
check $fe/state 1
check $be/frontend $fe
check $be/frontend-id "$guest"
check $be/params "$dir/disk.img"
check $be/mode w
check $be/type phy
check $be/dev xvdb
check $be/removable 0
check $be/bootable 1
check $be/discard-enable 1
check $be/online 1
"$pvio" block-list guest >"$dir/blist" || fail "block-list"
head -1 "$dir/blist" | grep -q '^Vdev  BE  handle state evt-ch ring-ref BE-path$' || fail "header"
grep -Eq "^51728 +$dd +$guest +1 +-1 +-1 +$be\$" "$dir/blist" || fail "block-list: $(cat "$dir/blist")"

expect_err "pvio: missing.img: No such file or directory" \
	"$pvio" block-attach guest target=missing.img,vdev=xvdc
expect_err "pvio: xvd0: not a virtual device (like xvda, xvdb1, sda, hdc, d0p1, 51712)" \
	"$pvio" block-attach guest target=disk.img,vdev=xvd0
expect_err "pvio: xvdb: domain $guest already has this device" \
	"$pvio" block-attach guest disk.img,raw,xvdb,rw
expect_err "pvio: nosuch: no such domain" "$pvio" block-list nosuch

# A back-end that has closed: detach does not wait, and removes both directories.
xenstore-write $be/state 6 || fail "write back-end state"
"$pvio" block-detach guest xvdb || fail "block-detach"
xenstore-exists $fe 2>/dev/null && fail "front-end directory left"
xenstore-exists $be 2>/dev/null && fail "back-end directory left"
"$pvio" block-attach guest disk.img,raw,xvdc,ro || fail "positional block-attach"
check /local/domain/0/backend/vbd/$guest/51744/mode r
"$pvio" block-detach guest xvdc --force 2>"$dir/err" || fail "block-detach --force"
grep -q "^pvio: warning: xvdc: " "$dir/err" || fail "--force warning: $(cat "$dir/err")"
xenstore-exists /local/domain/$guest/device/vbd/51744 2>/dev/null && fail "--force left it"
expect_err "pvio: xvdc: no such device in domain guest" "$pvio" block-detach guest xvdc

"$pvio" destroy guest || fail "destroy"
"$pvio" list | grep -q '^guest ' && fail "destroyed domain listed"
wait_for sh -c "! xenstore-exists /local/domain/$guest" || fail "xenstored kept the home"
expect_err "pvio: guest: no such domain" "$pvio" destroy guest
"$pvio" destroy "$dd" || fail "destroy by domid"
"$pvio" down || fail "down"
[ -e "$dir/hv.pid" ] && fail "pid file left"
expect_err "pvio: $dir: not up" "$pvio" down
exit 0
