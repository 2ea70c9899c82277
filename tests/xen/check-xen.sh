#!/bin/bash
# make check-xen: pvio against real Xen. Builds (or reuses) Debian images of Xen 4.17, a dom0
# and a domU (tests/xen/build-images.sh), puts the pvio just built into dom0, boots it all in
# qemu-system-x86_64 under TCG and runs every scenario in that one boot. Each scenario is a
# test: "PASS|FAIL|SKIP: xen/<name>" lines, then "N passed, N failed, N skipped" as the last
# line, also written to $PVIO_BUILDDIR/check-xen.totals as "passed failed skipped". Everything
# is skipped only when the images are missing and the Debian archive cannot be reached to
# build them (or when not root). Logs: $PVIO_BUILDDIR/tests/xen/.
set -uo pipefail

src=${PVIO_SRCDIR:?}/tests/xen
b=${PVIO_BUILDDIR:?}
cache=${PVIO_XEN_CACHE:-/var/cache/pvio-xen}
out=$b/tests/xen
totals=$b/check-xen.totals
# name:seconds, run in this order in dom0; dom0's pvio-blkback serves the first three scenarios'
# guests (blk-restart replaces it under its guest), then dom0 switches to the kernel's
# xen-blkback; driver-domain's guest is served from its driver domain; net-pvio-back's guest gets
# its vif from dom0's pvio-netback, then from the kernel's xen-netback, which then serves
# net-pvio-front's pvio-netfront. PVIO_XEN_SCENARIOS="name..." runs only those; without it, all
# but the ones in opt_in (none today; a scenario not yet passed end to end would go there).
all_scenarios=(xl-driven:300 blk-restart:900 blk-pvio-back:900 blk-pvio-front:600 driver-domain:900
	net-pvio-back:900 net-pvio-front:600)
opt_in=
mapfile -t scenarios < <(printf '%s\n' "${all_scenarios[@]}" | grep -v -E "^($opt_in):")
if [[ -n ${PVIO_XEN_SCENARIOS-} ]]; then
	mapfile -t scenarios < <(printf '%s\n' "${all_scenarios[@]}" |
		grep -E "^($(echo $PVIO_XEN_SCENARIOS | tr ' ' '|')):")
fi
boot_limit=${PVIO_XEN_BOOT_LIMIT:-2700}
. "$src/lib.sh"

say() { echo "check-xen: $*"; }

# Until a verdict exists, an interrupted run counts as a failure of every scenario.
echo "0 ${#scenarios[@]} 0" >"$totals"

report() { # status reason: the same verdict for every scenario
	local s
	for s in "${scenarios[@]}"; do echo "$1 ${s%:*} $2"; done >"$out/results"
}

# Results from the serial log: a scenario without its result line failed (dom0 stopped).
collect() {
	local s name line
	for s in "${scenarios[@]}"; do
		name=${s%:*}
		sed -n "s/^ *[0-9]*s \[$name\] //p" "$out/serial.log" >"$out/$name.log"
		line=$(grep -a -m1 "PVIO-XEN-RESULT $name " "$out/serial.log")
		if [[ -n $line ]]; then
			echo "${line#*PVIO-XEN-RESULT }"
		else
			echo "$name FAIL no result: dom0 did not finish it (see $out/serial.log)"
		fi
	done | awk '{ name = $1; st = $2; $1 = $2 = ""; sub(/^ +/, ""); print st, name, $0 }' \
		>"$out/results"
	grep -a '^figure: ' "$out/blk-pvio-back.log" 2>/dev/null | sed 's/^figure: //' >"$out/xen-blk.figures"
	[[ -s $out/xen-blk.figures ]] && record
	grep -a '^pause: ' "$out/blk-restart.log" 2>/dev/null >"$out/xen-restart.pauses"
	record_net
}

# The network scenarios' figures, as results/xen-net.txt keeps them.
record_net() {
	local name
	rm -f "$out/xen-net.txt"
	for name in net-pvio-back net-pvio-front; do
		grep -aq '^figure: ' "$out/$name.log" 2>/dev/null || continue
		{
			echo "make check-xen, xen/$name: $(date -u '+%F %T UTC')"
			echo "host:   $(uname -sr), $(nproc) CPUs, load before the run $load"
			echo "images: $(tr '\n' ' ' <"$cache/img/versions")"
			grep -a -E '^[a-z-]+ (offered|chose):' "$out/$name.log"
			grep -a '^figure: ' "$out/$name.log" | sed 's/^figure: //'
			echo
		} >>"$out/xen-net.txt"
	done
}

# The run's figures with what they were measured on, as results/xen-blk.txt keeps them.
record() {
	{
		echo "make check-xen, xen/blk-pvio-back: $(date -u '+%F %T UTC')"
		echo "host:   $(uname -sr), $(nproc) CPUs, load before the run $load"
		echo "images: $(tr '\n' ' ' <"$cache/img/versions")"
		echo "qemu:   $(qemu-system-x86_64 --version | head -n1), TCG, -smp 2 -m 2048, qemu64"
		[[ -n ${PVIO_XEN_BLKBACK_OPTS-} ]] && echo "pvio-blkback options: $PVIO_XEN_BLKBACK_OPTS"
		grep -a -E '^(pvio|kernel) offered:|^linux chose:' "$out/blk-pvio-back.log"
		echo
		cat "$out/xen-blk.figures"
		grep -a '^counts: ' "$out/blk-pvio-back.log"
	} >"$out/xen-blk.txt"
}

print_results() {
	local st name why t p=0 f=0 s=0
	while read -r st name why; do
		echo "$st: xen/$name${why:+ ($why)}"
		case $st in
		PASS) p=$((p + 1)) ;;
		SKIP) s=$((s + 1)) ;;
		*)
			f=$((f + 1))
			[[ -s $out/$name.log ]] && { echo "===== xen/$name: last 60 lines of $out/$name.log"; tail -n 60 "$out/$name.log"; }
			;;
		esac
	done <"$out/results"
	if [[ $f -gt 0 && -s $out/serial.log ]]; then
		echo "===== last 30 lines of $out/serial.log"
		tail -n 30 "$out/serial.log"
	fi
	for t in xen-blk xen-net; do
		[[ -s $out/$t.txt ]] || continue
		echo "===== $out/$t.txt"
		cat "$out/$t.txt"
	done
	if [[ -s $out/xen-restart.pauses ]]; then
		echo "===== xen/blk-restart: the pauses its guest saw"
		cat "$out/xen-restart.pauses"
	fi
	echo "$p $f $s" >"$totals"
	echo "$p passed, $f failed, $s skipped"
	[[ $f -eq 0 ]]
}

# Libraries a pvio program needs that an image lacks (an ASan build's runtime, libfuse3 in
# dom0, all of them in the domU), in /usr/lib: dom0's version when it has one, else the host's.
copy_missing_libs() { # binary stage image-root
	local lib src
	for lib in $(ldd "$1" | awk '$3 ~ /^\// { print $3 }'); do
		[[ -e $3$lib || -e $3/usr$lib || -e $2/usr${lib#/usr} ]] && continue
		src=$lib
		[[ -e $cache/rootfs$lib ]] && src=$cache/rootfs$lib
		mkdir -p "$2/usr$(dirname "${lib#/usr}")"
		cp -L "$src" "$2/usr${lib#/usr}"
	done
}

# pvio's programs for the domUs: the front-ends, the back-end for a driver domain, and
# libpvio-blkfront's I/O program.
stage_domu() { # domU-root
	local p
	mkdir -p "$1/usr/local/sbin"
	for p in pvio-blkfront pvio-blkback pvio-netfront pvio-netback tests/xen/xen-blkfront-io; do
		cp "$b/$p" "$1/usr/local/sbin/" || return 1
		copy_missing_libs "$b/$p" "$1" "$1"
	done
	# glibc loads it for pthread_cancel, which libxenstore's xs_close calls; ldd cannot see it.
	cp -L "$cache/rootfs/lib/x86_64-linux-gnu/libgcc_s.so.1" "$1/usr/lib/x86_64-linux-gnu/"
}

# dom0's initramfs: the cached base, then an overlay with this build of pvio, the scenarios
# and the domU's initramfs (the kernel unpacks concatenated archives in order).
stage() {
	local st=$out/stage d=$out/domu p
	rm -rf "$st" "$d"
	mkdir -p "$st/pvio" "$st/usr/local/sbin" "$st/var/lib/xen/domu" || return 1
	install -m 755 "$src/dom0-init.sh" "$st/init"
	cp "$src"/{dom0-lib.sh,xl-driven.sh,blk-pvio-back.sh,blk-pvio-front.sh,driver-domain.sh} \
		"$src"/{xl-guest,blk-guest,front-guest,dd,dd-guest}.cfg "$st/pvio/"
	cp "$src"/{blk-restart.sh,restart-guest.cfg} "$st/pvio/"
	cp "$src"/{net-lib.sh,net-pvio-back.sh,net-pvio-front.sh,net-guest.cfg,netfront-guest.cfg} \
		"$st/pvio/"
	# As make install with --sysconfdir=/etc puts it: vif specs say script=vif-pvio.
	install -D -m 755 "$PVIO_SRCDIR/driverdomain/vif-pvio" "$st/etc/xen/scripts/vif-pvio"
	install -m 755 "$PVIO_SRCDIR/driverdomain/pvio-xen-repoint" "$st/usr/local/sbin/"
	printf '%s\n' "${scenarios[@]}" >"$st/pvio/scenarios"
	# Options for dom0's pvio-blkback, for experiments (PVIO_XEN_BLKBACK_OPTS="--poll-us 1000").
	printf '%s\n' "${PVIO_XEN_BLKBACK_OPTS-}" >"$st/pvio/blkback-opts"
	for p in pvio-blkback pvio-netback; do
		cp "$b/$p" "$st/usr/local/sbin/" || return 1
		copy_missing_libs "$b/$p" "$st" "$cache/rootfs"
	done
	cp -a "$cache/img/domu-base" "$d" && install -m 755 "$src/domu-init.sh" "$d/init"
	stage_domu "$d" || return 1
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$st/var/lib/xen/domu/initrd.cpio.gz"
	(cd "$st" && find . ! -name . | cpio -o -H newc --quiet) >"$out/overlay.cpio"
	cat "$cache/img/dom0-base.cpio" "$out/overlay.cpio" >"$out/dom0-initrd.cpio"
}

stamp() { # prefix each line with the seconds since qemu started
	local l
	while IFS= read -r l; do printf '%5ds %s\n' "$SECONDS" "${l//$'\r'/}"; done
}

boot() {
	local append="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=2"
	append+=" loglvl=all guest_loglvl=all console_timestamps=boot"
	local cmd=(qemu-system-x86_64 -accel tcg,thread=multi,tb-size=256 -cpu qemu64 -smp 2
		-m 2048 -display none -monitor none -serial stdio -nic none -no-reboot
		-pidfile "$out/qemu.pid" -kernel "$cache/img/xen" -append "$append"
		-initrd "$cache/img/vmlinux console=hvc0 earlyprintk=xen loglevel=4,$out/dom0-initrd.cpio")
	echo "${cmd[*]}" >"$out/qemu-cmdline.txt"
	SECONDS=0
	step "$boot_limit" nice -n 5 "${cmd[@]}" </dev/null 2>&1 | stamp >"$out/serial.log"
	local rc=${PIPESTATUS[0]}
	# qemu has exited: its pid may be reused, so nothing may kill it any more.
	rm -f "$out/qemu.pid"
	return "$rc"
}

# Only while boot() runs: an interrupted run takes its qemu down with it.
kill_qemu() {
	local pid
	pid=$(cat "$out/qemu.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	rm -f "$out/qemu.pid"
}

main() {
	local rc=0
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	mkdir -p "$out" &&
		rm -f "$out"/{results,serial.log,xen-blk.figures,xen-blk.txt,xen-net.txt,xen-restart.pauses,build-images.log,qemu.pid}
	trap kill_qemu EXIT
	if [[ $(id -u) -ne 0 ]]; then
		report SKIP "needs root (debootstrap, chroot)"
		print_results
		return
	fi
	if ! command -v qemu-system-x86_64 >/dev/null; then
		report FAIL "qemu-system-x86_64 not installed: run scripts/install-deps"
		print_results
		return
	fi
	say "images in $cache (log: $out/build-images.log)"
	step 1200 bash "$src/build-images.sh" >"$out/build-images.log" 2>&1 || rc=$?
	if [[ $rc -eq 77 ]]; then
		report SKIP "$(grep -m1 'SKIP: ' "$out/build-images.log" | sed 's/.*SKIP: //')"
		cat "$out/build-images.log"
		print_results
		return
	elif [[ $rc -ne 0 ]]; then
		report FAIL "building the images failed: see $out/build-images.log"
		tail -n 30 "$out/build-images.log"
		print_results
		return
	fi
	say "$(tr '\n' ' ' <"$cache/img/versions")"
	if ! stage; then
		report FAIL "staging dom0's initramfs failed"
		print_results
		return
	fi
	say "booting Xen in QEMU/TCG (serial log: $out/serial.log)"
	boot || say "qemu exited $? after ${SECONDS}s"
	say "qemu ran ${SECONDS}s"
	collect
	print_results
}

main "$@"
