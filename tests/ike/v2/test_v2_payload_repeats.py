"""A transform block or a TS payload seen again (the same offer in the next SA) decodes to records of
its own, equal to the first decoding's, and one with a problem reports it every time (RFC 7296 3.3,
3.13)."""

from __future__ import annotations

import struct

from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads import Ikev2SaPayload, Ikev2TsPayload, parse_ikev2_payloads


def _transform(last: bool, transform_type: int, transform_id: int, attributes: bytes = b"") -> bytes:
    return (
        struct.pack("!BxHBxH", 0 if last else 3, 8 + len(attributes), transform_type, transform_id)
        + attributes
    )


def _sa_payload(transforms: list[bytes], announced: int | None = None) -> bytes:
    body = b"".join(transforms)
    count = len(transforms) if announced is None else announced
    proposal = struct.pack("!BxHBBBB", 0, 8 + len(body), 1, reg.PROTOCOL_IKE, 0, count) + body
    return struct.pack("!BBH", 0, 0, 4 + len(proposal)) + proposal


OFFER = [
    _transform(False, 1, 12, struct.pack("!HH", 0x800E, 256)),  # ENCR_AES_CBC, Key Length 256
    _transform(False, 2, 5),  # PRF_HMAC_SHA2_256
    _transform(False, 3, 12),  # AUTH_HMAC_SHA2_256_128
    _transform(True, 4, 14),  # 2048-bit MODP group
]


def _decode(data: bytes) -> tuple[Ikev2SaPayload, list[str]]:
    chain = parse_ikev2_payloads(reg.PT_SA, data)
    payload = chain.payloads[0]
    assert isinstance(payload, Ikev2SaPayload)
    return payload, chain.problems


def test_a_repeated_transform_block_gives_equal_records_that_are_not_the_first_ones():
    data = _sa_payload(OFFER)
    first, first_problems = _decode(data)
    again, again_problems = _decode(bytes(data))  # the same bytes in another message
    assert first_problems == again_problems == []
    one, two = first.proposals[0].transforms, again.proposals[0].transforms
    assert one == two and [t.text() for t in two] == ["aes-cbc-256", "prfsha256", "sha256", "modp2048"]
    assert two[0].key_length == 256 and two[0].offset == one[0].offset == 28 + 4 + 8
    # render/cisco tells an SA's offered and accepted transforms apart by id(): never shared
    assert all(a is not b for a, b in zip(one, two, strict=True))
    assert one is not two


def test_a_transform_block_at_another_offset_gets_its_own_offsets():
    data = _sa_payload(OFFER)
    first, _ = _decode(data)
    shifted = parse_ikev2_payloads(reg.PT_SA, data, base_offset=100).payloads[0]
    assert isinstance(shifted, Ikev2SaPayload)
    assert [t.offset - 72 for t in shifted.proposals[0].transforms] == [
        t.offset for t in first.proposals[0].transforms
    ]


def test_a_block_with_a_problem_reports_it_each_time():
    data = _sa_payload(OFFER, announced=5)  # announces five transforms, carries four
    for _ in range(3):
        payload, problems = _decode(data)
        assert problems == ["SA payload at offset 28: proposal announces 5 transforms, 4 found"]
        assert len(payload.proposals[0].transforms) == 4


def test_the_same_transforms_under_another_announced_count_are_judged_again():
    good, _ = _decode(_sa_payload(OFFER))
    _, problems = _decode(_sa_payload(OFFER, announced=3))
    assert good.proposals[0].transforms and problems == [
        "SA payload at offset 28: proposal announces 3 transforms, 4 found"
    ]


def _ts_payload(selectors: list[bytes], announced: int | None = None) -> bytes:
    count = len(selectors) if announced is None else announced
    body = struct.pack("!B3x", count) + b"".join(selectors)
    return struct.pack("!BBH", 0, 0, 4 + len(body)) + body


def _ipv4_range(first: bytes, last: bytes, protocol: int = 0, ports: tuple[int, int] = (0, 65535)) -> bytes:
    return (
        struct.pack("!BBHHH", 7, protocol, 16, *ports) + first + last
    )  # TS_IPV4_ADDR_RANGE (RFC 7296 3.13.1)


def test_repeated_traffic_selectors_give_equal_records_of_their_own():
    data = _ts_payload(
        [
            _ipv4_range(bytes([10, 0, 0, 0]), bytes([10, 0, 0, 255])),
            _ipv4_range(b"\x0a\x01\x01\x01", b"\x0a\x01\x01\x09", 6, (443, 443)),
        ]
    )
    first = parse_ikev2_payloads(reg.PT_TSI, data).payloads[0]
    again = parse_ikev2_payloads(reg.PT_TSI, bytes(data)).payloads[0]
    assert isinstance(first, Ikev2TsPayload) and isinstance(again, Ikev2TsPayload)
    assert [s.text() for s in again.selectors] == ["10.0.0.0/24", "10.1.1.1-10.1.1.9[tcp/443]"]
    assert again.selectors == first.selectors
    assert all(a is not b for a, b in zip(first.selectors, again.selectors, strict=True))


def test_traffic_selectors_with_a_problem_report_it_each_time():
    data = _ts_payload([_ipv4_range(bytes(4), bytes([255] * 4))], announced=2)
    for _ in range(2):
        chain = parse_ikev2_payloads(reg.PT_TSR, data)
        assert chain.problems == ["TS payload at offset 28: announces 2 selectors, 1 found"]


def test_a_changed_selector_record_does_not_change_the_next_decoding():
    data = _ts_payload([_ipv4_range(bytes([192, 0, 2, 0]), bytes([192, 0, 2, 15]))])
    first = parse_ikev2_payloads(reg.PT_TSI, data).payloads[0]
    assert isinstance(first, Ikev2TsPayload)
    first.selectors[0].start_address = "198.51.100.1"  # a record is mutable (tests narrow selectors)
    again = parse_ikev2_payloads(reg.PT_TSI, bytes(data)).payloads[0]
    assert isinstance(again, Ikev2TsPayload)
    assert (again.selectors[0].start_address, again.selectors[0].text()) == ("192.0.2.0", "192.0.2.0/28")
