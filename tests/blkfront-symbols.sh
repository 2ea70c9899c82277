#!/bin/sh
# blkfront-symbols.sh - the installed libpvio-blkfront.a defines as global only its API: the
# functions <pvio/blkfront.h> declares, listed in frontend/blk/blkfront.sym.  Everything it
# carries from hv/, ring/, grant/ and xenbus/ is local, so it cannot clash with a caller's own
# symbols (or another copy of pvio's).
b=${PVIO_BUILDDIR:-.}
s=${PVIO_SRCDIR:-.}
command -v nm >/dev/null || exit 77
lib=$b/libpvio-blkfront.a
test -f "$lib" || { echo "FAIL: $lib not built"; exit 1; }
d=$(mktemp -d /tmp/blkfront-sym.XXXXXX)
trap 'rm -rf "$d"' EXIT
timeout 60 nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u >"$d/global" ||
	{ echo "FAIL: nm $lib"; exit 1; }
sort -u "$s/frontend/blk/blkfront.sym" >"$d/api"
if ! cmp -s "$d/global" "$d/api"; then
	echo "FAIL: $lib: $(wc -l <"$d/global") global symbols, the API has $(wc -l <"$d/api");" \
		"extra: $(comm -23 "$d/global" "$d/api" | head -8 | tr '\n' ' ')" \
		"missing: $(comm -13 "$d/global" "$d/api" | tr '\n' ' ')"
	exit 1
fi
# Each is declared in the installed header.
for f in $(cat "$d/api"); do
	grep -q "[ *]$f(" "$s/frontend/blk/blkfront.h" || { echo "FAIL: $f not in blkfront.h"; exit 1; }
done
exit 0
