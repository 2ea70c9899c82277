#!/bin/sh
# /init of the test domU (busybox): Linux's own xen-blkfront against whatever dom0 runs as the
# back-end, or pvio's front-ends, or pvio-blkback in a driver domain. Reports on its console
# (read by dom0 from xenconsoled's log) as lines "PVIO-DOMU <key> <value>"; the mode comes from
# the kernel command line (pvio=blk|xl|front|dd|ddguest|restart|net|pvnet).
export PATH=/usr/local/sbin:/sbin:/bin

say() { echo "PVIO-DOMU $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /mnt && mount -t tmpfs tmpfs /tmp

# ext4 asks for crc32c through the crypto API: load both before the first mount.
modprobe crc32c_generic
modprobe ext4
echo /bin/modprobe >/proc/sys/kernel/modprobe

mode=$(sed -n 's/.*pvio=\([a-z]*\).*/\1/p' /proc/cmdline)
say boot "$mode $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"

# A back-end that never connects blocks the module load for minutes: load it in the
# background and wait for the disks, each wait bounded. pvio's own front-end and back-end
# need the user-space Xen devices instead.
case $mode in
net) modprobe xen-netfront & ;;
ddguest)
	modprobe xen-blkfront &
	modprobe xen-netfront &
	;;
front | dd | pvnet)
	for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd fuse loop tun; do
		modprobe $m || say "FAIL modprobe $m"
	done
	mkdir -p /proc/xen && mount -t xenfs xenfs /proc/xen
	;;
*) modprobe xen-blkfront & ;;
esac

wait_dev() { # name seconds
	i=0
	while [ ! -b "/dev/$1" ] && [ $i -lt $(($2 * 5)) ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -b "/dev/$1" ]
}

# The first 32 bytes of a disk, where dom0 wrote a signature.
signature() { dd if="/dev/$1" bs=512 count=1 iflag=direct 2>/dev/null | head -c 32 | tr -dc 'A-Za-z0-9-'; }

# What xen-blkfront made of the back-end's offer.
report_negotiation() { # disk
	q=/sys/block/$1/queue
	say "$1-max-segments $(cat $q/max_segments)"
	say "$1-discard-max-bytes $(cat $q/discard_max_bytes)"
	say "$1-write-cache $(cat $q/write_cache)"
	say "$1-hw-queues $(ls /sys/block/$1/mq | wc -l)"
	say "$1-dmesg $(dmesg | grep "blkfront: $1:" | tail -n1 | sed 's/^\[[^]]*\] //')"
}

# Sequential 32 MiB, seven times each of four ways, alternated (single runs under TCG swing
# widely): direct write, direct read, buffered write ended by fsync (a flush), buffered read
# from a cold page cache (the guest's readahead); dom0 takes the medians, and counts what the
# back-end did between the two marks (the quiet seconds let it snapshot while idle).
throughput() { # disk
	say "throughput-start"
	sleep 5
	for r in 1 2 3 4 5 6 7; do
		say "dd-write $(dd if=/dev/zero of="/dev/$1" bs=1M count=32 oflag=direct 2>&1 | tail -n1)"
		say "dd-read $(dd if="/dev/$1" of=/dev/null bs=1M count=32 iflag=direct 2>&1 | tail -n1)"
		say "dd-bwrite $(dd if=/dev/zero of="/dev/$1" bs=1M count=32 conv=fsync 2>&1 | tail -n1)"
		echo 3 >/proc/sys/vm/drop_caches
		say "dd-bread $(dd if="/dev/$1" of=/dev/null bs=1M count=32 2>&1 | tail -n1)"
	done
	sleep 5
	say "throughput-end"
}

md5() { md5sum | cut -d' ' -f1; }

# 8 MiB of random data at 40 MiB, read back direct and through the page cache; the same
# data at 48 MiB, then discarded there (dom0 finds zeroes in the backing file).
pattern() { # disk
	d=/dev/$1
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
	sum=$(md5 </tmp/pattern)
	say "pattern-md5 $sum"
	dd if=/tmp/pattern of="$d" bs=1M seek=40 oflag=direct conv=fsync 2>/dev/null
	dd if=/tmp/pattern of="$d" bs=1M seek=48 oflag=direct conv=fsync 2>/dev/null
	say "pattern-direct $(dd if="$d" bs=1M skip=40 count=8 iflag=direct 2>/dev/null | md5)"
	echo 3 >/proc/sys/vm/drop_caches
	say "pattern-buffered $(dd if="$d" bs=1M skip=40 count=8 2>/dev/null | md5)"
	blkdiscard -o $((48 << 20)) -l $((8 << 20)) "$d" && say "discard ok"
	sync
}

# ext4: files written, verified after a remount, and a clean e2fsck.
filesystem() { # disk
	d=/dev/$1
	mkfs.ext4 -q -F "$d" || { say "fs-files mkfs-failed"; return; }
	mount -t ext4 "$d" /mnt || { say "fs-files mount-failed"; return; }
	i=0
	while [ $i -lt 16 ]; do
		dd if=/dev/urandom of=/mnt/f$i bs=64k count=$((i + 1)) 2>/dev/null
		i=$((i + 1))
	done
	(cd /mnt && md5sum f*) >/tmp/sums
	umount /mnt && mount -t ext4 "$d" /mnt || { say "fs-files remount-failed"; return; }
	if (cd /mnt && md5sum -c -s /tmp/sums); then say "fs-files ok"; else say "fs-files differ"; fi
	umount /mnt
	e2fsck -f -n "$d" >/tmp/fsck 2>&1
	say "e2fsck-exit $?"
}

mode_blk() {
	wait_dev xvda 120 && wait_dev xvdb 30 || { say "FAIL disks missing: $(ls /dev | grep xvd)"; return; }
	say "xvda-signature $(signature xvda)"
	report_negotiation xvda
	throughput xvda
	pattern xvda
	filesystem xvdb
}

# dom0 attaches xvdb with xl block-attach while this runs, then detaches it.
mode_xl() {
	wait_dev xvda 120 || { say "FAIL xvda missing"; return; }
	say "xvda-signature $(signature xvda)"
	say "waiting-for xvdb"
	wait_dev xvdb 120 || { say "FAIL xvdb never came"; return; }
	say "xvdb-signature $(signature xvdb)"
	echo PVIO-DOMU-WROTE-XVDB | dd of=/dev/xvdb bs=512 seek=1 conv=sync,fsync oflag=direct 2>/dev/null
	say "xvdb-written"
	i=0
	while [ -b /dev/xvdb ] && [ $i -lt 600 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -b /dev/xvdb ] && say "FAIL xvdb still there" || say "xvdb-gone"
}

# libpvio-blkfront as an unprivileged domU has it (privcmd restricted, gntalloc's default
# limit), with its default options, on xvda: signature, a 16 MiB pattern at 8 MiB written,
# flushed and read back, a discard of 24-32 MiB; dom0 checks the backing file. Then
# pvio-blkfront on the same xvda (fuse_same), and on xvdb as a file with ext4 on a loop device
# over it.
# Seconds since boot, for the step timings dom0 prints.
mark() { say "t-$1 $(cut -d' ' -f1 /proc/uptime)"; }

# pvio-blkfront until it exits, at most 20 s, once its file system is unmounted.
fuse_gone() {
	i=0
	while pidof pvio-blkfront >/dev/null && [ $i -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
}

# pvio-blkfront on xvda, the disk the library used just before (xen-blkfront-io waited for the
# back-end to read Closed): signature, 8 MiB written at 40 MiB through the file and fsync'd
# (a flush), read back; dom0 finds it in its backing file.
fuse_same() {
	mark fuse-same
	timeout 120 pvio-blkfront -v -v --timeout 60 xvda /tmp/bf >/tmp/fuse-a.log 2>&1
	say "fuse-a-exit $?"
	say "fuse-a-signature $(head -c 32 /tmp/bf/disk | tr -dc 'A-Za-z0-9-')"
	dd if=/dev/urandom of=/tmp/pat-a bs=1M count=8 2>/dev/null
	say "fuse-a-md5 $(md5 </tmp/pat-a)"
	dd if=/tmp/pat-a of=/tmp/bf/disk bs=1M seek=40 conv=notrunc,fsync 2>/tmp/fuse-a.err &&
		say "fuse-a-write ok" || say "fuse-a-write $(tail -n1 /tmp/fuse-a.err)"
	say "fuse-a-back $(dd if=/tmp/bf/disk bs=1M skip=40 count=8 2>/dev/null | md5)"
	umount /tmp/bf && say "fuse-a-unmounted"
	fuse_gone
	say "fuse-a-running $(pidof pvio-blkfront || echo none)"
	sed 's/^/PVIO-DOMU fuse-a-log: /' /tmp/fuse-a.log
	say "fuse-a-lost $(grep -c 'back-end lost' /tmp/fuse-a.log)"
}

mode_front() {
	mark start
	say "privcmd-unrestricted $(cat /sys/module/xen_privcmd/parameters/unrestricted 2>/dev/null || echo absent)"
	say "gntalloc-limit $(cat /sys/module/xen_gntalloc/parameters/limit)"
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=16 2>/dev/null
	say "pattern-md5 $(md5 </tmp/pattern)"
	mark lib
	timeout 300 xen-blkfront-io PVIO-SIG-FRONT /tmp/pattern 8 24 8 >/tmp/io.out 2>/tmp/io.log
	say "lib-exit $?"
	while read -r l; do say "lib-$l"; done </tmp/io.out
	sed 's/^/PVIO-DOMU lib-log: /' /tmp/io.log
	say "lib-lost $(grep -c 'back-end lost' /tmp/io.log)"
	mkdir -p /tmp/bf
	fuse_same
	mark fuse
	timeout 120 pvio-blkfront -v xvdb /tmp/bf >/tmp/fuse.log 2>&1
	say "fuse-exit $?"
	mark fuse-mounted
	if losetup /dev/loop0 /tmp/bf/disk; then
		mark ext4
		filesystem loop0
		mark end
		losetup -d /dev/loop0
	else
		say "fs-files losetup-failed"
	fi
	umount /tmp/bf && say "fuse-unmounted"
	# Unmounted, pvio-blkfront closes the device and exits.
	fuse_gone
	say "fuse-running $(pidof pvio-blkfront || echo none)"
	sed 's/^/PVIO-DOMU fuse-log: /' /tmp/fuse.log
	say "fuse-lost $(grep -c 'back-end lost' /tmp/fuse.log)"
}

# A driver domain: pvio-blkback serves the guests' disks from a file of this domain's own.

# The driver domain's network, as the README's "Running on Xen" sets one up: bridge xenbr0
# (169.254.101.1/24; the guests' vif specs name it), pvio-netback serving the vifs given to
# this domain and putting their TAPs on it, as user pvio-netback. Ready once it has dropped to
# that user, just before it serves (libxl gives a vif 10 s to reach InitWait). A listener
# takes each TCP connection to port 5003 and says the md5 of what came once a whole MiB is in
# (busybox nc -l does not end when its peer does while its own stdin stays open).
dd_net() {
	modprobe bridge || say "FAIL modprobe bridge"
	{ brctl addbr xenbr0 && ip addr add 169.254.101.1/24 dev xenbr0 && ip link set xenbr0 up; } ||
		say "FAIL bridge xenbr0"
	echo 'pvio-netback:x:101:101::/:/bin/false' >>/etc/passwd
	echo 'pvio-netback:x:101:' >>/etc/group
	mkdir -p /run/pvio-netback
	chown 101:101 /run/pvio-netback
	pvio-netback -v --user pvio-netback --bridge xenbr0 --stats-dir /run/pvio-netback \
		>/tmp/netback.log 2>&1 &
	nb=$!
	i=0
	while ! grep -q '^Uid:[[:space:]]*101[[:space:]]' /proc/$nb/status 2>/dev/null &&
		kill -0 $nb 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	# A listener whose stdin never ends: busybox nc stops at its stdin's end.
	while :; do
		: >/tmp/net-rx.bin
		sleep 600 | nc -l -p 5003 >/tmp/net-rx.bin &
		nl=$!
		while kill -0 $nl 2>/dev/null && [ "$(rx_bytes)" -lt 1048576 ]; do sleep 0.2; done
		sleep 0.5
		[ "$(rx_bytes)" -gt 0 ] && say "dd-net-rx $(md5 </tmp/net-rx.bin) $(rx_bytes)"
		kill $nl 2>/dev/null
		sleep 1
	done &
}
rx_bytes() { wc -c </tmp/net-rx.bin | tr -d ' '; }
mode_dd() {
	mkdir -p /srv /run/pvio-blkback
	echo 'root:x:0:0::/:/bin/sh' >/etc/passwd
	echo 'pvio-blkback:x:100:6::/:/bin/false' >>/etc/passwd
	printf 'root:x:0:\ndisk:x:6:\n' >/etc/group
	truncate -s 64M /srv/disk.img
	printf PVIO-SIG-DD | dd of=/srv/disk.img conv=notrunc 2>/dev/null
	mkdir -p -m 700 /run/pvio-blkback-j
	chown 100 /srv/disk.img /run/pvio-blkback /run/pvio-blkback-j
	pvio-blkback -v --kinds vbd --user pvio-blkback --storage /srv \
		--stats-dir /run/pvio-blkback --journal-dir /run/pvio-blkback-j >/tmp/blkback.log 2>&1 &
	# Ready once it writes its pid file, just before it serves: libxl gives a back-end 10 s
	# (LIBXL_INIT_TIMEOUT) to reach InitWait, which a daemon still starting on a loaded
	# 1-vCPU domain can miss ("unable to add device").
	i=0
	while [ ! -s /run/pvio-blkback-j/pvio-blkback.pid ] && [ $i -lt 300 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	dd_net
	say "dd-ready $(cat /run/pvio-blkback-j/pvio-blkback.pid 2>/dev/null || echo no-pid-file)" \
		"netback=$(pidof pvio-netback || echo none)"
	# What dom0 asks for: the statistics, on the console, whenever they change.
	last= lastr=
	while :; do
		now=$(cat /run/pvio-blkback/* 2>/dev/null | tr '\n' ' ')
		if [ "$now" != "$last" ]; then
			say "dd-stats $now"
			last=$now
			# The region the guest writes after a reconnect, as this domain's file holds
			# it (read only when the counters moved: this domain has one vCPU to spare).
			region=$(dd if=/srv/disk.img bs=1M skip=16 count=1 2>/dev/null | md5)
			[ "$region" != "$lastr" ] && say "dd-region $region" && lastr=$region
		fi
		kill -0 "$(pidof pvio-blkback)" 2>/dev/null || { say "FAIL pvio-blkback exited"; \
			sed 's/^/PVIO-DOMU dd-log: /' /tmp/blkback.log; break; }
		kill -0 "$(pidof pvio-netback)" 2>/dev/null || { say "FAIL pvio-netback exited"; \
			sed 's/^/PVIO-DOMU dd-netlog: /' /tmp/netback.log; break; }
		sleep 1
	done
}

# The network interfaces from the driver domain as " name:ifindex ... ": a vif detached and
# attached again may come back under the same name, with a new index.
netifs() {
	printf ' '
	for n in $(ls /sys/class/net | grep '^eth'); do
		printf '%s:%s ' "$n" "$(cat /sys/class/net/"$n"/ifindex 2>/dev/null || echo 0)"
	done
}

# The vif from the driver domain, on interface ifc: addressed, pinged (after up to 60 s of
# single pings while it comes up), and 1 MiB of random data sent over TCP to its listener.
net_dd() { # n ifc
	ip addr flush dev "$2" 2>/dev/null
	ip addr add 169.254.101.2/24 dev "$2" && ip link set "$2" up
	i=0
	while ! ping -c 1 -W 1 169.254.101.1 >/dev/null 2>&1 && [ $i -lt 60 ]; do i=$((i + 1)); done
	p=$(ping -c 3 -W 2 169.254.101.1 2>&1 | grep -o '[0-9]* packets received')
	dd if=/dev/urandom of=/tmp/nt bs=64k count=16 2>/dev/null
	timeout 60 nc 169.254.101.1 5003 </tmp/nt
	rc=$?
	say "net-new $1 $2 ping=${p%% *} sent=$rc md5=$(md5 </tmp/nt)"
}

# The driver domain's guest: a pattern on xvda and traffic on its vif, then idle: no I/O of its
# own while the driver domain goes and comes back. Each disk that appears (a reconnect by xl
# block-attach) is read, written and read back, each disk that goes is reported, with the count
# of tasks stuck in D state (a blocked xenwatch shows there); each change of the set of disks
# is said as it is seen. Each interface that appears (xl network-attach) carries traffic as the
# first one did, each that goes is reported.
mode_ddguest() {
	wait_dev xvda 120 || { say "FAIL xvda missing"; return; }
	say "xvda-signature $(signature xvda)"
	pattern xvda
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 600 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -e /sys/class/net/eth0 ] && net_dd 0 eth0 || say "FAIL no eth0"
	say "phase1-done"
	seen=$(disks) n=0 gone=0 nseen=$(netifs) nn=0
	while :; do
		now=$(disks)
		[ "$now" = "$seen" ] || say "disks$now"
		for d in $seen; do
			case $now in *" $d "*) ;; *) gone=$((gone + 1)) && say "disk-gone $gone ${d%%:*} stuck=$(stuck)" ;; esac
		done
		for d in $now; do
			case $seen in *" $d "*) ;; *) n=$((n + 1)) && reconnected $n "${d%%:*}" ;; esac
		done
		seen=$now
		now=$(netifs)
		[ "$now" = "$nseen" ] || say "netifs$now"
		for d in $now; do
			case $nseen in *" $d "*) ;; *) nn=$((nn + 1)) && net_dd $nn "${d%%:*}" ;; esac
		done
		nseen=$now
		sleep 1
	done
}

# The xvd disks as " name:diskseq ... ": a disk removed and probed again under the same name
# between two looks has a new diskseq (Linux 5.15+), so it counts as gone and new; by name
# alone such a quick re-attach at the same vdev went unseen.
disks() {
	printf ' '
	for d in $(ls /sys/block | grep '^xvd'); do
		printf '%s:%s ' "$d" "$(cat /sys/block/"$d"/diskseq 2>/dev/null || echo 0)"
	done
}

# Tasks stuck in uninterruptible sleep: the fewest of three looks a second apart, so that a
# task passing through D state as the disk goes (the removal's own work) is not counted; a
# blocked one stays.
stuck() {
	local n m i
	n=$(grep -l '^State:.*D' /proc/[0-9]*/status 2>/dev/null | wc -l)
	for i in 1 2; do
		[ "$n" -eq 0 ] && break
		sleep 1
		m=$(grep -l '^State:.*D' /proc/[0-9]*/status 2>/dev/null | wc -l)
		[ "$m" -lt "$n" ] && n=$m
	done
	echo "$n"
}

# A disk attached afresh: its signature, 1 MiB of new data at 16 MiB written direct (the
# driver domain reports the md5 of that region of its file) and read back.
reconnected() { # n disk
	wait_dev "$2" 30
	dd if=/dev/urandom of=/tmp/re bs=1M count=1 2>/dev/null
	dd if=/tmp/re of="/dev/$2" bs=1M seek=16 oflag=direct conv=fsync 2>/dev/null && w=ok || w=error
	back=$(dd if="/dev/$2" bs=1M skip=16 count=1 iflag=direct 2>/dev/null | md5)
	say "disk-new $1 $2 sig=$(signature "$2") write=$w md5=$(md5 </tmp/re) back=$back" \
		"state=$(cat /sys/block/"$2"/device/state 2>/dev/null || echo none) stuck=$(stuck)"
}

# Seconds since boot in hundredths, for round times.
now_cs() { cut -d' ' -f1 /proc/uptime | tr -d .; }

# xen/blk-restart's guest: rounds of 2 MiB written direct (64 KiB requests, then a flush) into
# one of four slots of xvda, alternating two patterns, each read back direct and compared,
# while dom0 kills and restarts the back-end; until dom0 writes STOP at 32 MiB. Then the
# slots' expected md5 (dom0 compares its backing file), errors and the longest round.
mode_restart() {
	wait_dev xvda 120 || { say "FAIL xvda missing"; return; }
	for p in 0 1; do dd if=/dev/urandom of=/tmp/pat$p bs=1M count=2 2>/dev/null; done
	s0=$(md5 </tmp/pat0) s1=$(md5 </tmp/pat1)
	i=0 errors=0 mismatches=0 max=0
	say "restart-writing"
	while [ $i -lt 100000 ]; do
		[ "$(dd if=/dev/xvda bs=512 skip=65536 count=1 iflag=direct 2>/dev/null | head -c 4)" = STOP ] && break
		slot=$((i % 4)) p=$(((i / 4) % 2))
		t0=$(now_cs)
		dd if=/tmp/pat$p of=/dev/xvda bs=64k seek=$((128 + slot * 32)) oflag=direct conv=fsync \
			2>/tmp/dd.err || { errors=$((errors + 1)); say "write-error $i $(tail -n1 /tmp/dd.err)"; }
		got=$(dd if=/dev/xvda bs=64k skip=$((128 + slot * 32)) count=32 iflag=direct 2>/dev/null | md5)
		[ "$p" = 0 ] && want=$s0 || want=$s1
		[ "$got" = "$want" ] || { mismatches=$((mismatches + 1)); say "mismatch $i"; }
		dt=$(($(now_cs) - t0))
		[ $dt -gt $max ] && max=$dt
		i=$((i + 1))
		say "round $i $dt"
	done
	: >/tmp/expect
	for slot in 0 1 2 3; do # the pattern of each slot's last round
		last=$(((i - 1 - slot) / 4 * 4 + slot))
		cat /tmp/pat$(((last / 4) % 2)) >>/tmp/expect
	done
	say "rounds $i"
	say "expect-md5 $(md5 </tmp/expect)"
	say "slots-md5 $(dd if=/dev/xvda bs=64k skip=128 count=128 iflag=direct 2>/dev/null | md5)"
	say "write-errors $errors"
	say "mismatches $mismatches"
	say "round-max-cs $max"
	dmesg | grep -i -E 'i/o error|blk_update|buffer i/o|xvda.*(error|fail)|blkfront.*(error|fail|clos)' >/tmp/errs
	say "dmesg-errors $(wc -l </tmp/errs)"
	sed 's/^/PVIO-DOMU dmesg: /' /tmp/errs
}

# The network scenario: dom0 is 169.254.100.1 on its bridge, listening on TCP 5001; the guest
# is 169.254.100.2. Pings, 8 MiB to dom0 (timed here), then 8 MiB from dom0 to the guest's
# port 5002, each checked by dom0 against the md5 reported.
net_dom0=169.254.100.1
secs() { cut -d' ' -f1 /proc/uptime; }

net_traffic() { # interface
	ip addr add 169.254.100.2/24 dev "$1" && ip link set "$1" up
	i=0
	while ! ping -c 1 -W 1 $net_dom0 >/dev/null 2>&1 && [ $i -lt 60 ]; do i=$((i + 1)); done
	say "ping-dom0 $(ping -c 3 -W 2 $net_dom0 2>&1 | grep -o '[0-9]* packets received')"
	dd if=/dev/urandom of=/tmp/tx.bin bs=1M count=8 2>/dev/null
	say "tx-md5 $(md5 </tmp/tx.bin)"
	t0=$(secs)
	timeout 120 nc $net_dom0 5001 </tmp/tx.bin
	rc=$?
	say "tx-sent $rc $(awk -v a="$t0" -v b="$(secs)" 'BEGIN { print b - a }')"
	# A listener whose stdin never ends: busybox nc stops at its stdin's end.
	sleep 600 | nc -l -p 5002 >/tmp/rx.bin &
	pid=$!
	say "rx-listening"
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	say "rx-md5 $(md5 </tmp/rx.bin) $(wc -c </tmp/rx.bin)"
	# What the interface saw, for a transfer that failed.
	say "eth0-counters $(grep eth0 /proc/net/dev | tr -s ' ')"
	# Per-queue event-channel interrupts (responses heard): a stalled queue shows here.
	grep eth0 /proc/interrupts | tr -s ' ' | while read -r l; do say "eth0-irq $l"; done
	dmesg | grep -iE "netfront|vif|eth0" | tail -n 8 | while read -r l; do say "netfront-dmesg $l"; done
}

# Linux's xen-netfront against whatever dom0 runs; what it negotiated dom0 reads in xenstore.
mode_net() {
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 600 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -e /sys/class/net/eth0 ] || { say "FAIL no eth0"; return; }
	say "net-queues $(ls -d /sys/class/net/eth0/queues/tx-* | wc -l)"
	say "net-mtu $(cat /sys/class/net/eth0/mtu)"
	net_traffic eth0
}

# pvio-netfront as an unprivileged domU has it, with its default options, on a TAP eth0.
mode_pvnet() {
	say "privcmd-unrestricted $(cat /sys/module/xen_privcmd/parameters/unrestricted 2>/dev/null || echo absent)"
	say "gntalloc-limit $(cat /sys/module/xen_gntalloc/parameters/limit)"
	pvio-netfront --no-netns >/tmp/nf.out 2>/tmp/nf.log &
	nf=$!
	i=0
	while ! grep -q ' up, ' /tmp/nf.out && kill -0 $nf 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	say "pvnet-up $(cat /tmp/nf.out)"
	if grep -q ' up, ' /tmp/nf.out; then
		net_traffic eth0
	else
		say "FAIL pvio-netfront did not come up"
	fi
	kill -TERM $nf 2>/dev/null
	wait $nf
	say "pvnet-exit $?"
	sed 's/^/PVIO-DOMU pvnet-log: /' /tmp/nf.log
}

case $mode in
net) mode_net ;;
pvnet) mode_pvnet ;;
blk) mode_blk ;;
xl) mode_xl ;;
front) mode_front ;;
dd) mode_dd ;;
ddguest) mode_ddguest ;;
restart) mode_restart ;;
*) say "FAIL unknown mode '$mode'" ;;
esac
say DONE
# dom0 reads the state and destroys the domain.
while :; do sleep 3600; done
