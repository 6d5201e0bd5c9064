"""Payload chains of ike-scan's recorded responses, checked against what ike-scan's check-decode
script says ike-scan decodes from the same files (see shared/reference/README.md)."""

from __future__ import annotations

from cryptography import x509

from ikedecode.ike.header import parse_header
from ikedecode.ike.registries import (
    AUTHENTICATION_METHODS,
    ENCRYPTION_ALGORITHMS,
    GROUP_DESCRIPTIONS,
    HASH_ALGORITHMS,
    LIFE_TYPES,
)
from ikedecode.ike.v1.payloads import (
    CertPayload,
    HashPayload,
    IdPayload,
    KePayload,
    NoncePayload,
    NotifyPayload,
    PayloadChain,
    SaPayload,
    SignaturePayload,
    UnknownPayload,
    VendorIdPayload,
    parse_payloads,
)


def decode(reference_dir, filename: str) -> PayloadChain:
    data = (reference_dir / "ike-scan" / "pkt" / filename).read_bytes()
    if data.startswith(b"\x00\x00\x00\x00"):  # non-ESP marker of the port-4500 sample
        data = data[4:]
    header = parse_header(data)
    chain = parse_payloads(header.next_payload, header.body)
    assert chain.problems == []
    assert chain.payloads[-1].end == header.length
    return chain


def only_transform_attributes(chain: PayloadChain) -> dict[int, object]:
    sa = chain.payloads[0]
    assert isinstance(sa, SaPayload)
    assert len(sa.proposals) == 1 and len(sa.transforms) == 1
    return {attribute.type: attribute for attribute in sa.transforms[0].attributes}


def test_main_mode_response_sa_attributes(reference_dir):
    # ike-scan: SA=(Enc=3DES Hash=SHA1 Auth=RSA_Sig Group=2:modp1024 LifeType=Seconds
    #               LifeDuration(4)=0x00007080)
    attributes = only_transform_attributes(decode(reference_dir, "pkt-main-mode-response.dat"))
    assert attributes[1].value == ENCRYPTION_ALGORITHMS.value_of("3des")
    assert attributes[2].value == HASH_ALGORITHMS.value_of("sha1")
    assert attributes[3].value == AUTHENTICATION_METHODS.value_of("rsa-sig")
    assert attributes[4].value == 2 and attributes[4].value_short == GROUP_DESCRIPTIONS.short[2] == "modp1024"
    assert attributes[11].value_name == LIFE_TYPES[1] == "Seconds"
    life_duration = attributes[12]
    assert life_duration.is_basic is False  # the "(4)" in ike-scan's output: a 4-byte TLV
    assert life_duration.value == 0x7080


def test_main_mode_response_vendor_id_is_firewall1_ngx(reference_dir):
    chain = decode(reference_dir, "pkt-main-mode-response.dat")
    vids = [p for p in chain.payloads if isinstance(p, VendorIdPayload)]
    assert [p.data.hex() for p in vids] == [
        "f4ed19e0c114eb516faaac0ee37daf2807b4381f000000010000138d459becd70000000018000000"
    ]
    assert "Firewall-1 NGX" in vids[0].vendor_name


def test_nat_t_main_mode_response_matches_plain_one(reference_dir):
    chain = decode(reference_dir, "pkt-main-natt-response.dat")
    assert [p.short for p in chain.payloads] == ["SA", "VID"]
    assert "Firewall-1 NGX" in chain.payloads[1].vendor_name


def test_aggressive_mode_response_payloads(reference_dir):
    chain = decode(reference_dir, "pkt-aggr-mode-response.dat")
    assert [p.short for p in chain.payloads] == ["SA", "VID", "VID", "VID", "KE", "NONCE", "ID", "HASH"]
    attributes = only_transform_attributes(chain)
    # ike-scan: SA=(Enc=3DES Hash=SHA1 Group=2:modp1024 Auth=PSK LifeType=Seconds LifeDuration=28800)
    assert [attributes[t].text for t in (1, 2, 4, 3, 11)] == [
        "3DES-CBC", "SHA", "Alternate 1024-bit MODP group", "Pre-shared key", "Seconds"
    ]
    assert attributes[12].is_basic is True and attributes[12].value == 28800
    vendor_names = [p.vendor_name for p in chain.payloads if isinstance(p, VendorIdPayload)]
    assert vendor_names == ["Netscreen-15", "RFC 3706 DPD v1.0", "HeartBeat_Notify"]
    ke, nonce, identity, hash_r = chain.payloads[4:]
    assert isinstance(ke, KePayload) and len(ke.data) == 128
    assert ke.data.hex().startswith("9a1f1fce36808165")  # g_xr, first field of the PSK line
    assert isinstance(nonce, NoncePayload) and len(nonce.data) == 20
    assert isinstance(identity, IdPayload)
    assert identity.id_type_name == "ID_IPV4_ADDR" and identity.text == "62.3.105.251"
    assert isinstance(hash_r, HashPayload)
    assert hash_r.data.hex() == "950d8c8ea94a4af3d0b078372e81608890485b54"  # last field of the PSK line


def test_aggressive_mode_id_body_is_the_idir_b_ike_scan_hashes(reference_dir):
    identity = decode(reference_dir, "pkt-aggr-mode-response.dat").payloads[6]
    # check-decode's --pskcrack line: idir_b = 011101f43e0369fb (ID type 1, UDP, port 500, address)
    assert identity.body.hex() == "011101f43e0369fb"
    assert (identity.protocol_id, identity.port) == (17, 500)


def test_certificate_response(reference_dir):
    chain = decode(reference_dir, "pkt-aggr-cert-response.dat")
    assert [p.short for p in chain.payloads] == ["SA", "KE", "NONCE", "ID", "CERT", "SIG"]
    identity, cert, signature = chain.payloads[3:]
    assert identity.text == "172.16.3.27"
    assert isinstance(cert, CertPayload)
    assert cert.to_dict()["encoding_name"] == "X.509 Certificate - Signature"
    assert len(cert.data) == 1376
    subject = x509.load_der_x509_certificate(cert.data).subject
    assert subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "nw65.demo.nta-monitor.com"
    assert isinstance(signature, SignaturePayload) and len(signature.data) == 256
    assert only_transform_attributes(chain)[3].text == "RSA signatures"


def test_notify_no_proposal_chosen(reference_dir):
    (notify,) = decode(reference_dir, "pkt-notify-response.dat").payloads
    assert isinstance(notify, NotifyPayload)
    assert notify.notify_type == 14 and notify.notify_name == "NO-PROPOSAL-CHOSEN"
    assert notify.is_error
    assert notify.summary() == "NOTIFY: NO-PROPOSAL-CHOSEN"


def test_check_point_notify_message_text(reference_dir):
    (notify,) = decode(reference_dir, "pkt-checkpoint-notify.dat").payloads
    assert notify.notify_type == 9101
    assert notify.notify_name == "private use (9101)"
    # ike-scan: Notify message 9101 (Firewall-1) Message="User testing unknown.\000"
    assert notify.text == "User testing unknown.\\000"
    assert notify.data == b"User testing unknown.\x00"


def test_ikev2_payloads_are_walked_but_not_decoded(reference_dir):
    chain = decode(reference_dir, "pkt-v2-sainit-response.dat")
    assert [p.type for p in chain.payloads] == [33, 34, 40]
    assert all(isinstance(p, UnknownPayload) for p in chain.payloads)
    assert chain.payloads[1].name == "Key Exchange (IKEv2)" and len(chain.payloads[1].body) == 132
    assert len(chain.payloads[2].body) == 16  # ike-scan: Nonce(16 bytes)
    (notify,) = decode(reference_dir, "pkt-v2-notify-response.dat").payloads
    assert notify.name == "Notify (IKEv2)"
    assert notify.body[2:4] == b"\x00\x0e"  # RFC 4306 3.10 notify type 14, NO_PROPOSAL_CHOSEN
