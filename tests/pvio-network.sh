#!/bin/sh
# pvio-network: pvio network-attach gives a running guest a vif served by the driver domain's
# pvio-netback, with the keys libxl writes (mac, handle, type, rate as "bytes,usec"); the
# guest's pvio-netfront, started first and waiting for a vif (--wait), connects, ping crosses both ways between the guest's eth0 and the
# vif; pvio network-list shows it; pvio network-detach removes it: the back-end's TAP is gone
# and so is pvio-netfront (its vif's directory went).
. "$(dirname "$0")/pvio-lib.sh"
netback=$build/pvio-netback
netfront=$build/pvio-netfront
t_need "$pvio" "$netback" "$netfront" xenstore-read xenstore-exists ip ping
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: not root (domains with a TUN device)"; exit 77; }
t_rundir pvio-network
t_domains="guest dd"
mac=00:16:3e:0a:0b:0c

eval "$("$pvio" up)" || fail "pvio up"
dd=$("$pvio" create dd -- "$netback" -v) || fail "create dd"
guest=$("$pvio" create guest -- sleep 600) || fail "create guest"
# The guest's interface, in the guest domain's own network namespace, waiting for its vif.
"$pvio" exec guest -- "$netfront" --no-netns --wait >"$dir/nf.log" 2>&1 &
nf=$!
sleep 0.2
kill -0 "$nf" 2>/dev/null || fail "pvio-netfront --wait did not wait: $(cat "$dir/nf.log")"
devid=$("$pvio" network-attach guest "mac=$mac,backend=dd,rate=100Mb/s@20ms") ||
	fail "network-attach"
[ "$devid" = 0 ] || fail "network-attach printed \"$devid\", not the first device id 0"
be=/local/domain/$dd/backend/vif/$guest/0
fe=/local/domain/$guest/device/vif/0
for k in "$be/mac $mac" "$fe/mac $mac" "$be/handle 0" "$fe/handle 0" "$be/type vif" \
	"$be/rate 250000,20000" "$fe/backend-id $dd"; do
	set -- $k
	v=$(xenstore-read "$1" 2>/dev/null)
	[ "$v" = "$2" ] || fail "$1 is \"$v\", not \"$2\""
done
wait_for sh -c "[ \"\$(xenstore-read $be/state)\" = 4 ]" || fail "not connected: $(cat "$dir/nf.log")"
wait_for grep -q "eth0 up" "$dir/nf.log" || fail "pvio-netfront: $(cat "$dir/nf.log")"
"$pvio" network-list guest >"$dir/list" || fail "network-list"
grep -q "^0 *$dd *$mac *$guest *4 " "$dir/list" || fail "network-list: $(cat "$dir/list")"
"$pvio" exec dd -- ip addr add 10.9.0.1/24 dev "vif$guest.0" || fail "address the vif"
"$pvio" exec guest -- ip addr add 10.9.0.2/24 dev eth0 || fail "address eth0"
timeout 30 "$pvio" exec dd -- ping -c 3 -W 5 10.9.0.2 >"$dir/ping" 2>&1 || fail "ping to the guest: $(cat "$dir/ping")"
timeout 30 "$pvio" exec guest -- ping -c 3 -W 5 10.9.0.1 >"$dir/ping" 2>&1 || fail "ping from the guest: $(cat "$dir/ping")"

timeout 30 "$pvio" network-detach guest "$mac" 2>"$dir/err" || fail "network-detach: $(cat "$dir/err")"
[ -s "$dir/err" ] && fail "network-detach said: $(cat "$dir/err")"
xenstore-exists "$be" 2>/dev/null && fail "back-end directory left"
xenstore-exists "$fe" 2>/dev/null && fail "front-end directory left: $(xenstore-ls -p "$fe"; cat "$dir/nf.log")"
wait_for sh -c "! \"$pvio\" exec dd -- ip link show vif$guest.0" || fail "the TAP vif$guest.0 is still there"
i=0
while kill -0 "$nf" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 250 ] || fail "pvio-netfront still runs after the detach"; sleep 0.02
done
"$pvio" network-list guest | grep -q "$mac" && fail "network-list still shows the vif"
"$pvio" network-attach guest "rate=10Mb/s@1h" 2>/dev/null && fail "a bad rate was accepted"
"$pvio" network-attach guest "mac=01:00:5e:00:00:01" 2>/dev/null && fail "a multicast MAC was accepted"
"$pvio" network-detach guest 7 2>/dev/null && fail "detaching a vif that is not there succeeded"
# The shared spec parser (tools/pvio/pvio-spec.c): an unknown key is named, an item without '='
# refused, an empty item (",,", a trailing comma) says nothing.
"$pvio" network-attach guest "type=vif,,bogus=1" 2>"$dir/err" && fail "an unknown key was accepted"
grep -q "bogus: unknown" "$dir/err" || fail "the unknown key: $(cat "$dir/err")"
"$pvio" network-attach guest "type=vif,novalue" 2>"$dir/err" && fail "an item without = was accepted"
grep -q "novalue: not key=value" "$dir/err" || fail "the item without =: $(cat "$dir/err")"
exit 0
