#!/bin/bash
# make-ikev2-pq-captures.sh -- real post-quantum IKEv2 captures (RFC 9242 IKE_INTERMEDIATE, RFC 9370
# additional key exchanges with ML-KEM, RFC 8784 PPK) from two strongSwan 6 daemons in namespaces.
#
#   captures/lab/make-ikev2-pq-captures.sh --prefix DIR                # every scenario (SCENARIOS below)
#   captures/lab/make-ikev2-pq-captures.sh --prefix DIR NAME...        # only these (with or without ikev2-pq-)
#   captures/lab/make-ikev2-pq-captures.sh --list
#
# DIR is a strongSwan >= 6.0 installed with the ml plugin (DIR/libexec/ipsec/charon, DIR/sbin/swanctl,
# built --with-piddir=DIR/run or CHARON_PIDDIR=... given; captures/README.md names the version and
# configure options the committed captures were made with).
# Debian 12's strongSwan 5.9.8 has no ML-KEM and no IKE_INTERMEDIATE.  The sibling of
# make-ikev2-captures.sh, whose helpers it sources (namespaces, charon start/stop by PID, tcpdump,
# swanctl, pings): same addresses (west 192.0.2.1 <-> east 192.0.2.2, inner 10.1.0.0/24 and 10.2.0.0/24),
# its own templates (templates/strongswan.pq.conf.in loads `ml`; kernel-libipsec.raw_esp sends ESP as
# IP protocol 50 from user space: no UDP encapsulation unless a scenario asks for it).  Per scenario:
#   captures/ikev2-pq-<name>.pcap, keys/ikev2-pq-<name>.{west,east}.log.gz, keys/ikev2-pq-<name>.toml,
#   captures/lab/runs/ikev2-pq-<name>/ (configs, what happened, key extraction, tshark's view)
set -u -o pipefail

PQ_LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=make-ikev2-captures.sh
source "$PQ_LAB_DIR/make-ikev2-captures.sh"   # helpers only (its main runs only when executed)
NS_PREFIX=${LAB_NS_PREFIX:-ikepq}   # namespaces ikepq-west / -east: apart from ikelab-* and ikev2lab-*

eval "$(declare -f defaults | sed '1s/^defaults/defaults_ikev2/')"
defaults() {
    defaults_ikev2
    STRONGSWAN_V2_TEMPLATE=strongswan.pq.conf.in; SWANCTL_V2_TEMPLATE=swanctl.pq.conf.in
    ENCAP=no; RAW_ESP=yes       # plain ESP (IP protocol 50) from kernel-libipsec
    LOG_LIB=${LAB_LOG_LIB:-1}   # charon's lib group: at 4 the ml plugin still logs no key material (tried)
    IKE_EXTRA=""; unset IKE_EXTRA_WEST IKE_EXTRA_EAST
    PPK_ID=""; PPK_SECRET=""; unset PPK_ID_WEST PPK_ID_EAST PPK_SECRET_WEST PPK_SECRET_EAST
    HYBRID=aes256gcm16-prfsha256-x25519-ke1_mlkem768
}
pq_secrets_block() {   # the PSK (and PPK) secrets for SIDE
    local ppk_id ppk_secret
    secrets_block_ikev2 "$1"
    ppk_id=$(side_value PPK_ID "$1"); ppk_secret=$(side_value PPK_SECRET "$1")
    if [[ -n $ppk_id && -n $ppk_secret ]]; then
        printf '    ppk-lab {\n        id = %s\n        secret = %s\n    }\n' "$ppk_id" "$ppk_secret"
    fi
}
eval "$(declare -f secrets_block | sed '1s/^secrets_block/secrets_block_ikev2/')"
secrets_block() { pq_secrets_block "$@"; }

scenario_ikev2-pq-hybrid() {
    DESCRIPTION="IKEv2 PSK hybrid post-quantum IKE SA: IKE_SA_INIT with AES-GCM-16-256/PRF-HMAC-SHA2-256/X25519 + ADDKE1 ML-KEM-768 (N(INTERMEDIATE_EXCHANGE_SUPPORTED)), one IKE_INTERMEDIATE exchange carrying the ML-KEM-768 encapsulation key / ciphertext (protected by the IKE_SA_INIT keys), new keys after it, IKE_AUTH (IntAuth in AUTH) with the child ESP AES-GCM-16-256 (plain ESP, IP protocol 50), 5 pings west->east, 3 back, INFORMATIONAL deletes of the child and the IKE SA"
    IKE_PROPOSALS=$HYBRID; ESP_PROPOSALS=aes256gcm16
    run() { standard_v2; }
}
scenario_ikev2-pq-child-rekey-addke() {
    DESCRIPTION="hybrid IKE SA (X25519 + ML-KEM-768 in IKE_INTERMEDIATE, AES-GCM-16-256); the child (ESP AES-GCM-16-256, PFS X25519 + ADDKE1 ML-KEM-768; the IKE_AUTH child itself has no KE) is rekeyed by west: CREATE_CHILD_SA with N(REKEY_SA) SA Ni KEi(X25519) TSi TSr, whose response carries N(ADDITIONAL_KEY_EXCHANGE); then IKE_FOLLOWUP_KE (exchange 44) with the ML-KEM-768 KE and the link notify; KEYMAT = prf+(SK_d, g^ir | Ni | Nr | SK(1)); west deletes the old child; pings before and after; deletes"
    IKE_PROPOSALS=$HYBRID; ESP_PROPOSALS=aes256gcm16-x25519-ke1_mlkem768
    run() { initiate; sleep 0.5; ping_through 3; ping_back 2; rekey_child west; sleep 1; list_sas "after child rekey"
        ping_through 3; ping_back 2; sleep 0.5; terminate_all; }
}
scenario_ikev2-pq-ike-rekey-hybrid() {
    DESCRIPTION="hybrid IKE SA (X25519 + ML-KEM-768, AES-GCM-16-256) rekeyed twice, first by west then by east: each a CREATE_CHILD_SA (SA Ni KEi(X25519), new SPIs) answered with N(ADDITIONAL_KEY_EXCHANGE), then IKE_FOLLOWUP_KE with the ML-KEM-768 KE on the old IKE SA; SKEYSEED = prf(SK_d(old), g^ir | Ni | Nr | SK(1)); the rekey's initiator deletes the old IKE SA; ESP AES-GCM-16-256 child moves to the new IKE SA; pings between steps; deletes"
    IKE_PROPOSALS=$HYBRID; ESP_PROPOSALS=aes256gcm16
    run() { initiate; sleep 0.5; ping_through 3; ping_back 2; rekey_ike west; sleep 1; list_sas "after west's IKE rekey"
        ping_through 3; ping_back 2; rekey_ike east; sleep 1; list_sas "after east's IKE rekey"
        ping_through 3; ping_back 2; sleep 0.5; terminate_all; }
}
scenario_ikev2-pq-chacha20() {
    DESCRIPTION="IKEv2 PSK, IKE ChaCha20-Poly1305/PRF-HMAC-SHA2-256/X25519 + ADDKE1 ML-KEM-768 (IKE_INTERMEDIATE), ESP ChaCha20-Poly1305 (plain ESP), pings both ways, deletes"
    IKE_PROPOSALS=chacha20poly1305-prfsha256-x25519-ke1_mlkem768; ESP_PROPOSALS=chacha20poly1305
    run() { standard_v2; }
}
scenario_ikev2-pq-mlkem1024-two-addke() {
    DESCRIPTION="IKEv2 PSK with two additional key exchanges: IKE AES-CBC-256/HMAC-SHA2-384-192/PRF-HMAC-SHA2-384/ECP-384 + ADDKE1 ML-KEM-768 + ADDKE2 ML-KEM-1024: two IKE_INTERMEDIATE exchanges (message IDs 1 and 2; the second protected by the keys of the first stage), three key stages, ML-KEM-1024 messages split into RFC 7383 SKF fragments; IKE_AUTH with the child ESP AES-CBC-256/HMAC-SHA2-384-192, pings both ways, deletes"
    IKE_PROPOSALS=aes256-sha384-ecp384-ke1_mlkem768-ke2_mlkem1024; ESP_PROPOSALS=aes256-sha384
    run() { standard_v2; }
}
scenario_ikev2-pq-ppk() {
    DESCRIPTION="RFC 8784 postquantum preshared key on a hybrid SA (X25519 + ML-KEM-768, AES-GCM-16-256): N(USE_PPK) in IKE_SA_INIT, PPK_IDENTITY (ppk_id lab-ppk, ppk_required on both) in IKE_AUTH; SK_d, SK_pi, SK_pr = prf+(PPK, old value) after the last key stage; PSK AUTH over SK_pi/SK_pr with the PPK; child ESP AES-GCM-16-256, pings both ways, deletes"
    IKE_PROPOSALS=$HYBRID; ESP_PROPOSALS=aes256gcm16
    PPK_ID=lab-ppk; PPK_SECRET=0x$(printf 'ikedecode-lab-ppk-%s' "$NAME" | sha256sum | cut -c1-64)
    IKE_EXTRA="        ppk_id = $PPK_ID
        ppk_required = yes"
    run() { standard_v2; }
}
scenario_ikev2-pq-ppk-fallback() {
    DESCRIPTION="RFC 8784 PPK offered but not used: west (ppk_id lab-ppk, ppk_required = no) and east (holds a PPK for another identity only, ppk_required = no) both send N(USE_PPK) in IKE_SA_INIT; west's IKE_AUTH request carries N(PPK_IDENTITY), AUTH computed with the PPK and N(NO_PPK_AUTH) computed without; east has no PPK for lab-ppk, verifies NO_PPK_AUTH and answers without PPK_IDENTITY, so neither side mixes the PPK into SK_d/SK_pi/SK_pr; hybrid X25519 + ML-KEM-768 SA, AES-GCM-16-256, child ESP AES-GCM-16-256, pings both ways, deletes"
    IKE_PROPOSALS=$HYBRID; ESP_PROPOSALS=aes256gcm16
    PPK_ID_WEST=lab-ppk; PPK_SECRET_WEST=0x$(printf 'ikedecode-lab-ppk-%s' "$NAME" | sha256sum | cut -c1-64)
    PPK_ID_EAST=other-ppk; PPK_SECRET_EAST=0x$(printf 'ikedecode-lab-other-ppk-%s' "$NAME" | sha256sum | cut -c1-64)
    IKE_EXTRA_WEST="        ppk_id = lab-ppk
        ppk_required = no"
    run() { standard_v2; }
}
scenario_ikev2-pq-addke-optional() {
    DESCRIPTION="an optional additional key exchange the responder does not do: west proposes AES-GCM-16-256/PRF-HMAC-SHA2-256/X25519 with ADDKE1 = ML-KEM-768 or NONE (ke1_mlkem768-ke1_none), east is configured without ADDKE1 and selects the proposal without it: no IKE_INTERMEDIATE (N(INTERMEDIATE_EXCHANGE_SUPPORTED) only from west), a classic IKE SA with one key stage; child ESP AES-GCM-16-256, pings both ways, deletes"
    IKE_PROPOSALS_WEST=$HYBRID-ke1_none; IKE_PROPOSALS_EAST=aes256gcm16-prfsha256-x25519; ESP_PROPOSALS=aes256gcm16
    run() { standard_v2; }
}
scenario_ikev2-pq-mlkem-init() {
    DESCRIPTION="ML-KEM-768 as the only key exchange of IKE_SA_INIT (transform type 4 = 36, no ADDKE, no IKE_INTERMEDIATE): west's KEi is the 1184-byte encapsulation key, east's KEr the 1088-byte ciphertext, so the IKE_SA_INIT request (about 1.4 KB) still fits one 1500-byte packet; SKEYSEED = prf(Ni | Nr, ML-KEM shared secret); IKE AES-GCM-16-256/PRF-HMAC-SHA2-256, child ESP AES-GCM-16-256, pings both ways, deletes"
    IKE_PROPOSALS=aes256gcm16-prfsha256-mlkem768; ESP_PROPOSALS=aes256gcm16
    run() { standard_v2; }
}
scenario_ikev2-pq-init-fragments-lost() {
    DESCRIPTION="an IKE_SA_INIT too big for one packet, whose IP fragments are lost: west offers ML-KEM-1024 as the IKE_SA_INIT key exchange (KEi 1568 bytes: the request is IP-fragmented, IKE fragmentation does not apply to IKE_SA_INIT); east's namespace drops every IPv4 fragment (nftables, ip frag-off & 0x3fff != 0), so east never sees the request; west retransmits (retransmit_tries 2) and gives up; captured on west's side, so the fragments are on the wire"
    IKE_PROPOSALS=aes256gcm16-prfsha256-mlkem1024; ESP_PROPOSALS=aes256gcm16; RETRANSMIT_TRIES=2
    run() {
        nsx east nft -f - <<NFT
table ip labfrag {
    chain in {
        type filter hook prerouting priority -400;
        ip frag-off & 0x3fff != 0 counter drop
    }
}
NFT
        initiate 20; sleep 1
        nsx east nft list table ip labfrag >> "$WORK/sas.out" 2>&1
    }
}
scenario_ikev2-pq-addke-unsupported() {
    DESCRIPTION="a peer without the additional key exchange: west proposes only AES-GCM-16-256/PRF-HMAC-SHA2-256/X25519 + ADDKE1 ML-KEM-768 (required), east is configured for the same without ADDKE1; what the responder answers to the IKE_SA_INIT request (see runs/NAME/scenario.txt); no keys beyond IKE_SA_INIT if any"
    IKE_PROPOSALS_WEST=$HYBRID; IKE_PROPOSALS_EAST=aes256gcm16-prfsha256-x25519; ESP_PROPOSALS=aes256gcm16
    RETRANSMIT_TRIES=1
    run() { initiate 10; sleep 1; list_sas "after initiate"; terminate_ike; }
}

SCENARIOS=(
    ikev2-pq-hybrid ikev2-pq-child-rekey-addke ikev2-pq-ike-rekey-hybrid ikev2-pq-chacha20
    ikev2-pq-mlkem1024-two-addke ikev2-pq-ppk ikev2-pq-ppk-fallback ikev2-pq-addke-optional
    ikev2-pq-addke-unsupported ikev2-pq-mlkem-init ikev2-pq-init-fragments-lost
)

# ---------------------------------------------------------------- results
save_results() {
    local side f status=0 args=()
    rm -f "$KEYS_OUT/$NAME".*.log "$KEYS_OUT/$NAME".*.log.gz "$KEYS_OUT/$NAME.toml"
    cp "$WORK/capture.pcap" "$CAPTURES_OUT/$NAME.pcap"
    for side in west east; do
        if [[ -s $WORK/$side.log ]]; then
            cp "$WORK/$side.log" "$KEYS_OUT/$NAME.$side.log"
            cp "$WORK/$side.swanctl.conf" "$WORK/$side.strongswan.conf" "$RUN_RECORD/"
            [[ -s $WORK/$side.swanctl.out ]] && cp "$WORK/$side.swanctl.out" "$RUN_RECORD/"
            gzip -9nf "$KEYS_OUT/$NAME.$side.log"
            args+=("--$side-log" "$KEYS_OUT/$NAME.$side.log.gz")
        fi
    done
    for f in ping.out sas.out; do [[ -f $WORK/$f ]] && cp "$WORK/$f" "$RUN_RECORD/"; done
    { echo "$DESCRIPTION"; [[ -n $NOTES ]] && echo "$NOTES"
      echo "strongSwan: $("$CHARON" --version 2>&1 | tail -1) ($CHARON)"; } > "$RUN_RECORD/scenario.txt"
    [[ ${#args[@]} -gt 0 ]] || { log "no daemon logs"; return 1; }
    args+=(--psk "$(side_value PSK west)" --psk-peer "$EAST_ID")
    local ppk_id ppk_secret   # the PPK the initiator (west) was configured with
    ppk_id=$(side_value PPK_ID west); ppk_secret=$(side_value PPK_SECRET west)
    [[ -n $ppk_id ]] && args+=(--ppk "$ppk_id=$ppk_secret")
    "$PYTHON" "$IKEV2_LAB_DIR/ikev2_keys.py" toml --name "$NAME" --pcap "$CAPTURES_OUT/$NAME.pcap" \
        --view "$CAPTURE_VIEW" "${args[@]}" --out "$KEYS_OUT/$NAME.toml" \
        2> "$RUN_RECORD/extract.txt" || { status=1; log "key extraction reported problems"; }
    cat "$RUN_RECORD/extract.txt" >&2
    # tshark 4.0 holds one key set per SPI pair and knows no IKE_INTERMEDIATE: a record of what it
    # makes of the capture with the final stage's keys, not a pass/fail check
    "$PYTHON" "$IKEV2_LAB_DIR/verify_ikev2_tshark.py" "$CAPTURES_OUT/$NAME.pcap" "${args[@]:0:4}" \
        > "$RUN_RECORD/verify.md" 2>&1 || log "tshark 4.0 cannot check every message (see $RUN_RECORD/verify.md)"
    log "done: $(stat -c %s "$CAPTURES_OUT/$NAME.pcap") bytes"
    return $status
}

pq_main() {
    local prefix=""
    while [[ ${1-} == --prefix ]]; do prefix=$2; shift 2; done
    if [[ ${1-} == --list ]]; then printf '%s\n' "${SCENARIOS[@]}"; exit 0; fi
    [[ -n $prefix ]] || { echo "usage: $0 --prefix STRONGSWAN6_DIR [NAME...]" >&2; exit 2; }
    CHARON=$prefix/libexec/ipsec/charon; SWANCTL=$prefix/sbin/swanctl
    # charon's pid file goes to its configured --with-piddir (DIR/run for the build in captures/README.md);
    # each daemon gets a private tmpfs there (start_charon), so the two never share one
    CHARON_PIDDIR=${CHARON_PIDDIR:-$prefix/run}; mkdir -p "$CHARON_PIDDIR"
    [[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 1; }
    [[ -x $CHARON && -x $SWANCTL ]] || { echo "no charon/swanctl under $prefix" >&2; exit 1; }
    local names=() name status=0
    for name in "$@"; do [[ $name == ikev2-pq-* ]] && names+=("$name") || names+=("ikev2-pq-$name"); done
    [[ ${#names[@]} == 0 ]] && names=("${SCENARIOS[@]}")
    for name in "${names[@]}"; do
        run_scenario "$name" || { status=1; teardown; }
    done
    exit $status
}
pq_main "$@"
