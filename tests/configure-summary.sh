#!/bin/bash
# configure's closing summary names the hypervisor providers config.h says are built:
# "sim, xen" when HAVE_XEN is defined, "sim" when it is not.
set -euo pipefail
b=${PVIO_BUILDDIR:-.}
for f in "$b/config.h" "$b/config.log"; do
	[[ -r $f ]] || { echo "configure-summary: $f: not found"; exit 1; }
done
line=$(timeout 10 grep -m1 'hypervisor providers :' "$b/config.log") || {
	echo "configure-summary: no 'hypervisor providers' line in $b/config.log"
	exit 1
}
want="sim"
grep -q '^#define HAVE_XEN 1' "$b/config.h" && want="sim, xen"
got=${line#*hypervisor providers : }
if [[ $got != "$want" ]]; then
	echo "configure-summary: summary says '$got', config.h builds '$want'"
	exit 1
fi
echo "configure-summary: '$got'"
