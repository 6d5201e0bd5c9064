#!/bin/bash
# make-ikev2-captures.sh -- real IKEv2/ESP captures from two strongSwan daemons in network namespaces.
#
#   captures/lab/make-ikev2-captures.sh                  # every IKEv2 scenario (SCENARIOS below)
#   captures/lab/make-ikev2-captures.sh NAME...          # only these (with or without the ikev2- prefix)
#   captures/lab/make-ikev2-captures.sh --list
#   captures/lab/make-ikev2-captures.sh --prefix DIR NAME...   # a self-built strongSwan installed under
#                                                        # DIR (DIR/libexec/ipsec/charon, DIR/sbin/swanctl)
#   CHARON=/path/to/charon SWANCTL=/path/to/swanctl captures/lab/make-ikev2-captures.sh ...
#
# The sibling of make-captures.sh (IKEv1), whose helpers it sources: namespaces west 192.0.2.1 <->
# east 192.0.2.2 (or west 198.51.100.1 -> NAT router -> east 203.0.113.2), inner 10.1.0.0/24 and
# 10.2.0.0/24, one charon per namespace with kernel-libipsec (ESP in UDP 4500: encap = yes), tcpdump
# on the veth, scenarios driven with swanctl and bounded pings, everything stopped by PID and the
# namespaces deleted on exit.  Per scenario it writes
#   captures/ikev2-<name>.pcap, keys/ikev2-<name>.{west,east}.log.gz, keys/ikev2-<name>.toml,
#   captures/lab/runs/ikev2-<name>/ (configs, what happened, key check, tshark check)
# Certificates come from one lab PKI in keys/ikev2-pki/ (made with strongSwan's pki on first use).
set -u -o pipefail

IKEV2_LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=make-captures.sh
source "$IKEV2_LAB_DIR/make-captures.sh"     # helpers only; its main runs only when executed
PKI_DIR=$KEYS_OUT/ikev2-pki
NS_PREFIX=${LAB_NS_PREFIX:-ikev2lab}   # namespaces ikev2lab-west/-east/-nat (not the IKEv1 driver's ikelab-*)

# ---------------------------------------------------------------- configuration (IKEv2 templates)
render() {   # render TEMPLATE OUT SIDE: replace every @VAR@ with the scenario's value for SIDE
    local template=$1 out=$2 side=$3 other content var value
    [[ $side == west ]] && other=east || other=west
    LOCAL_ADDR=${side^^}_ADDR; LOCAL_ADDR=${!LOCAL_ADDR}
    LOCAL_ID=${side^^}_ID; LOCAL_ID=${!LOCAL_ID}
    REMOTE_ID=${other^^}_ID; REMOTE_ID=${!REMOTE_ID}
    LOCAL_TS=${side^^}_TS; LOCAL_TS=${!LOCAL_TS}
    REMOTE_TS=${other^^}_TS; REMOTE_TS=${!REMOTE_TS}
    if [[ $side == west ]]; then REMOTE_ADDR=$EAST_ADDR; else REMOTE_ADDR=${EAST_SEES_WEST:-$WEST_ADDR}; fi
    [[ $side == east ]] && LOCAL_TS=$(side_value EAST_TS_OVERRIDE east "$LOCAL_TS")
    SIDE=$side; WORKDIR=$WORK
    LOCAL_AUTH=$(side_value AUTH "$side"); REMOTE_AUTH=$(side_value AUTH "$other")
    [[ -n ${REMOTE_AUTH_AS_SEEN-} && $side == east ]] && REMOTE_AUTH=$REMOTE_AUTH_AS_SEEN
    LOCAL_AUTH_EXTRA=$(side_value LOCAL_EXTRA "$side"); REMOTE_AUTH_EXTRA=$(side_value REMOTE_EXTRA "$side")
    SECRETS=$(secrets_block "$side")
    content=$(<"$template")
    for var in $(grep -o '@[A-Z_0-9]*@' "$template" | sort -u | tr -d @); do
        value=$(side_value "$var" "$side")
        content=${content//@$var@/$value}
    done
    printf '%s\n' "$content" > "$out"
}

secrets_block() {   # the swanctl secrets { } body for SIDE
    local side=$1 other psk
    [[ $side == west ]] && other=east || other=west
    psk=$(side_value PSK "$side")
    if [[ $(side_value AUTH west) == psk || $(side_value AUTH east) == psk ]]; then
        printf '    ike-lab {\n        id-a = %s\n        id-b = %s\n        secret = "%s"\n    }\n' \
            "$LOCAL_ID" "$REMOTE_ID" "$psk"
    fi
    if [[ -n $(side_value KEY "$side") ]]; then
        printf '    private-lab {\n        file = %s\n    }\n' "$(side_value KEY "$side")"
    fi
    if [[ -n ${EAP_USER-} ]]; then
        printf '    eap-lab {\n        id = %s\n        secret = "%s"\n    }\n' "$EAP_USER" "$EAP_PASSWORD"
    fi
}

make_pki() {   # the lab PKI (RSA and ECDSA CAs, peer certificates), kept in keys/ikev2-pki/
    [[ -f $PKI_DIR/east-rsa4096.crt ]] && return 0
    command -v pki >/dev/null || { log "pki (strongswan-pki) not installed"; return 1; }
    mkdir -p "$PKI_DIR"
    local kind type size peer dn="C=XX, O=ikedecode lab"
    for kind in rsa:rsa:2048 ecdsa:ecdsa:256; do   # an RSA-2048 CA keeps an RSA-2048 IKE_AUTH < 1500 bytes
        IFS=: read -r kind type size <<<"$kind"
        pki --gen --type "$type" --size "$size" --outform pem > "$PKI_DIR/ca-$kind.key"
        pki --self --ca --lifetime 7300 --in "$PKI_DIR/ca-$kind.key" --type "$type" \
            --dn "$dn, CN=ikedecode lab ${kind^^} CA" --outform pem > "$PKI_DIR/ca-$kind.crt"
    done
    for peer in west east; do
        for kind in rsa:rsa:2048:rsa ecdsa:ecdsa:256:ecdsa rsa4096:rsa:4096:rsa; do
            local name ca; IFS=: read -r name type size ca <<<"$kind"
            pki --gen --type "$type" --size "$size" --outform pem > "$PKI_DIR/$peer-$name.key"
            pki --pub --in "$PKI_DIR/$peer-$name.key" --type "$type" \
                | pki --issue --lifetime 7300 --cacert "$PKI_DIR/ca-$ca.crt" --cakey "$PKI_DIR/ca-$ca.key" \
                    --dn "$dn, CN=$peer.lab.example" --san "$peer.lab.example" --outform pem \
                > "$PKI_DIR/$peer-$name.crt"
        done
    done
    chmod 644 "$PKI_DIR"/*
}

start_charon() {   # start_charon SIDE: as make-captures.sh, with a per-side swanctl directory (x509/ ...)
    local side=$1 i c dir=$WORK/$1.swanctl
    mkdir -p "$dir/x509" "$dir/x509ca" "$dir/private"
    render "$IKEV2_LAB_DIR/templates/${STRONGSWAN_V2_TEMPLATE:-strongswan.ikev2.conf.in}" "$WORK/$side.strongswan.conf" "$side"
    render "$IKEV2_LAB_DIR/templates/${SWANCTL_V2_TEMPLATE:-swanctl.ikev2.conf.in}" "$dir/swanctl.conf" "$side"
    cp "$dir/swanctl.conf" "$WORK/$side.swanctl.conf"
    local cert key ca
    cert=$(side_value CERT "$side"); key=$(side_value KEY "$side"); ca=$(side_value CA "$side")
    [[ -n $cert ]] && cp "$PKI_DIR/$cert" "$dir/x509/"
    [[ -n $key ]] && cp "$PKI_DIR/$key" "$dir/private/"
    for c in $ca; do cp "$PKI_DIR/$c" "$dir/x509ca/"; done
    ip netns exec "$(ns "$side")" env STRONGSWAN_CONF="$WORK/$side.strongswan.conf" \
        sh -c 'mount -t tmpfs -o size=1m ikelab-run "$1" && exec "$0"' "$CHARON" "${CHARON_PIDDIR:-/run}" \
        > "$WORK/$side.stdout" 2>&1 &
    PIDS+=("$!"); eval "CHARON_PID_${side^^}=$!"; disown "$!"
    for i in $(seq 100); do [[ -S $WORK/$side.vici ]] && break; sleep 0.1; done
    [[ -S $WORK/$side.vici ]] || { log "charon $side did not come up"; cat "$WORK/$side.stdout" >&2; return 1; }
    swanctl_at "$side" --load-all --file "$dir/swanctl.conf" >> "$WORK/$side.swanctl.out" 2>&1
}

# ---------------------------------------------------------------- scenarios
eval "$(declare -f defaults | sed '1s/^defaults/defaults_ikev1/')"
defaults() {
    defaults_ikev1
    IKE_PROPOSALS=aes256-sha256-modp2048; ESP_PROPOSALS=aes256-sha256
    AUTH=psk; unset AUTH_WEST AUTH_EAST REMOTE_AUTH_AS_SEEN
    LOCAL_EXTRA=""; REMOTE_EXTRA=""; unset LOCAL_EXTRA_WEST LOCAL_EXTRA_EAST REMOTE_EXTRA_WEST REMOTE_EXTRA_EAST
    CERT=""; KEY=""; CA=""; unset CERT_WEST CERT_EAST KEY_WEST KEY_EAST CA_WEST CA_EAST
    SEND_CERT=ifasked; SEND_CERTREQ=yes; FRAGMENTATION=yes; FRAGMENT_SIZE=1500
    EAP_USER=""; EAP_PASSWORD=""
    CHILD_REKEY_TIME=50m; CHILD_LIFE_TIME=60m
    NOTES=""     # what happened (written to runs/<name>/scenario.txt by save_results)
}
use_certs() {   # use_certs KIND: both peers authenticate with KIND (rsa|ecdsa|rsa4096) certificates
    local kind=$1 ca=${2:-ca-rsa.crt}
    make_pki || return 1
    AUTH=pubkey; WEST_ID=west.lab.example; EAST_ID=east.lab.example
    CERT_WEST=west-$kind.crt; CERT_EAST=east-$kind.crt; KEY_WEST=west-$kind.key; KEY_EAST=east-$kind.key
    CA=$ca; SEND_CERT=always
    LOCAL_EXTRA_WEST="            certs = west-$kind.crt"; LOCAL_EXTRA_EAST="            certs = east-$kind.crt"
}
rekey_child() { swanctl_at "${1:-west}" --rekey --child net >> "$WORK/${1:-west}.swanctl.out"; sleep 1; }
rekey_ike() { swanctl_at "${1:-west}" --rekey --ike lab >> "$WORK/${1:-west}.swanctl.out"; sleep 1; }
list_sas() { local s; for s in west east; do echo "== $s: $1" >> "$WORK/sas.out"; swanctl_at "$s" --list-sas >> "$WORK/sas.out"; done; }
terminate_ike() { swanctl_at west --terminate --ike lab --timeout 5 >> "$WORK/west.swanctl.out"; sleep 1; }
standard_v2() { initiate; sleep 0.5; list_sas "after initiate"; ping_through 5; ping_back 3; sleep 0.5; terminate_all; }

scenario_ikev2-psk-aes-cbc-sha256() {
    DESCRIPTION="IKEv2 PSK, IKE AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048, ESP AES-CBC-256/HMAC-SHA2-256-128 (first child in IKE_AUTH), 5 pings west->east, 3 back, then INFORMATIONAL delete of the child, then of the IKE SA"
    IKE_PROPOSALS=aes256-sha256-modp2048; ESP_PROPOSALS=aes256-sha256
    run() { standard_v2; }
}
scenario_ikev2-aes-gcm() {
    DESCRIPTION="IKEv2 PSK, IKE AES-GCM-16 (256-bit key) with PRF-HMAC-SHA2-256 and ECP-384, ESP AES-GCM-16 (256), pings both ways, deletes"
    IKE_PROPOSALS=aes256gcm16-prfsha256-ecp384; ESP_PROPOSALS=aes256gcm16
    run() { standard_v2; }
}
scenario_ikev2-chacha20() {
    DESCRIPTION="IKEv2 PSK, IKE ChaCha20-Poly1305 with PRF-HMAC-SHA2-256 and Curve25519, ESP ChaCha20-Poly1305, pings both ways, deletes"
    IKE_PROPOSALS=chacha20poly1305-prfsha256-x25519; ESP_PROPOSALS=chacha20poly1305
    run() { standard_v2; }
}
scenario_ikev2-child-rekey-pfs() {
    DESCRIPTION="IKEv2 PSK AES-CBC-128/SHA2-256/ECP-256; the child (ESP AES-CBC-128/SHA2-256, PFS group MODP-2048) is rekeyed by west with swanctl --rekey --child: CREATE_CHILD_SA with N(REKEY_SA), SA, Ni, KEi, TSi, TSr; then west deletes the old child (INFORMATIONAL D); pings before and after; then deletes"
    IKE_PROPOSALS=aes128-sha256-ecp256; ESP_PROPOSALS=aes128-sha256-modp2048
    run() { initiate; sleep 0.5; ping_through 3; ping_back 2; rekey_child west; list_sas "after child rekey"
        ping_through 3; ping_back 2; sleep 0.5; terminate_all; }
}
scenario_ikev2-ike-rekey() {
    DESCRIPTION="IKEv2 PSK AES-CBC-128/SHA2-256/MODP-2048, ESP AES-CBC-128/SHA2-256; the IKE SA is rekeyed twice with CREATE_CHILD_SA (SA, Ni, KEi; new SPIs): first by west (the original initiator), then by east (the original responder, so the third IKE SA's initiator is east); each old IKE SA is deleted by the rekey's initiator; pings between the steps keep using the same child SA (which moves to the new IKE SA); then deletes"
    IKE_PROPOSALS=aes128-sha256-modp2048; ESP_PROPOSALS=aes128-sha256
    run() { initiate; sleep 0.5; ping_through 3; ping_back 2; rekey_ike west; list_sas "after west's IKE rekey"
        ping_through 3; ping_back 2; rekey_ike east; list_sas "after east's IKE rekey"
        ping_through 3; ping_back 2; sleep 0.5; terminate_all; }
}
block_udp4500() {   # block_udp4500 SIDE on|off: drop (or stop dropping) that side's outgoing UDP 4500
    if [[ $2 == on ]]; then
        nsx "$1" nft -f - <<NFT
table inet labhold {
    chain out {
        type filter hook output priority 0;
        udp dport 4500 drop
    }
}
NFT
    else
        nsx "$1" nft delete table inet labhold
    fi
}
scenario_ikev2-child-rekey-collision() {
    DESCRIPTION="IKEv2 simultaneous child rekey (PSK AES-CBC-128/SHA2-256/MODP-2048, ESP AES-CBC-128/SHA2-256 without PFS): both peers' outgoing UDP 4500 is held back by an nftables drop rule while each is asked to rekey the child (swanctl --rekey --child), so both first CREATE_CHILD_SA requests are lost before the capture point; the rules go after 1 s and the retransmissions (2 s after the first tries) cross. In this run east's request (no Initiator flag, east's message ID 0) arrived first and west answered it (a new child pair); west's request (Initiator flag, message ID 2), reaching east after east's own rekey had completed, was answered with only N(TEMPORARY_FAILURE) (RFC 7296 2.25: the child is being rekeyed); east then deleted the old child (INFORMATIONAL D). Which request wins depends on timing (runs/NAME/sas.out shows the SAs after it); pings before and after"
    IKE_PROPOSALS=aes128-sha256-modp2048; ESP_PROPOSALS=aes128-sha256
    run() { initiate; sleep 0.5; ping_through 3; ping_back 2
        block_udp4500 west on; block_udp4500 east on
        swanctl_at west --rekey --child net >> "$WORK/west.swanctl.out" &
        swanctl_at east --rekey --child net >> "$WORK/east.swanctl.out" &
        sleep 1
        block_udp4500 west off; block_udp4500 east off
        wait; sleep 3; list_sas "after the crossing rekeys"
        ping_through 3; ping_back 2; sleep 0.5; terminate_all; }
}

scenario_ikev2-auth-failed() {
    DESCRIPTION="IKEv2 PSK mismatch: IKE_SA_INIT succeeds (AES-CBC-256/SHA2-256/MODP-2048; both peers derive the same SK_*), east cannot verify west's AUTH and answers the IKE_AUTH request with an encrypted N(AUTHENTICATION_FAILED); no child, no ESP"
    PSK_EAST="ikedecode-lab-psk-not-the-same"; RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 1; }
}
scenario_ikev2-no-proposal() {
    DESCRIPTION="IKEv2 IKE_SA_INIT proposal mismatch: west offers AES-CBC-128/SHA2-256/MODP-2048, east accepts only AES-CBC-256/SHA2-384/ECP-384: east answers IKE_SA_INIT with an unencrypted N(NO_PROPOSAL_CHOSEN) (responder SPI zero); no keys"
    IKE_PROPOSALS_WEST=aes128-sha256-modp2048; IKE_PROPOSALS_EAST=aes256-sha384-ecp384; RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 1; }
}
scenario_ikev2-ts-unacceptable() {
    DESCRIPTION="IKEv2 traffic selector mismatch: west proposes TSi 10.1.0.0/24 TSr 10.2.0.0/24, east's local selector is 10.3.0.0/24: the IKE SA comes up (AES-CBC-256/SHA2-256/MODP-2048) but east's IKE_AUTH response carries N(TS_UNACCEPTABLE) instead of SA/TSi/TSr; no ESP; then west deletes the IKE SA"
    EAST_TS_OVERRIDE_EAST=10.3.0.0/24; RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 1; list_sas "after the failed child"; terminate_ike; }
}
scenario_ikev2-invalid-ke() {
    DESCRIPTION="IKEv2 INVALID_KE_PAYLOAD: west offers AES-CBC-128/SHA2-256 with MODP-2048 and ECP-256 and sends a MODP-2048 KE; east accepts only ECP-256 and answers N(INVALID_KE_PAYLOAD, group 19); west retries IKE_SA_INIT with an ECP-256 KE (same SPIi, message ID 0), then IKE_AUTH, pings both ways, deletes"
    IKE_PROPOSALS_WEST=aes128-sha256-modp2048-ecp256; IKE_PROPOSALS_EAST=aes128-sha256-ecp256
    ESP_PROPOSALS=aes128-sha256
    run() { standard_v2; }
}
scenario_ikev2-rsa-cert() {
    DESCRIPTION="IKEv2 with RSA certificates (2048-bit peer keys and lab CA, so that west's IKE_AUTH request (about 1400 bytes) stays one SK payload; IDs west.lab.example / east.lab.example; AUTH method RSA signature / RFC 7427 digital signature as strongSwan chooses): IKE_SA_INIT with N(SIGNATURE_HASH_ALGORITHMS), IKE_AUTH with IDi CERT CERTREQ AUTH; IKE AES-CBC-256/SHA2-256/MODP-2048, ESP AES-CBC-256/SHA2-256, pings both ways, deletes"
    use_certs rsa ca-rsa.crt || return 1
    run() { standard_v2; }
}
scenario_ikev2-ecdsa-cert() {
    DESCRIPTION="IKEv2 with ECDSA P-256 certificates (lab ECDSA CA; IDs west.lab.example / east.lab.example), IKE AES-CBC-128/SHA2-256/ECP-256, ESP AES-GCM-16-128, pings both ways, deletes"
    use_certs ecdsa ca-ecdsa.crt || return 1
    IKE_PROPOSALS=aes128-sha256-ecp256; ESP_PROPOSALS=aes128gcm16
    run() { standard_v2; }
}
scenario_ikev2-fragments() {
    DESCRIPTION="IKEv2 message fragmentation (RFC 7383): RSA-4096 peer certificates, fragmentation = yes on both (N(IKEV2_FRAGMENTATION_SUPPORTED) in IKE_SA_INIT), charon.fragment_size = 500: both IKE_AUTH messages go as several SKF payloads (each encrypted and integrity-protected on its own); IKE AES-CBC-256/SHA2-256/MODP-2048, ESP AES-CBC-256/SHA2-256, pings both ways, deletes"
    use_certs rsa4096 ca-rsa.crt || return 1
    FRAGMENT_SIZE=500
    run() { standard_v2; }
}
scenario_ikev2-nat-t-ecp() {
    DESCRIPTION="IKEv2 through a real NAT: west 198.51.100.1 behind a masquerading router (UDP ports mapped into 40000-40999) to east 203.0.113.2, captured on the router's outside link; NAT_DETECTION_SOURCE/DESTINATION_IP mismatch, IKE moves to 4500 for IKE_AUTH, ESP in UDP; IKE AES-CBC-128/SHA2-256/ECP-256, ESP AES-CBC-128/SHA2-256, pings both ways, deletes"
    TOPOLOGY=nat; WEST_ADDR=198.51.100.1; EAST_ADDR=203.0.113.2; WEST_ID=198.51.100.1; EAST_ID=203.0.113.2
    EAST_SEES_WEST=%any; ENCAP=no; CAPTURE_SIDE=nat; CAPTURE_IF=nat1; CAPTURE_VIEW=east
    IKE_PROPOSALS=aes128-sha256-ecp256; ESP_PROPOSALS=aes128-sha256
    run() { standard_v2; }
}
scenario_ikev2-eap-mschapv2() {
    DESCRIPTION="IKEv2 EAP-MSCHAPv2: east authenticates with its RSA certificate, west (EAP identity labuser) with EAP-MSCHAPv2: IKE_AUTH request without AUTH answered with IDr CERT AUTH EAP(Identity request, east has eap_id = %any), then IKE_AUTH exchanges 2-4 carrying EAP only (Identity response 'labuser' / MSCHAPv2 Challenge, MSCHAPv2 Response / MSCHAPv2 Success request, Success response / EAP-Success) and exchange 5 with both AUTH payloads computed from the MSK, plus the child (SA TSi TSr); IKE AES-CBC-256/SHA2-256/MODP-2048, ESP AES-CBC-256/SHA2-256, pings both ways, deletes"
    use_certs rsa ca-rsa.crt || return 1
    EXTRA_PLUGINS="eap-identity eap-mschapv2"
    AUTH_WEST=eap-mschapv2; AUTH_EAST=pubkey
    CERT_WEST=""; KEY_WEST=""; LOCAL_EXTRA_WEST="            eap_id = labuser"
    REMOTE_EXTRA_EAST="            eap_id = %any"
    EAP_USER=labuser; EAP_PASSWORD="ikedecode-lab-eap-password-$NAME"
    run() { standard_v2; }
}

scenario_ikev2-dpd-liveness() {
    DESCRIPTION="IKEv2 liveness checks (dpd_delay 2 s on both peers; AES-CBC-128/SHA2-256/MODP-2048, ESP AES-CBC-128/SHA2-256): pings both ways, then 5 s without traffic: east sends an empty INFORMATIONAL request (an SK payload with nothing inside) every 2 s and west answers with an empty one (west, hearing east, sends none); then east's charon is killed (SIGKILL by PID, no delete): west's own liveness request (message ID 2) goes out and is retransmitted byte for byte twice (after 2 s and 2.8 s), each answered only by ICMP port unreachable; west gives up 3.9 s later and drops the IKE SA (no packet)"
    IKE_PROPOSALS=aes128-sha256-modp2048; ESP_PROPOSALS=aes128-sha256
    DPD_DELAY=2s; RETRANSMIT_TRIES=2
    run() { initiate; sleep 0.5; ping_through 5; ping_back 3; sleep 5; list_sas "after the liveness checks"
        stop_charon east KILL; sleep 12; list_sas "after east was killed"; }
}

# ---- libreswan's pluto (IKEv2, its default) as west against strongSwan east
start_pluto_v2() {   # start_pluto_v2 SIDE: pluto from the unpacked Debian package, IKEv2 PSK, private dirs
    local side=$1 i
    PLUTO_ROOT=$(libreswan_root) || return 1
    PLUTO_LIBS=$PLUTO_ROOT/usr/lib/x86_64-linux-gnu
    mkdir -p "$WORK/$side.nss" "$WORK/$side.run"
    LD_LIBRARY_PATH=$PLUTO_LIBS "$PLUTO_ROOT/usr/bin/certutil" -N -d "sql:$WORK/$side.nss" --empty-password
    cat > "$WORK/$side.ipsec.conf" <<CONF
# ipsec.conf for the libreswan $side daemon of lab scenario $NAME (written by make-ikev2-captures.sh)
config setup
	plutodebug="all crypt private"
	logfile=$WORK/$side.pluto.log
	logappend=no
	logtime=yes
conn lab
	ikev2=yes
	authby=secret
	left=$WEST_ADDR
	leftid=$WEST_ID
	leftsubnet=$WEST_TS
	right=$EAST_ADDR
	rightid=$EAST_ID
	rightsubnet=$EAST_TS
	ike=$PLUTO_IKE
	esp=$PLUTO_ESP
	encapsulation=yes
	retransmit-timeout=10s
	auto=add
CONF
    printf '%s %s : PSK "%s"\n' "$WEST_ID" "$EAST_ID" "$(side_value PSK "$side")" > "$WORK/$side.ipsec.secrets"
    chmod 600 "$WORK/$side.ipsec.secrets"
    ip netns exec "$(ns "$side")" env LD_LIBRARY_PATH="$PLUTO_LIBS" \
        sh -c 'mount --bind "$0/usr/libexec" /usr/libexec && exec /usr/libexec/ipsec/pluto "$@"' "$PLUTO_ROOT" \
        --config "$WORK/$side.ipsec.conf" --nofork --rundir "$WORK/$side.run" --nssdir "$WORK/$side.nss" \
        --secretsfile "$WORK/$side.ipsec.secrets" > "$WORK/$side.pluto.stdout" 2>&1 &
    PIDS+=("$!"); eval "PLUTO_PID_${side^^}=$!"; disown "$!"
    for i in $(seq 50); do [[ -S $WORK/$side.run/pluto.ctl ]] && break; sleep 0.1; done
    [[ -S $WORK/$side.run/pluto.ctl ]] || { log "pluto $side did not come up"; cat "$WORK/$side.pluto.stdout" >&2; return 1; }
    for i in $(seq 30); do grep -q '"lab": added IKEv2 connection' "$WORK/$side.pluto.log" && return 0; sleep 0.1; done
    log "pluto $side did not load connection lab"; return 1
}
scenario_ikev2-libreswan() {
    DESCRIPTION="libreswan 4.10 pluto (unpacked Debian package, plutodebug \"all crypt private\") as west, IKEv2 PSK initiator, against strongSwan 5.9.8 east: IKE_SA_INIT (AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048) and IKE_AUTH with the child (ESP AES-CBC-256/SHA2-256, encapsulation=yes); pluto cannot install the child SA (no kernel ESP: 'Protocol not supported'), deletes its IKE SA without notifying east and revives the connection: three IKE SAs (new SPIs each, the third after 5 s), each IKE_SA_INIT + IKE_AUTH; pluto's shutdown sends nothing; then east is told to delete its IKE SAs (swanctl --terminate --force): its INFORMATIONAL D requests meet a closed port (ICMP port unreachable); no ESP on the wire. The IKE SAs' keys come from strongSwan east's log (pluto's log has the PSK and the ESP KEYMAT it tried to install, not SK_*)"
    START_WEST=no; RETRANSMIT_TRIES=2
    PLUTO_IKE="aes256-sha2_256;modp2048"; PLUTO_ESP="aes256-sha2_256"
    IKE_PROPOSALS=aes256-sha256-modp2048; ESP_PROPOSALS=aes256-sha256
    run() {
        start_pluto_v2 west || return 1
        pluto_whack west --name lab --initiate --asynchronous >> "$WORK/west.whack.out" 2>&1
        sleep 7   # pluto revives at once, then after 5 s: three IKE SAs, the next try would come much later
        ping_through 2
        pluto_whack west --trafficstatus >> "$WORK/west.whack.out" 2>&1
        pluto_whack west --status >> "$WORK/west.whack.out" 2>&1
        stop_pluto west
        # east still holds the three IKE SAs: delete them now (one DELETE each, no waiting for answers),
        # rather than at its shutdown, where the DELETEs may not leave before charon exits
        swanctl_at east --terminate --ike lab --force --timeout 2 >> "$WORK/east.swanctl.out"
        sleep 1
    }
}

SCENARIOS=(
    ikev2-psk-aes-cbc-sha256 ikev2-aes-gcm ikev2-chacha20 ikev2-child-rekey-pfs ikev2-ike-rekey
    ikev2-child-rekey-collision
    ikev2-auth-failed ikev2-no-proposal ikev2-ts-unacceptable ikev2-invalid-ke
    ikev2-rsa-cert ikev2-ecdsa-cert ikev2-fragments ikev2-nat-t-ecp ikev2-eap-mschapv2 ikev2-libreswan ikev2-dpd-liveness
)

# ---------------------------------------------------------------- results
save_results() {
    local side f status=0 args=()
    rm -f "$KEYS_OUT/$NAME".*.log "$KEYS_OUT/$NAME".*.log.gz "$KEYS_OUT/$NAME.toml"
    cp "$WORK/capture.pcap" "$CAPTURES_OUT/$NAME.pcap"
    for side in west east; do
        if [[ -f $WORK/$side.log && -s $WORK/$side.log ]]; then
            cp "$WORK/$side.log" "$KEYS_OUT/$NAME.$side.log"
            cp "$WORK/$side.swanctl.conf" "$RUN_RECORD/"
            cp "$WORK/$side.strongswan.conf" "$RUN_RECORD/"
            [[ -s $WORK/$side.swanctl.out ]] && cp "$WORK/$side.swanctl.out" "$RUN_RECORD/"
            gzip -9nf "$KEYS_OUT/$NAME.$side.log"
            args+=("--$side-log" "$KEYS_OUT/$NAME.$side.log.gz")
        fi
    done
    for side in west east; do   # libreswan: its own log (no SK_*; the PSK and its view of the SAs)
        if [[ -f $WORK/$side.pluto.log ]]; then
            cp "$WORK/$side.pluto.log" "$KEYS_OUT/$NAME.$side.pluto.log"; gzip -9nf "$KEYS_OUT/$NAME.$side.pluto.log"
            cp "$WORK/$side.ipsec.conf" "$RUN_RECORD/"
        fi
    done
    for f in ping.out sas.out west.whack.out; do [[ -f $WORK/$f ]] && cp "$WORK/$f" "$RUN_RECORD/"; done
    { echo "$DESCRIPTION"; [[ -n $NOTES ]] && echo "$NOTES"
      echo "strongSwan: $("$CHARON" --version 2>&1 | tail -1) ($CHARON)"; } > "$RUN_RECORD/scenario.txt"
    [[ ${#args[@]} -gt 0 ]] || { log "no daemon logs"; return 1; }
    local psk_west psk_east
    psk_west=$(side_value PSK west); psk_east=$(side_value PSK east)
    if [[ $(side_value AUTH west) == psk || $(side_value AUTH east) == psk ]]; then
        args+=(--psk "$psk_west" --psk-peer "$EAST_ID")
        [[ $psk_east != "$psk_west" ]] && args+=(--psk "$psk_east" --psk-peer "$WEST_ID")
    fi
    "$PYTHON" "$IKEV2_LAB_DIR/ikev2_keys.py" toml --name "$NAME" --pcap "$CAPTURES_OUT/$NAME.pcap" \
        --view "$CAPTURE_VIEW" "${args[@]}" --out "$KEYS_OUT/$NAME.toml" \
        2> "$RUN_RECORD/extract.txt" || { status=1; log "key extraction reported problems"; }
    cat "$RUN_RECORD/extract.txt" >&2
    "$PYTHON" "$IKEV2_LAB_DIR/verify_ikev2_tshark.py" "$CAPTURES_OUT/$NAME.pcap" "${args[@]}" \
        > "$RUN_RECORD/verify.md" || { status=1; log "tshark check FAILED (see $RUN_RECORD/verify.md)"; }
    log "done: $(stat -c %s "$CAPTURES_OUT/$NAME.pcap") bytes; $(tail -1 "$RUN_RECORD/verify.md")"
    return $status
}

ikev2_main() {
    while [[ ${1-} == --prefix ]]; do
        CHARON=$2/libexec/ipsec/charon; SWANCTL=$2/sbin/swanctl; shift 2
    done
    if [[ ${1-} == --list ]]; then printf '%s\n' "${SCENARIOS[@]}"; exit 0; fi
    [[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 1; }
    [[ -x $CHARON ]] || { echo "no charon at $CHARON" >&2; exit 1; }
    local names=() name status=0
    for name in "$@"; do [[ $name == ikev2-* ]] && names+=("$name") || names+=("ikev2-$name"); done
    [[ ${#names[@]} == 0 ]] && names=("${SCENARIOS[@]}")
    for name in "${names[@]}"; do
        run_scenario "$name" || { status=1; teardown; }
    done
    exit $status
}
# make-ikev2-pq-captures.sh sources this file for its helpers; run ikev2_main only when executed
[[ ${BASH_SOURCE[0]} == "$0" ]] && ikev2_main "$@"
