"""Single-field checks on hand-built payloads: ID text, DELETE SPIs, NOTIFY data, variable-length
life durations, mode-config attributes, NAT-OA, Cisco fragments."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ikedecode.ike.v1.payloads import (
    ConfigAttributePayload,
    DeletePayload,
    FragmentPayload,
    IdPayload,
    NatOaPayload,
    NotifyPayload,
    SaPayload,
    identification_text,
    parse_payloads,
)


def payload(body: bytes, next_type: int = 0) -> bytes:
    """Generic payload header (RFC 2408 3.2) in front of ``body``."""
    return struct.pack("!BBH", next_type, 0, len(body) + 4) + body


def only(payload_type: int, body: bytes):
    chain = parse_payloads(payload_type, payload(body))
    assert len(chain.payloads) == 1
    return chain.payloads[0], chain.problems


def id_body(id_type: int, data: bytes, protocol: int = 0, port: int = 0) -> bytes:
    return struct.pack("!BBH", id_type, protocol, port) + data


def ip4(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def ip6(text: str) -> bytes:
    return ipaddress.IPv6Address(text).packed


@pytest.mark.parametrize(
    ("id_type", "data", "text"),
    [
        (1, ip4("192.0.2.1"), "192.0.2.1"),
        (4, ip4("10.1.0.0") + ip4("255.255.0.0"), "10.1.0.0/255.255.0.0"),
        (7, ip4("10.1.1.1") + ip4("10.1.1.9"), "10.1.1.1-10.1.1.9"),
        (5, ip6("2001:db8::1"), "2001:db8::1"),
        (6, ip6("2001:db8::") + ip6("ffff:ffff::"), "2001:db8::/32"),
        (6, ip6("2001:db8::") + ip6("ffff:0:ffff::"), "2001:db8::/ffff:0:ffff::"),
        (8, ip6("2001:db8::1") + ip6("2001:db8::9"), "2001:db8::1-2001:db8::9"),
        (2, b"moon.localdomain", "moon.localdomain"),
        (3, b"mpa@tablet.localdomain", "mpa@tablet.localdomain"),
        (11, b"group-a", "group-a"),
        (11, b"\x01\x02\xff", "0102ff"),
        (10, b"\x30\x00", "3000"),
    ],
)
def test_identification_text(id_type, data, text):
    identity, problems = only(5, id_body(id_type, data, protocol=17, port=500))
    assert isinstance(identity, IdPayload)
    assert identity.text == text and identity.data == data
    assert (identity.protocol_id, identity.port) == (17, 500)
    assert problems == []


def test_der_distinguished_name_is_shown_as_text():
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "AT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Juniper"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, "srx210-3"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "lab@example.org"),
        ]
    )
    der = name.public_bytes()
    identity, problems = only(5, id_body(9, der))
    assert identity.text == "C=AT, O=Juniper, OU=Lab, CN=srx210-3, E=lab@example.org"
    assert identity.to_dict()["data"] == der.hex()
    assert problems == []


def test_broken_der_name_falls_back_to_hex():
    assert identification_text(9, b"\x30\x05\x31\x03\x30") == ("3005310330", None)


def test_address_of_the_wrong_size_is_a_problem_not_an_error():
    identity, problems = only(5, id_body(1, b"\x0a\x00\x00"))
    assert identity.text == "0a0000"
    assert problems == ["ID payload at offset 28: ID_IPV4_ADDR data is 3 bytes, expected 4"]


def delete_body(protocol: int, spi_size: int, count: int, spis: bytes) -> bytes:
    return struct.pack("!IBBH", 1, protocol, spi_size, count) + spis


def test_delete_with_several_spis():
    spis = [bytes.fromhex(h) for h in ("070883c2", "c254fe64", "0000abcd")]
    delete, problems = only(12, delete_body(3, 4, 3, b"".join(spis)))
    assert isinstance(delete, DeletePayload)
    assert delete.spis == spis and delete.spi_size == 4 and delete.protocol_id == 3
    assert delete.summary() == "DELETE: ESP 3 SPIs 0x070883c2, 0xc254fe64, 0x0000abcd"
    assert delete.to_dict()["spis"] == ["070883c2", "c254fe64", "0000abcd"]
    assert problems == []


def test_delete_of_an_isakmp_sa_carries_both_cookies():
    cookies = bytes.fromhex("ab3e0f1f8bc3be8e3411e716366643fd")
    delete, problems = only(12, delete_body(1, 16, 1, cookies))
    assert delete.spis == [cookies] and delete.summary().startswith("DELETE: ISAKMP 1 SPI ")
    assert problems == []


def test_delete_announcing_more_spis_than_it_carries():
    delete, problems = only(12, delete_body(3, 4, 5, bytes(8)))
    assert len(delete.spis) == 2
    assert problems == ["DELETE payload at offset 28: announces 5 SPIs of 4 bytes, only 2 fit"]


def notify_body(notify_type: int, data: bytes = b"", protocol: int = 1, spi: bytes = b"") -> bytes:
    return struct.pack("!IBBH", 1, protocol, len(spi), notify_type) + spi + data


def test_dpd_notify_sequence_number():
    spi = bytes.fromhex("ab3e0f1f8bc3be8e3411e716366643fd")
    notify, _ = only(11, notify_body(36136, struct.pack("!I", 4711), spi=spi))
    assert isinstance(notify, NotifyPayload)
    assert notify.notify_name == "R-U-THERE" and notify.sequence == 4711 and notify.spi == spi
    assert not notify.is_error
    assert notify.summary() == f"NOTIFY: R-U-THERE seq 4711 (ISAKMP SPI 0x{spi.hex()})"


def test_responder_lifetime_notify_carries_ipsec_attributes():
    # RFC 2407 4.6.3.1: SA life type seconds (basic), SA life duration as a 3-byte TLV
    attributes = struct.pack("!HH", 0x8001, 1) + struct.pack("!HH", 2, 3) + (3600).to_bytes(3, "big")
    notify, problems = only(11, notify_body(24576, attributes, protocol=3, spi=b"\xc2\x54\xfe\x64"))
    assert [(a.name, a.value) for a in notify.lifetime_attributes] == [
        ("SA-Life-Type", 1),
        ("SA-Life-Duration", 3600),
    ]
    assert notify.summary() == "NOTIFY: RESPONDER-LIFETIME 3600 seconds (ESP SPI 0xc254fe64)"
    assert problems == []


def test_initial_contact_notify():
    notify, _ = only(11, notify_body(24578))
    assert notify.summary() == "NOTIFY: INITIAL-CONTACT"
    assert notify.to_dict()["notify_name"] == "INITIAL-CONTACT"


def ipsec_sa(attributes: bytes, transform_id: int = 12) -> bytes:
    """SA payload body: IPsec DOI, identity-only situation, one ESP proposal, one transform."""
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attributes), 1, transform_id, 0) + attributes
    spi = b"\x07\x08\x83\xc2"
    proposal = struct.pack("!BBHBBBB", 0, 0, 12 + len(transform), 1, 3, 4, 1) + spi + transform
    return struct.pack("!II", 1, 1) + proposal


@pytest.mark.parametrize("size", [1, 3, 4, 8, 13])
def test_variable_length_life_duration_of_any_size(size):
    duration = 2**(8 * size - 1) + 5
    attributes = struct.pack("!HH", 0x8001, 1) + struct.pack("!HH", 2, size) + duration.to_bytes(size, "big")
    sa, problems = only(1, ipsec_sa(attributes))
    assert isinstance(sa, SaPayload)
    (transform,) = sa.transforms
    life = transform.attribute(2)
    assert life.value == duration and life.is_basic is False and life.name == "SA-Life-Duration"
    assert sa.proposals[0].spi == b"\x07\x08\x83\xc2" and sa.proposals[0].protocol_name == "ESP"
    assert problems == []


def test_ipsec_transform_is_named_in_the_esp_context():
    attributes = b"".join(
        struct.pack("!HH", 0x8000 | t, v) for t, v in ((1, 1), (2, 28800), (4, 1), (6, 256), (5, 5))
    )
    sa, _ = only(1, ipsec_sa(attributes))
    (transform,) = sa.transforms
    assert transform.transform_name == "ESP_AES-CBC"
    assert transform.describe() == "ESP_AES-CBC-256, HMAC-SHA2-256, Tunnel, 28800 seconds"
    assert [a.name for a in transform.attributes] == [
        "SA-Life-Type", "SA-Life-Duration", "Encapsulation-Mode", "Key-Length", "Authentication-Algorithm"
    ]


def test_attribute_running_past_the_transform_is_reported():
    attributes = struct.pack("!HH", 0x8001, 1) + struct.pack("!HH", 2, 8) + b"\x00\x00\x70\x80"
    sa, problems = only(1, ipsec_sa(attributes))
    assert [a.type for a in sa.transforms[0].attributes] == [1]
    assert len(problems) == 1 and "SA-Life-Duration claims 8 bytes, only 4 left" in problems[0]


def test_proposal_announcing_more_transforms_than_it_holds():
    body = bytearray(ipsec_sa(struct.pack("!HH", 0x8004, 1)))
    body[8 + 7] = 2  # number of transforms
    sa, problems = only(1, bytes(body))
    assert len(sa.transforms) == 1
    assert problems == ["proposal at offset 40: announces 2 transforms, holds 1"]


def config_attribute(attribute_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", attribute_type, len(value)) + value


def test_mode_config_reply_values_as_text():
    attributes = (
        config_attribute(16521, b"mpa")
        + config_attribute(16522, b"mpa")
        + struct.pack("!HH", 0x8000 | 16527, 1)
        + config_attribute(1, ip4("10.1.1.1"))
        + config_attribute(28676, ip4("10.1.0.0") + ip4("255.255.0.0") + bytes(6))
    )
    config, problems = only(14, struct.pack("!BBH", 2, 0, 0x1234) + attributes)
    assert isinstance(config, ConfigAttributePayload)
    assert config.cfg_type_name == "ISAKMP_CFG_REPLY" and config.identifier == 0x1234
    assert [(a.name, a.text) for a in config.attributes] == [
        ("XAUTH_USER_NAME", "mpa"),
        ("XAUTH_USER_PASSWORD", "mpa"),
        ("XAUTH_STATUS", "OK"),
        ("INTERNAL_IP4_ADDRESS", "10.1.1.1"),
        ("UNITY_SPLIT_INCLUDE", "10.1.0.0/255.255.0.0"),
    ]
    assert config.to_dict()["attributes"][3]["text"] == "10.1.1.1"
    assert problems == []


def test_nat_original_address():
    nat_oa, problems = only(21, struct.pack("!B3x", 1) + ip4("192.168.0.100"))
    assert isinstance(nat_oa, NatOaPayload)
    assert nat_oa.address == "192.168.0.100" and nat_oa.summary() == "NAT-OA: 192.168.0.100"
    assert problems == []


def test_cisco_fragment_fields():
    fragment, problems = only(132, struct.pack("!HBB", 7, 2, 1) + b"piece")
    assert isinstance(fragment, FragmentPayload)
    assert (fragment.fragment_id, fragment.number, fragment.last, fragment.data) == (7, 2, True, b"piece")
    assert fragment.summary() == "FRAG: id 7 #2, 5 bytes (last)"
    assert problems == []
