#!/bin/bash
# Scenario 1, in dom0: pvio-blkback serves a Linux PV domU (2 vCPUs, xen-blkfront). Checks what
# Linux negotiated against what the back-end offered, the data (signature, pattern read back
# direct and buffered and found in dom0's backing file, discard, ext4 + e2fsck), then runs
# the same guest against the kernel's xen-blkback in the same boot, and both once more in the
# same order (pvio, kernel, pvio, kernel: what runs first or later in a boot, a translation
# cache warmed or a host grown busy, falls on both), and prints both sequential throughputs
# side by side ("figure:" lines), each the median of all its guests' runs.
. /pvio/dom0-lib.sh
raw_dev=/dev/loop2
fs_dev=/dev/loop3

# Linux's answer to the offer, read while the guest is connected.
check_negotiation() { # guest domid backend-label
	local g=$1 be=/local/domain/0/backend/vbd/$2/51712 fe=/local/domain/$2/device/vbd/51712
	local b_ind b_q b_ro f_q f_ro segs want_q
	b_ind=$(xsr $be/feature-max-indirect-segments 0)
	b_q=$(xsr $be/multi-queue-max-queues 1)
	b_ro=$(xsr $be/max-ring-page-order 0)
	f_q=$(xsr $fe/multi-queue-num-queues 1)
	f_ro=$(xsr $fe/ring-page-order 0)
	segs=$(domu_value "$g" xvda-max-segments)
	want_q=$((b_q < 2 ? b_q : 2))
	echo "$3 offered: indirect=$b_ind queues=$b_q ring-order=$b_ro" \
		"flush=$(xsr $be/feature-flush-cache) discard=$(xsr $be/feature-discard)" \
		"persistent=$(xsr $be/feature-persistent)"
	echo "linux chose: queues=$f_q ring-order=$f_ro persistent=$(xsr $fe/feature-persistent)" \
		"max_segments=$segs; $(domu_value "$g" xvda-dmesg)"
	check "$3: back-end Connected" eq "$(xsr $be/state)" 4
	check "$3: front-end Connected" eq "$(xsr $fe/state)" 4
	check "$3: indirect segments offered" gt "$b_ind" 0
	check "$3: Linux uses indirect requests (max_segments > 11, <= offered)" \
		eval 'gt "$segs" 11 && le "$segs" "$b_ind"'
	check "$3: Linux uses min(offered, 2 vCPUs) queues" eq "$f_q" "$want_q"
	check "$3: the guest has as many hardware queues" eq "$(domu_value "$g" xvda-hw-queues)" "$f_q"
	check "$3: ring order within the offer" le "$f_ro" "$b_ro"
	check "$3: persistent grants offered" eq "$(xsr $be/feature-persistent)" 1
	check "$3: persistent grants taken" eq "$(xsr $fe/feature-persistent)" 1
	check "$3: flush offered" eq "$(xsr $be/feature-flush-cache)" 1
	check "$3: Linux sees a write-back cache" eq "$(domu_value "$g" xvda-write-cache)" "write back"
	check "$3: discard offered" eq "$(xsr $be/feature-discard)" 1
	check "$3: Linux can discard" gt "$(domu_value "$g" xvda-discard-max-bytes)" 0
}

# pvio-blkback's own view of the same device, from its statistics file.
check_pvio_stats() { # domid
	local d=$1
	echo "pvio-blkback stats: $(tr '\n' ' ' <"$PVIO_STATS/$d.51712")"
	# Where its threads' time went, per request (all of the guest's I/O, not only the dd runs).
	awk '{ v[$1] = $2 } END { n = v["reads"] + v["writes"] + v["flushes"] + v["discards"];
		if (n > 0) printf "pvio-blkback time per request: %.1f us serving, of it %.1f us " \
			"in io_submit and %.1f us notifying (%d requests)\n", v["busy-ns"] / n / 1000,
			v["submit-ns"] / n / 1000, v["notify-ns"] / n / 1000, n }' "$PVIO_STATS/$d.51712"
	check "pvio: state Connected" eq "$(stat_value "$d" 51712 state)" Connected
	check "pvio: serves the loop device's file" eq "$(stat_value "$d" 51712 disk-io)" loop-file
	check "pvio: queues as the front-end asked" eq "$(stat_value "$d" 51712 queues)" \
		"$(xsr /local/domain/"$d"/device/vbd/51712/multi-queue-num-queues 1)"
	check "pvio: ring order as the front-end asked" eq "$(stat_value "$d" 51712 ring-order)" \
		"$(xsr /local/domain/"$d"/device/vbd/51712/ring-page-order 0)"
	check "pvio: persistent grants in use" eq "$(stat_value "$d" 51712 persistent)" 1
	check "pvio: indirect requests served" gt "$(stat_value "$d" 51712 indirect)" 0
	check "pvio: flushes served" gt "$(stat_value "$d" 51712 flushes)" 0
	check "pvio: discards served" gt "$(stat_value "$d" 51712 discards)" 0
	check "pvio: no I/O errors" eq "$(stat_value "$d" 51712 errors)" 0
}

check_data() { # guest label
	local g=$1 sum
	sum=$(domu_value "$g" pattern-md5)
	check "$2: the guest wrote its pattern" is_md5 "$sum"
	check "$2: guest reads the signature" eq "$(domu_value "$g" xvda-signature)" "PVIO-SIG-RAW-$2"
	check "$2: pattern read back direct" eq "$(domu_value "$g" pattern-direct)" "$sum"
	check "$2: pattern read back buffered" eq "$(domu_value "$g" pattern-buffered)" "$sum"
	check "$2: discard accepted" eq "$(domu_value "$g" discard)" ok
	check "$2: ext4 files verified after remount" eq "$(domu_value "$g" fs-files)" ok
	check "$2: e2fsck clean" eq "$(domu_value "$g" e2fsck-exit)" 0
	check "$2: no guest-side failure" eval "! grep -qa 'PVIO-DOMU FAIL' $(console_log "$g")"
	SUM=$sum
}

# After the guest is gone: what it wrote is in dom0's backing file.
check_backing() { # label
	check "$1: pattern found in dom0's backing file" \
		eq "$(dd if=/srv/raw.img bs=1M skip=40 count=8 status=none | md5sum | cut -d' ' -f1)" "$SUM"
	check "$1: discarded range reads zeroes in the backing file" \
		cmp -s -n $((8 << 20)) <(dd if=/srv/raw.img bs=1M skip=48 count=8 status=none) /dev/zero
}

# MiB/s of each "N bytes (...) copied, S s, ..." (coreutils dd) line of a guest's runs.
rates() { # guest key
	grep -a "^PVIO-DOMU $2 " "$(console_log "$1")" | tr -d '\r' |
		awk '{ for (i = 1; i <= NF; i++) if ($i == "s,") s = $(i - 1);
			if (s > 0) printf "%.1f\n", $3 / s / 1048576 }'
}

# The median of numbers on stdin, or "-".
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# What the back-end has done so far for the guest's xvda and what it cost dom0: requests, bytes,
# indirect requests, persistent-grant hits and misses (pvio only), its threads' CPU ticks and
# context switches, dom0's busy ticks (all vCPUs).
snapshot() { # label domid
	local reqs bytes ind hits misses pids p
	if [[ $1 == pvio ]]; then
		local f=$PVIO_STATS/$2.51712
		reqs=$(($(stat_value "$2" 51712 reads) + $(stat_value "$2" 51712 writes)))
		bytes=$(($(stat_value "$2" 51712 bytes-read) + $(stat_value "$2" 51712 bytes-written)))
		ind=$(stat_value "$2" 51712 indirect)
		hits=$(stat_value "$2" 51712 pgrant-hits) misses=$(stat_value "$2" 51712 pgrant-misses)
		pids=$(ls -d /proc/"$(cat /run/pvio-blkback.pid)"/task/* 2>/dev/null)
		[[ -e $f ]] || return 1
	else
		local s=/sys/bus/xen-backend/devices/vbd-$2-51712/statistics
		reqs=$(($(cat $s/rd_req) + $(cat $s/wr_req)))
		bytes=$(((($(cat $s/rd_sect) + $(cat $s/wr_sect))) * 512))
		ind=- hits=- misses=-
		# xen-blkback's ring threads: "<domid>.<dev>-<ring>" (blkback_name in Linux 6.1's
		# xenbus.c; older kernels said "blkback.<domid>.<dev>").
		for p in /proc/[0-9]*; do
			[[ $(cat $p/comm 2>/dev/null) == @($2.xvda-+([0-9])|blkback.$2.*) ]] && pids+=" $p"
		done
		[[ -n $pids ]] || echo "counts: no xen-blkback thread of domain $2 found" >&2
	fi
	local cpu=0 ctx=0
	for p in $pids; do
		cpu=$((cpu + $(awk '{ print $14 + $15 }' $p/stat)))
		ctx=$((ctx + $(awk '/ctxt_switches/ { n += $2 } END { print n }' $p/status)))
	done
	echo "$reqs $bytes $ind $hits $misses $cpu $ctx $(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat)"
}

# The counts over the guest's dd runs (between its throughput marks), per request and per MiB.
measure() { # label guest domid
	local a b
	wait_console "$2" 'PVIO-DOMU throughput-start' 600 >/dev/null && a=$(snapshot "$1" "$3") &&
		wait_console "$2" 'PVIO-DOMU throughput-end' 600 >/dev/null && b=$(snapshot "$1" "$3") ||
		{ echo "counts: $1: not measured" && return; }
	echo "$a $b" | awk -v l="$1" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" '{
		r = $9 - $1; mib = ($10 - $2) / 1048576; ms = 1000 / hz
		hit = $11 == "-" ? "-" : sprintf("%d hits, %d misses", $12 - $4, $13 - $5)
		printf "counts: %s: %d requests, %.1f MiB, %.0f KiB/request, %s indirect, persistent grants %s;",
			l, r, mib, r ? mib * 1024 / r : 0, $11 == "-" ? "-" : $11 - $3, hit
		printf " back-end threads %.0f ms CPU (%.2f ms/MiB), %.2f context switches/request;",
			($14 - $6) * ms, mib ? ($14 - $6) * ms / mib : 0, r ? ($15 - $7) / r : 0
		printf " dom0 busy %.2f ms/MiB\n", mib ? ($16 - $8) * ms / mib : 0 }'
}

run_guest() { # label name
	local label=$1 g=$2 domid w
	make_disk /srv/raw.img 64 "PVIO-SIG-RAW-$label" $raw_dev || fatal "dom0: cannot set up $raw_dev"
	make_disk /srv/fs.img 48 "" $fs_dev || fatal "dom0: cannot set up $fs_dev"
	guest_create /pvio/blk-guest.cfg "name=\"$g\"" || { check "$label: xl create" false; return; }
	domid=$(xl domid "$g")
	measure "$label" "$g" "$domid" >/tmp/counts-$label &
	local counter=$!
	if ! wait_console "$g" 'PVIO-DOMU DONE' 600 >/dev/null; then
		check "$label: the guest finished its I/O" false
		show_logs "$g" always
		guest_destroy "$g"
		kill $counter 2>/dev/null
		return
	fi
	check_negotiation "$g" "$domid" "$label"
	[[ $label == pvio ]] && check_pvio_stats "$domid"
	check_data "$g" "$label"
	show_logs "$g"
	check "$label: xl destroy" guest_destroy "$g"
	check_backing "$label"
	grep -a '^PVIO-DOMU dd-' "$(console_log "$g")" | tr -d '\r'
	wait $counter && cat /tmp/counts-$label
	for w in write read bwrite bread; do
		rates "$g" dd-$w >>/tmp/rates-$label-$w
		echo "rates: $g $w MiB/s median $(rates "$g" dd-$w | median) of: $(rates "$g" dd-$w | tr '\n' ' ')"
		check "$g: the dd $w runs gave rates" eval '[[ $(rates "$g" dd-$w | median) != - ]]'
	done
	[[ $label == pvio ]] && check "pvio: device forgotten after destroy" \
		wait_gone 30 test -e "$PVIO_STATS/$domid.51712"
}

workload() { # key
	case $1 in
	bwrite) echo "write+fsync" ;;
	bread) echo "cold read" ;;
	*) echo "direct $1" ;;
	esac
}

print_figures() {
	local w r p k
	echo "figure: sequential 32 MiB dd in a Linux PV domU (2 vCPUs), 1 MiB blocks: O_DIRECT"
	echo "figure: write and read; buffered write ended by fsync; buffered read, cold cache;"
	echo "figure: MiB/s, median of 14 (7 in each of two guests, the back-ends alternated);"
	echo "figure: dom0 disk: loop device on a tmpfs file (pvio-blkback serves the loop's file);"
	echo "figure: Xen nested in QEMU/TCG"
	printf 'figure: %-13s %14s %16s %7s\n' "" pvio-blkback "kernel blkback" ratio
	for w in write read bwrite bread; do
		p=$(median </tmp/rates-pvio-$w) k=$(median </tmp/rates-kernel-$w)
		r=$(awk -v a="$p" -v b="$k" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
		printf 'figure: %-13s %14s %16s %7s\n' "$(workload $w)" "$p" "$k" "$r"
	done
}

mkdir -p /srv
rm -f /tmp/rates-*
check "pvio-blkback runs" pvio_blkback_alive
run_guest pvio blk-pvio
switch_to_kernel_blkback
run_guest kernel blk-kernel
switch_to_pvio_blkback
run_guest pvio blk-pvio2
switch_to_kernel_blkback
run_guest kernel blk-kernel2
print_figures
finish
