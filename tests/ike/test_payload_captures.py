"""Cleartext IKEv1 messages of Wireshark's regression captures, decoded and compared with what
tshark 4.0 shows for the same frames (shared/reference/README.md).

The captures are read here with dpkt directly: the project's capture layer is tested on its own.
"""

from __future__ import annotations

import gzip
import json

import dpkt
import pytest

from ikedecode.ike.header import parse_header
from ikedecode.ike.registries import PROTO_ISAKMP
from ikedecode.ike.v1.payloads import (
    CertRequestPayload,
    KePayload,
    NatDPayload,
    NoncePayload,
    PayloadChain,
    SaPayload,
    VendorIdPayload,
    distinguished_name_text,
    parse_payloads,
)

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


def ike_messages(path) -> list[bytes]:
    """UDP payloads of an Ethernet/IPv4 capture, in frame order (all frames are ISAKMP on 500)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        magic = handle.read(4)
        handle.seek(0)
        reader = dpkt.pcapng.Reader(handle) if magic == PCAPNG_MAGIC else dpkt.pcap.Reader(handle)
        messages = []
        for _, frame in reader:
            udp = dpkt.ethernet.Ethernet(frame).data.data
            assert isinstance(udp, dpkt.udp.UDP) and udp.dport == 500
            messages.append(bytes(udp.data))
        return messages


@pytest.fixture
def certs(reference_dir) -> list[bytes]:
    return ike_messages(reference_dir / "wireshark" / "captures" / "ikev1-certs.pcap")


@pytest.fixture
def bug_12610(reference_dir) -> list[bytes]:
    return ike_messages(reference_dir / "wireshark" / "captures" / "ikev1-bug-12610.pcapng.gz")


def chain_of(message: bytes) -> PayloadChain:
    header = parse_header(message)
    assert not header.encrypted
    return parse_payloads(header.next_payload, header.body)


def vendor_names(chain: PayloadChain) -> list[str]:
    return [p.vendor_name for p in chain.payloads if isinstance(p, VendorIdPayload)]


def test_only_the_first_four_main_mode_messages_are_cleartext(certs, bug_12610):
    for messages in (certs, bug_12610):
        flags = [parse_header(m).encrypted for m in messages]
        assert flags[:4] == [False] * 4 and all(flags[4:])
    assert parse_header(certs[6]).message_id == 0xF2CFE203  # README: quick mode msgid


def test_payloads_tile_the_message_exactly(certs, bug_12610):
    for message in certs[:4] + bug_12610[:4]:
        header = parse_header(message)
        chain = chain_of(message)
        assert chain.problems == [] and chain.trailing == b""
        assert chain.payloads[0].offset == 28
        for before, after in zip(chain.payloads, chain.payloads[1:], strict=False):
            assert after.offset == before.end
            assert before.next_payload == after.type
        assert chain.payloads[-1].end == header.length
        for payload in chain.payloads:
            assert message[payload.offset:payload.end] == payload.raw
            assert payload.body == payload.raw[4:]


def test_certs_main_mode_proposal(certs):
    sa = chain_of(certs[0]).payloads[0]
    assert isinstance(sa, SaPayload)
    assert (sa.doi, sa.situation) == (1, 1)
    (transform,) = sa.transforms
    assert sa.proposals[0].protocol_id == PROTO_ISAKMP and transform.transform_name == "KEY_IKE"
    assert transform.describe() == "3DES-CBC, MD5, RSA signatures, group 2, 28800 seconds"
    assert chain_of(certs[1]).payloads[0].transforms[0].describe() == transform.describe()


def test_certs_vendor_ids_as_tshark_names_them(certs):
    assert vendor_names(chain_of(certs[0])) == ["Openswan/FreeS/WAN (OEhyLdACecfa)", "RFC 3706 DPD v1.0"]
    assert vendor_names(chain_of(certs[1])) == [
        "RFC 3706 DPD v1.0",
        "draft-stenberg-ipsec-nat-traversal-01",
        "draft-stenberg-ipsec-nat-traversal-02",
        "draft-ietf-ipsec-nat-t-ike-00",
        "draft-ietf-ipsec-nat-t-ike-02",
        "draft-ietf-ipsec-nat-t-ike-02 (newline variant)",
        "draft-ietf-ipsec-nat-t-ike-03",
        "RFC 3947 NAT-T",
        "Netscreen-6",
    ]


def test_certs_key_exchange_and_certificate_request(certs):
    mm3, mm4 = chain_of(certs[2]), chain_of(certs[3])
    assert [p.short for p in mm3.payloads] == ["KE", "NONCE"]
    assert [p.short for p in mm4.payloads] == ["KE", "NONCE", "CR"]
    for chain in (mm3, mm4):
        ke, nonce = chain.payloads[:2]
        assert isinstance(ke, KePayload) and len(ke.data) == 128  # group 2: 1024-bit public value
        assert isinstance(nonce, NoncePayload) and len(nonce.data) == 16
    request = mm4.payloads[2]
    assert isinstance(request, CertRequestPayload) and request.encoding == 4
    # tshark: rdnSequence (id-at-commonName=SchendlZertifikate,dc=geblergasse95,dc=at)
    assert distinguished_name_text(request.authority) == "DC=at, DC=geblergasse95, CN=SchendlZertifikate"


def test_bug_12610_offers_twelve_transforms(bug_12610):
    sa = chain_of(bug_12610[0]).payloads[0]
    assert isinstance(sa, SaPayload) and len(sa.proposals) == 1
    offered = [
        (t.get(1), t.get(14), t.get(2), t.get(3), t.get(4), t.get(12)) for t in sa.transforms
    ]
    # tshark -e isakmp.ike.attr.{encryption_algorithm,key_length,hash_algorithm,...}
    assert [o[0] for o in offered] == [7, 7, 7, 7, 7, 7, 5, 5, 5, 1, 1, 1]
    assert [o[1] for o in offered] == [256, 256, 256, 128, 128, 128] + [None] * 6
    assert [o[2] for o in offered] == [4, 2, 1] * 4
    assert {o[3:] for o in offered} == {(65001, 2, 28800)}
    assert [t.number for t in sa.transforms] == list(range(1, 13))


def test_bug_12610_responder_chooses_aes256_sha256_xauth_psk(bug_12610):
    chain = chain_of(bug_12610[1])
    (transform,) = chain.payloads[0].transforms
    assert transform.describe() == "AES-CBC-256, SHA2-256, XAUTHInitPreShared, group 2, 28800 seconds"
    assert transform.attribute(3).value == 65001
    assert vendor_names(chain) == ["XAUTH", "RFC 3706 DPD v1.0", "RFC 3947 NAT-T"]
    assert vendor_names(chain_of(bug_12610[0])) == [
        "RFC 3947 NAT-T",
        "draft-ietf-ipsec-nat-t-ike-02",
        "draft-ietf-ipsec-nat-t-ike-02 (newline variant)",
        "draft-ietf-ipsec-nat-t-ike-00",
        "XAUTH",
        "Cisco Unity 1.0",
        "Cisco Fragmentation",
        "RFC 3706 DPD v1.0",
    ]


def test_bug_12610_nat_detection_hashes_are_sha256_sized(bug_12610):
    for message in bug_12610[2:4]:
        nat_d = [p for p in chain_of(message).payloads if isinstance(p, NatDPayload)]
        assert len(nat_d) == 2 and {len(p.data) for p in nat_d} == {32}  # tshark: payload length 36
        assert nat_d[0].name == "NAT-D (RFC 3947)"


def test_to_dict_is_json_with_lowercase_hex(certs, bug_12610):
    with_ke = 0
    for message in certs[:4] + bug_12610[:4]:
        chain = chain_of(message)
        encoded = json.dumps(chain.to_dict())
        for payload in chain.payloads:
            as_dict = payload.to_dict()
            assert as_dict["offset"] == payload.offset and as_dict["name"] == payload.name
            assert payload.summary().startswith(payload.short + ":")
        ke = chain.first(4)
        if ke is not None:
            assert ke.data.hex() in encoded
            with_ke += 1
    assert with_ke  # the KE payload's bytes were checked at least once
