"""Payload bodies that repeat across the SAs of a capture (phase-1 SA payloads, transform blocks,
ID payloads) are decoded once and remembered by their bytes: every message still gets records of
its own, equal to a fresh decoding, and the problems of a malformed body every time it comes."""

from __future__ import annotations

import struct

from ikedecode.ike.v1.payloads import IdPayload, SaPayload, parse_payloads


def payload(body: bytes, next_type: int = 0) -> bytes:
    """Generic payload header (RFC 2408 3.2) in front of ``body``."""
    return struct.pack("!BBH", next_type, 0, len(body) + 4) + body


def isakmp_sa(attributes: bytes) -> bytes:
    """Phase-1 SA payload body: IPsec DOI, one ISAKMP proposal without SPI, one transform."""
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attributes), 1, 1, 0) + attributes
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
    return struct.pack("!II", 1, 1) + proposal


def esp_sa(spi: bytes, attributes: bytes) -> bytes:
    """Quick mode SA payload body: one ESP proposal with ``spi``, one transform."""
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attributes), 1, 12, 0) + attributes
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(spi) + len(transform), 1, 3, len(spi), 1) + spi
    return struct.pack("!II", 1, 1) + proposal + transform


ATTRIBUTES = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in ((1, 7), (2, 2), (3, 1), (4, 14)))


def decoded_twice(first_type: int, body: bytes):
    first = parse_payloads(first_type, payload(body))
    second = parse_payloads(first_type, payload(body))
    return first, second


def test_repeated_phase1_sa_payload_gives_equal_records_of_its_own():
    first, second = decoded_twice(1, isakmp_sa(ATTRIBUTES + struct.pack("!HH", 0x800B, 1)))
    (one,), (two,) = first.payloads, second.payloads
    assert isinstance(one, SaPayload) and isinstance(two, SaPayload)
    assert one == two and one.to_dict() == two.to_dict()
    assert one.proposals[0] is not two.proposals[0]
    assert one.transforms[0] is not two.transforms[0]
    assert isinstance(two.transforms[0].attributes, tuple)  # shared: it cannot be changed
    assert [a.type for a in two.transforms[0].attributes] == [1, 2, 3, 4, 11]


def test_quick_mode_sa_payloads_keep_their_own_spis_and_transforms():
    attributes = struct.pack("!HH", 0x8004, 1) + struct.pack("!HH", 0x8005, 2)
    one = parse_payloads(1, payload(esp_sa(b"\x01\x02\x03\x04", attributes))).payloads[0]
    two = parse_payloads(1, payload(esp_sa(b"\x0a\x0b\x0c\x0d", attributes))).payloads[0]
    assert [p.spi for p in one.proposals] == [b"\x01\x02\x03\x04"]
    assert [p.spi for p in two.proposals] == [b"\x0a\x0b\x0c\x0d"]
    assert one.transforms[0] == two.transforms[0] and one.transforms[0] is not two.transforms[0]
    assert one.transforms[0].transform_name == "ESP_AES-CBC" and one.transforms[0].offset == 52


def test_problems_of_a_repeated_malformed_sa_payload_come_every_time():
    body = bytearray(isakmp_sa(struct.pack("!HH", 0x8004, 14)))
    body[8 + 7] = 3  # announces 3 transforms, holds 1
    first, second = decoded_twice(1, bytes(body))
    assert first.problems == second.problems == ["proposal at offset 40: announces 3 transforms, holds 1"]


def test_repeated_id_payload_gives_a_record_per_message_and_its_problem_at_each_offset():
    body = struct.pack("!BBH", 1, 17, 500) + b"\x0a\x00\x00"  # ID_IPV4_ADDR of 3 bytes
    alone = parse_payloads(5, payload(body))
    behind = parse_payloads(8, payload(b"\x00" * 20, next_type=5) + payload(body))
    identity = alone.payloads[0]
    assert isinstance(identity, IdPayload) and identity.port == 500 and identity.text == "0a0000"
    again = behind.payloads[1]
    assert isinstance(again, IdPayload) and again is not identity
    assert (again.offset, again.id_type, again.protocol_id, again.port) == (52, 1, 17, 500)
    assert again.text == identity.text
    assert alone.problems == ["ID payload at offset 28: ID_IPV4_ADDR data is 3 bytes, expected 4"]
    assert behind.problems == ["ID payload at offset 52: ID_IPV4_ADDR data is 3 bytes, expected 4"]


def test_json_of_a_remembered_transform_is_its_own_and_as_computed_from_its_fields():
    first, second = decoded_twice(1, isakmp_sa(ATTRIBUTES))
    one, two = first.payloads[0].transforms[0], second.payloads[0].transforms[0]
    computed = {
        "number": one.number,
        "transform_id": one.transform_id,
        "transform_name": one.transform_name,
        "attributes": [attribute.to_dict() for attribute in one.attributes],
    }
    assert one.to_dict() == two.to_dict() == computed
    mine = one.to_dict()
    mine["attributes"][0]["value"] = "changed"
    mine["number"] = 99
    assert two.to_dict() == one.to_dict() == computed


def esp_proposal(number: int, spi: bytes, attributes: bytes, last: bool) -> bytes:
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(attributes), 1, 12, 0) + attributes
    header = struct.pack(
        "!BBHBBBB", 0 if last else 2, 0, 8 + len(spi) + len(transform), number, 3, len(spi), 1
    )
    return header + spi + transform


def test_every_spi_of_every_proposal_is_the_payloads_own():
    attributes = struct.pack("!HH", 0x8004, 1)
    for first, second in ((b"\x01" * 4, b"\x02" * 4), (b"\x03" * 4, b"\x04" * 4), (b"\x03" * 4, b"\x05" * 4)):
        body = struct.pack("!II", 1, 1) + esp_proposal(1, first, attributes, False)
        body += esp_proposal(2, second, attributes, True)
        sa = parse_payloads(1, payload(body)).payloads[0]
        assert [p.spi for p in sa.proposals] == [first, second]


def test_an_spi_running_past_its_proposal_is_reported_every_time():
    body = bytearray(esp_sa(b"\x01\x02\x03\x04", struct.pack("!HH", 0x8004, 1)))
    body[8 + 6] = 40  # SPI size past the proposal
    for spi in (b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"):
        body[16:20] = spi
        chain = parse_payloads(1, payload(bytes(body)))
        assert chain.problems == ["proposal at offset 40: SPI size 40 runs past the proposal"]
        assert chain.payloads[0].proposals[0].spi == bytes(body[16:])


def test_id_payloads_beyond_the_remembered_count_start_over_and_decode_the_same(monkeypatch):
    """A capture with more distinct identities than are remembered (a proxy subnet per SA): the
    table is emptied when full, so recent bodies (QM2 repeats QM1's IDs) are still found there."""
    from ikedecode.ike.v1.payloads import decode

    monkeypatch.setattr(decode, "_REMEMBERED_IDS", {})
    monkeypatch.setattr(decode, "_MAX_REMEMBERED_IDS", 3)
    bodies = [struct.pack("!BBH4B4B", 4, 0, 0, 10, i, 0, 0, 255, 255, 255, 0) for i in range(7)]
    for body in bodies:
        first, second = decoded_twice(5, body)
        (one,), (two,) = first.payloads, second.payloads
        assert isinstance(two, IdPayload) and one == two and one is not two
        assert len(decode._REMEMBERED_IDS) <= 3 and body in decode._REMEMBERED_IDS
    assert [p.text for p in parse_payloads(5, payload(bodies[0])).payloads] == ["10.0.0.0/255.255.255.0"]
