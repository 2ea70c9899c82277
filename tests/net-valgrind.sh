#!/bin/sh
# net-valgrind: the network back-end under valgrind.  The net-* tests that drive netback directly
# (a back-end domain, a guest and dom0 forked by the test program) run under valgrind with every
# process they fork: every TX shape good and malformed, RX (through a buffer and straight into
# the guest's pages), a guest that posts no buffers, the rate's credit scheduler.
# netback-xenbus runs pvio-netback itself under valgrind (through a wrapper in a private build
# directory): xenstore, the queue threads, hostile TX, a corrupt ring; netback-ctrl the same
# with the control ring, RX steering and the multicast filter.
# net-topo-e2e runs pvio-netback and pvio-netfront under valgrind over the topology of
# tests/net-topo.h: ping and TCP both ways.  No invalid access or uninitialised use anywhere, no
# definite or indirect leak in pvio-netback or pvio-netfront (the test programs' guests end
# without unmapping what they shared).  Skips without valgrind, and in a sanitizer build (the
# two cannot run together).  KEEP=1 keeps the logs.
set -u
b=${PVIO_BUILDDIR:-.}
b=$(cd "$b" && pwd)
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: no valgrind"; exit 77; }
if ldd "$b/pvio-netback" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	echo "SKIP: sanitizer build"
	exit 77
fi
dir=$(mktemp -d /tmp/pvio-net-valgrind.XXXXXX) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
mkdir "$dir/bin" "$dir/log"
chmod 1777 "$dir/log" # the domains' uids write their logs there
ln -s "$b/pvio-hv" "$b/pvio-xenstored" "$dir/bin/"
vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect"
vg="$vg --show-leak-kinds=definite,indirect --error-exitcode=99"
for p in pvio-netback pvio-netfront; do
	cat >"$dir/bin/$p" <<WRAP
#!/bin/sh
exec $vg --log-file=$dir/log/$p.%p "$b/$p" "\$@"
WRAP
	chmod +x "$dir/bin/$p"
done

status=0
for t in net-credit net-hash net-dataplane net-rx-direct net-rx-starved netback-xenbus netback-ctrl net-topo-e2e; do
	# The domains' processes see of the host only what they are given: the log directory.
	if ! PVIO_TEST_BIND="$dir/log" PVIO_BUILDDIR="$dir/bin" timeout -k 10 600 \
		valgrind -q --leak-check=no --error-exitcode=99 --log-file="$dir/log/$t.%p" \
		"$b/tests/$t"; then
		echo "FAIL: $t under valgrind"
		status=1
	fi
done
# A forked or killed process's errors do not reach an exit status: every log must be empty
# (-q prints nothing but errors and leaks) but for valgrind's note that it does not know the
# bridge's SIOCBRADDIF (0x89a2, the TAP helper's; its argument is an int, nothing to check),
# and that it does not know pidfd_open (434: the tests' step waits poll the peer's pidfd, and
# without one poll waits on the pipe alone, as before), with the lines that follow that note.
for f in "$dir"/log/*; do
	if grep -v -e 'noted but unhandled ioctl 0x89a2 with no size/direction hints' \
		-e 'This could cause spurious value errors to appear' \
		-e 'See README_MISSING_SYSCALL_OR_IOCTL for guidance' \
		-e 'unhandled amd64-linux syscall: 434$' -e 'You may be able to write your own handler' \
		-e 'Read the file README_MISSING_SYSCALL_OR_IOCTL' -e 'Nevertheless we consider this a bug' \
		-e 'it at http://valgrind.org/support/bug_reports.html' "$f" | grep -q .; then
		echo "FAIL: valgrind report in $f:"
		cat "$f"
		status=1
	fi
done
echo "net-valgrind: $(ls "$dir/log" | wc -l) processes checked"
exit $status
