"""IKEv2 payload decoding on built messages and hostile bytes; registry names as IANA spells them."""

from __future__ import annotations

import random
import struct

from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.exchanges import check_shape, message_label
from ikedecode.ike.v2.payloads import (
    Ikev2AuthPayload,
    Ikev2ConfigPayload,
    Ikev2EapPayload,
    Ikev2FragmentPayload,
    Ikev2NotifyPayload,
    Ikev2TsPayload,
    UnknownIkev2Payload,
    parse_ikev2_payloads,
)


def _payload(next_type: int, body: bytes, critical: bool = False) -> bytes:
    return struct.pack("!BBH", next_type, 0x80 if critical else 0, 4 + len(body)) + body


def test_registry_names_follow_iana():
    assert [reg.EXCHANGE_TYPES[t] for t in (34, 35, 36, 37, 38, 43, 44)] == [
        "IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL", "IKE_SESSION_RESUME",
        "IKE_INTERMEDIATE", "IKE_FOLLOWUP_KE",
    ]  # fmt: skip
    assert reg.TRANSFORM_TYPES[4] == "Key Exchange Method (KE)" and reg.TRANSFORM_TYPES[6].endswith(
        "(ADDKE1)"
    )
    assert [reg.KEY_EXCHANGE_METHODS[i] for i in (35, 36, 37)] == ["ml-kem-512", "ml-kem-768", "ml-kem-1024"]
    assert reg.NOTIFY_TYPES[16430] == "IKEV2_FRAGMENTATION_SUPPORTED"
    assert reg.NOTIFY_TYPES[16441] == "ADDITIONAL_KEY_EXCHANGE" and reg.NOTIFY_TYPES[47] == "STATE_NOT_FOUND"
    assert reg.PAYLOAD_TYPES.name(53) == "Encrypted and Authenticated Fragment"
    assert reg.NOTIFY_TYPES.name(9000) == "Private use - errors (9000)"  # unknown values keep their number
    assert reg.KEY_EXCHANGE_METHODS.name(999) == "Unassigned (999)"


def test_notify_data_is_decoded():
    group = _payload(41, struct.pack("!BBH", 0, 0, 17) + struct.pack("!H", 36))
    hashes = _payload(41, struct.pack("!BBH", 0, 0, 16431) + struct.pack("!HHH", 2, 3, 5))
    redirect = _payload(0, struct.pack("!BBH", 0, 0, 16407) + bytes([3, 7]) + b"gw.test" + b"n" * 16)
    chain = parse_ikev2_payloads(41, group + hashes + redirect)
    invalid_ke, sig_hash, moved = chain.payloads
    assert isinstance(invalid_ke, Ikev2NotifyPayload) and invalid_ke.decoded["group_name"] == "ml-kem-768"
    assert sig_hash.decoded == {"hash_algorithms": ["SHA2-256", "SHA2-384", "Identity"]}
    assert moved.decoded["gateway"] == "gw.test" and moved.is_error is False
    assert not chain.problems


def test_selectors_config_eap_fragments_and_rfc7427_auth():
    ts = (
        struct.pack("!B3x", 1)
        + struct.pack("!BBHHH", 7, 6, 16, 443, 443)
        + bytes([10, 1, 0, 0, 10, 1, 255, 255])
    )
    cp = struct.pack("!B3x", 2) + struct.pack("!HH", 1, 4) + bytes([10, 9, 8, 7]) + struct.pack("!HH", 3, 0)
    eap = struct.pack("!BBHB", 2, 5, 12, 1) + b"labuser"
    sha256_rsa = bytes.fromhex("300d06092a864886f70d01010b0500")
    auth = struct.pack("!B3x", 14) + bytes([len(sha256_rsa)]) + sha256_rsa + b"s" * 32
    skf = struct.pack("!HH", 2, 3) + b"x" * 40
    chain = parse_ikev2_payloads(
        44, _payload(47, ts) + _payload(48, cp) + _payload(39, eap) + _payload(53, auth) + _payload(0, skf)
    )
    tsi, config, eap_payload, auth_payload, fragment = chain.payloads
    assert isinstance(tsi, Ikev2TsPayload) and tsi.detail() == "10.1.0.0/16[tcp/443]"
    assert (
        isinstance(config, Ikev2ConfigPayload)
        and config.detail() == "CFG_REPLY INTERNAL_IP4_ADDRESS=10.9.8.7, INTERNAL_IP4_DNS"
    )
    assert isinstance(eap_payload, Ikev2EapPayload) and eap_payload.identity == "labuser"
    assert (
        isinstance(auth_payload, Ikev2AuthPayload)
        and auth_payload.signature_algorithm == "sha256WithRSAEncryption"
    )
    assert auth_payload.auth_data == b"s" * 32
    assert isinstance(fragment, Ikev2FragmentPayload) and (fragment.number, fragment.total) == (2, 3)
    assert not chain.problems


def test_unknown_critical_payload_is_a_problem_and_kept():
    chain = parse_ikev2_payloads(99, _payload(0, b"abc", critical=True))
    (payload,) = chain.payloads
    assert isinstance(payload, UnknownIkev2Payload) and payload.critical and payload.name == "Unassigned (99)"
    assert "UNSUPPORTED_CRITICAL_PAYLOAD" in chain.problems[0]


def test_random_bytes_never_raise():
    rng = random.Random(7)
    for _ in range(3000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 120)))
        chain = parse_ikev2_payloads(rng.choice(range(33, 56)), data)
        for payload in chain.payloads:
            payload.to_dict()
            payload.summary()


def test_exchange_shapes_say_what_is_missing_or_unexpected():
    assert message_label(35, True) == "IKE_AUTH response"
    assert check_shape(34, False, [33, 34, 40, 41], [16388], encrypted=False) == []
    assert check_shape(34, False, [33, 40], [], encrypted=False) == [
        "IKE_SA_INIT request lacks its KE payload"
    ]
    assert check_shape(34, True, [41], [14], encrypted=False) == []  # an error answer replaces the rest
    assert check_shape(37, False, [42, 44], [], encrypted=True) == [
        "unexpected TSi payload in INFORMATIONAL request"
    ]
    assert check_shape(36, False, [33, 40], [], encrypted=False) == [
        "CREATE_CHILD_SA request is not encrypted (RFC 7296 requires an SK payload)"
    ]


def test_the_same_shape_asked_again_gives_its_problems_in_a_list_of_its_own():
    first = check_shape(37, False, (42, 44), (), encrypted=True)
    first.append("changed by the caller")
    assert check_shape(37, False, [42, 44], [], encrypted=True) == [
        "unexpected TSi payload in INFORMATIONAL request"
    ]


def test_ike_scan_ikev2_responses_decode(reference_dir):
    from ikedecode.ike.header import parse_header

    sa_init = (reference_dir / "ike-scan/pkt/pkt-v2-sainit-response.dat").read_bytes()
    header = parse_header(sa_init)
    chain = parse_ikev2_payloads(header.next_payload, sa_init[28 : header.length])
    assert [p.short for p in chain.payloads] == ["SA", "KE", "No"] and not chain.problems
    assert chain.payloads[0].proposals[0].text() == "#1 IKE: aes-cbc-128/sha1/prfsha1/modp2048"
    # the KE payload says group 2 (ike-scan's canned reply), the SA chose 14: both shown as sent
    assert chain.payloads[1].detail() == "modp1024, 128 bytes"
    notify = (reference_dir / "ike-scan/pkt/pkt-v2-notify-response.dat").read_bytes()
    header = parse_header(notify)
    (refused,) = parse_ikev2_payloads(header.next_payload, notify[28 : header.length]).payloads
    assert isinstance(refused, Ikev2NotifyPayload) and refused.type_name == "NO_PROPOSAL_CHOSEN"
