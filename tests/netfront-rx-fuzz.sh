#!/bin/sh
# netfront-rx-fuzz: build tests/netfront-rx-fuzz.c (libFuzzer, ASan, UBSan) with
# libpvio-netfront's receive path (frontend/net/rx.c) and fuzz it with a hostile back-end's RX
# responses, extra info and ring indices from tests/data/netfront-rx-fuzz-corpus for
# PVIO_FUZZ_SECONDS (default 30).  Fails on any crash, sanitizer report, leak, timeout or hang,
# keeping the reproducer and the binary in $PVIO_BUILDDIR/netfront-rx-fuzz-crashes.
#
# Skips without clang or its libFuzzer runtime, and in a build configured with -fsanitize
# (CI's second run): the target builds its own sanitized binary, so fuzzing once, in the
# plain build, is enough.
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/netfront-rx-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

# libFuzzer's runtime may be missing even where clang is not.
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' \
	>"$tmp/probe.c"
# shellcheck disable=SC2086
if ! clang $san "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1; then
	echo "SKIP: clang has no libFuzzer runtime"
	exit 77
fi

files="tests/netfront-rx-fuzz.c frontend/net/rx.c ring/ring.c"
# shellcheck disable=SC2086
if ! (cd "$src" && clang -std=gnu11 -g -O1 $san -I"$src" -I"$build" $files \
	-o "$tmp/netfront-rx-fuzz" >"$tmp/build.log" 2>&1); then
	cat "$tmp/build.log"
	echo "FAIL: cannot build the fuzz target"
	exit 1
fi

mkdir "$tmp/corpus" "$tmp/out"
cp "$src"/tests/data/netfront-rx-fuzz-corpus/* "$tmp/corpus/" || exit 1
# Reproducers of crashes found before replay first: fixed ones must stay fixed.
for f in "$src"/tests/data/netfront-rx-fuzz-crashes/*; do
	[ -f "$f" ] && [ "${f##*/}" != README ] && cp "$f" "$tmp/corpus/"
done
(cd "$tmp/out" && ASAN_OPTIONS=detect_leaks=1 "$tmp/netfront-rx-fuzz" -max_total_time="$secs" \
	-rss_limit_mb=1024 -timeout=10 -max_len=4096 -print_final_stats=1 \
	"$tmp/corpus" >"$tmp/fuzz.log" 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
	tail -n 12 "$tmp/fuzz.log"
	echo "PASS: no crash in ${secs}s"
	exit 0
fi
cat "$tmp/fuzz.log"
keep=$build/netfront-rx-fuzz-crashes
mkdir -p "$keep"
for f in "$tmp"/out/crash-* "$tmp"/out/leak-* "$tmp"/out/timeout-* "$tmp"/out/oom-*; do
	[ -e "$f" ] || continue
	cp "$f" "$keep/"
	echo "reproducer: $keep/${f##*/}"
done
cp "$tmp/netfront-rx-fuzz" "$keep/"
echo "FAIL: the fuzzer stopped with status $rc (rerun: $keep/netfront-rx-fuzz FILE)"
exit 1
