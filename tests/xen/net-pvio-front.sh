#!/bin/bash
# Scenario 4b, in dom0: pvio-netfront in an unprivileged 2-vCPU PV domU (privcmd restricted, as
# Linux ships it; gntalloc's default limit) against dom0's kernel xen-netback, with its default
# options, on its TAP eth0: what it negotiated, pings both ways and 8 MiB of TCP each way
# verified by md5, its rates beside Linux's xen-netfront's (net-pvio-back's kernel run).
. /pvio/net-lib.sh
g=net-front

mkdir -p /srv
check "dom0's bridge xenbr0" net_bridge
grep -q "^xen_netback " /proc/modules || switch_to_kernel_netback
[[ -s $NET_FIGURES ]] && . $NET_FIGURES
net_listen
guest_create /pvio/netfront-guest.cfg || fatal "xl create /pvio/netfront-guest.cfg"
domid=$(xl domid $g)
wait_console $g 'PVIO-DOMU (pvnet-up|FAIL)' 240 >/dev/null
echo "pvio-netfront: $(domu_value $g pvnet-up)"
check "privcmd restricted in the domU" eval '[[ $(domu_value $g privcmd-unrestricted) != Y ]]'
check "gntalloc's default limit" eq "$(domu_value $g gntalloc-limit)" 1024
check "pvio-netfront brings eth0 up" eval '[[ $(domu_value $g pvnet-up) =~ "eth0 up" ]]'
check_vif_negotiation "$domid" kernel pvio-netfront
check "pvio-netfront: as many queues as it says" eval "[[ '$(domu_value $g pvnet-up)' =~ ' $FRONTQ queue' ]]"
net_exchange $g pvio-netfront
wait_console $g 'PVIO-DOMU (pvnet-exit|FAIL)' 60 >/dev/null
grep -a 'PVIO-DOMU pvnet-log' "$(console_log $g)" | tr -d '\r'
check "pvio-netfront exits 0 on SIGTERM" eq "$(domu_value $g pvnet-exit)" 0
check "pvio-netfront: no back-end lost" eval "! grep -qa 'PVIO-DOMU pvnet-log: .*lost' $(console_log $g)"
check "pvio-netfront closed the vif" eq "$(xsr /local/domain/$domid/device/vif/0/state)" 6
check "no guest-side failure" eval "! grep -qa 'PVIO-DOMU FAIL' $(console_log $g)"
[[ $failures -gt 0 ]] && tail -n 40 "$(console_log $g)" | tr -d '\r'
check "xl destroy $g" guest_destroy $g
RATE[linux-netfront-tx]=${RATE[kernel-tx]-}
RATE[linux-netfront-rx]=${RATE[kernel-rx]-}
print_net_figures "pvio-netfront in the guest against Linux's xen-netfront, dom0's kernel xen-netback" pvio-netfront linux-netfront
finish
