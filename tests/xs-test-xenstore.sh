#!/bin/sh
# xs-test-xenstore: Xen's own test-xenstore (tools/tests/xenstore) passes all its tests against
# pvio-xenstored, as dom0 on XENSTORED_PATH, three iterations each.
#
# The binary comes from PVIO_TEST_XENSTORE if set, else from an installed xen-utils-4.17, else
# it is extracted on demand from Debian's xen-utils-4.17 package into
# $PVIO_BUILDDIR/tests/test-xenstore (make clean removes it) without installing the package,
# which would pull in a hypervisor.  That needs apt-get download (the apt lists, which
# scripts/install-deps fetches on a fresh machine, and the network) once per build directory;
# the binary needs only libxenstore4.  Skips only when none of these can give it, saying why.
set -u
build=${PVIO_BUILDDIR:-.}
limit=${PVIO_TEST_XENSTORE_TIMEOUT:-120}
pkg=xen-utils-4.17
member=usr/lib/xen-4.17/bin/test-xenstore
cache=$build/tests/test-xenstore

fail() { echo "FAIL: $*"; exit 1; }

# Extract test-xenstore from the package as $cache: 0, or 1 with the reason on stdout.
extract() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/xs-test-xenstore.XXXXXX") || return 1
	if ! out=$(cd "$tmp" && timeout 120 apt-get download -q "$pkg" 2>&1); then
		echo "apt-get download $pkg failed: $(echo "$out" | tail -1)"
		rm -rf "$tmp"
		return 1
	fi
	if ! dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root" || [ ! -x "$tmp/root/$member" ]; then
		echo "$pkg has no $member"
		rm -rf "$tmp"
		return 1
	fi
	mkdir -p "$(dirname "$cache")" && cp "$tmp/root/$member" "$cache.new" &&
		mv "$cache.new" "$cache"
	rc=$?
	rm -rf "$tmp"
	return $rc
}

if [ -n "${PVIO_TEST_XENSTORE:-}" ]; then
	bin=$PVIO_TEST_XENSTORE
elif [ -x "/$member" ]; then
	bin=/$member
else
	bin=$cache
	if [ ! -x "$bin" ]; then
		if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
			echo "SKIP: no test-xenstore, and no apt-get/dpkg-deb to fetch $pkg"
			exit 77
		fi
		why=$(extract) || { echo "SKIP: no test-xenstore: $why"; exit 77; }
	fi
fi
[ -x "$bin" ] || fail "$bin is not executable"
missing=$(ldd "$bin" 2>/dev/null | grep 'not found')
[ -z "$missing" ] || { echo "SKIP: $bin lacks libraries: $missing"; exit 77; }

dir=$(mktemp -d /tmp/pvio-xs-test-xenstore-XXXXXX) || exit 1
PVIO_HV_SOCKET=/nonexistent/pvio-hv.sock "$build/pvio-xenstored" -s "$dir/socket" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
i=0
until [ -S "$dir/socket" ]; do
	kill -0 "$pid" 2>/dev/null || fail "pvio-xenstored exited at start"
	i=$((i + 1)); [ $i -lt 500 ] || fail "pvio-xenstored did not start"; sleep 0.02
done

XENSTORED_PATH=$dir/socket timeout "$limit" "$bin" -i 3 >"$dir/out" 2>&1
rc=$?
cat "$dir/out"
[ $rc -ne 124 ] || fail "test-xenstore ran over ${limit}s"
[ $rc -eq 0 ] || fail "test-xenstore exited with $rc"
! grep -q 'failed' "$dir/out" || fail "test-xenstore reports a failure"
! grep -q 'Exhaustive transaction retries' "$dir/out" || fail "transactions kept failing"
ntests=$(XENSTORED_PATH=$dir/socket timeout 10 "$bin" -l | grep -c .)
nrun=$(grep -c ' ns' "$dir/out")
if [ "$ntests" -lt 12 ] || [ "$nrun" -ne "$ntests" ]; then
	fail "$nrun of test-xenstore's $ntests tests reported a result"
fi
kill "$pid"; wait "$pid" || fail "pvio-xenstored exit status"
trap - EXIT
rm -rf "$dir"
echo "PASS: all $ntests tests of $bin"
