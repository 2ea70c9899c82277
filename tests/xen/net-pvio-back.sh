#!/bin/bash
# Scenario 4a, in dom0: pvio-netback serves Linux's xen-netfront in a 2-vCPU PV domU, with the
# kernel's xen-netback unloaded and the vif's hotplug script pvio's vif-pvio (script= in the vif
# spec). Checks what Linux negotiated against what pvio offered, pvio-netback's own view, pings
# both ways and 8 MiB of TCP each way verified by md5; then the same guest against the
# kernel's xen-netback (Xen's vif-bridge) in the same boot, both rates side by side
# ("figure:" lines, kept in $NET_FIGURES for net-pvio-front).
. /pvio/net-lib.sh

# pvio-netback's statistics for the vif while connected.
check_pvio_stats() { # domid
	local d=$1 k
	net_stats "$d"
	echo "pvio-netback stats: $(tr '\n' ' ' <"$NET_STATS/vif-$d.0")"
	check "pvio: state Connected" eq "${ST[state]}" Connected
	check "pvio: interface vif$d.0" eq "${ST[interface]}" "vif$d.0"
	check "pvio: queues as Linux asked" eq "${ST[queues]}" "$FRONTQ"
	# 8 MiB each way: at least 128 frames of 64 KiB (TSO), 5800 of 1448 bytes without.
	check "pvio: frames from the guest" gt "${ST[tx-packets]}" 128
	check "pvio: frames to the guest" gt "${ST[rx-packets]}" 128
	check "pvio: bytes from the guest" gt "${ST[tx-bytes]}" 8388608
	check "pvio: bytes to the guest" gt "${ST[rx-bytes]}" 8388608
	for k in bad-slot too-many-slots too-short bad-grant bad-extra bad-offload spoofed; do
		check "pvio: no tx-drop-$k" eq "${ST[tx-drop-$k]}" 0
	done
	check "pvio: no TAP write errors" eq "${ST[tx-tap-errors]}" 0
	check "pvio: no rx drops" eq "${ST[rx-drop-too-big]} ${ST[rx-drop-bad-grant]}" "0 0"
	check "vif$d.0 is on xenbr0" eq "$(basename "$(readlink /sys/class/net/vif$d.0/master)")" xenbr0
}

show_net_logs() { # guest [always]
	local d
	[[ $failures -eq 0 && ${2-} != always ]] && return 0
	echo "--- console of $1"
	tail -n 40 "$(console_log "$1")" | tr -d '\r'
	echo "--- $NET_LOG"
	tail -n 40 "$NET_LOG"
	d=$(xl domid "$1" 2>/dev/null) || return 0
	[[ -e $NET_STATS/vif-$d.0 ]] && { echo "--- $NET_STATS/vif-$d.0"; cat "$NET_STATS/vif-$d.0"; }
	# Xen's view of the event channels (pending/masked) of dom0 and the guest.
	echo "--- xl debug-keys e: dom0 and d$d"
	xl debug-keys e && xl dmesg | tr -d '\r' | sed -n '/Event channel information/,$p' |
		grep -E "Event channel information|s=3 .*d=(0|$d) " | tail -n 60
}

run_guest() { # label name [xl-option]
	local l=$1 g=$2 domid
	shift 2
	net_listen
	guest_create /pvio/net-guest.cfg "name=\"$g\"" "$@" || {
		check "$l: xl create" false
		show_net_logs "$g" always
		return
	}
	domid=$(xl domid "$g")
	check "$l: hotplug-status connected" eq "$(xsr /local/domain/0/backend/vif/$domid/0/hotplug-status)" connected
	if ! wait_console "$g" 'PVIO-DOMU (net-queues|FAIL)' 240 >/dev/null; then
		check "$l: the guest has eth0" false
	fi
	check_vif_negotiation "$domid" "$l" linux
	check "$l/linux: the guest has as many queues" eq "$(domu_value "$g" net-queues)" "$FRONTQ"
	check "$l/linux: Linux uses min(offered, 2 vCPUs) queues" eq "$FRONTQ" \
		"$(($(xsr /local/domain/0/backend/vif/$domid/0/multi-queue-max-queues 1) < 2 ? 1 : 2))"
	net_exchange "$g" "$l"
	[[ $l == pvio ]] && check_pvio_stats "$domid"
	check "$l: no guest-side failure" eval "! grep -qa 'PVIO-DOMU FAIL' $(console_log "$g")"
	show_net_logs "$g"
	check "$l: xl destroy" guest_destroy "$g"
	[[ $l == pvio ]] && {
		check "pvio: vif forgotten after destroy" wait_gone 30 test -e "$NET_STATS/vif-$domid.0"
		check "pvio: vif$domid.0 gone" wait_gone 30 test -e "/sys/class/net/vif$domid.0"
		check "pvio-netback still runs" pvio_netback_alive
	}
}

mkdir -p /srv
check "dom0's bridge xenbr0" net_bridge
check "the kernel's xen-netback is not loaded" eval '! grep -q "^xen_netback " /proc/modules'
check "start pvio-netback" start_pvio_netback
run_guest pvio net-pvio
switch_to_kernel_netback
run_guest kernel net-kernel 'vif=["mac=00:16:3e:00:00:04, bridge=xenbr0"]'
print_net_figures "pvio-netback in dom0 against the kernel's xen-netback, Linux's xen-netfront in the guest" pvio kernel
declare -p RATE >$NET_FIGURES
finish
