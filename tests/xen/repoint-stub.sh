#!/bin/bash
# pvio-xen-repoint against stand-ins for xl and xenstore-read (make check; the real thing is
# xen/driver-domain in make check-xen): a guest "g" with four disks in its stored config, three
# given to pvio-dd (now domain 7): xvda still on the old domain 5 (re-pointed, same spec),
# xvdb already on 7 (left alone), xvdc on 5 with readwrite left out (re-pointed read-only);
# xvdd from dom0 (left alone). And four vifs: vif 0 (no devid in the config: its index) on the
# old domain with a rate and two addresses (re-pointed at devid 0, same spec), vif 1 already on
# 7, vif 2 from dom0 (both left alone), vif 5 given to pvio-dd but with no front-end left
# (attached again, nothing to detach). Then an attach that fails once (tried again after a
# forced detach), one that always fails (one line on stderr naming each device, exit 1), and
# a guest whose front-end never connects the new device (the same).
set -uo pipefail
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
prog=${PVIO_SRCDIR:?}/driverdomain/pvio-xen-repoint
fails=0

cat >"$t/xl" <<'EOF'
#!/bin/bash
echo "xl $*" >>"$STUB_LOG"
# xl network-attach takes one key=value a word: say how many words it got.
[[ $1 == network-attach ]] && echo "$# words" >>"$STUB_LOG.words"
case $1 in
domid) case $2 in g) echo 3 ;; pvio-dd) echo 7 ;; *) exit 1 ;; esac ;;
list) cat "$STUB_JSON" ;;
block-detach | network-detach) ;;
block-attach | network-attach)
	[[ $(grep -c "$1" "$STUB_LOG") -le $STUB_ATTACH_FAILS ]] || exit 0
	echo "libxl: error: unable to add device"
	exit 1
	;;
esac
EOF
cat >"$t/xenstore-read" <<'EOF'
#!/bin/bash
case $1 in
/local/domain/3/device/vbd/51728/backend-id) echo 7 ;;
/local/domain/3/device/vbd/*/backend-id) echo 5 ;;
/local/domain/3/device/vbd/*/state) echo "${STUB_STATE:-4}" ;;
/local/domain/3/device/vif/1/backend-id) echo 7 ;;
/local/domain/3/device/vif/[02]/backend-id) echo 5 ;;
/local/domain/3/device/vif/*/state) echo "${STUB_STATE:-4}" ;;
*) exit 1 ;;
esac
EOF
chmod +x "$t/xl" "$t/xenstore-read"
# As xl list -l prints a domain's stored config (libxl leaves fields at their default out).
cat >"$t/config.json" <<'EOF'
[
    {
        "domid": 3,
        "config": {
            "c_info": {
                "type": "pv",
                "name": "g"
            },
            "disks": [
                {
                    "backend_domid": 5,
                    "backend_domname": "pvio-dd",
                    "pdev_path": "/srv/disk.img",
                    "vdev": "xvda",
                    "backend": "phy",
                    "format": "raw",
                    "readwrite": 1
                },
                {
                    "backend_domid": 7,
                    "backend_domname": "pvio-dd",
                    "pdev_path": "/srv/b.img",
                    "vdev": "xvdb",
                    "backend": "phy",
                    "readwrite": 1
                },
                {
                    "backend_domid": 5,
                    "backend_domname": "pvio-dd",
                    "pdev_path": "/srv/c.img",
                    "vdev": "xvdc",
                    "format": "raw"
                },
                {
                    "pdev_path": "/dev/loop0",
                    "vdev": "xvdd",
                    "backend": "phy",
                    "readwrite": 1
                }
            ],
            "nics": [
                {
                    "backend_domid": 5,
                    "backend_domname": "pvio-dd",
                    "mac": "00:16:3e:00:00:01",
                    "ip": "10.0.0.2 10.0.0.3",
                    "bridge": "xenbr0",
                    "script": "vif-pvio",
                    "rate_bytes_per_interval": 50000,
                    "rate_interval_usecs": 50000
                },
                {
                    "backend_domid": 7,
                    "backend_domname": "pvio-dd",
                    "devid": 1,
                    "mac": "00:16:3e:00:00:02"
                },
                {
                    "devid": 2,
                    "mac": "00:16:3e:00:00:03",
                    "bridge": "xenbr0"
                },
                {
                    "backend_domname": "pvio-dd",
                    "devid": 5,
                    "mac": "00:16:3e:00:00:04",
                    "bridge": "br1"
                }
            ]
        }
    }
]
EOF

run() { # attach-failures: the helper's exit status; its output in $t/out, $t/err, xl's calls in $t/log
	: >"$t/log"
	: >"$t/log.words"
	STUB_LOG=$t/log STUB_JSON=$t/config.json STUB_ATTACH_FAILS=$1 PATH="$t:$PATH" \
		timeout 60 bash "$prog" g pvio-dd >"$t/out" 2>"$t/err"
}

expect() { # what file wanted-content
	if [[ $(cat "$2") != "$3" ]]; then
		echo "FAIL: $1: got"
		sed 's/^/    /' "$2"
		echo "  wanted"
		sed 's/^/    /' <<<"$3"
		fails=$((fails + 1))
	else
		echo "ok: $1"
	fi
}

a="backend=pvio-dd, vdev=xvda, backendtype=phy, format=raw, access=rw, target=/srv/disk.img"
c="backend=pvio-dd, vdev=xvdc, format=raw, access=ro, target=/srv/c.img"
v0="backend=pvio-dd devid=0 mac=00:16:3e:00:00:01 bridge=xenbr0 script=vif-pvio ip=10.0.0.2 10.0.0.3 rate=1000000B/s@50000us"
v5="backend=pvio-dd devid=5 mac=00:16:3e:00:00:04 bridge=br1"
run 0
expect "exit 0 when every device was done" <(echo $?) 0
expect "the old domain's disks and vifs re-pointed at the same vdev or devid with the same spec" \
	"$t/log" "xl domid g
xl domid pvio-dd
xl list -l g
xl list -l g
xl block-detach -f g xvda
xl block-attach g $a
xl block-detach -f g xvdc
xl block-attach g $c
xl network-detach g 0
xl network-attach g $v0
xl network-attach g $v5"
expect "xl network-attach given one word per key (the guest, then 7 and 4 keys)" "$t/log.words" \
	"9 words
6 words"
expect "one line per device" "$t/out" "pvio-xen-repoint: g: xvda: now served by pvio-dd (domain 7, was 5)
pvio-xen-repoint: g: xvdb: already served by pvio-dd (domain 7)
pvio-xen-repoint: g: xvdc: now served by pvio-dd (domain 7, was 5)
pvio-xen-repoint: g: vif 0: now served by pvio-dd (domain 7, was 5)
pvio-xen-repoint: g: vif 1: already served by pvio-dd (domain 7)
pvio-xen-repoint: g: vif 5: now served by pvio-dd (domain 7, was none)"
expect "nothing on stderr" "$t/err" ""

run 1
expect "an attach libxl gave up on: exit 0 after the second try" <(echo $?) 0
expect "detached again, attached again" <(grep -c 'xvda' "$t/log") 4
expect "a vif detached again, attached again" <(grep -c 'network-.*g 0$\|devid=0 ' "$t/log") 4

run 9
expect "an attach that always fails: exit 1" <(echo $?) 1
expect "one line per failed device on stderr" "$t/err" \
	"pvio-xen-repoint: g: xvda: attached 2 times, not connected: libxl: error: unable to add device
pvio-xen-repoint: g: xvdc: attached 2 times, not connected: libxl: error: unable to add device
pvio-xen-repoint: g: vif 0: attached 2 times, not connected: libxl: error: unable to add device
pvio-xen-repoint: g: vif 5: attached 2 times, not connected: libxl: error: unable to add device"

# A guest that never connects the new device (its kernel still held the old one).
STUB_STATE=1 PVIO_REPOINT_CONNECT=1 run 0
expect "a front-end that stays Initialising: exit 1" <(echo $?) 1
expect "named on stderr" <(grep -c "xvda: attached 2 times, not connected: the guest's front-end stayed in state 1" "$t/err") 1

STUB_LOG=$t/log PATH="$t:$PATH" timeout 10 bash "$prog" g >/dev/null 2>&1
expect "usage error: exit 2" <(echo $?) 2
STUB_LOG=$t/log PATH="$t:$PATH" timeout 10 bash "$prog" g other-dd >/dev/null 2>"$t/err"
expect "no such driver domain: exit 1" <(echo $?) 1
[[ $fails -eq 0 ]]
