"""Data attributes (RFC 2408 3.3): basic vs variable format, naming by context, bounds."""

from __future__ import annotations

import struct

import pytest

from ikedecode.ike.v1.attributes import (
    IKE_CONTEXT,
    IPSEC_CONTEXT,
    MODECFG_CONTEXT,
    UNKNOWN_CONTEXT,
    Attribute,
    context_for_protocol,
    lifetime_text,
    parse_attributes,
    transform_attributes,
)


def basic(attribute_type: int, value: int) -> bytes:
    return struct.pack("!HH", 0x8000 | attribute_type, value)


def variable(attribute_type: int, value: bytes) -> bytes:
    return struct.pack("!HH", attribute_type, len(value)) + value


def test_basic_and_variable_formats():
    data = basic(1, 5) + variable(12, b"\x00\x00\x70\x80") + variable(6, b"\x01\x02\x03")
    attributes, problems = parse_attributes(data, IKE_CONTEXT)
    assert problems == []
    assert [(a.type, a.value, a.is_basic) for a in attributes] == [
        (1, 5, True),
        (12, 0x7080, False),
        (6, b"\x01\x02\x03", False),  # Group-Prime stays bytes
    ]
    assert attributes[0].to_dict() == {
        "type": 1, "name": "Encryption-Algorithm", "format": "TV", "value": 5, "value_name": "3DES-CBC"
    }
    assert attributes[2].to_dict()["value"] == "010203"


def test_the_same_number_means_different_things_in_each_context():
    data = basic(1, 1) + basic(5, 2)
    ike = [a.summary() for a in parse_attributes(data, IKE_CONTEXT)[0]]
    ipsec = [a.summary() for a in parse_attributes(data, IPSEC_CONTEXT)[0]]
    assert ike == ["Encryption-Algorithm=DES-CBC", "Group-Type=ECP"]
    assert ipsec == ["SA-Life-Type=Seconds", "Authentication-Algorithm=HMAC-SHA"]


@pytest.mark.parametrize(("protocol", "context"), [(1, IKE_CONTEXT), (2, IPSEC_CONTEXT), (3, IPSEC_CONTEXT),
                                                    (4, IPSEC_CONTEXT), (9, UNKNOWN_CONTEXT)])
def test_context_follows_the_proposal_protocol(protocol, context):
    assert context_for_protocol(protocol) is context


def test_value_past_the_end_stops_the_walk():
    data = basic(11, 1) + struct.pack("!HH", 12, 10) + b"\x00\x01"
    attributes, problems = parse_attributes(data, IKE_CONTEXT, base_offset=60)
    assert [a.type for a in attributes] == [11]
    assert problems == ["attribute at offset 64: Life-Duration claims 10 bytes, only 2 left"]


def test_a_transform_block_seen_again_gives_the_same_records_in_a_list_of_its_own():
    data = basic(1, 1) + basic(2, 3600) + basic(4, 1) + basic(5, 2) + basic(6, 128)
    first, problems = transform_attributes(data, IPSEC_CONTEXT, 40)
    again, problems_again = transform_attributes(data, IPSEC_CONTEXT, 96)  # another SA's offer
    assert problems == problems_again == []
    assert again == first == parse_attributes(data, IPSEC_CONTEXT)[0]
    assert again is not first and all(a is b for a, b in zip(again, first, strict=True))
    other_context, _ = transform_attributes(data, IKE_CONTEXT, 40)  # same bytes, other meaning
    assert [a.name for a in other_context] == [a.name for a in parse_attributes(data, IKE_CONTEXT)[0]]
    assert other_context[0] is not first[0]


def test_a_transform_block_with_a_problem_names_its_own_offset_each_time():
    data = basic(11, 1) + struct.pack("!HH", 12, 10) + b"\x00\x01"
    for offset in (60, 200):
        attributes, problems = transform_attributes(data, IKE_CONTEXT, offset)
        assert [a.type for a in attributes] == [11]
        assert problems == [f"attribute at offset {offset + 4}: Life-Duration claims 10 bytes, only 2 left"]


def test_stray_bytes_too_short_for_a_header():
    attributes, problems = parse_attributes(basic(14, 256) + b"\x80", IKE_CONTEXT)
    assert [a.value for a in attributes] == [256]
    assert problems == ["attribute at offset 4: 1 stray bytes, too short for a header"]


def test_empty_integer_attribute_is_a_problem():
    attributes, problems = parse_attributes(variable(2, b""), IPSEC_CONTEXT)
    assert attributes[0].value == b""
    assert problems == ["attribute at offset 0: SA-Life-Duration is empty"]


def test_unknown_and_private_attribute_types_are_named():
    attributes, _ = parse_attributes(basic(20, 1) + basic(16400, 7), IKE_CONTEXT)
    assert [a.name for a in attributes] == ["unassigned (20)", "private use (16400)"]
    assert attributes[1].text == "7"


def test_lifetimes_pair_type_and_duration():
    data = basic(1, 1) + basic(2, 3600) + basic(1, 2) + variable(2, (4608000).to_bytes(4, "big"))
    attributes, _ = parse_attributes(data, IPSEC_CONTEXT)
    assert lifetime_text(attributes) == ["3600 seconds", "4608000 kilobytes"]
    ike_attributes, _ = parse_attributes(basic(11, 1) + basic(12, 28800), IKE_CONTEXT)
    assert lifetime_text(ike_attributes) == ["28800 seconds"]


def test_mode_config_values_are_decoded_for_display():
    attribute = Attribute(13, bytes([10, 1, 0, 0, 255, 255, 0, 0]), False, MODECFG_CONTEXT)
    assert attribute.text == "10.1.0.0/255.255.0.0"
    raw_address = bytes.fromhex("20010db8000000000000000000000001") + b"\x40"
    address = Attribute(8, raw_address, False, MODECFG_CONTEXT)
    assert address.text == "2001:db8::1/64"
    assert Attribute(16520, 0, True, MODECFG_CONTEXT).text == "Generic"
    assert Attribute(7, b"strongSwan 5.9", False, MODECFG_CONTEXT).text == "strongSwan 5.9"
    assert Attribute(1, b"\x01\x02", False, MODECFG_CONTEXT).text == "0102"  # wrong size: hex
