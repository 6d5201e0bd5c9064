"""The generic payload header and the payload chain walk shared by IKEv1 and IKEv2.

RFC 2408 3.2 and RFC 7296 3.2 give both versions the same 4-byte generic header: next payload (1),
a reserved byte (IKEv2: the critical bit and 7 reserved bits), payload length (2). The records
(``GenericPayload``, ``GenericPayloadChain``) and the walk (``walk_chain``) live here once; the
version packages add their type registries, their body decoders and their own problem wording.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Mapping
from dataclasses import KW_ONLY, dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from ikedecode.ike.registry.core import Registry

GENERIC_HEADER = struct.Struct("!BBH")  # RFC 2408 3.2 / RFC 7296 3.2
GENERIC_HEADER_LENGTH = GENERIC_HEADER.size
MAX_PAYLOADS = 256  # loop guard for one chain


class BodyError(Exception):
    """A payload body too short for the fixed fields of its type (caught by the chain walk)."""


def need(body: bytes, size: int, what: str) -> None:
    """Raise ``BodyError`` when ``body`` is shorter than the fixed fields of its payload type."""
    if len(body) < size:
        raise BodyError(f"{what} needs {size} bytes, body has {len(body)}")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def printable_text(data: bytes) -> str | None:
    """``data`` as text when it is printable ASCII (a trailing NUL is allowed), else ``None``."""
    text = data[:-1] if data.endswith(b"\x00") else data
    if text and all(32 <= byte < 127 or byte in (9, 10, 13) for byte in text):
        return data.decode("ascii").replace("\x00", "\\000")
    return None


class PayloadHeader(NamedTuple):
    """Where a payload is and its generic header: the first fields of every payload record, in
    order, so a decoder builds its record as ``SomePayload(*header, field=...)``."""

    type: int
    offset: int  # absolute offset of the generic header in the message
    raw: bytes  # whole payload, generic header included
    next_payload: int
    reserved: int  # the generic header's second byte (IKEv2: critical bit)


# tuple.__new__ directly: the chain walk makes one header per payload, and a NamedTuple's own
# constructor costs twice as much (a functools.partial of it about 15% more than the call itself)
_tuple_new = tuple.__new__


@dataclass(slots=True)
class GenericPayload:
    """Any payload: where it is in the message and its exact bytes.

    ``error`` is set (and the chain has a matching problem) when the body of a known type was too
    short to decode. Subclasses name the registry of payload types in ``payload_types``; their
    own fields are keyword-only. The header fields come first, in ``PayloadHeader``'s order.
    """

    payload_types: ClassVar[Registry]

    type: int
    offset: int  # absolute offset of the generic header in the message
    raw: bytes  # whole payload, generic header included
    next_payload: int
    reserved: int = 0  # the generic header's second byte (IKEv2: critical bit)
    _: KW_ONLY
    error: str | None = None

    @property
    def name(self) -> str:
        return self.payload_types.name(self.type)

    @property
    def short(self) -> str:
        return self.payload_types.short.get(self.type) or self.name

    @property
    def end(self) -> int:
        return self.offset + len(self.raw)

    @property
    def length(self) -> int:
        return len(self.raw)

    @property
    def body(self) -> bytes:
        return self.raw[GENERIC_HEADER_LENGTH:]

    @property
    def body_offset(self) -> int:
        return self.offset + GENERIC_HEADER_LENGTH

    def fields(self) -> dict[str, Any]:
        """Decoded fields of this payload type, JSON-ready (overridden by subclasses)."""
        return {"data": self.body.hex()}

    def header_fields(self) -> dict[str, Any]:
        """Generic-header flags worth a JSON key (IKEv2: the critical bit)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "offset": self.offset,
            "end": self.end,
            "length": self.length,
            "next_payload": self.next_payload,
        }
        out.update(self.header_fields())
        if self.error:
            out["error"] = self.error
            out["data"] = self.body.hex()
        else:
            out.update(self.fields())
        return out

    def detail(self) -> str:
        return plural(len(self.body), "byte")

    def summary(self) -> str:
        if self.error:
            return f"{self.short}: malformed ({self.error})"
        return f"{self.short}: {self.detail()}"


PayloadT = TypeVar("PayloadT", bound=GenericPayload)


@dataclass(slots=True)
class GenericPayloadChain(Generic[PayloadT]):
    """The payloads of one message, and what was wrong with the chain."""

    payloads: list[PayloadT] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    trailing: bytes = b""  # bytes after the last payload (padding once decrypted)

    def of_type(self, payload_type: int) -> list[PayloadT]:
        return [payload for payload in self.payloads if payload.type == payload_type]

    def first(self, payload_type: int) -> PayloadT | None:
        return next((payload for payload in self.payloads if payload.type == payload_type), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloads": [payload.to_dict() for payload in self.payloads],
            "problems": list(self.problems),
            "trailing": self.trailing.hex(),
        }

    def summary(self) -> str:
        return ", ".join(payload.short for payload in self.payloads)


# decode(the payload's generic header; the chain's problems)
PayloadDecoder = Callable[[PayloadHeader, list[str]], PayloadT]
# a body decoder of one payload type: decode(generic header, body, the chain's problems)
BodyDecoder = Callable[[PayloadHeader, bytes, list[str]], PayloadT]


NO_DECODERS: Mapping[int, Any] = MappingProxyType({})  # ``walk_chain`` without body decoders


@dataclass(frozen=True, slots=True)
class ChainWording:
    """How a version words a broken chain: ``name`` names a payload type; ``ends_early`` gets the
    name, offset and bytes left; ``bad_length`` the name, offset, length field and bytes left."""

    name: Callable[[int], str]
    ends_early: Callable[[str, int, int], str]
    bad_length: Callable[[str, int, int, int], str]


def walk_chain(
    payloads: list[PayloadT],
    problems: list[str],
    first_type: int,
    data: bytes,
    base_offset: int,
    decode: PayloadDecoder[PayloadT],
    wording: ChainWording,
    stop_types: Collection[int] = (),
    *,
    decoders: Mapping[int, BodyDecoder[PayloadT]] = NO_DECODERS,
    malformed: Callable[..., PayloadT] | None = None,
) -> int | None:
    """Walk the chain in ``data`` from a payload of ``first_type``, appending decoded payloads to
    ``payloads`` and what is wrong to ``problems`` (a chain's lists, or a message's own).

    Each payload goes to ``decode(header, problems)``; with ``decoders`` (body decoders by payload
    type) and ``malformed`` (the record class of a body too short for its type), a payload of a
    type in ``decoders`` goes straight to its body decoder instead, and a ``BodyError`` from it
    becomes ``malformed(*header, error=...)`` with a problem "<name> payload at offset N: <error>"
    (one call per payload instead of two: the chain walk runs for every message).

    Stops after next payload 0, or after a payload whose type is in ``stop_types`` (the IKEv2 SK
    payload, RFC 7296 3.14). Returns the position in ``data`` where the walk ended, or ``None`` when
    a broken header stopped it (the problem is then in ``problems``).
    """
    unpack_header = GENERIC_HEADER.unpack_from
    size = len(data)
    next_type = first_type
    position = 0
    # ``while next_type`` (an int): ``!= 0`` before this loop's long jump is CPython 3.11's generic
    # compare, one per payload
    while next_type:
        at = base_offset + position
        if len(payloads) >= MAX_PAYLOADS:
            problems.append(f"more than {MAX_PAYLOADS} payloads; stopped at offset {at}")
            return None
        remaining = size - position
        if remaining < GENERIC_HEADER_LENGTH:
            problems.append(wording.ends_early(wording.name(next_type), at, remaining))
            return None
        following, reserved, length = unpack_header(data, position)
        if length < GENERIC_HEADER_LENGTH or length > remaining:
            problems.append(wording.bad_length(wording.name(next_type), at, length, remaining))
            return None
        end = position + length
        header = _tuple_new(PayloadHeader, (next_type, at, data[position:end], following, reserved))
        body_decoder = decoders.get(next_type)
        if body_decoder is None:
            payloads.append(decode(header, problems))
        else:
            try:
                payloads.append(body_decoder(header, data[position + GENERIC_HEADER_LENGTH : end], problems))
            except BodyError as error:
                problems.append(f"{wording.name(next_type)} payload at offset {at}: {error}")
                assert malformed is not None  # given with ``decoders``
                payloads.append(malformed(*header, error=str(error)))
        position = end
        if next_type in stop_types:
            return position
        next_type = following
    return position
