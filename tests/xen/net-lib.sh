# Helpers of the network scenarios in the test dom0 (sourced, bash): the bridge, pvio-netback,
# and the traffic with a guest whose /init runs net_traffic (domu-init.sh, modes net and pvnet).
. /pvio/dom0-lib.sh
NET_STATS=/run/pvio-netback
NET_LOG=/var/log/pvio-netback.log
NET_FIGURES=/run/net-figures
guest_ip=169.254.100.2
declare -A RATE

# dom0's end of the guests' network: bridge xenbr0, 169.254.100.1/24 (inside QEMU only).
net_bridge() {
	ip link show xenbr0 >/dev/null 2>&1 && return 0
	modprobe bridge && ip link add xenbr0 type bridge &&
		ip addr add 169.254.100.1/24 dev xenbr0 && ip link set xenbr0 up
}

pvio_netback_alive() { kill -0 "$(cat /run/pvio-netback.pid 2>/dev/null)" 2>/dev/null; }

# As the README's "Running on Xen" says: a system user, its statistics directory, the TAPs from
# its helper (tun loaded); the kernel's xen-netback stays unloaded.
start_pvio_netback() {
	modprobe tun || return 1
	id pvio-netback >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin pvio-netback || return 1
	install -d -o pvio-netback "$NET_STATS"
	pvio-netback -v --user pvio-netback --bridge xenbr0 --stats-dir "$NET_STATS" >"$NET_LOG" 2>&1 &
	echo $! >/run/pvio-netback.pid
}

# Hand dom0's vif directories from pvio-netback (if it runs) to the kernel's back-end.
switch_to_kernel_netback() {
	local pid
	if pvio_netback_alive; then
		pid=$(cat /run/pvio-netback.pid)
		kill -TERM "$pid"
		check "pvio-netback exits on SIGTERM" wait_gone 30 kill -0 "$pid"
	fi
	check "modprobe xen-netback" modprobe xen-netback
}

# pvio-netback's statistics file for a vif, read once into ST (key -> value).
declare -A ST
net_stats() { # domid
	local k v
	ST=()
	while read -r k v; do ST[$k]=$v; done <"$NET_STATS/vif-$1.0"
}

# A key of a directory dumped by snap (no process per key: dom0 under TCG spawns slowly).
declare -A XS
snap() { # dir...
	local d k v
	XS=()
	for d in "$@"; do
		while read -r k v; do
			v=${v#= \"}
			XS[$k]=${v%\"}
		done < <(xenstore-ls -f "$d" 2>/dev/null)
	done
}
xv() { echo "${XS[$1]-${2-absent}}"; } # path [default]

# What was offered and what the front end chose, from xenstore, while connected; checks that
# the front end took what it may. FRONTQ is set to the queues it chose.
check_vif_negotiation() { # domid back-label front-label
	local be=/local/domain/0/backend/vif/$1/0 fe=/local/domain/$1/device/vif/0 q k split
	local b_q f_q
	snap $be $fe
	b_q=$(xv $be/multi-queue-max-queues 1)
	f_q=$(xv $fe/multi-queue-num-queues 1)
	q=$fe
	[[ $f_q -gt 1 ]] && q=$fe/queue-0
	[[ -n ${XS[$q/event-channel-tx]-} ]] && split=1 || split=0
	echo "$2 offered: queues=$b_q split=$(xv $be/feature-split-event-channels 0)" \
		"sg=$(xv $be/feature-sg 0) gso4=$(xv $be/feature-gso-tcpv4 0)" \
		"gso6=$(xv $be/feature-gso-tcpv6 0) ipv6-csum=$(xv $be/feature-ipv6-csum-offload 0)" \
		"rx-copy=$(xv $be/feature-rx-copy 0) rx-notify=$(xv $be/feature-rx-notify 0)" \
		"ctrl-ring=$(xv $be/feature-ctrl-ring 0)"
	echo "$3 chose: queues=$f_q split=$split rx-copy=$(xv $fe/request-rx-copy 0)" \
		"rx-notify=$(xv $fe/feature-rx-notify 0) sg=$(xv $fe/feature-sg 0)" \
		"gso4=$(xv $fe/feature-gso-tcpv4 0) gso6=$(xv $fe/feature-gso-tcpv6 0)" \
		"ipv6-csum=$(xv $fe/feature-ipv6-csum-offload 0) no-csum=$(xv $fe/feature-no-csum-offload 0)"
	check "$2/$3: back-end Connected" eq "$(xv $be/state)" 4
	check "$2/$3: front-end Connected" eq "$(xv $fe/state)" 4
	check "$2/$3: queues within the offer" le "$f_q" "$b_q"
	check "$2/$3: rx-copy offered and requested" eq "$(xv $be/feature-rx-copy 0)$(xv $fe/request-rx-copy 0)" 11
	# pvio-netfront binds one event channel a queue (split channels come with netfeat's work).
	if [[ $3 == linux ]]; then
		check "$2/$3: split event channels used as offered" eq "$split" "$(xv $be/feature-split-event-channels 0)"
	else
		echo "note: $3 uses split event channels: $split (offered: $(xv $be/feature-split-event-channels 0))"
	fi
	for ((k = 0; k < f_q; k++)); do
		q=$fe
		[[ $f_q -gt 1 ]] && q=$fe/queue-$k
		check "$2/$3: queue $k has its rings" \
			eval "[[ -n '$(xv $q/tx-ring-ref '')' && -n '$(xv $q/rx-ring-ref '')' ]]"
	done
	FRONTQ=$f_q
}

# dom0's listener for the guest's 8 MiB: started before the guest, its stdin held open (busybox
# nc stops at its stdin's end). A listener left by a guest that never sent goes first.
net_listen() {
	[[ -n ${LISTENER-} ]] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER"
	exec 8>&-
	rm -f /srv/net-rx.bin /run/net-hold
	mkfifo /run/net-hold
	exec 8<>/run/net-hold
	busybox nc -l -p 5001 </run/net-hold >/srv/net-rx.bin &
	LISTENER=$!
}

# Seconds of a command, to the millisecond.
timed() { # command...
	local t0 t1
	t0=$(date +%s.%N)
	"$@" || return
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

mibs() { awk -v s="$1" 'BEGIN { if (s > 0) printf "%.2f", 8 / s; else print "-" }'; }

# Pings both ways and 8 MiB of TCP each way, verified by md5 on the receiving side, with the
# sender's rate in RATE[label-tx] (guest to dom0) and RATE[label-rx] (dom0 to guest).
net_exchange() { # guest label
	local g=$1 l=$2 sent secs i
	wait_console "$g" 'PVIO-DOMU (tx-sent|FAIL)' 240 >/dev/null
	check "$l: the guest pings dom0" eq "$(domu_value "$g" ping-dom0)" "3 packets received"
	sent=$(domu_value "$g" tx-sent)
	wait_gone 60 kill -0 "$LISTENER"
	exec 8>&-
	check "$l: guest to dom0: 8 MiB sent" eq "${sent%% *}" 0
	check "$l: guest to dom0: the data arrived intact" \
		eq "$(md5sum </srv/net-rx.bin | cut -d' ' -f1)" "$(domu_value "$g" tx-md5)"
	RATE[$l-tx]=$(mibs "${sent#* }")
	wait_console "$g" 'PVIO-DOMU (rx-listening|FAIL)' 60 >/dev/null
	check "$l: dom0 pings the guest" eval "busybox ping -c 3 -W 2 $guest_ip | grep -q '3 packets received'"
	dd if=/dev/urandom of=/srv/net-tx.bin bs=1M count=8 status=none
	# The guest's listener may take a moment to bind: a refused connection sent nothing, and
	# fails at once; a transfer that fails later is not retried.
	for ((i = 0; i < 10; i++)); do
		SECONDS=0
		secs=$(timed timeout 90 busybox nc $guest_ip 5002 </srv/net-tx.bin) && break
		[[ $SECONDS -lt 5 ]] || break
		sleep 0.5
	done
	check "$l: dom0 to guest: 8 MiB sent" eval "[[ -n '$secs' ]]"
	wait_console "$g" 'PVIO-DOMU (rx-md5|FAIL)' 120 >/dev/null
	check "$l: dom0 to guest: the data arrived intact" \
		eq "$(domu_value "$g" rx-md5)" "$(md5sum </srv/net-tx.bin | cut -d' ' -f1) 8388608"
	RATE[$l-rx]=$(mibs "$secs")
	grep -a 'PVIO-DOMU \(eth0-\|netfront-\)' "$(console_log "$g")" | tr -d '\r'
	echo "$l: guest to dom0 ${RATE[$l-tx]} MiB/s, dom0 to guest ${RATE[$l-rx]} MiB/s"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

# figure: lines, back-end or front-end pvio against the kernel's pair.
print_net_figures() { # title pvio-label kernel-label
	echo "figure: $1"
	echo "figure: one 8 MiB TCP transfer each way (busybox nc, rate at the sender), MiB/s;"
	echo "figure: dom0 and a 2-vCPU PV domU on bridge xenbr0; Xen nested in QEMU/TCG"
	printf 'figure: %-15s %12s %12s %7s\n' "" "$2" "$3" ratio
	printf 'figure: %-15s %12s %12s %7s\n' "guest to dom0" "${RATE[$2-tx]}" "${RATE[$3-tx]}" \
		"$(ratio "${RATE[$2-tx]}" "${RATE[$3-tx]}")"
	printf 'figure: %-15s %12s %12s %7s\n' "dom0 to guest" "${RATE[$2-rx]}" "${RATE[$3-rx]}" \
		"$(ratio "${RATE[$2-rx]}" "${RATE[$3-rx]}")"
}
