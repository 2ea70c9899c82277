#!/bin/sh
# netbench-smoke: pvio-netbench's shortest run (-s 1) goes to the end in isolated domains: the
# driver domain's pvio-netback makes its vif and the guest's pvio-netfront its eth0, each in its
# domain's own network namespace through the domain's /dev/net/tun, datagrams and TCP streams
# cross both ways, and the table has a line for each.  No figure is checked: performance is never asserted by a test.
set -u

bench="${PVIO_BUILDDIR:-.}/pvio-netbench"
if [ ! -x "$bench" ]; then
	echo "netbench-smoke: $bench: not built" >&2
	exit 1
fi
if [ ! -e /dev/net/tun ]; then
	echo "netbench-smoke: no /dev/net/tun" >&2
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "netbench-smoke: pvio-netbench needs root (network namespaces, a veth pair)" >&2
	exit 77
fi

out=$(mktemp "${TMPDIR:-/tmp}/netbench-smoke.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

if ! timeout -k 10 300 "$bench" -s 1 -r 1 >"$out" 2>&1; then
	echo "netbench-smoke: pvio-netbench -s 1 -r 1 failed" >&2
	cat "$out" >&2
	exit 1
fi

status=0
for dir in 'guest->outside' 'outside->guest'; do
	for size in 18 1472; do
		# A rate of 0 is what the tool prints when no datagram arrived.
		if ! grep -Fq "UDP $size-byte $dir" "$out" ||
			! grep -F "UDP $size-byte $dir" "$out" | grep -Eq "pvio +[1-9][0-9]* pkt/s .* veth +[0-9]+ pkt/s .* ratio "; then
			echo "netbench-smoke: no \"UDP $size-byte $dir\" line with pvio datagrams" >&2
			status=1
		fi
	done
	for n in 1 4; do
		if ! grep -F "TCP $n stream(s) $dir" "$out" | grep -Eq "pvio +[0-9.]*[1-9][0-9.]* Gbit/s .* ratio "; then
			echo "netbench-smoke: no \"TCP $n stream(s) $dir\" line with pvio bytes" >&2
			status=1
		fi
	done
done
for fact in 'machine:' 'cpu:'; do
	if ! grep -q "^$fact" "$out"; then
		echo "netbench-smoke: no \"$fact\" line" >&2
		status=1
	fi
done
[ "$status" -eq 0 ] || cat "$out" >&2
exit "$status"
