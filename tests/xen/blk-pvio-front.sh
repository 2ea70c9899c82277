#!/bin/bash
# Scenario 2, in dom0: pvio's front-ends in an unprivileged PV domU (privcmd restricted, as
# Linux ships it; gntalloc's default limit) against dom0's kernel xen-blkback. The domU runs
# libpvio-blkfront with its default options (xen-blkfront-io: signature, a 16 MiB pattern
# written, flushed, read back, a discard) on xvda, then pvio-blkfront (FUSE) on the same xvda
# (signature, 8 MiB written, fsync'd, read back) and on xvdb with ext4 on a loop device over its
# file. dom0 finds both patterns and the discard in its backing file.
. /pvio/dom0-lib.sh
g=blk-front
disk=/srv/front.img
fsdisk=/srv/front-fs.img

mkdir -p /srv
switch_to_kernel_blkback
make_disk $disk 64 PVIO-SIG-FRONT /dev/loop4 || fatal "dom0: cannot set up /dev/loop4"
make_disk $fsdisk 48 "" /dev/loop5 || fatal "dom0: cannot set up /dev/loop5"
# Data where the guest discards, so that zeroes there are the discard's.
dd if=/dev/urandom of=$disk bs=1M seek=24 count=8 conv=notrunc status=none

guest_create /pvio/front-guest.cfg || fatal "xl create /pvio/front-guest.cfg"
wait_console $g 'PVIO-DOMU DONE' 540 >/dev/null || check "the guest finished" false
grep -a 'PVIO-DOMU \(lib-info\|lib-stats\|lib-log\|lib-closed\|fuse-log\|fuse-a-log\|privcmd\|gntalloc\|t-\)' \
	"$(console_log $g)" | tr -d '\r'
check "privcmd restricted in the domU" eval '[[ $(domu_value $g privcmd-unrestricted) != Y ]]'
check "gntalloc's default limit" eq "$(domu_value $g gntalloc-limit)" 1024
for step in open signature write flush read-back discard; do
	check "libpvio-blkfront: $step" eq "$(domu_value $g lib-$step)" ok
done
check "libpvio-blkfront: the program exits 0" eq "$(domu_value $g lib-exit)" 0
check "libpvio-blkfront: no back-end lost" eq "$(domu_value $g lib-lost)" 0
check "libpvio-blkfront: the back-end read Closed after the close" \
	eval '[[ $(domu_value $g lib-closed) =~ ^ok ]]'
check "pvio-blkfront on the same disk (xvda) mounts it" eq "$(domu_value $g fuse-a-exit)" 0
check "pvio-blkfront on xvda: signature" eq "$(domu_value $g fuse-a-signature)" PVIO-SIG-FRONT
check "pvio-blkfront on xvda: 8 MiB written and fsync'd" eq "$(domu_value $g fuse-a-write)" ok
check "pvio-blkfront on xvda: read back" eq "$(domu_value $g fuse-a-back)" "$(domu_value $g fuse-a-md5)"
check "pvio-blkfront on xvda: unmounted" grep -qa 'PVIO-DOMU fuse-a-unmounted' "$(console_log $g)"
check "pvio-blkfront on xvda exits once unmounted" eq "$(domu_value $g fuse-a-running)" none
check "pvio-blkfront on xvda: no back-end lost" eq "$(domu_value $g fuse-a-lost)" 0
check "libpvio-blkfront: persistent grants in use" eval '[[ $(domu_value $g lib-info) =~ persistent=1 ]]'
check "pvio-blkfront mounts the disk" eq "$(domu_value $g fuse-exit)" 0
check "pvio-blkfront: ext4 files verified after remount" eq "$(domu_value $g fs-files)" ok
check "pvio-blkfront: e2fsck clean" eq "$(domu_value $g e2fsck-exit)" 0
check "pvio-blkfront: unmounted" grep -qa 'PVIO-DOMU fuse-unmounted' "$(console_log $g)"
check "pvio-blkfront: no back-end lost" eq "$(domu_value $g fuse-lost)" 0
check "pvio-blkfront exits once unmounted" eq "$(domu_value $g fuse-running)" none
check "the front-ends closed the devices" eq \
	"$(xsr "/local/domain/$(xl domid $g)/device/vbd/51712/state") $(xsr "/local/domain/$(xl domid $g)/device/vbd/51728/state")" "6 6"
check "no guest-side failure" eval "! grep -qa 'PVIO-DOMU FAIL' $(console_log $g)"
echo "states: front $(xsr "/local/domain/$(xl domid $g)/device/vbd/51712/state")," \
	"back $(xsr "/local/domain/0/backend/vbd/$(xl domid $g)/51712/state")"
# What dom0's xen-blkback made of pvio-blkfront's second connection to xvda, when it failed.
if [[ $(domu_value $g fuse-a-exit) != 0 ]]; then
	echo "--- xvda's back-end: $(xenstore-ls -f "/local/domain/0/backend/vbd/$(xl domid $g)/51712" 2>&1 | grep -E '/(state|online|hotplug-status)|error' | tr '\n' ' ')"
	echo "--- xvda's front-end: $(xenstore-ls -f "/local/domain/$(xl domid $g)/device/vbd/51712" 2>&1 | tr '\n' ' ')"
	dmesg | grep -i -E 'blkback|vbd|xenbus' | tail -n 20
fi
show_logs $g
check "xl destroy $g" guest_destroy $g
check "the pattern is in dom0's backing file" \
	eq "$(dd if=$disk bs=1M skip=8 count=16 status=none | md5sum | cut -d' ' -f1)" \
	"$(domu_value $g pattern-md5)"
check "pvio-blkfront's data on xvda is in dom0's backing file" \
	eq "$(dd if=$disk bs=1M skip=40 count=8 status=none | md5sum | cut -d' ' -f1)" \
	"$(domu_value $g fuse-a-md5)"
check "the discarded range reads zeroes in the backing file" \
	cmp -s -n $((8 << 20)) <(dd if=$disk bs=1M skip=24 count=8 status=none) /dev/zero
losetup -d /dev/loop4 /dev/loop5
rm -f $disk $fsdisk
finish
