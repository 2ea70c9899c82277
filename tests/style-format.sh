#!/bin/sh
# style-format: every C source and header follows the repository's .clang-format.
# Skips where clang-format is missing; run `clang-format -i FILE` to fix a failure.
set -u
src=${PVIO_SRCDIR:-.}
command -v clang-format >/dev/null 2>&1 || { echo "SKIP: no clang-format"; exit 77; }
cd "$src" || exit 1
files=$(find hv sim ring grant tools tests xenbus frontend backend driverdomain \
	-name '*.[ch]' 2>/dev/null | sort)
[ -n "$files" ] || { echo "FAIL: no sources found under $src"; exit 1; }
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
