#!/bin/sh
# netfront-pkgconfig.sh - install libpvio-netfront into a scratch DESTDIR, build a program
# against the installed <pvio/netfront.h> with `pkg-config --static pvio-netfront`, and check
# that the installed library's only global symbols are the API of frontend/net/netfront.sym.
set -e
b=${PVIO_BUILDDIR:-.}
s=${PVIO_SRCDIR:-.}
command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
d=$(mktemp -d /tmp/netfront-pc.XXXXXX)
trap 'rm -rf "$d"' EXIT
timeout 120 make -C "$b" -s install-netfront_libDATA install-pkgincludeHEADERS \
	install-pkgconfigDATA DESTDIR="$d/inst" >/dev/null
pc=$(find "$d/inst" -name pvio-netfront.pc)
test -n "$pc" || { echo "FAIL: no pvio-netfront.pc installed"; exit 1; }
cat >"$d/t.c" <<'C'
#include <pvio/netfront.h>
int main(void)
{
	struct netfront_opts o = { .devid = 0, .timeout_ms = 1 };
	struct netfront *nf;
	struct netfront_stats st;

	if (netfront_open(&nf, &o) == 0) {
		netfront_get_stats(nf, &st);
		netfront_close(nf);
	}
	return 0;
}
C
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$d/inst" \
	pkg-config --cflags --libs --static pvio-netfront)
mk() { sed -n "s/^$1 = //p" "$b/Makefile"; }
cc=$(mk CC)
# shellcheck disable=SC2086
${cc:-cc} $(mk CFLAGS) -o "$d/t" "$d/t.c" $(mk LDFLAGS) $flags ||
	{ echo "FAIL: build against the installed pvio/netfront.h"; exit 1; }
timeout 60 nm -g --defined-only "$(find "$d/inst" -name libpvio-netfront.a)" |
	awk 'NF == 3 { print $3 }' | sort -u >"$d/global"
sort -u "$s/frontend/net/netfront.sym" >"$d/api"
cmp -s "$d/global" "$d/api" || { echo "FAIL: global symbols beyond the API:"; comm -3 "$d/global" "$d/api"; exit 1; }
exit 0
