"""IOS prints attribute values as numbers, also when a peer sent them as variable-length TLVs."""

from __future__ import annotations

import struct

from ikedecode.ike.v1.payloads import SaPayload, parse_payloads
from ikedecode.render.cisco.attributes import ike_attribute_lines

SA_PAYLOAD = 1


def _sa_with_attributes(attributes: bytes) -> SaPayload:
    transform_body = bytes([1, 1, 0, 0]) + attributes  # transform 1, KEY_IKE (RFC 2409 A)
    transform = struct.pack("!BBH", 0, 0, 4 + len(transform_body)) + transform_body
    proposal_body = bytes([1, 1, 0, 1]) + transform  # proposal 1, PROTO_ISAKMP, no SPI, 1 transform
    proposal = struct.pack("!BBH", 0, 0, 4 + len(proposal_body)) + proposal_body
    sa_body = struct.pack("!II", 1, 1) + proposal  # IPsec DOI, SIT_IDENTITY_ONLY
    data = struct.pack("!BBH", 0, 0, 4 + len(sa_body)) + sa_body
    chain = parse_payloads(SA_PAYLOAD, data)
    payload = chain.payloads[0]
    assert isinstance(payload, SaPayload), chain.problems
    return payload


def test_a_group_sent_as_tlv_is_printed_as_its_number() -> None:
    # encryption AES-CBC as a basic attribute, the group description (4) as a 4-byte TLV
    attributes = struct.pack("!HH", 0x8001, 7) + struct.pack("!HHI", 4, 4, 14)
    sa = _sa_with_attributes(attributes)
    lines = ike_attribute_lines(sa, sa.proposals[0].transforms[0])
    assert [line.strip() for line in lines] == ["encryption AES-CBC", "default group 14"]


def test_a_key_length_sent_as_tlv_is_printed_as_its_number() -> None:
    attributes = struct.pack("!HH", 0x8001, 7) + struct.pack("!HHH", 14, 2, 256)
    sa = _sa_with_attributes(attributes)
    lines = ike_attribute_lines(sa, sa.proposals[0].transforms[0])
    assert lines[-1].strip() == "keylength of 256"
