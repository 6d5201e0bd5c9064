"""``messages.payload_record`` (IKEv1's message record, made by storing its fields) gives the record
that ``header_record``, through the dataclass constructor, gives for the same datagram and header."""

from __future__ import annotations

import struct

import pytest

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.ike.header import FLAG_ENCRYPTION, parse_header
from ikedecode.ike.messages import header_record, payload_record


def isakmp(flags: int, message_id: int) -> bytes:
    """An ISAKMP header (RFC 2408 3.1) of a quick mode message with nothing after it."""
    return struct.pack("!8s8sBBBBII", b"\x01" * 8, b"\x02" * 8, 8, 0x10, 32, flags, message_id, 28)


@pytest.mark.parametrize("flags", [0, FLAG_ENCRYPTION])
@pytest.mark.parametrize("frames", [(), (3, 4)])
def test_payload_record_equals_the_constructors_record(flags, frames):
    message = isakmp(flags, 0x1234)
    datagram = Datagram(4, 4.5, Kind.IKE, "198.51.100.1", "203.0.113.1", 4500, 4500, message, frames=frames)
    header = parse_header(message)
    made = payload_record(datagram, header, "quick", "QM1", [], ["a problem"])
    expected = header_record(datagram, header, "quick", "QM1", problems=["a problem"])
    assert made == expected
    assert made.encrypted is bool(flags) and made.frames == (frames or (4,))
