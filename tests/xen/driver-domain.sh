#!/bin/bash
# Scenario 5, in dom0: a driver domain. An unprivileged PV domU created with driver_domain=1
# runs pvio-blkback on a disk image of its own; a guest whose xl config says
# backend=<driver domain> gets its disk from it through plain xl create and writes and reads a
# pattern there. Then the driver domain is destroyed and created again, and the test records
# what the guest's disk does: Linux's xen-blkfront does not reconnect to a new back-end domain
# (its device still names the old one's directory), so the test asserts that the guest's
# device stays Connected with its I/O stuck, and that a disk attached afresh from the new
# driver domain works.
. /pvio/dom0-lib.sh
ddom=pvio-dd
g="dd-guest"

start_dd() { # label
	check "$1: xl create /pvio/dd.cfg" guest_create /pvio/dd.cfg
	DDID=$(xl domid $ddom) || fatal "no domain $ddom"
	wait_console $ddom 'PVIO-DOMU (dd-ready|FAIL)' 180 >/dev/null
	check "$1: pvio-blkback runs in the driver domain" \
		grep -qa 'PVIO-DOMU dd-ready' "$(console_log $ddom)"
}

# The last "disk" line of the guest once it matches, within a bound.
wait_disk() { # pattern seconds
	wait_console $g "PVIO-DOMU disk .*$1" "$2" >/dev/null
	domu_value $g disk
}

show_dd() {
	[[ $failures -eq 0 ]] && return 0
	echo "--- console of $ddom"
	tail -n 40 "$(console_log $ddom)" | tr -d '\r'
	echo "--- console of $g"
	tail -n 40 "$(console_log $g)" | tr -d '\r'
}

start_dd "first driver domain"
ddid1=$DDID
check "xl create /pvio/dd-guest.cfg (backend=$ddom)" guest_create /pvio/dd-guest.cfg
gid=$(xl domid $g) || { show_dd; fatal "no domain $g"; }
be=/local/domain/$ddid1/backend/vbd/$gid/51712
fe=/local/domain/$gid/device/vbd/51712
check "the guest's device names the driver domain's back-end" eq "$(xsr $fe/backend)" "$be"
wait_console $g 'PVIO-DOMU (phase1-done|FAIL)' 240 >/dev/null
check "guest reads the driver domain's signature" eq "$(domu_value $g xvda-signature)" PVIO-SIG-DD
sum=$(domu_value $g pattern-md5)
check "pattern read back direct" eq "$(domu_value $g pattern-direct)" "$sum"
check "pattern read back buffered" eq "$(domu_value $g pattern-buffered)" "$sum"
check "discard accepted" eq "$(domu_value $g discard)" ok
check "back-end Connected" eq "$(xsr $be/state)" 4
check "front-end Connected" eq "$(xsr $fe/state)" 4
echo "driver domain's statistics: $(domu_value $ddom dd-stats)"
check "pvio-blkback in the driver domain served it" \
	grep -qa "PVIO-DOMU dd-stats .*state Connected" "$(console_log $ddom)"

# The driver domain goes: what does the guest's disk do?
check "xl destroy $ddom" guest_destroy $ddom
after=$(wait_disk 'io=(pending|error)' 60)
echo "guest's disk after the driver domain was destroyed: $after"
check "the guest's I/O stops with the back-end gone" eval '[[ $after =~ io=(pending|error) ]]'
start_dd "second driver domain"
sleep 15 # a reconnect, were there one, would show within this
again=$(domu_value $g disk)
echo "guest's disk 15 s after the driver domain came back (domid $ddid1 -> $DDID): $again"
echo "its device still names $(xsr $fe/backend), state $(xsr $fe/state)"
check "xen-blkfront does not reconnect to the new driver domain (known gap)" \
	eval '[[ ! $again =~ io=ok ]]'
# What does work: a disk attached afresh from the new driver domain.
check "xl block-attach $g from the new driver domain" \
	timeout 120 xl block-attach $g "backend=$ddom, format=raw, vdev=xvdb, access=rw, backendtype=phy, target=/srv/disk.img"
wait_console $g 'PVIO-DOMU xvdb-signature' 120 >/dev/null
check "the guest reads the new driver domain's disk" eq "$(domu_value $g xvdb-signature)" PVIO-SIG-DD
show_dd
check "xl destroy $g" guest_destroy $g
check "xl destroy $ddom" guest_destroy $ddom
finish
