# Helpers for the scenarios that run in the test dom0 (sourced, bash).
PVIO_STATS=/run/pvio-blkback
PVIO_LOG=/var/log/pvio-blkback.log
PVIO_JOURNALS=/var/lib/pvio-blkback
CONSOLES=/var/log/xen/console
failures=0

# Record one check; the scenario fails at the end if any check failed.
check() { # description command...
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		failures=$((failures + 1))
	fi
}

eq() { [[ $1 == "$2" ]] || { echo "  got '$1', want '$2'" && false; }; }
le() { [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ && $1 -le $2 ]] || { echo "  got $1 > $2" && false; }; }
gt() { [[ $1 =~ ^[0-9]+$ && $1 -gt $2 ]] || { echo "  got '$1', want > $2" && false; }; }
# A guest's md5 line: 32 hex digits (an empty value would make every comparison with it pass).
is_md5() { [[ $1 =~ ^[0-9a-f]{32}$ ]] || { echo "  got '$1', not an md5" && false; }; }

# Stop the scenario at once (an unusable guest); still counts what was checked.
fatal() {
	echo "FAIL: $*"
	exit 1
}

finish() {
	echo "$failures check(s) failed"
	[[ $failures -eq 0 ]]
}

xsr() { xenstore-read "$1" 2>/dev/null || echo "${2-absent}"; }

# A guest's console log, as xenconsoled writes it.
console_log() { echo "$CONSOLES/guest-$1.log"; }

# Wait for a line of a guest's console matching a pattern, woken by tail -F, not a timer;
# print the first such line.
wait_console() { # guest pattern seconds
	local log
	log=$(console_log "$1")
	touch "$log"
	timeout "$3" grep -m1 -a -E "$2" < <(timeout "$3" tail -n +1 -F "$log" 2>/dev/null)
}

# The value of "PVIO-DOMU <key> <value...>" in a guest's console, the last one written.
domu_value() { # guest key
	sed -n "s/^PVIO-DOMU $2 //p" "$(console_log "$1")" | tr -d '\r' | tail -n1
}

# A key of pvio-blkback's statistics file for a device.
stat_value() { # domid devid key
	sed -n "s/^$3 //p" "$PVIO_STATS/$1.$2" 2>/dev/null
}

guest_create() { # config [key=value...]
	local cfg=$1
	shift
	timeout 180 xl create "$cfg" "$@"
}

guest_destroy() { # name
	xl domid "$1" >/dev/null 2>&1 || return 0
	timeout 90 xl destroy "$1"
}

# Print the guest's console and pvio-blkback's log when something failed (or "always").
show_logs() { # guest [always]
	[[ $failures -eq 0 && ${2-} != always ]] && return 0
	echo "--- console of $1"
	tail -n 60 "$(console_log "$1")" | tr -d '\r'
	echo "--- $PVIO_LOG"
	tail -n 40 "$PVIO_LOG"
}

# A disk: a file in dom0's memory with a signature in sector 0, behind a given loop device. The
# file is in group disk, as the README's "Running on Xen" says, so that pvio-blkback serves the
# loop device from it (its statistics say disk-io loop-file).
make_disk() { # file MiB signature loop-device
	losetup -d "$4" 2>/dev/null
	rm -f "$1"
	truncate -s "${2}M" "$1" &&
		printf '%s' "$3" | dd of="$1" conv=notrunc status=none &&
		chgrp disk "$1" && chmod 660 "$1" &&
		losetup "$4" "$1"
}

# Start dom0's pvio-blkback, in a session of its own, its log appended to; xen/blk-restart
# starts each successor the same way with --journal-dir.
# /pvio/blkback-opts: check-xen's PVIO_XEN_BLKBACK_OPTS (e.g. --poll-us 1000), for experiments.
pvio_blkback_run() { # [option...]
	# shellcheck disable=SC2046 # the experiment's options are words
	setsid pvio-blkback -v --kinds vbd --user pvio-blkback --storage /dev \
		--stats-dir "$PVIO_STATS" $(cat /pvio/blkback-opts 2>/dev/null) "$@" >>"$PVIO_LOG" 2>&1 &
	echo $! >/run/pvio-blkback.pid
}

pvio_blkback_alive() { kill -0 "$(cat /run/pvio-blkback.pid)" 2>/dev/null; }

# Hand dom0's vbd directories over from pvio-blkback (if it still runs) to the kernel's back-end.
switch_to_kernel_blkback() {
	local pid
	if pvio_blkback_alive; then
		pid=$(cat /run/pvio-blkback.pid)
		kill -TERM "$pid"
		check "pvio-blkback exits on SIGTERM" wait_gone 30 kill -0 "$pid"
	fi
	check "modprobe xen-blkback" modprobe xen-blkback
}

# Back from the kernel's xen-blkback to pvio-blkback (no guest may use a vbd meanwhile).
switch_to_pvio_blkback() {
	check "rmmod xen-blkback" modprobe -r xen-blkback
	pvio_blkback_run
	check "pvio-blkback runs again" pvio_blkback_alive
}

# Wait until a path disappears (a xenstore node or a file); polled, bounded.
wait_gone() { # seconds command...
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 5; i++)); do
		"$@" >/dev/null 2>&1 || return 0
		sleep 0.2
	done
	return 1
}
