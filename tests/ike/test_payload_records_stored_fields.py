"""The KE, HASH, NONCE, SIG, NAT-D and ID payload records are made by storing their fields after
``object.__new__`` (``ike/v1/payloads/decode.py``): each must equal the record its dataclass
constructor makes from the same fields, and a class whose fields differ from the stores is refused."""

from __future__ import annotations

import struct

import pytest

from ikedecode.ike.v1.payloads import (
    HashPayload,
    IdPayload,
    KePayload,
    NatDPayload,
    NoncePayload,
    SignaturePayload,
    parse_payloads,
)
from ikedecode.ike.v1.payloads.base import stores_every_field


def payload(body: bytes, next_type: int = 0) -> bytes:
    """Generic payload header (RFC 2408 3.2) in front of ``body``."""
    return struct.pack("!BBH", next_type, 0, len(body) + 4) + body


@pytest.mark.parametrize(
    ("payload_type", "cls"),
    [(4, KePayload), (8, HashPayload), (9, SignaturePayload), (10, NoncePayload), (20, NatDPayload)],
)
def test_data_payload_equals_its_constructor(payload_type, cls):
    raw = payload(bytes(range(20)))
    chain = parse_payloads(payload_type, raw, 28)
    assert chain.payloads == [cls(payload_type, 28, raw, 0, 0, data=bytes(range(20)))]
    assert type(chain.payloads[0]) is cls


def test_id_payload_equals_its_constructor():
    body = struct.pack("!BBH", 1, 17, 500) + bytes([192, 0, 2, 1])  # ID_IPV4_ADDR, UDP/500 (RFC 2407 4.6.2)
    raw = payload(body)
    [record] = parse_payloads(5, raw, 28).payloads
    expected = IdPayload(
        5, 28, raw, 0, 0, id_type=1, protocol_id=17, port=500, data=body[4:], text="192.0.2.1"
    )
    assert record == expected
    assert record.error is None


def test_a_class_whose_fields_differ_from_the_stores_is_refused():
    with pytest.raises(TypeError, match="HashPayload"):
        stores_every_field(HashPayload, ("type", "offset", "raw", "next_payload", "reserved", "data"))
