# libfuzzer.sh - sourced by the libFuzzer tests (tests/xs-fuzz.sh, tests/netfront-rx-fuzz.sh,
# tests/net-tx-fuzz.sh, tests/net-keys-fuzz.sh, tests/blk-req-fuzz.sh, tests/blkfront-rsp-fuzz.sh,
# tests/blk-keys-fuzz.sh):
# fuzz_setup NAME checks the tools and sets src, build, secs (PVIO_FUZZ_SECONDS, default 30),
# runs (PVIO_FUZZ_RUNS: stop after that many executions, for the long runs; default none),
# fork (PVIO_FUZZ_FORK=N: libFuzzer's -fork=N, N processes fuzzing one corpus, their
# executions counted together, so that a long run uses every CPU; default one process),
# san and tmp (removed at exit), or exits 77 without clang or its libFuzzer runtime and in a
# build configured with -fsanitize (CI's second run: the target builds its own sanitized
# binary, so fuzzing once, in the plain build, is enough); fuzz_build NAME CFLAGS... builds
# $tmp/NAME; fuzz_run NAME MAXLEN [ASAN_OPTIONS...] fuzzes from tests/data/NAME-corpus plus the
# reproducers in tests/data/NAME-crashes, with ASan's options detect_leaks=1 and those given,
# and exits 0, or 1 keeping the reproducer and the binary in $PVIO_BUILDDIR/NAME-crashes
# (rerun: NAME FILE).
# shellcheck shell=sh

fuzz_setup() {
	src=${PVIO_SRCDIR:-.}
	build=${PVIO_BUILDDIR:-.}
	secs=${PVIO_FUZZ_SECONDS:-30}
	runs=${PVIO_FUZZ_RUNS:+-runs=$PVIO_FUZZ_RUNS}
	fork=${PVIO_FUZZ_FORK:+-fork=$PVIO_FUZZ_FORK}
	command -v clang >/dev/null 2>&1 || { echo "SKIP: no clang"; exit 77; }
	if grep -q '^CFLAGS=.*-fsanitize' "$build/config.log" 2>/dev/null; then
		echo "SKIP: sanitizer build (the plain build runs the fuzzer)"
		exit 77
	fi
	[ -r "$build/config.h" ] || { echo "FAIL: no config.h in $build"; exit 1; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
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
}

fuzz_build() {
	name=$1
	shift
	# shellcheck disable=SC2086
	if ! (cd "$src" && clang -std=gnu11 -g -O1 $san -I"$src" -I"$build" "$@" \
		-o "$tmp/$name" >"$tmp/build.log" 2>&1); then
		cat "$tmp/build.log"
		echo "FAIL: cannot build the fuzz target"
		exit 1
	fi
}

fuzz_run() {
	mkdir "$tmp/corpus" "$tmp/out"
	cp "$src/tests/data/$1-corpus"/* "$tmp/corpus/" || exit 1
	# Reproducers of crashes found before replay first: fixed ones must stay fixed.
	for f in "$src/tests/data/$1-crashes"/*; do
		[ -f "$f" ] && [ "${f##*/}" != README ] && cp "$f" "$tmp/corpus/"
	done
	opts=detect_leaks=1${3:+:$3}
	# -fork's first merge drops an input that crashes: replay them all first, in one process.
	if [ -n "$fork" ]; then
		(cd "$tmp/out" && ASAN_OPTIONS=$opts "$tmp/$1" -runs=0 -rss_limit_mb=1024 -timeout=10 \
			"$tmp/corpus" >"$tmp/fuzz.log" 2>&1) || fuzz_failed "$1" $?
	fi
	# shellcheck disable=SC2086
	(cd "$tmp/out" && ASAN_OPTIONS=$opts "$tmp/$1" -max_total_time="$secs" $runs $fork \
		-rss_limit_mb=1024 -timeout=10 -max_len="$2" -print_final_stats=1 \
		"$tmp/corpus" >"$tmp/fuzz.log" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		tail -n 12 "$tmp/fuzz.log"
		echo "PASS: no crash in ${secs}s"
		exit 0
	fi
	fuzz_failed "$1" "$rc"
}

# fuzz_failed NAME STATUS: show the log, keep the reproducers and the binary, say why, exit 1.
fuzz_failed() {
	rc=$2
	cat "$tmp/fuzz.log"
	keep=$build/$1-crashes
	mkdir -p "$keep"
	for f in "$tmp"/out/crash-* "$tmp"/out/leak-* "$tmp"/out/timeout-* "$tmp"/out/oom-*; do
		[ -e "$f" ] || continue
		cp "$f" "$keep/"
		echo "reproducer: $keep/${f##*/}"
	done
	cp "$tmp/$1" "$keep/"
	echo "FAIL: $(fuzz_cause "$tmp/fuzz.log" "$rc") (rerun: $keep/$1 FILE)"
	exit 1
}

# fuzz_cause LOG STATUS: why the run stopped, in one line, for CI's truncated output: the first
# sanitizer or libFuzzer report (ERROR:, else SUMMARY:) naming out-of-memory, timeout, a leak,
# ASan/UBSan's finding or a deadly signal, with the first frame in our sources when there is one.
fuzz_cause() {
	why=$(sed -n 's/^==[0-9]*== *ERROR: //p; s/^[^ ]*: runtime error: /UBSan: /p' "$1" | head -n 1)
	[ -n "$why" ] || why=$(sed -n 's/^SUMMARY: //p' "$1" | head -n 1)
	if [ -z "$why" ] && [ "$2" -gt 128 ]; then
		why="killed by signal $(($2 - 128)) without a report"
	fi
	[ -n "$why" ] || why="no sanitizer report"
	# The frame that failed: the first one in a .c file that is not libc's or the runtime's.
	top=$(cd "$src" && pwd)/
	at=$(grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in [A-Za-z_][A-Za-z0-9_]* [^ ]+\.c:[0-9]+' "$1" |
		grep -Ev '(nptl|stdlib|signal|csu|sanitizer_common|compiler-rt|libfuzzer)/' |
		head -n 1 | sed -E "s/.* in ([^ ]+) ([^ ]+)\$/ at \\1 \\2/; s| $top| |")
	echo "${why}${at}, status $2"
}
