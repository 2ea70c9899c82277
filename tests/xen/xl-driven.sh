#!/bin/bash
# Scenario 6, in dom0: plain xl with an ordinary config drives pvio-blkback, which dom0 started
# before any guest with the kernel's xen-blkback left unloaded. xl create connects xvda; xl
# block-attach adds xvdb to the running guest; xl block-detach removes it; xl destroy ends the
# guest; pvio-blkback forgets each device and keeps running.
. /pvio/dom0-lib.sh
guest=xl-guest
spec='format=raw, vdev=xvdb, access=rw, backendtype=phy, target=/dev/loop1'

mkdir -p /srv
make_disk /srv/xl-a.img 8 PVIO-SIG-XL-A /dev/loop0 || fatal "dom0: cannot set up /dev/loop0"
make_disk /srv/xl-b.img 8 PVIO-SIG-XL-B /dev/loop1 || fatal "dom0: cannot set up /dev/loop1"

check "pvio-blkback runs before the guest" pvio_blkback_alive
check "xl create /pvio/xl-guest.cfg" guest_create /pvio/xl-guest.cfg
domid=$(xl domid $guest) || fatal "no domain $guest"
be=/local/domain/0/backend/vbd/$domid
fe=/local/domain/$domid/device/vbd

wait_console $guest 'PVIO-DOMU (waiting-for|FAIL)' 240 || { show_logs $guest always; fatal "the guest never got xvda"; }
check "guest reads xvda's signature" eq "$(domu_value $guest xvda-signature)" PVIO-SIG-XL-A
check "xvda back-end Connected" eq "$(xsr $be/51712/state)" 4
check "xvda front-end Connected" eq "$(xsr $fe/51712/state)" 4

check "xl block-attach $guest '$spec'" timeout 120 xl block-attach $guest "$spec"
wait_console $guest 'PVIO-DOMU (xvdb-written|FAIL)' 180 >/dev/null
check "guest reads xvdb's signature" eq "$(domu_value $guest xvdb-signature)" PVIO-SIG-XL-B
check "pvio-blkback serves xvdb" eq "$(stat_value "$domid" 51728 state)" Connected
check "xl block-list shows 2 disks" eq "$(xl block-list $guest | tail -n +2 | wc -l)" 2

check "xl block-detach $guest xvdb" timeout 120 xl block-detach $guest xvdb
wait_console $guest 'PVIO-DOMU (xvdb-gone|FAIL)' 120 >/dev/null
check "the guest saw xvdb go" grep -q 'PVIO-DOMU xvdb-gone' "$(console_log $guest)"
check "xvdb's back-end directory removed" wait_gone 60 xenstore-exists "$be/51728"
check "pvio-blkback forgot xvdb" wait_gone 30 test -e "$PVIO_STATS/$domid.51728"
check "the guest's write reached xvdb's backing file" \
	grep -qa PVIO-DOMU-WROTE-XVDB <(dd if=/srv/xl-b.img bs=512 skip=1 count=1 status=none)

show_logs $guest
check "xl destroy $guest" guest_destroy $guest
check "xvda's back-end directory removed" wait_gone 60 xenstore-exists "$be"
check "pvio-blkback forgot xvda" wait_gone 30 test -e "$PVIO_STATS/$domid.51712"
check "pvio-blkback still runs" pvio_blkback_alive
check "xl list shows dom0 only" eq "$(xl list | tail -n +2 | wc -l)" 1
losetup -d /dev/loop0 /dev/loop1
rm -f /srv/xl-a.img /srv/xl-b.img
finish
