#!/bin/bash
# Scenario 3, in dom0: pvio-blkback (with --journal-dir) is killed with -9 and started again,
# several times, then handed over with SIGUSR2 and to a daemon started with --takeover,
# while Linux's xen-blkfront in a PV domU writes and verifies rounds of data on a
# disk it serves (domu-init.sh, mode restart). Pass: each new
# daemon re-attaches to the Connected device (no restart rule, no state change), the front-end
# and back-end states stay Connected throughout, the guest sees no I/O error and reads back
# every round, and what it wrote last is in dom0's backing file. Prints each pause measured.
. /pvio/dom0-lib.sh
g=restart-guest
disk=/srv/restart.img
kills=${PVIO_XEN_RESTART_KILLS:-2}
handovers=${PVIO_XEN_RESTART_HANDOVERS:-2}
# Hand-overs to a daemon started with --takeover, after the SIGUSR2 ones, with the same checks.
takeovers=${PVIO_XEN_RESTART_TAKEOVERS:-2}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# The first line of pvio-blkback's log from line `from` on that matches, woken by tail -F.
wait_log() { # pattern seconds from-line
	timeout "$2" grep -m1 -a -E "$1" < <(timeout "$2" tail -n +"$3" -F "$PVIO_LOG" 2>/dev/null)
}

log_lines() { wc -l <"$PVIO_LOG"; }

# The guest's last completed round (0 before the first).
round() {
	local r
	r=$(domu_value $g round | cut -d' ' -f1)
	echo "${r:-0}"
}

wait_round() { # round seconds
	wait_console $g "PVIO-DOMU round $1 " "$2" >/dev/null
}

# Every value the two state nodes take while the daemon is replaced, woken by xenstore watches.
watch_states() { # path...
	local p
	for p in "$@"; do
		xenstore-watch "$p" 2>/dev/null > >(while read -r _; do
			echo "$p $(xsr "$p")"
		done >>/tmp/restart-states) &
		WATCHERS+=" $!"
	done
}

# A daemon this script started stays a zombie until waited for: that counts as gone.
running() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# Stop the daemon one way, start the next, and measure what the guest waits for.
replace() { # n how(kill|handover|takeover)
	local n=$1 how=$2 pid from t0 r rc=0 took
	pid=$(cat /run/pvio-blkback.pid)
	from=$(($(log_lines) + 1))
	r=$(round)
	t0=$(now)
	if [[ $how == kill ]]; then
		kill -KILL "$pid"
	elif [[ $how == handover ]]; then
		kill -USR2 "$pid"
	else # the successor asks the running daemon to leave
		pvio_blkback_run --journal-dir "$PVIO_JOURNALS" --takeover
	fi
	echo "$how #$n: replacing pvio-blkback $pid (the guest at round $r)"
	if ! wait_gone 60 running "$pid"; then
		check "$how #$n: pvio-blkback $pid exits" false
		tail -n 20 "$PVIO_LOG"
		return
	fi
	local stopped
	stopped=$(since "$t0")
	if [[ $how != kill ]]; then
		wait "$pid" 2>/dev/null || rc=$?
		check "$how #$n: the old daemon exits 0" eq "$rc" 0
	fi
	r=$(round)
	[[ $how == takeover ]] || pvio_blkback_run --journal-dir "$PVIO_JOURNALS"
	check "$how #$n: the new daemon re-attaches to the device" \
		wait_log "vbd $DOMID/51712: (re-attached|found in state)" 60 "$from"
	local reattached
	reattached=$(since "$t0")
	check "$how #$n: re-attached, not restarted" \
		eval "tail -n +$from $PVIO_LOG | grep -q 'vbd $DOMID/51712: re-attached'"
	check "$how #$n: the guest completes a round after it" wait_round $((r + 1)) 180
	took=$(tail -n +"$from" "$PVIO_LOG" | sed -n 's/.*re-attach took \([0-9]*\) us.*/\1/p' | head -n1)
	# A hand-over to --takeover: the predecessor's leaving plus the devices' re-attach.
	[[ $how == takeover ]] && took=$(tail -n +"$from" "$PVIO_LOG" |
		sed -n 's/.*took over: the predecessor left in \([0-9]*\) us, devices served \([0-9]*\) us later.*/\1+\2/p' | head -n1)
	echo "pause: $how #$n: old daemon gone after ${stopped}s, new one re-attached" \
		"${reattached}s after the signal (the re-attach itself ${took:-?} us), guest's round $((r + 1))" \
		"seen done $(since "$t0")s after it"
}

make_disk $disk 48 PVIO-SIG-RESTART /dev/loop6 || fatal "dom0: cannot set up /dev/loop6"
# dom0's daemon, with journals from here on (no guest has a disk now: SIGTERM closes nothing).
if pvio_blkback_alive; then
	pid=$(cat /run/pvio-blkback.pid)
	kill -TERM "$pid"
	check "pvio-blkback exits on SIGTERM" wait_gone 60 running "$pid"
fi
pvio_blkback_run --journal-dir "$PVIO_JOURNALS"
check "pvio-blkback runs with --journal-dir" pvio_blkback_alive
guest_create /pvio/restart-guest.cfg || fatal "xl create /pvio/restart-guest.cfg"
DOMID=$(xl domid $g)
fe=/local/domain/$DOMID/device/vbd/51712
be=/local/domain/0/backend/vbd/$DOMID/51712
wait_console $g 'PVIO-DOMU (round 2 |FAIL)' 300 >/dev/null
check "the guest writes and verifies rounds" eq "$(round)" 2
check "front-end Connected" eq "$(xsr $fe/state)" 4
check "back-end Connected" eq "$(xsr $be/state)" 4
: >/tmp/restart-states
WATCHERS=""
watch_states $fe/state $be/state

if [[ $failures -eq 0 ]]; then
	for ((i = 1; i <= kills + handovers + takeovers; i++)); do
		# Somewhere in a round: at once, or after a fraction of a second.
		sleep "0.$((RANDOM % 4))"
		if ((i <= kills)); then
			replace "$i" kill
		elif ((i <= kills + handovers)); then
			replace $((i - kills)) handover
		else
			replace $((i - kills - handovers)) takeover
		fi
		[[ $failures -eq 0 ]] || break
	done
fi

# Tell the guest to stop: STOP at 32 MiB, which it reads (direct, through the back-end) each round.
printf STOP | dd of=$disk bs=512 seek=65536 conv=notrunc status=none
check "the guest finishes" eval "wait_console $g 'PVIO-DOMU DONE' 180 >/dev/null"
kill $WATCHERS 2>/dev/null
echo "guest: $(domu_value $g rounds) rounds, the longest $(domu_value $g round-max-cs)0 ms; each" \
	"(s): $(grep -a 'PVIO-DOMU round ' "$(console_log $g)" | tr -d '\r' |
		awk '{ printf "%.1f ", $4 / 100 }')"
grep -a 'PVIO-DOMU \(write-error\|mismatch \|dmesg:\)' "$(console_log $g)" | tr -d '\r'
check "the guest saw no write error" eq "$(domu_value $g write-errors)" 0
check "every round read back what it wrote" eq "$(domu_value $g mismatches)" 0
check "no block I/O error in the guest's kernel log" eq "$(domu_value $g dmesg-errors)" 0
check "the guest's slots hold what it wrote last" \
	eq "$(domu_value $g slots-md5)" "$(domu_value $g expect-md5)"
echo "states seen: $(cut -d' ' -f2 /tmp/restart-states | sort | uniq -c | tr -s ' \n' ' ')"
check "front-end and back-end stayed Connected (4) throughout" \
	eval "! cut -d' ' -f2 /tmp/restart-states | grep -qv '^4$'"
check "pvio: no I/O errors" eq "$(stat_value "$DOMID" 51712 errors)" 0
show_logs $g
check "xl destroy" guest_destroy $g
check "dom0's backing file holds what the guest wrote last" \
	eq "$(dd if=$disk bs=64k skip=128 count=128 status=none | md5sum | cut -d' ' -f1)" \
	"$(domu_value $g expect-md5)"
check "pvio: device forgotten after destroy" wait_gone 30 test -e "$PVIO_STATS/$DOMID.51712"
check "pvio-blkback still runs for the next scenarios" pvio_blkback_alive
losetup -d /dev/loop6
finish
