#!/bin/sh
# blkfront-pkgconfig.sh - install into a scratch DESTDIR, then build a small program against the
# installed <pvio/blkfront.h> with `pkg-config --cflags --libs --static pvio-blkfront`.
set -e
b=${PVIO_BUILDDIR:-.}
command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
d=$(mktemp -d /tmp/blkfront-pc.XXXXXX)
trap 'rm -rf "$d"' EXIT
make -C "$b" -s install-blkfront_libDATA install-pkgincludeHEADERS install-pkgconfigDATA \
	DESTDIR="$d/inst" >/dev/null
pc=$(find "$d/inst" -name pvio-blkfront.pc)
test -n "$pc" || { echo "FAIL: no pvio-blkfront.pc installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
cat >"$d/t.c" <<'C'
#include <stdio.h>
#include <pvio/blkfront.h>
/* Every field of blkfront_opts can be set from the installed header alone. */
static void log_line(void *arg, enum blkfront_log_level level, const char *line)
{
	fprintf(arg, "%d %s\n", (int)level, line);
}
int main(void)
{
	struct blkfront_opts o = { .devid = 51712, .log = log_line, .log_arg = stderr,
				   .log_level = BLKFRONT_LOG_DEBUG };
	struct blkfront *bf;
	void *buf;

	if (blkfront_open(&bf, &o) == 0) {
		if (blkfront_buf_alloc(bf, 4096, &buf) == 0)
			blkfront_buf_free(bf, buf);
		blkfront_close(bf);
	}
	return 0;
}
C
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$d/inst" \
	pkg-config --cflags --libs --static pvio-blkfront)
# The build's own compiler and flags: a sanitizer build's library needs its runtime linked in.
mk() { sed -n "s/^$1 = //p" "$b/Makefile"; }
cc=$(mk CC)
# shellcheck disable=SC2086
${cc:-cc} $(mk CFLAGS) -o "$d/t" "$d/t.c" $(mk LDFLAGS) $flags || { echo "FAIL: build against $prefix/include/pvio/blkfront.h"; exit 1; }
test -x "$d/t"
