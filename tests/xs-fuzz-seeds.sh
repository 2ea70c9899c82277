#!/bin/sh
# xs-fuzz-seeds: write the seed corpus of sim/xs-fuzz.c into DIR (default
# tests/data/xs-fuzz-corpus).  Each file is one control byte (bit 0: the client
# is domain 1; bit 1: a silent second connection of the other identity; bits 2-7:
# chunk size v*v) followed by xs_wire messages: a 16-byte little-endian header
# (type, req_id, tx_id, len) and the payload.  Transaction ids start at 1 for
# every input.  Run it again after changing the input format, and commit the result.
set -eu
dir=${1:-$(dirname "$0")/data/xs-fuzz-corpus}
mkdir -p "$dir"

# The 4 bytes of a little-endian 32-bit value.
le32() {
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}

# msg TYPE TX PAYLOAD [LEN]: PAYLOAD is a printf format (\000 for NUL); LEN lies if given.
req=0
msg() {
	req=$((req + 1))
	# shellcheck disable=SC2059
	n=$(printf "$3" | wc -c)
	le32 "$1"
	le32 "$req"
	le32 "$2"
	le32 "${4:-$n}"
	# shellcheck disable=SC2059
	printf "$3"
}

# ctl BYTE: the control byte.
# shellcheck disable=SC2059
ctl() { printf "\\$(printf '%03o' "$1")"; }

DOM0=0 DOMU=1 PAIR=2 SPLIT1=4 SPLIT5=20

seed() { # NAME CONTROL-BYTE FUNCTION: write FUNCTION's messages to DIR/NAME
	name=$1
	shift
	{
		ctl "$1"
		shift
		"$@"
	} >"$dir/$name"
	req=0
}

ops_basic() {
	msg 11 0 '/tool/a\000hello'
	msg 2 0 '/tool/a\000'
	msg 1 0 '/tool\000'
	msg 22 0 '/tool\0000\000'
	msg 3 0 '/tool/a\000'
	msg 12 0 '/tool/b/c\000'
	msg 14 0 '/tool/b\000n0\000r1\000'
	msg 13 0 '/tool/b\000'
}
txn() {
	msg 6 0 '\000'
	msg 11 1 '/tool/t\000in-tx'
	msg 2 1 '/tool/t\000'
	msg 7 1 'T\000'
	msg 2 0 '/tool/t\000'
}
txn_abort() {
	msg 6 0 '\000'
	msg 6 0 '\000'
	msg 12 2 '/tool/x\000'
	msg 7 2 'F\000'
	msg 11 0 '/tool/x\000conflict'
	msg 11 1 '/tool/x\000mine'
	msg 7 1 'T\000'
	msg 7 9 'T\000'
}
watches() {
	msg 4 0 '/tool\000tok\000'
	msg 4 0 '@introduceDomain\000intro\000'
	msg 4 0 '@releaseDomain\000rel\000'
	msg 11 0 '/tool/w\0001'
	msg 13 0 '/tool\000'
	msg 5 0 '/tool\000tok\000'
	msg 21 0 ''
}
domains() {
	msg 8 0 '5\0000\0000\000'
	msg 17 0 '5\000'
	msg 10 0 '5\000'
	msg 18 0 '5\000'
	msg 9 0 '5\000'
	msg 9 0 '1\000'
	msg 17 0 '5\000'
}
control() {
	msg 0 0 'check\000'
	msg 0 0 'help\000'
	msg 0 0 'quota\000'
	msg 0 0 'quota\0001\000'
	msg 0 0 'bogus\000'
}
domu_ops() {
	msg 11 0 'data/x\000v'
	msg 2 0 'data/x\000'
	msg 4 0 'data\000rel\000'
	msg 14 0 'data/x\000n1\000r0\000'
	msg 14 0 'data/x\000n0\000'
	msg 2 0 '/tool\000'
	msg 11 0 '/tool/evil\000x'
	msg 8 0 '7\0000\0000\000'
	msg 0 0 'check\000'
	msg 10 0 '1\000'
	msg 6 0 '\000'
	msg 11 1 'data/y\000in-tx'
	msg 7 1 'T\000'
}
missing_nul() { msg 2 0 '/tool'; msg 11 0 '/tool'; msg 14 0 '/tool'; }
bad_len() { msg 2 0 '/tool\000' 3; msg 1 0 '/\000'; }
short_len() { msg 11 0 '/tool/a\000value' 40; }
oversized() { msg 11 0 '' 4097; msg 2 0 '/\000'; }
huge_len() { msg 11 0 '' 4294967295; }
unknown() { msg 99 0 ''; msg 15 0 'x\000'; msg 16 0 'E\000'; msg 65535 0 ''; }
bad_tx() { msg 2 77 '/tool\000'; msg 7 0 'T\000'; msg 6 0 'x\000'; msg 7 1 'X\000'; }
bad_paths() {
	msg 2 0 '//\000'
	msg 2 0 '/tool/\000'
	msg 12 0 '/a b\000'
	msg 12 0 'rel/path\000'
	msg 13 0 '/\000'
	msg 14 0 '/tool\000\000'
	msg 14 0 '/tool\000q0\000'
}
header_only() { le32 2; le32 1; le32 0; }

seed ops-dom0 $DOM0 ops_basic
seed ops-split1 $SPLIT1 ops_basic
seed txn-commit $DOM0 txn
seed txn-abort-conflict $SPLIT5 txn_abort
seed watch-dom0 $DOM0 watches
seed watch-pair $PAIR watches
seed domains-dom0 $((DOM0 | PAIR)) domains
seed control-dom0 $DOM0 control
seed domu-ops $DOMU domu_ops
seed domu-ops-pair $((DOMU | PAIR | SPLIT5)) domu_ops
seed domu-control $DOMU control
seed missing-nul $DOM0 missing_nul
seed bad-len $DOM0 bad_len
seed short-len $SPLIT5 short_len
seed oversized-len $DOM0 oversized
seed huge-len $DOMU huge_len
seed unknown-type $DOM0 unknown
seed bad-tx $DOM0 bad_tx
seed bad-paths $DOM0 bad_paths
seed bad-paths-domu $DOMU bad_paths
seed header-only $SPLIT1 header_only
