#!/bin/sh
# net-tx-fuzz: build backend/net/tx-fuzz.c (libFuzzer, ASan, UBSan) with netback's data plane
# and fuzz its TX path, as a hostile front writes slots, extra info and GSO fields, for
# PVIO_FUZZ_SECONDS (default 30), from the reproducers in tests/data/net-tx-fuzz-crashes if any.
# Fails on any crash, sanitizer report, leak or hang, keeping the reproducer and the binary in
# $PVIO_BUILDDIR/net-tx-fuzz-crashes (rerun: tx-fuzz FILE).
#
# Skips without clang or its libFuzzer runtime, and in a build configured with -fsanitize (the
# target builds its own sanitized binary: fuzzing in the plain build is enough).
set -u
src=${PVIO_SRCDIR:-.}
build=${PVIO_BUILDDIR:-.}
secs=${PVIO_FUZZ_SECONDS:-30}

command -v clang >/dev/null 2>&1 || { echo "SKIP: no clang"; exit 77; }
if grep -q '^CFLAGS=.*-fsanitize' "$build/config.log" 2>/dev/null; then
	echo "SKIP: sanitizer build (the plain build runs the fuzzer)"
	exit 77
fi
[ -r "$build/config.h" ] || { echo "FAIL: no config.h in $build"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/net-tx-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
files="backend/net/tx-fuzz.c backend/net/netback.c backend/net/tx.c backend/net/rx.c
	backend/net/credit.c ring/ring.c hv/log.c"
# shellcheck disable=SC2086
if ! (cd "$src" && clang -std=gnu11 -g -O1 $san -I"$src" -I"$build" -D__XEN_TOOLS__=1 \
	$files -o "$tmp/tx-fuzz" >"$tmp/build.log" 2>&1); then
	# The runtime, not the code, is what a plain clang lacks.
	if grep -q 'libclang_rt.fuzzer\|cannot find.*fuzzer' "$tmp/build.log"; then
		echo "SKIP: clang has no libFuzzer runtime"
		exit 77
	fi
	cat "$tmp/build.log"
	echo "FAIL: cannot build the fuzz target"
	exit 1
fi

mkdir "$tmp/corpus" "$tmp/out"
for f in "$src"/tests/data/net-tx-fuzz-crashes/*; do
	[ -f "$f" ] && [ "${f##*/}" != README ] && cp "$f" "$tmp/corpus/"
done
(cd "$tmp/out" && ASAN_OPTIONS=detect_leaks=1 "$tmp/tx-fuzz" -max_total_time="$secs" \
	-rss_limit_mb=1024 -timeout=10 -max_len=8192 -print_final_stats=1 \
	"$tmp/corpus" >"$tmp/fuzz.log" 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
	tail -n 12 "$tmp/fuzz.log"
	echo "PASS: no crash in ${secs}s"
	exit 0
fi
cat "$tmp/fuzz.log"
keep=$build/net-tx-fuzz-crashes
mkdir -p "$keep"
cp "$tmp"/out/* "$tmp/tx-fuzz" "$keep/" 2>/dev/null
echo "FAIL: the fuzzer stopped with status $rc (reproducers and the binary in $keep)"
exit 1
