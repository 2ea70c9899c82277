#!/bin/sh
# xs-fuzz: build sim/xs-fuzz.c (libFuzzer, ASan, UBSan) with pvio-xenstored's sources and
# fuzz the daemon's framing and dispatcher from tests/data/xs-fuzz-corpus (plus the known
# reproducers in tests/data/xs-fuzz-crashes) for PVIO_FUZZ_SECONDS (default 30).  Fails on
# any crash, sanitizer report, leak, timeout or hang, printing the report and keeping the
# reproducer and the binary in $PVIO_BUILDDIR/xs-fuzz-crashes (rerun: xs-fuzz FILE).
#
# Skips without clang or its libFuzzer runtime, and in a build configured with -fsanitize
# (CI's second run): the target builds its own sanitized binary, so fuzzing once, in the
# plain build, is enough.
set -u
. "${PVIO_SRCDIR:-.}/tests/libfuzzer.sh"
fuzz_setup xs-fuzz

# pvio-xenstored's sources but its main(), read from its Automake list so new files come
# along, and the pvio-hv client it links from libpvio.
daemon=$(sed -n '/^pvio_xenstored_SOURCES/,/[^\\]$/p' "$src/sim/xenstored.am" |
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /\.c$/ && $i != "sim/xs-main.c") print $i }')
[ -n "$daemon" ] || { echo "FAIL: no pvio_xenstored_SOURCES in sim/xenstored.am"; exit 1; }
files="sim/xs-fuzz.c $daemon hv/simctl.c hv/simproto.c"
# shellcheck disable=SC2046,SC2086
fuzz_build xs-fuzz -D__XEN_TOOLS__=1 $(pkg-config --cflags xenstore 2>/dev/null) $files
fuzz_run xs-fuzz 8192
