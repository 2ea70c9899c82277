#!/bin/bash
# /init of the test dom0 (no systemd, no udev): bring up the Xen daemons, start pvio-blkback
# before any guest exists, run each scenario under its own time limit, report on the console
# (hvc0, which Xen copies to the serial port the host reads), then power off.
# Lines for the host: "PVIO-XEN-RESULT <scenario> PASS|FAIL [why]"; a scenario's own output is
# prefixed "[<scenario>] ".
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /pvio/dom0-lib.sh

mount_basics() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm /run /var/log/xen/console /var/run/xen
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /run
	# udev makes these; without /dev/stdin the hotplug scripts' locking loops forever.
	ln -sf /proc/self/fd /dev/fd
	ln -sf fd/0 /dev/stdin
	ln -sf fd/1 /dev/stdout
	ln -sf fd/2 /dev/stderr
}

# The kernel's block back-end stays unloaded: pvio-blkback serves backend/vbd.
start_xen() {
	local m
	for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd loop; do
		modprobe "$m" || echo "dom0: modprobe $m failed"
	done
	mountpoint -q /proc/xen || mount -t xenfs xenfs /proc/xen
	# The guests' consoles go to files the scenarios read.
	echo "XENCONSOLED_ARGS='--log=guest --log-dir=$CONSOLES'" >>/etc/default/xen
	timeout 120 /etc/init.d/xen start || echo "dom0: /etc/init.d/xen start failed"
	timeout 60 xl info >/dev/null || echo "dom0: xl info failed"
}

# As the README's "Running on Xen" says: a system user in group disk (the loop devices'), its
# statistics and journal directories, the device nodes as its storage.
start_pvio_blkback() {
	id pvio-blkback >/dev/null 2>&1 ||
		useradd --system --no-create-home --gid disk --shell /usr/sbin/nologin pvio-blkback ||
		echo "dom0: useradd pvio-blkback failed"
	install -d -o pvio-blkback "$PVIO_STATS"
	install -d -m 700 -o pvio-blkback "$PVIO_JOURNALS"
	# What udev's rules would do (there is no udev here): the disk group opens the loop devices.
	chgrp disk /dev/loop[0-9]* && chmod g+rw /dev/loop[0-9]* || echo "dom0: loop devices' group"
	pvio_blkback_run
}

run_scenario() { # name limit-seconds
	local name=$1 limit=$2 rc=0 started=$SECONDS
	echo "PVIO-XEN-START $name"
	timeout -k 10 "$limit" bash "/pvio/$name.sh" 2>&1 | sed -u "s/^/[$name] /"
	rc=${PIPESTATUS[0]}
	case $rc in
	0) echo "PVIO-XEN-RESULT $name PASS $((SECONDS - started))s" ;;
	124 | 137) echo "PVIO-XEN-RESULT $name FAIL timed out after ${limit}s" ;;
	*) echo "PVIO-XEN-RESULT $name FAIL exit $rc" ;;
	esac
}

main() {
	mount_basics
	echo "PVIO-DOM0 up $(uname -r)"
	start_xen
	start_pvio_blkback
	echo "PVIO-DOM0 ready"
	local s
	for s in $(cat /pvio/scenarios); do
		run_scenario "${s%:*}" "${s#*:}"
	done
	echo "PVIO-DOM0 done"
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
}

main
