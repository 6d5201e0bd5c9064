"""A malformed payload chain is reported as problems, never as an exception (RFC 2408 3.2)."""

from __future__ import annotations

import struct

from ikedecode.ike.v1.payloads import MAX_PAYLOADS, Payload, UnknownPayload, VendorIdPayload, parse_payloads


def payload(body: bytes, next_type: int = 0, length: int | None = None) -> bytes:
    return struct.pack("!BBH", next_type, 0, len(body) + 4 if length is None else length) + body


def test_length_below_the_generic_header():
    chain = parse_payloads(13, payload(b"", length=3))
    assert chain.payloads == []
    assert chain.problems == ["Vendor ID payload at offset 28: length 3 is below 4"]


def test_length_past_the_end_keeps_the_payloads_before_it():
    data = payload(b"\x09\x00\x26\x89\xdf\xd6\xb7\x12", next_type=10) + payload(b"x" * 4, length=40)
    chain = parse_payloads(13, data)
    assert [p.type for p in chain.payloads] == [13]
    assert chain.problems == ["Nonce payload at offset 40: length 40 runs past the end (8 bytes left)"]


def test_chain_that_announces_a_payload_it_does_not_carry():
    chain = parse_payloads(13, payload(b"abcd", next_type=10))
    assert len(chain.payloads) == 1
    assert chain.problems == ["chain ends early: Nonce payload expected at offset 36, no bytes left"]


def test_trailing_bytes_are_a_problem_unless_they_are_padding():
    data = payload(b"abcd") + b"\x00\x00\x00\x07"
    chain = parse_payloads(10, data)
    assert chain.trailing == b"\x00\x00\x00\x07"
    assert chain.problems == ["4 trailing bytes after the last payload"]
    padded = parse_payloads(10, data, padded=True)
    assert padded.problems == [] and padded.trailing == b"\x00\x00\x00\x07"


def test_unknown_payload_type_is_kept_with_its_bytes():
    chain = parse_payloads(200, payload(b"\x01\x02\x03", next_type=13) + payload(b"ESPThruNAT"))
    unknown, vid = chain.payloads
    assert isinstance(unknown, UnknownPayload)
    assert unknown.name == "private use (200)" and unknown.body == b"\x01\x02\x03"
    assert unknown.summary() == "private use (200): 3 bytes"
    assert isinstance(vid, VendorIdPayload) and vid.vendor is None and vid.vendor_name == b"ESPThruNAT".hex()
    assert chain.problems == []


def test_body_too_short_for_its_type_becomes_a_plain_payload():
    chain = parse_payloads(11, payload(b"\x00\x00\x00\x01\x01"))
    (notify,) = chain.payloads
    assert type(notify) is Payload and notify.error == "NOTIFY payload needs 8 bytes, body has 5"
    assert chain.problems == ["Notification payload at offset 28: NOTIFY payload needs 8 bytes, body has 5"]
    assert notify.summary() == "NOTIFY: malformed (NOTIFY payload needs 8 bytes, body has 5)"


def test_loop_guard_stops_after_max_payloads():
    data = b"".join(payload(b"", next_type=13) for _ in range(MAX_PAYLOADS + 10))
    chain = parse_payloads(13, data)
    assert len(chain.payloads) == MAX_PAYLOADS
    assert chain.problems == [f"more than {MAX_PAYLOADS} payloads; stopped at offset {28 + 4 * MAX_PAYLOADS}"]


def test_offsets_are_absolute_from_base_offset():
    chain = parse_payloads(10, payload(b"n" * 8, next_type=8) + payload(b"h" * 4), base_offset=100)
    assert [(p.offset, p.end) for p in chain.payloads] == [(100, 112), (112, 120)]


def test_sa_payload_with_an_unknown_doi_is_not_walked():
    chain = parse_payloads(1, payload(struct.pack("!II", 7, 1) + b"\x00" * 8))
    assert chain.payloads[0].proposals == []
    assert chain.problems == ["SA payload at offset 28: DOI UNKNOWN (7), proposals not decoded"]


def test_proposal_length_past_the_sa_payload():
    proposal = struct.pack("!BBHBBBB", 0, 0, 200, 1, 1, 0, 1)
    chain = parse_payloads(1, payload(struct.pack("!II", 1, 1) + proposal))
    assert chain.problems == [
        "proposal at offset 40: length 200 runs past the enclosing payload",
        "SA payload at offset 28: no proposal",
    ]
