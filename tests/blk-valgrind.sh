#!/bin/sh
# blk-valgrind: the block device under valgrind.  pvio-blkback runs under valgrind (through a
# wrapper in a private build directory) while blk-kill-backend kills and restarts it and
# blk-hostile-front sends it every malformed request; the test programs themselves, with the
# guest processes they fork (libpvio-blkfront), run under valgrind too.  The daemon runs with
# --no-sandbox: valgrind's own system calls would meet the seccomp filter.  blkback-storage runs
# too: valgrind lacks openat2, so the daemon resolves params by its fallback walk, which must
# refuse the same escapes.  No invalid access, no uninitialised use, no definite or indirect
# leak anywhere.  Skips without valgrind, and in a sanitizer build (the two cannot run
# together).  KEEP=1 keeps the logs.
set -u
b=${PVIO_BUILDDIR:-.}
b=$(cd "$b" && pwd)
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: no valgrind"; exit 77; }
if ldd "$b/pvio-blkback" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	echo "SKIP: sanitizer build"
	exit 77
fi
# Under valgrind a clock read costs about what makes ring_clock_slow say slow: one mode for
# every run (the default's adaptive polling, the larger path to check).
PVIO_CLOCK_SLOW=0
export PVIO_CLOCK_SLOW
dir=$(mktemp -d /tmp/pvio-blk-valgrind.XXXXXX) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
mkdir "$dir/bin" "$dir/log"
chmod 1777 "$dir/log" # the domains' uids write their logs there
ln -s "$b/pvio-hv" "$b/pvio-xenstored" "$dir/bin/"
vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect"
vg="$vg --show-leak-kinds=definite,indirect --error-exitcode=99"
cat >"$dir/bin/pvio-blkback" <<WRAP
#!/bin/sh
exec $vg --log-file=$dir/log/pvio-blkback.%p "$b/pvio-blkback" --no-sandbox "\$@"
WRAP
chmod +x "$dir/bin/pvio-blkback"

status=0
for t in blk-kill-backend blk-hostile-front blkback-storage; do
	# The domains' processes see of the host only what they are given: the log directory.
	if ! PVIO_TEST_BIND="$dir/log" PVIO_BUILDDIR="$dir/bin" timeout -k 10 600 $vg --log-file="$dir/log/$t.%p" \
		"$b/tests/$t"; then
		echo "FAIL: $t under valgrind"
		status=1
	fi
done
# A forked or killed process's errors do not reach an exit status: every log must be empty
# (-q prints nothing but errors and leaks).
# Valgrind before 3.20 does not know openat2 (syscall 437): it warns, the call fails with
# ENOSYS and pvio-blkback falls back to its component walk.  That warning is not an error.
unknown_openat2='unhandled amd64-linux syscall: 437|write your own handler|README_MISSING_SYSCALL|consider this a bug|bug_reports.html'
for f in "$dir"/log/*; do
	if grep -Evq "$unknown_openat2" "$f"; then
		echo "FAIL: valgrind report in $f:"
		cat "$f"
		status=1
	fi
done
echo "blk-valgrind: $(ls "$dir/log" | wc -l) processes checked"
exit $status
