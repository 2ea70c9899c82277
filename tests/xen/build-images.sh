#!/bin/bash
# Build (once) the images the real-Xen tests boot, from Debian packages, into a cache that
# lives outside the source tree:
#   $PVIO_XEN_CACHE (default /var/cache/pvio-xen)
#     rootfs/            debootstrap of bookworm + xen-utils at the hypervisor's version
#     img/xen            Xen, uncompressed (an ELF32 multiboot image qemu -kernel takes)
#     img/vmlinux        Debian's kernel as an ELF, for dom0 and the domU (no xz under TCG)
#     img/dom0-base.cpio the trimmed rootfs, the modules dom0 needs and the domU kernel
#     img/domu-base/     busybox, e2fsprogs and the modules the domU needs
#     img/versions       what was built
# Exits 0 when the images are ready, 77 when they are absent and the Debian archive
# cannot be reached (the reason on stderr), 1 on any other failure.
set -euo pipefail
export LC_ALL=C # grep -P matches bytes only in the C locale

cache=${PVIO_XEN_CACHE:-/var/cache/pvio-xen}
mirror=${PVIO_XEN_MIRROR:-http://deb.debian.org/debian}
security=${PVIO_XEN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=bookworm
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/xen/lib.sh
. "$here/lib.sh"

# Modules with their dependencies, resolved by modprobe against the extracted kernel.
# Networks: the kernel's xen-netback beside pvio-netback's TAPs on a bridge.
dom0_modules="xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback loop
	xen-netback tun bridge"
# The domU also runs pvio's front-ends (gntalloc, FUSE, loop, a TAP for pvio-netfront) and, as
# a driver domain, pvio-blkback (gntdev) and pvio-netback (TAPs on a bridge); Linux's
# xen-netfront for the network scenarios.
domu_modules="xen-blkfront ext4 crc32c_generic xenfs xen-evtchn xen-gntdev xen-gntalloc
	xen-privcmd fuse loop xen-netfront tun bridge"
# The packages dom0 runs: the Xen tools and daemons, what pvio-blkback links, what the
# scenario scripts call (iproute2: the bridge, and Xen's vif-bridge for the kernel's netback),
# and e2fsprogs whose binaries the domU borrows.
dom0_packages=xen-utils-4.17,xenstore-utils,busybox,kmod,libaio1,e2fsprogs,util-linux,procps,iproute2

# A stage is rebuilt when what it is made from changes: the rootfs when its packages do, the
# images when this script does.
rootfs_recipe=$(echo "$suite $dom0_packages $mirror $security" | sha256sum | cut -c1-16)
recipe=$(sha256sum "$0" | cut -c1-16)

log() { echo "build-images: $*" >&2; }

stamp_ok() { # dir recipe
	[[ -f $1/.pvio-stamp && $(cat "$1/.pvio-stamp") == "$2" ]]
}

# Only an unreachable archive is a reason to skip: probe it with bash alone (a fresh machine
# may have neither curl nor wget), within 30 seconds.
probe='exec 3<>"/dev/tcp/$1/80" || exit 1
printf "HEAD %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$2" "$1" >&3
IFS= read -r reply <&3 || exit 1
echo "${reply%$'"'"'\r'"'"'}"'
archive_reachable() {
	local hostport=${mirror#http://} host path reply
	host=${hostport%%/*}
	path=/${hostport#*/}/dists/$suite/Release
	reply=$(timeout 30 bash -c "$probe" probe "$host" "$path" 2>&1) || reply="no answer from $host:80"
	case $reply in
	"HTTP/1."?" 200"* | "HTTP/1."?" 30"[1278]*) return 0 ;;
	esac
	echo "$mirror/dists/$suite/Release: $reply" >&2
	return 1
}

build_rootfs() {
	local d=$cache/rootfs
	stamp_ok "$d" "$rootfs_recipe" && return 0
	log "debootstrap $suite into $d (about 2 minutes)"
	rm -rf "$d"
	step 900 debootstrap --variant=minbase --include="$dom0_packages" "$suite" "$d" "$mirror"
	cat >"$d/etc/apt/sources.list" <<-EOF
		deb $mirror $suite main
		deb $mirror $suite-updates main
		deb $security $suite-security main
	EOF
	# The hypervisor comes from bookworm-security: the tools must be at its exact version.
	step 300 chroot "$d" apt-get update -q
	step 600 chroot "$d" env DEBIAN_FRONTEND=noninteractive apt-get -y -q upgrade
	echo "$rootfs_recipe" >"$d/.pvio-stamp"
}

# Xen at the tools' version and the kernel linux-image-amd64 points to, as ELF images.
fetch_kernel_and_xen() {
	local d=$cache/x xenver kpkg
	xenver=$(chroot "$cache/rootfs" dpkg-query -W -f='${Version}' xen-utils-4.17)
	kpkg=$(chroot "$cache/rootfs" apt-cache depends linux-image-amd64 |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
	[[ -n $kpkg ]] || { log "no kernel package behind linux-image-amd64"; return 1; }
	rm -rf "$d" && mkdir -p "$d/debs" "$d/tree"
	(cd "$d/debs" && step 300 chroot "$cache/rootfs" sh -c \
		"cd /tmp && apt-get download xen-hypervisor-4.17-amd64=$xenver $kpkg" &&
		mv "$cache/rootfs/tmp/"*.deb .)
	for deb in "$d/debs"/*.deb; do dpkg-deb -x "$deb" "$d/tree"; done
	kver=${kpkg#linux-image-}
	zcat "$d/tree/boot/xen-4.17-amd64.gz" >"$cache/img/xen"
	vmlinux_from_bzimage "$d/tree/boot/vmlinuz-$kver" >"$cache/img/vmlinux"
	depmod -b "$d/tree" "$kver"
	printf 'xen %s\nkernel %s\n' "$xenver" "$kpkg" >"$cache/img/versions"
}

# The xz payload of a bzImage, decompressed: an ELF vmlinux.
vmlinux_from_bzimage() {
	local off
	off=$(grep -obUaP '\xfd7zXZ\x00' "$1" | head -n1 | cut -d: -f1) || true
	[[ -n $off ]] || { log "$1: no xz payload"; return 1; }
	# xz stops at the end of its stream: tail's SIGPIPE is expected, xz's status is what counts.
	xz -dc --single-stream < <(tail -c +$((off + 1)) "$1")
}

# Copy modules (with what they depend on) from the extracted kernel into a tree.
copy_modules() { # dest-root module...
	local dest=$1 f
	shift
	for f in $(modprobe -a -d "$cache/x/tree" -S "$kver" --show-depends "$@" |
		awk '$1 == "insmod" { print $2 }' | sort -u); do
		mkdir -p "$dest/$(dirname "${f#"$cache/x/tree"}")"
		cp "$f" "$dest/${f#"$cache/x/tree"}"
	done
	cp "$cache/x/tree/lib/modules/$kver/modules."{order,builtin,builtin.modinfo} "$dest/lib/modules/$kver/"
	depmod -b "$dest" "$kver"
}

# dom0: the rootfs without docs, locales and apt state, plus modules and the domU kernel.
build_dom0_base() {
	local t=$cache/x/dom0
	rm -rf "$t" && cp -a "$cache/rootfs" "$t"
	rm -rf "$t"/usr/share/{doc,man,locale,info} "$t"/var/lib/apt/lists/* \
		"$t"/var/cache/apt/* "$t"/usr/lib/udev/hwdb.* "$t"/lib/modules "$t/.pvio-stamp"
	copy_modules "$t" $dom0_modules
	mkdir -p "$t/var/lib/xen/domu"
	cp "$cache/img/vmlinux" "$t/var/lib/xen/domu/vmlinux"
	(cd "$t" && find . | cpio -o -H newc --quiet) >"$cache/img/dom0-base.cpio"
	rm -rf "$t"
}

# domU: dom0's busybox, mke2fs, e2fsck and dd with the libraries they load, and its modules.
build_domu_base() {
	local t=$cache/img/domu-base bin lib dest
	rm -rf "$t" && mkdir -p "$t"/{bin,sbin,lib64,proc,sys,dev,mnt,tmp,etc}
	for bin in /bin/busybox /sbin/mke2fs /sbin/e2fsck /bin/dd; do
		# coreutils dd goes to sbin, before busybox's (which prints no rate) on PATH.
		[[ $bin == /bin/dd ]] && dest=/sbin/dd || dest=$bin
		cp "$cache/rootfs$bin" "$t$dest"
		for lib in $(chroot "$cache/rootfs" ldd "$bin" | awk '$3 ~ /^\// { print $3 }
			$1 ~ /^\/lib64\// { print $1 }'); do
			mkdir -p "$t$(dirname "$lib")"
			cp -L "$cache/rootfs$lib" "$t$lib"
		done
	done
	ln -s mke2fs "$t/sbin/mkfs.ext4"
	for bin in $(chroot "$cache/rootfs" busybox --list); do
		[[ -e $t/bin/$bin ]] || ln -s busybox "$t/bin/$bin"
	done
	cp "$cache/rootfs/etc/mke2fs.conf" "$t/etc/mke2fs.conf"
	copy_modules "$t" $domu_modules
}

main() {
	mkdir -p "$cache/img"
	exec 9>"$cache/.lock"
	flock -w 1800 9 || { log "$cache is locked by another build"; exit 1; }
	if stamp_ok "$cache/img" "$recipe"; then
		return 0
	fi
	if ! stamp_ok "$cache/rootfs" "$rootfs_recipe" && ! archive_reachable; then
		log "SKIP: the Debian archive ($mirror) cannot be reached to build the images"
		exit 77
	fi
	build_rootfs
	fetch_kernel_and_xen
	build_dom0_base
	build_domu_base
	rm -rf "$cache/x"
	echo "$recipe" >"$cache/img/.pvio-stamp"
	log "images ready in $cache/img: $(tr '\n' ' ' <"$cache/img/versions")"
}

main "$@"
