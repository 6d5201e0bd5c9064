#!/bin/bash
# make-captures.sh -- real IKEv1/ESP captures from two strongSwan daemons in network namespaces.
#
#   captures/lab/make-captures.sh            # every scenario in SCENARIOS below
#   captures/lab/make-captures.sh NAME...    # only these
#   captures/lab/make-captures.sh --list     # scenario names
#
# For each scenario: build namespaces (west 192.0.2.1 <-> east 192.0.2.2 over a veth pair, inner
# 10.1.0.0/24 and 10.2.0.0/24 on lo), write strongswan.conf/swanctl.conf from templates/, start one
# charon per namespace (user-space ESP via kernel-libipsec, UDP-encapsulated), capture the veth with
# tcpdump, drive the scenario with swanctl and bounded pings, stop everything by PID, then write
#   captures/<name>.pcap, keys/<name>.{west,east}.log, keys/<name>.toml
# and check the keys with tshark (captures/lab/verify_tshark.py).  Needs root, strongSwan 5.9.x with
# kernel-libipsec, tcpdump, tshark, python3.  Addresses stay inside the documentation ranges; no
# namespace has a default route.
set -u -o pipefail

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
PROJECT_DIR=$(cd "$LAB_DIR/../.." && pwd)
CAPTURES_OUT=$PROJECT_DIR/captures
KEYS_OUT=$PROJECT_DIR/keys
CHARON=${CHARON:-/usr/lib/ipsec/charon}
PYTHON=${PYTHON:-python3}
NS_PREFIX=${LAB_NS_PREFIX:-ikelab}
WORKROOT=$(mktemp -d /tmp/ikelab.XXXXXX)
# charon log levels for the enc/net groups (ike 4, chd 4, mgr 2, cfg 2, knl 2, esp 2 are fixed).
# enc 3 dumps every encrypted IKE message's ciphertext and plaintext ("encrypted =>", "plain =>").
LOG_ENC=${LAB_LOG_ENC:-3}
LOG_NET=${LAB_LOG_NET:-2}
PIDS=()            # every process we start, stopped by PID on exit
NAMESPACES=()      # every namespace we create, deleted on exit

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${NAME:-lab}" "$*" >&2; }

# ---------------------------------------------------------------- cleanup (always runs)
stop_pid() {   # stop_pid PID [SIGNAL]: signal one process we started and wait up to 5 s for it
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -s "$sig" "$pid" 2>/dev/null
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -s KILL "$pid" 2>/dev/null
}
teardown() {
    local pid ns
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
    NAMESPACES=()
}
on_exit() { teardown; [[ -n ${KEEP_WORK-} ]] && echo "work dir kept: $WORKROOT" >&2 || rm -rf "$WORKROOT"; }
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- network
ns() { echo "$NS_PREFIX-$1"; }
nsx() { local side=$1; shift; ip netns exec "$(ns "$side")" "$@"; }

make_ns() {   # make_ns SIDE: namespace with lo up, IPv6 off (no RS/ND noise in the capture)
    ip netns add "$(ns "$1")" || exit 1
    NAMESPACES+=("$(ns "$1")")
    nsx "$1" ip link set lo up
    nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

build_network() {
    # Two peers on one link (192.0.2.0/24).  With TOPOLOGY=nat a third namespace "nat" routes
    # between west (198.51.100.0/24) and east (203.0.113.0/24) and masquerades west's traffic.
    make_ns west; make_ns east
    if [[ ${TOPOLOGY:-direct} == nat ]]; then
        make_ns nat
        ip link add west0 netns "$(ns west)" type veth peer name nat0 netns "$(ns nat)"
        ip link add east0 netns "$(ns east)" type veth peer name nat1 netns "$(ns nat)"
        nsx west ip addr add 198.51.100.1/24 dev west0
        nsx nat ip addr add 198.51.100.254/24 dev nat0
        nsx nat ip addr add 203.0.113.254/24 dev nat1
        nsx east ip addr add 203.0.113.2/24 dev east0
        nsx nat ip link set nat0 up; nsx nat ip link set nat1 up
        nsx nat sysctl -qw net.ipv4.ip_forward=1
        # east needs no route to west: after NAT it only ever sees 203.0.113.254
        setup_masquerade || exit 1
    else
        ip link add west0 netns "$(ns west)" type veth peer name east0 netns "$(ns east)"
        nsx west ip addr add "$WEST_ADDR/24" dev west0
        nsx east ip addr add "$EAST_ADDR/24" dev east0
    fi
    nsx west ip link set west0 up; nsx east ip link set east0 up
    [[ ${TOPOLOGY:-direct} == nat ]] && nsx west ip route add 203.0.113.0/24 via 198.51.100.254
    nsx west ip addr add 10.1.0.1/32 dev lo
    nsx east ip addr add 10.2.0.1/32 dev lo
}

setup_masquerade() {
    if command -v nft >/dev/null; then
        # a NAT that also rewrites UDP ports, as home routers do (500 -> 4xxxx, 4500 -> 4xxxx)
        nsx nat nft -f - <<NFT
table ip lab {
    chain post {
        type nat hook postrouting priority 100;
        oifname "nat1" meta l4proto udp masquerade to :40000-40999
        oifname "nat1" masquerade
    }
}
NFT
    else
        log "nft not installed: NAT scenario needs nftables"; return 1
    fi
}

# ---------------------------------------------------------------- configuration
render() {   # render TEMPLATE OUT SIDE: replace @VAR@ with the scenario's values
    local template=$1 out=$2 side=$3 local_addr remote_addr local_id remote_id local_ts remote_ts
    if [[ $side == west ]]; then
        local_addr=$WEST_ADDR; remote_addr=$EAST_ADDR; local_id=$WEST_ID; remote_id=$EAST_ID
        local_ts=$WEST_TS; remote_ts=$EAST_TS
    else
        local_addr=$EAST_ADDR; remote_addr=${EAST_SEES_WEST:-$WEST_ADDR}; local_id=$EAST_ID; remote_id=$WEST_ID
        local_ts=$EAST_TS; remote_ts=$WEST_TS
    fi
    local ike_props esp_props psk
    ike_props=$(side_value IKE_PROPOSALS "$side"); esp_props=$(side_value ESP_PROPOSALS "$side")
    psk=$(side_value PSK "$side")
    local child_rekey_time; child_rekey_time=$(side_value CHILD_REKEY_TIME "$side")
    [[ $side == east ]] && local_ts=$(side_value EAST_TS_OVERRIDE east "$local_ts")
    sed -e "s|@NAME@|$NAME|g" -e "s|@SIDE@|$side|g" -e "s|@WORKDIR@|$WORK|g" \
        -e "s|@LOCAL_ADDR@|$local_addr|g" -e "s|@REMOTE_ADDR@|$remote_addr|g" \
        -e "s|@LOCAL_ID@|$local_id|g" -e "s|@REMOTE_ID@|$remote_id|g" \
        -e "s|@LOCAL_TS@|$local_ts|g" -e "s|@REMOTE_TS@|$remote_ts|g" \
        -e "s|@IKE_PROPOSALS@|$ike_props|g" -e "s|@ESP_PROPOSALS@|$esp_props|g" -e "s|@PSK@|$psk|g" \
        -e "s|@AGGRESSIVE@|$AGGRESSIVE|g" -e "s|@ENCAP@|$ENCAP|g" -e "s|@MODE@|$MODE|g" \
        -e "s|@IKE_REKEY_TIME@|$IKE_REKEY_TIME|g" -e "s|@CHILD_REKEY_TIME@|$child_rekey_time|g" \
        -e "s|@CHILD_LIFE_TIME@|$CHILD_LIFE_TIME|g" -e "s|@DPD_DELAY@|$DPD_DELAY|g" \
        -e "s|@DPD_TIMEOUT@|$DPD_TIMEOUT|g" -e "s|@DPD_ACTION@|$DPD_ACTION|g" \
        -e "s|@RETRANSMIT_TRIES@|$RETRANSMIT_TRIES|g" -e "s|@LOG_ENC@|$LOG_ENC|g" -e "s|@LOG_NET@|$LOG_NET|g" -e "s|@AGGRESSIVE_PSK@|$AGGRESSIVE|g" \
        -e "s|@EXTRA_PLUGINS@|${EXTRA_PLUGINS:+ $EXTRA_PLUGINS}|g" -e "s|@XAUTH_USER@|$XAUTH_USER|g" \
        -e "s|@XAUTH_PASSWORD@|$XAUTH_PASSWORD|g" -e "s|@VIP_POOL@|$VIP_POOL|g" -e "s|@VIP_DNS@|$VIP_DNS|g" \
        "$template" > "$out"
}

side_value() {   # side_value VAR SIDE [DEFAULT]: $VAR_WEST / $VAR_EAST if set, else $VAR (or DEFAULT)
    local var=$1 side=${2^^} default=${3-}
    local specific="${var}_${side}"
    if [[ -n ${!specific-} ]]; then echo "${!specific}"; elif [[ -n ${!var-} ]]; then echo "${!var}"; else echo "$default"; fi
}

# ---------------------------------------------------------------- daemons
start_charon() {   # start_charon SIDE: charon in the side's namespace, private /run (pid file)
    local side=$1 i
    render "$LAB_DIR/templates/strongswan.conf.in" "$WORK/$side.strongswan.conf" "$side"
    render "$LAB_DIR/templates/${SWANCTL_TEMPLATE//@SIDE@/$side}" "$WORK/$side.swanctl.conf" "$side"
    # ip netns exec gives the command its own mount namespace; a tmpfs on /run there keeps
    # each charon's pid file (/run/charon.pid) private.
    ip netns exec "$(ns "$side")" env STRONGSWAN_CONF="$WORK/$side.strongswan.conf" \
        sh -c 'mount -t tmpfs -o size=1m ikelab-run /run && exec "$0"' "$CHARON" \
        > "$WORK/$side.stdout" 2>&1 &
    PIDS+=("$!"); eval "CHARON_PID_${side^^}=$!"; disown "$!"
    for i in $(seq 100); do [[ -S $WORK/$side.vici ]] && break; sleep 0.1; done
    [[ -S $WORK/$side.vici ]] || { log "charon $side did not come up"; cat "$WORK/$side.stdout" >&2; return 1; }
    [[ $SWANCTL_TEMPLATE == swanctl.pubkey.conf.in ]] && install_pki
    swanctl_at "$side" --load-all --file "$WORK/$side.swanctl.conf" >> "$WORK/$side.swanctl.out" 2>&1
}
install_pki() {   # the lab PKI's RSA certificates and keys where swanctl --file looks for them ($WORK/x509 ...)
    local pki=$KEYS_OUT/ikev2-pki side
    [[ -f $pki/ca-rsa.crt ]] || { log "no lab PKI in $pki (make-ikev2-captures.sh makes it)"; return 1; }
    mkdir -p "$WORK/x509" "$WORK/x509ca" "$WORK/private"
    cp "$pki/ca-rsa.crt" "$WORK/x509ca/"
    for side in west east; do cp "$pki/$side-rsa.crt" "$WORK/x509/"; cp "$pki/$side-rsa.key" "$WORK/private/"; done
}
swanctl_at() {   # swanctl_at SIDE --command [ARGS]: swanctl against that side's vici socket
    local side=$1 command=$2; shift 2
    "${SWANCTL:-swanctl}" "$command" --uri "unix://$WORK/$side.vici" "$@" 2>&1 | { grep -v "plugin '" || true; }
}

stop_charon() {   # stop_charon SIDE [SIGNAL]
    local var="CHARON_PID_${1^^}"
    stop_pid "${!var}" "${2:-TERM}"
}

start_capture() {
    local pcap=$WORK/capture.pcap i
    ip netns exec "$(ns "$CAPTURE_SIDE")" tcpdump -i "$CAPTURE_IF" -s 0 -U -n -w "$pcap" ip \
        > "$WORK/tcpdump.out" 2>&1 &
    PIDS+=("$!"); TCPDUMP_PID=$!; disown "$!"
    for i in $(seq 50); do grep -q listening "$WORK/tcpdump.out" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
}
stop_capture() { sleep 0.5; stop_pid "$TCPDUMP_PID" INT; }

# ---------------------------------------------------------------- traffic and actions
initiate() { swanctl_at west --initiate --child net --timeout "${1:-15}" >> "$WORK/west.swanctl.out"; }
ping_through() {   # ping_through COUNT [INTERVAL]: bounded pings west -> east through the tunnel
    nsx west ping -n -c "$1" -i "${2:-0.2}" -W 1 -I 10.1.0.1 10.2.0.1 >> "$WORK/ping.out" 2>&1 || true
}
ping_back() { nsx east ping -n -c "$1" -i "${2:-0.2}" -W 1 -I 10.2.0.1 10.1.0.1 >> "$WORK/ping.out" 2>&1 || true; }
terminate_all() {   # delete the child SA, then the IKE SA (IKEv1 informational deletes)
    swanctl_at west --terminate --child net --timeout 5 >> "$WORK/west.swanctl.out"
    sleep 1
    swanctl_at west --terminate --ike lab --timeout 5 >> "$WORK/west.swanctl.out"
    sleep 1
}

# ---------------------------------------------------------------- scenarios
defaults() {
    WEST_ADDR=192.0.2.1; EAST_ADDR=192.0.2.2; WEST_ID=192.0.2.1; EAST_ID=192.0.2.2
    WEST_TS=10.1.0.0/24; EAST_TS=10.2.0.0/24
    PSK="ikedecode-lab-psk-$NAME"
    IKE_PROPOSALS=aes128-sha1-modp2048; ESP_PROPOSALS=aes128-sha1
    AGGRESSIVE=no; ENCAP=yes; MODE=tunnel
    IKE_REKEY_TIME=4h; CHILD_REKEY_TIME=50m; CHILD_LIFE_TIME=60m
    DPD_DELAY=0s; DPD_TIMEOUT=0s; DPD_ACTION=clear; RETRANSMIT_TRIES=3
    TOPOLOGY=direct; CAPTURE_SIDE=west; CAPTURE_IF=west0
    DESCRIPTION=""
    unset IKE_PROPOSALS_WEST IKE_PROPOSALS_EAST ESP_PROPOSALS_WEST ESP_PROPOSALS_EAST PSK_WEST PSK_EAST
    unset EAST_TS_OVERRIDE_EAST EAST_SEES_WEST CHILD_REKEY_TIME_WEST CHILD_REKEY_TIME_EAST
    START_EAST=yes; START_WEST=yes
    CAPTURE_VIEW=west   # whose log gives the ESP SAs' addresses (the side of the link we capture on)
    # XAuth / mode-config scenarios only: swanctl template per side (@SIDE@ = west|east), extra plugins
    SWANCTL_TEMPLATE=swanctl.conf.in; EXTRA_PLUGINS=""
    XAUTH_USER=""; XAUTH_PASSWORD=""; VIP_POOL=""; VIP_DNS=""; VIP=""
}
standard_run() { initiate; sleep 0.5; ping_through 5; ping_back 3; sleep 0.5; terminate_all; }

# Each scenario_<name> sets variables over defaults() and defines run().  Keep them short (< 1 min).
scenario_mm-3des-md5-modp1024() {
    DESCRIPTION="A1/B: main mode PSK 3DES/MD5/modp1024 + quick mode ESP 3DES/HMAC-MD5-96, pings, deletes"
    IKE_PROPOSALS=3des-md5-modp1024; ESP_PROPOSALS=3des-md5
    run() { standard_run; }
}
scenario_mm-aes128-sha1-modp2048() {
    DESCRIPTION="A2/B: main mode PSK AES-128/SHA1/modp2048 + ESP AES-128-CBC/HMAC-SHA1-96, pings, deletes"
    IKE_PROPOSALS=aes128-sha1-modp2048; ESP_PROPOSALS=aes128-sha1
    run() { standard_run; }
}
scenario_mm-aes256-sha256-modp2048() {
    DESCRIPTION="A3/B: main mode PSK AES-256/SHA2-256/modp2048 + ESP AES-256-CBC/HMAC-SHA2-256-128, pings, deletes"
    IKE_PROPOSALS=aes256-sha256-modp2048; ESP_PROPOSALS=aes256-sha256
    run() { standard_run; }
}
scenario_am-aes128-sha1-modp2048() {
    DESCRIPTION="A4: aggressive mode PSK with FQDN IDs, AES-128/SHA1/modp2048 + ESP AES-128/SHA1, pings, deletes"
    AGGRESSIVE=yes; WEST_ID=west.lab.example; EAST_ID=east.lab.example
    run() { standard_run; }
}
scenario_mm-rsa-sig() {
    DESCRIPTION="main mode with RSA signatures (lab PKI keys/ikev2-pki: west-rsa/east-rsa under ca-rsa, IDs west.lab.example / east.lab.example, CERT sent always, CERTREQ), AES-128/SHA2-256/modp2048 + ESP AES-128/SHA2-256, pings, deletes"
    SWANCTL_TEMPLATE=swanctl.pubkey.conf.in; WEST_ID=west.lab.example; EAST_ID=east.lab.example
    IKE_PROPOSALS=aes128-sha256-modp2048; ESP_PROPOSALS=aes128-sha256
    run() { standard_run; }
}
scenario_am-rsa-sig() {
    DESCRIPTION="aggressive mode with RSA signatures (lab PKI as mm-rsa-sig; AM2 carries CERT and SIG_R in clear, AM3 SIG_I encrypted), AES-128/SHA2-256/modp2048 + ESP AES-128/SHA2-256, pings, deletes"
    SWANCTL_TEMPLATE=swanctl.pubkey.conf.in; WEST_ID=west.lab.example; EAST_ID=east.lab.example
    IKE_PROPOSALS=aes128-sha256-modp2048; ESP_PROPOSALS=aes128-sha256; AGGRESSIVE=yes
    run() { standard_run; }
}
scenario_qm-pfs-modp2048() {
    DESCRIPTION="A5/B: main mode AES-128/SHA1/modp2048 + quick mode with PFS (modp2048 KE), ESP AES-128/SHA1"
    ESP_PROPOSALS=aes128-sha1-modp2048
    run() { standard_run; }
}
scenario_mm-delete() {
    DESCRIPTION="A6: main mode + quick mode, pings, then swanctl --terminate of the child SA (ESP delete) and of the IKE SA (ISAKMP delete), each a separate informational"
    run() { initiate; sleep 0.5; ping_through 3; sleep 1; terminate_all; sleep 1; }
}
scenario_esp-aes128gcm16() {
    DESCRIPTION="B: ESP AES-128-GCM-16 (quick mode proposal aes128gcm16), main mode AES-128/SHA1/modp2048"
    ESP_PROPOSALS=aes128gcm16
    run() { standard_run; }
}
scenario_qm-transport-refused() {
    DESCRIPTION="B: quick mode negotiating transport mode (UDP-Encapsulated-Transport, host addresses as IDs); strongSwan's libipsec supports tunnel mode only, so installing the SAs fails, the initiator deletes them again and the pings go in clear: no transport-mode ESP on the wire"
    MODE=transport; WEST_TS=dynamic; EAST_TS=dynamic
    run() { initiate; sleep 0.5
        nsx west ping -n -c 5 -i 0.2 -W 1 192.0.2.2 >> "$WORK/ping.out" 2>&1 || true
        sleep 0.5; terminate_all; }
}
scenario_esp-rekey-delete() {
    DESCRIPTION="B: child rekey by the initiator (west rekey_time 20s, east 28s, life_time 30s) with pings continuing across the rekey: a second quick mode at 20 s, ESP moves to the new SPIs, the old SA expires at 30 s and west sends its delete"
    CHILD_REKEY_TIME_WEST=20s; CHILD_REKEY_TIME_EAST=28s; CHILD_LIFE_TIME=30s
    run() { initiate; sleep 0.5; ping_through 66 0.5; sleep 0.5; terminate_all; }
}
scenario_esp-rekey-simultaneous() {
    DESCRIPTION="B (edge case): both peers rekey the child at the same moment (rekey_time 20s on both, life_time 30s, no jitter): two crossing quick modes at 20 s give duplicate CHILD_SAs, ESP uses one SA per direction from different quick modes; old SA deleted at 30 s; at 40 s the peers rekey the surviving SAs again (3-4 more quick modes; the count varies between runs); then deletes of all"
    CHILD_REKEY_TIME=20s; CHILD_LIFE_TIME=30s
    run() { initiate; sleep 0.5; ping_through 80 0.5; sleep 0.5; terminate_all; }
}
scenario_case-3des-sha1-modp768() {
    DESCRIPTION="C: the seed's case-study proposal: IKE 3DES/SHA1/modp768 (group 1), PSK, lifetime 86400 s; ESP 3DES/HMAC-MD5-96, lifetime 3600 s"
    IKE_PROPOSALS=3des-sha1-modp768; ESP_PROPOSALS=3des-md5
    IKE_REKEY_TIME=86400s; CHILD_REKEY_TIME=3000s; CHILD_LIFE_TIME=3600s
    run() { standard_run; }
}

# ---- D: failures and oddities
scenario_fail-psk-mismatch() {
    DESCRIPTION="D: PSK mismatch: main mode reaches MM5, east cannot decrypt/verify it (different SKEYID), west retransmits MM5 and gives up"
    PSK_EAST="ikedecode-lab-psk-not-the-same"; RETRANSMIT_TRIES=2
    run() { initiate 20; sleep 1; }
}
scenario_fail-ike-proposal() {
    DESCRIPTION="D: phase-1 proposal mismatch: west offers AES-128/SHA1/modp2048, east accepts only AES-256/SHA2-256/modp2048; east answers MM1 with an unencrypted NO_PROPOSAL_CHOSEN informational"
    IKE_PROPOSALS_WEST=aes128-sha1-modp2048; IKE_PROPOSALS_EAST=aes256-sha256-modp2048; RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 1; }
}
scenario_fail-esp-proposal() {
    DESCRIPTION="D: phase-2 proposal mismatch: main mode succeeds, west's quick mode offers ESP AES-128/SHA1, east accepts only AES-256/SHA2-256: encrypted NO_PROPOSAL_CHOSEN informational"
    ESP_PROPOSALS_WEST=aes128-sha1; ESP_PROPOSALS_EAST=aes256-sha256; RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 1; terminate_all; }
}
scenario_fail-ts-mismatch() {
    DESCRIPTION="D: proxy-identity (traffic selector) mismatch: west proposes 10.1.0.0/24 === 10.2.0.0/24, east's local selector is 10.3.0.0/24: encrypted INVALID_ID_INFORMATION informational"
    EAST_TS_OVERRIDE_EAST=10.3.0.0/24; RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 1; terminate_all; }
}
scenario_fail-pfs-mismatch() {
    DESCRIPTION="D: PFS mismatch: west's quick mode asks for PFS (modp2048 KE), east is configured without PFS"
    ESP_PROPOSALS_WEST=aes128-sha1-modp2048; ESP_PROPOSALS_EAST=aes128-sha1; RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 0.5; ping_through 3; sleep 0.5; terminate_all; }
}
scenario_fail-unreachable() {
    DESCRIPTION="D: unreachable responder: no daemon on east; west sends MM1 and retransmits it (3 retransmissions, 2 s x 1.4^n), east's kernel answers each with ICMP port unreachable"
    START_EAST=no; RETRANSMIT_TRIES=3
    run() { initiate 20; sleep 1; }
}
scenario_dpd-timeout() {
    DESCRIPTION="D: DPD timeout: tunnel up with pings, then east's charon is killed (SIGKILL, by PID: no delete sent); west keeps sending ESP (answered by ICMP port unreachable), sends DPD R-U-THERE notifications every 2 s and after dpd_timeout 8 s declares the peer dead (dpd_action clear)"
    DPD_DELAY=2s; DPD_TIMEOUT=8s; DPD_ACTION=clear
    run() { initiate; sleep 0.5; ping_through 4; stop_charon east KILL; ping_through 24 0.5; sleep 2; }
}
scenario_nat-t() {
    DESCRIPTION="D: NAT between the peers: west 198.51.100.1 behind a masquerading router (nat namespace, UDP source ports mapped into 40000-40999) talking to east 203.0.113.2; captured on the router's outside link (east side), so the wire shows 203.0.113.254:4xxxx; NAT-D mismatch detected, IKE floats to 4500, ESP-in-UDP through the NAT"
    TOPOLOGY=nat; WEST_ADDR=198.51.100.1; EAST_ADDR=203.0.113.2; WEST_ID=198.51.100.1; EAST_ID=203.0.113.2
    EAST_SEES_WEST=%any; ENCAP=no; CAPTURE_SIDE=nat; CAPTURE_IF=nat1; CAPTURE_VIEW=east
    run() { standard_run; }
}
scenario_xauth-modecfg() {
    DESCRIPTION="E: IKEv1 main mode PSK (AES-128/SHA1/modp2048) + XAuth (user labuser, xauth-generic on east) + mode-config pull (west asks for a virtual IP, east assigns 10.3.0.1 from pool 10.3.0.0/28 and a DNS server): three transaction exchanges (XAuth REQUEST/REPLY, XAuth SET/ACK, mode-config REQUEST/REPLY, each with its own message ID), then quick mode 10.3.0.1/32 === 10.2.0.0/24, pings from the virtual IP and back, deletes"
    SWANCTL_TEMPLATE=swanctl.xauth-modecfg.@SIDE@.conf.in; EXTRA_PLUGINS=xauth-generic
    XAUTH_USER=labuser; XAUTH_PASSWORD="ikedecode-lab-xauth-password-$NAME"
    VIP_POOL=10.3.0.0/28; VIP_DNS=10.2.0.53; VIP=10.3.0.1
    WEST_TS=dynamic   # the initiator's selector is its virtual IP
    run() {
        initiate; sleep 0.5
        nsx west ping -n -c 5 -i 0.2 -W 1 -I "$VIP" 10.2.0.1 >> "$WORK/ping.out" 2>&1 || true
        nsx east ping -n -c 3 -i 0.2 -W 1 -I 10.2.0.1 "$VIP" >> "$WORK/ping.out" 2>&1 || true
        nsx west ip -brief addr >> "$WORK/ping.out" 2>&1 || true   # where libipsec put the virtual IP
        sleep 0.5; terminate_all
    }
}
scenario_ikescan-aggressive-pskcrack() {
    DESCRIPTION="D: ike-scan --aggressive --pskcrack probe (ID west@lab.example) of a strongSwan aggressive-mode PSK responder (3DES/SHA1/modp1024); ike-scan sends random KE values, which an OpenSSL 3 responder rejects about half the time with INVALID_KEY_INFORMATION, so the probe is retried (up to 8 times) until a handshake comes back (see runs/NAME/ike-scan.out for the tries); the psk-crack line is then cracked with a two-word dictionary"
    AGGRESSIVE=yes; WEST_ID=west@lab.example; EAST_ID=east.lab.example; IKE_PROPOSALS=3des-sha1-modp1024
    START_WEST=no
    run() {
        local try
        for try in 1 2 3 4 5 6 7 8; do
            nsx west ike-scan --aggressive --id=west@lab.example --pskcrack="$WORK/psk-crack.txt" -M \
                --retry=1 192.0.2.2 >> "$WORK/ike-scan.out" 2>&1
            [[ -s $WORK/psk-crack.txt ]] && break
            sleep 0.5
        done
        printf '%s\n' wrong-guess "$PSK" > "$WORK/words.txt"
        psk-crack -d "$WORK/words.txt" "$WORK/psk-crack.txt" > "$WORK/psk-crack.out" 2>&1 || true
        sleep 0.5
    }
}

# ---- F: libreswan's pluto against strongSwan (a real pluto key log for ikedecode --keylog)
libreswan_root() {   # echo the root of an unpacked libreswan (Debian's package conflicts with strongSwan's)
    if [[ -n ${LIBRESWAN_ROOT-} ]]; then echo "$LIBRESWAN_ROOT"; return 0; fi
    local root=$WORKROOT/libreswan deb
    if [[ ! -x $root/usr/libexec/ipsec/pluto ]]; then
        mkdir -p "$root/debs"; chmod 777 "$root/debs"
        # pluto's libraries that a strongSwan host lacks, and certutil for its NSS database
        (cd "$root/debs" && apt-get download libreswan libldns3 libevent-pthreads-2.1-7 libnss3-tools) \
            > "$WORK/apt-download.out" 2>&1 || { log "apt-get download failed"; return 1; }
        for deb in "$root"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
    fi
    echo "$root"
}
pluto_whack() {   # pluto_whack SIDE ARGS...: whack against that side's pluto
    local side=$1; shift
    nsx "$side" env LD_LIBRARY_PATH="$PLUTO_LIBS" "$PLUTO_ROOT/usr/libexec/ipsec/whack" \
        --ctlsocket "$WORK/$side.run/pluto.ctl" "$@"
}
start_pluto() {   # start_pluto SIDE: pluto in the side's namespace, debug "all crypt private" (logs secrets)
    local side=$1 local_addr remote_addr local_id remote_id local_ts remote_ts i
    PLUTO_ROOT=$(libreswan_root) || return 1
    PLUTO_LIBS=$PLUTO_ROOT/usr/lib/x86_64-linux-gnu
    if [[ $side == west ]]; then
        local_addr=$WEST_ADDR; remote_addr=$EAST_ADDR; local_id=$WEST_ID; remote_id=$EAST_ID
        local_ts=$WEST_TS; remote_ts=$EAST_TS
    else
        local_addr=$EAST_ADDR; remote_addr=$WEST_ADDR; local_id=$EAST_ID; remote_id=$WEST_ID
        local_ts=$EAST_TS; remote_ts=$WEST_TS
    fi
    mkdir -p "$WORK/$side.nss" "$WORK/$side.run"
    LD_LIBRARY_PATH=$PLUTO_LIBS "$PLUTO_ROOT/usr/bin/certutil" -N -d "sql:$WORK/$side.nss" --empty-password
    cat > "$WORK/$side.ipsec.conf" <<CONF
# ipsec.conf for the libreswan $side daemon of lab scenario $NAME (written by make-captures.sh)
config setup
	plutodebug="all crypt private"
	ikev1-policy=accept
	logfile=$WORK/$side.pluto.log
	logappend=no
	logtime=yes
conn lab
	ikev2=no
	authby=secret
	left=$local_addr
	leftid=$local_id
	leftsubnet=$local_ts
	right=$remote_addr
	rightid=$remote_id
	rightsubnet=$remote_ts
	ike=$PLUTO_IKE
	esp=$PLUTO_ESP
	pfs=no
	encapsulation=yes
	auto=add
CONF
    printf '%s %s : PSK "%s"\n' "$local_id" "$remote_id" "$(side_value PSK "$side")" > "$WORK/$side.ipsec.secrets"
    chmod 600 "$WORK/$side.ipsec.secrets"
    # pluto runs addconn from /usr/libexec/ipsec: bind the unpacked tree there, in this process's
    # own mount namespace (ip netns exec), so the host is untouched
    ip netns exec "$(ns "$side")" env LD_LIBRARY_PATH="$PLUTO_LIBS" \
        sh -c 'mount --bind "$0/usr/libexec" /usr/libexec && exec /usr/libexec/ipsec/pluto "$@"' "$PLUTO_ROOT" \
        --config "$WORK/$side.ipsec.conf" --nofork --rundir "$WORK/$side.run" --nssdir "$WORK/$side.nss" \
        --secretsfile "$WORK/$side.ipsec.secrets" > "$WORK/$side.pluto.stdout" 2>&1 &
    PIDS+=("$!"); eval "PLUTO_PID_${side^^}=$!"; disown "$!"
    for i in $(seq 50); do [[ -S $WORK/$side.run/pluto.ctl ]] && break; sleep 0.1; done
    [[ -S $WORK/$side.run/pluto.ctl ]] || { log "pluto $side did not come up"; cat "$WORK/$side.pluto.stdout" >&2; return 1; }
    for i in $(seq 30); do grep -q '"lab": added IKEv1 connection' "$WORK/$side.pluto.log" && return 0; sleep 0.1; done
    log "pluto $side did not load connection lab"; return 1
}
stop_pluto() {   # stop_pluto SIDE: whack --shutdown (pluto deletes its SAs), then by PID
    local var="PLUTO_PID_${1^^}"
    pluto_whack "$1" --shutdown >> "$WORK/$1.whack.out" 2>&1
    stop_pid "${!var}" TERM
}
scenario_libreswan-pluto() {
    DESCRIPTION="F: libreswan 4.10 pluto as west (initiator, plutodebug \"all crypt private\": its log holds the PSK and both directions' KEYMAT) against strongSwan east: main mode PSK AES-128/SHA1/modp2048, quick mode ESP AES-128/SHA1 without PFS; pluto cannot install the SAs (this kernel has no ESP: 'Protocol not supported'), so QM3 never comes: pluto retransmits QM1 and east QM2 until pluto's shutdown sends the ISAKMP delete; no ESP on the wire"
    START_WEST=no; RETRANSMIT_TRIES=2
    PLUTO_IKE="aes128-sha1;modp2048"; PLUTO_ESP="aes128-sha1"
    run() {
        start_pluto west || return 1
        pluto_whack west --name lab --initiate --asynchronous >> "$WORK/west.whack.out" 2>&1
        sleep 6
        stop_pluto west
        sleep 0.5
    }
}

SCENARIOS=(
    mm-3des-md5-modp1024 mm-aes128-sha1-modp2048 mm-aes256-sha256-modp2048 am-aes128-sha1-modp2048 mm-rsa-sig
    am-rsa-sig
    qm-pfs-modp2048 mm-delete esp-aes128gcm16 qm-transport-refused esp-rekey-delete
    case-3des-sha1-modp768 esp-rekey-simultaneous
    fail-psk-mismatch fail-ike-proposal fail-esp-proposal fail-ts-mismatch fail-pfs-mismatch fail-unreachable
    dpd-timeout nat-t ikescan-aggressive-pskcrack xauth-modecfg libreswan-pluto
)

# ---------------------------------------------------------------- one scenario
run_scenario() {
    NAME=$1
    declare -F "scenario_$NAME" >/dev/null || { log "unknown scenario"; return 1; }
    WORK=$WORKROOT/$NAME; mkdir -p "$WORK"; chmod 755 "$WORKROOT" "$WORK"
    RUN_RECORD=$LAB_DIR/runs/$NAME; rm -rf "$RUN_RECORD"; mkdir -p "$RUN_RECORD"
    defaults; "scenario_$NAME"
    log "$DESCRIPTION"
    build_network
    start_capture
    if [[ $START_EAST == yes ]]; then start_charon east || return 1; fi
    if [[ $START_WEST == yes ]]; then start_charon west || return 1; fi
    sleep 0.3
    run
    [[ $START_WEST == yes ]] && stop_charon west
    [[ $START_EAST == yes ]] && stop_charon east
    stop_capture
    teardown
    save_results
}

save_results() {
    local side f status=0 extract_args=()
    rm -f "$KEYS_OUT/$NAME".*.log "$KEYS_OUT/$NAME".*.log.gz "$KEYS_OUT/$NAME.toml"
    cp "$WORK/capture.pcap" "$CAPTURES_OUT/$NAME.pcap"
    for side in west east; do
        if [[ -f $WORK/$side.log ]]; then
            cp "$WORK/$side.log" "$KEYS_OUT/$NAME.$side.log"
            cp "$WORK/$side.swanctl.conf" "$RUN_RECORD/"
            extract_args+=("--$side-log" "$KEYS_OUT/$NAME.$side.log")
        fi
        if [[ -f $WORK/$side.pluto.log ]]; then   # libreswan: its log is for ikedecode --keylog
            cp "$WORK/$side.pluto.log" "$KEYS_OUT/$NAME.$side.pluto.log"
            cp "$WORK/$side.ipsec.conf" "$RUN_RECORD/"
        fi
    done
    for f in ping.out ike-scan.out psk-crack.txt psk-crack.out; do
        [[ -f $WORK/$f ]] && cp "$WORK/$f" "$RUN_RECORD/"
    done
    for f in "$KEYS_OUT/$NAME".*.log; do   # ~250 KB of text each; gzip makes them ~30 KB
        [[ -f $f ]] && gzip -9f "$f"
    done
    { echo "$DESCRIPTION"; echo "strongSwan: $("$CHARON" --version 2>&1 | tail -1)"; } > "$RUN_RECORD/scenario.txt"
    [[ ${#extract_args[@]} -gt 0 ]] || { log "no daemon logs"; return 1; }
    local psk_west psk_east
    psk_west=$(side_value PSK west); psk_east=$(side_value PSK east)
    [[ $SWANCTL_TEMPLATE == swanctl.pubkey.conf.in ]] && psk_west="" psk_east=""   # certificates, no PSK
    [[ $START_WEST == yes && -n $psk_west ]] && extract_args+=(--psk "$psk_west" --psk-peer "$EAST_ADDR")
    [[ $START_EAST == yes && -n $psk_east && ( $psk_east != "$psk_west" || $START_WEST != yes ) ]] \
        && extract_args+=(--psk "$psk_east" --psk-peer "$WEST_ID")
    "$PYTHON" "$LAB_DIR/extract_keys.py" --name "$NAME" --pcap "$CAPTURES_OUT/$NAME.pcap" \
        --mode "$MODE" --view "$CAPTURE_VIEW" "${extract_args[@]}" --out "$KEYS_OUT/$NAME.toml" \
        2> "$RUN_RECORD/extract.txt" || log "key extraction reported problems"
    cat "$RUN_RECORD/extract.txt" >&2
    "$PYTHON" "$LAB_DIR/verify_tshark.py" "$CAPTURES_OUT/$NAME.pcap" "$KEYS_OUT/$NAME.toml" \
        > "$RUN_RECORD/verify.md" || { status=1; log "tshark check FAILED (see $RUN_RECORD/verify.md)"; }
    log "done: $(stat -c %s "$CAPTURES_OUT/$NAME.pcap") bytes; $(tail -1 "$RUN_RECORD/verify.md")"
    return $status
}

main() {
    if [[ ${1-} == --list ]]; then printf '%s\n' "${SCENARIOS[@]}"; exit 0; fi
    [[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 1; }
    local names=("$@"); [[ ${#names[@]} == 0 ]] && names=("${SCENARIOS[@]}")
    local name status=0
    for name in "${names[@]}"; do
        run_scenario "$name" || { status=1; teardown; }
    done
    exit $status
}
# make-ikev2-captures.sh sources this file for its helpers; run main only when executed
[[ ${BASH_SOURCE[0]} == "$0" ]] && main "$@"
