"""The 28-byte ISAKMP header (RFC 2408 section 3.1; same layout in IKEv2, RFC 4306 3.1).

    initiator cookie (8) | responder cookie (8) | next payload (1) | major.minor version (1)
    | exchange type (1) | flags (1) | message ID (4) | length (4)

``parse_header`` reads it and raises ``MalformedMessage`` when the datagram cannot be an ISAKMP
message: fewer than 28 bytes, a length field below 28, or a length field pointing past the end of
the datagram (the message is truncated; the exception then carries the header it could read).
"""

from __future__ import annotations

import operator
import struct
from typing import Any

from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.registries import EXCHANGE_TYPES, payload_type_name

HEADER_LENGTH = 28

# RFC 2408 3.1 flag bits (IKEv1)
FLAG_ENCRYPTION = 0x01
FLAG_COMMIT = 0x02
FLAG_AUTHENTICATION_ONLY = 0x04
# RFC 4306 3.1 flag bits (IKEv2)
FLAG_IKEV2_INITIATOR = 0x08
FLAG_IKEV2_VERSION = 0x10
FLAG_IKEV2_RESPONSE = 0x20

_FIELDS = struct.Struct("!8s8sBBBBII")  # the header's fields in wire order (the layout above)
WIRE_FIELDS = (  # their names, in that order
    "initiator_cookie",
    "responder_cookie",
    "next_payload",
    "version",
    "exchange_type",
    "flags",
    "message_id",
    "length",
)
_wire_values = operator.attrgetter(*WIRE_FIELDS)
_new = object.__new__
IKEV1_FLAG_NAMES = ((FLAG_ENCRYPTION, "E"), (FLAG_COMMIT, "C"), (FLAG_AUTHENTICATION_ONLY, "A"))
IKEV2_FLAG_NAMES = ((FLAG_IKEV2_INITIATOR, "I"), (FLAG_IKEV2_VERSION, "V"), (FLAG_IKEV2_RESPONSE, "R"))


class IsakmpHeader:
    """The ISAKMP header's fields. ``data`` is the message body (bytes 28..length); ``trailing``
    the bytes the datagram carries after ``length`` (normally empty). A plain class, not a
    ``dpkt.Packet``: importing dpkt would cost every run ~30 ms of start-up.

    Both are cut from the datagram when read: the engines take the body from the datagram
    themselves, so a copy of it made for every header would go unread."""

    __slots__ = (*WIRE_FIELDS, "_buffer", "_end")
    initiator_cookie: bytes
    responder_cookie: bytes
    next_payload: int
    version: int  # major.minor, a nibble each
    exchange_type: int
    flags: int
    message_id: int
    length: int
    _buffer: bytes  # the datagram the header was read from
    _end: int  # where ``data`` ends in it

    def __init__(self, buf: bytes) -> None:
        """The header read from the first 28 bytes of ``buf``; the rest of ``buf`` is ``data``."""
        _read(self, buf)

    def __bytes__(self) -> bytes:
        """The header as written on the wire, then ``data``."""
        return _FIELDS.pack(*_wire_values(self)) + self.data

    @property
    def data(self) -> bytes:
        """The message body: the bytes after the header, up to ``length``."""
        return self._buffer[HEADER_LENGTH : self._end]

    @property
    def trailing(self) -> bytes:
        """Bytes the datagram carries after ``length`` (normally none)."""
        return self._buffer[self._end :]

    @property
    def major_version(self) -> int:
        return self.version >> 4

    @property
    def minor_version(self) -> int:
        return self.version & 0x0F

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & FLAG_ENCRYPTION)

    @property
    def commit(self) -> bool:
        return bool(self.flags & FLAG_COMMIT)

    @property
    def authentication_only(self) -> bool:
        return bool(self.flags & FLAG_AUTHENTICATION_ONLY)

    @property
    def is_ikev1(self) -> bool:
        return self.major_version == 1

    @property
    def is_ikev2(self) -> bool:
        """Major version 2 (RFC 4306 3.1); such messages are recognised, not decoded."""
        return self.major_version == 2

    @property
    def is_response(self) -> bool | None:
        """IKEv2 R flag; ``None`` for IKEv1, which has no such flag."""
        return bool(self.flags & FLAG_IKEV2_RESPONSE) if self.is_ikev2 else None

    @property
    def exchange_name(self) -> str:
        return EXCHANGE_TYPES.name(self.exchange_type)

    @property
    def flag_names(self) -> list[str]:
        table = IKEV2_FLAG_NAMES if self.is_ikev2 else IKEV1_FLAG_NAMES
        return [label for bit, label in table if self.flags & bit]

    @property
    def body(self) -> bytes:
        return self.data

    def to_dict(self) -> dict[str, Any]:
        return {
            "initiator_cookie": self.initiator_cookie.hex(),
            "responder_cookie": self.responder_cookie.hex(),
            "next_payload": self.next_payload,
            "next_payload_name": payload_type_name(self.next_payload),
            "version": f"{self.major_version}.{self.minor_version}",
            "exchange_type": self.exchange_type,
            "exchange": self.exchange_name,
            "flags": self.flags,
            "flag_names": self.flag_names,
            "message_id": f"{self.message_id:08x}",
            "length": self.length,
        }

    def summary(self) -> str:
        flags = "".join(self.flag_names) or "-"
        return (
            f"ISAKMP {self.major_version}.{self.minor_version} {self.exchange_name}"
            f" CKY-I={self.initiator_cookie.hex()} CKY-R={self.responder_cookie.hex()}"
            f" msgid={self.message_id:08x} flags={flags} len={self.length}"
        )


def _read(header: IsakmpHeader, buf: bytes) -> None:
    """``IsakmpHeader.__init__``'s work: the fields from the first 28 bytes of ``buf``, the rest
    of ``buf`` as ``data``."""
    (
        header.initiator_cookie,
        header.responder_cookie,
        header.next_payload,
        header.version,
        header.exchange_type,
        header.flags,
        header.message_id,
        header.length,
    ) = _FIELDS.unpack_from(buf)
    header._buffer, header._end = buf, len(buf)


def parse_header(data: bytes) -> IsakmpHeader:
    """Read the ISAKMP header of a message; raise ``MalformedMessage`` if it cannot be one."""
    if type(data) is not bytes:  # (bytes() of bytes is the same object, but a class call)
        data = bytes(data)
    size = len(data)
    if size < HEADER_LENGTH:
        raise MalformedMessage(f"{size} bytes, too short for the {HEADER_LENGTH}-byte ISAKMP header")
    # IsakmpHeader(data) without the class call (one header per datagram); its data: everything
    # after the header, right when length == size
    header = _new(IsakmpHeader)
    _read(header, data)
    length = header.length
    if length < HEADER_LENGTH:  # no body, nothing trailing
        header._buffer, header._end = data[:HEADER_LENGTH], HEADER_LENGTH
        raise MalformedMessage(f"length field {length} is smaller than the ISAKMP header", header)
    if length == size:
        return header
    header._end = length  # (past the end of a truncated message: all of it is ``data``)
    if length > size:
        raise MalformedMessage(
            f"truncated: length field says {header.length} bytes, datagram has {len(data)}", header
        )
    return header
