#!/bin/sh
# hv-valgrind: the multi-process hv tests under valgrind, following every
# process (the test, its domains, and pvio-hv itself): no invalid access, no
# definite or indirect leak, in the daemon or the clients, including after a
# domain dies without cleaning up.  Skips without valgrind, and in a
# sanitizer build (the two cannot run together).
set -u
b=${PVIO_BUILDDIR:-.}
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: no valgrind"; exit 77; }
if ldd "$b/pvio-hv" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	echo "SKIP: sanitizer build"
	exit 77
fi
log=$(mktemp -d /tmp/pvio-valgrind.XXXXXX) || exit 1
trap 'rm -rf "$log"' EXIT
status=0
for t in hv-grant-map hv-evtchn hv-domain-death; do
	if ! timeout -k 10 600 valgrind -q --trace-children=yes --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
		--error-exitcode=99 --log-file="$log/$t.%p" "$b/tests/$t"; then
		echo "FAIL: $t under valgrind"
		status=1
	fi
	# A forked child's errors do not change the test's exit status: read every log.
	for f in "$log/$t".*; do
		if grep -q 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|indirectly lost: [1-9]' "$f" ||
			grep -q 'Invalid \(read\|write\)' "$f"; then
			echo "FAIL: valgrind report in $f:"
			cat "$f"
			status=1
		fi
	done
done
exit $status
