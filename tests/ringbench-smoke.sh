#!/bin/sh
# ringbench-smoke: pvio-ringbench --quick runs both domains and the baselines to the end,
# exits 0 and prints every row of its table.  No figure is checked: performance is never
# asserted by a test.
set -u

bench="${PVIO_BUILDDIR:-.}/pvio-ringbench"
if [ ! -x "$bench" ]; then
	echo "ringbench-smoke: $bench: not built" >&2
	exit 1
fi

out=$(mktemp "${TMPDIR:-/tmp}/ringbench-smoke.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

if ! timeout -k 10 300 "$bench" --quick >"$out"; then
	echo "ringbench-smoke: pvio-ringbench --quick failed" >&2
	cat "$out" >&2
	exit 1
fi

status=0
for row in 'ping-pong p50 (us)' 'ping-pong p99 (us)' 'ping-pong mean (us)' \
	'stream by map (GB/s)' 'stream by copy (GB/s)'; do
	if ! grep -q "^$row " "$out"; then
		echo "ringbench-smoke: no row \"$row\"" >&2
		status=1
	fi
done
for fact in 'machine:' 'cpu:' 'hypervisor:' 'ring:' 'ping-pong:' 'streams:' 'baselines:'; do
	if ! grep -q "^$fact" "$out"; then
		echo "ringbench-smoke: no \"$fact\" line" >&2
		status=1
	fi
done
# Each stream row is measured against both memcpy and the plain shared ring.
for base in memcpy shm-ring; do
	if [ "$(grep -c "^stream by .* $base " "$out")" -ne 2 ]; then
		echo "ringbench-smoke: stream rows against $base missing" >&2
		status=1
	fi
done
[ "$status" -eq 0 ] || cat "$out" >&2
exit "$status"
