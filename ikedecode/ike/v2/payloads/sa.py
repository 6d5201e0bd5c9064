"""IKEv2 Security Association payload: proposals, transforms, attributes (RFC 7296 3.3)."""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ikedecode.ike.payload_chain import PayloadHeader
from ikedecode.ike.registry.ikev2 import (
    AEAD_ENCRYPTION,
    KEY_LENGTH_ATTRIBUTE,
    PROTOCOL_IDS,
    TRANSFORM_ATTRIBUTE_TYPES,
    TRANSFORM_ENCR,
    TRANSFORM_IDS_BY_TYPE,
    TRANSFORM_INTEG,
    TRANSFORM_KE,
    TRANSFORM_PRF,
    TRANSFORM_SN,
    TRANSFORM_TYPES,
)
from ikedecode.ike.v2.payloads.base import BodyError, Ikev2Payload, plural

SUBSTRUCTURE = struct.Struct("!BxHBBBB")  # last/more | reserved | length | 4 one-byte fields
TRANSFORM_HEADER = struct.Struct("!BxHBBH")  # last/more | reserved | length | type | reserved | ID
ATTRIBUTE_HEADER = struct.Struct("!HH")  # AF bit | type (15) | value (TV) or length (TLV)
MORE_PROPOSALS, MORE_TRANSFORMS = 2, 3  # RFC 7296 3.3.1 / 3.3.2
MAX_PROPOSALS = MAX_TRANSFORMS = 256
ATTRIBUTE_FORMAT_TV = 0x8000  # RFC 7296 3.3.5 AF bit
NO_ATTRIBUTES: tuple[()] = ()


class TransformAttribute(NamedTuple):
    """RFC 7296 3.3.5: one transform attribute (TV: an integer; TLV: bytes)."""

    type: int
    value: int | bytes

    def to_dict(self) -> dict[str, Any]:
        value = self.value.hex() if isinstance(self.value, bytes) else self.value
        return {"type": self.type, "name": TRANSFORM_ATTRIBUTE_TYPES.name(self.type), "value": value}


class Ikev2Transform(NamedTuple):
    """RFC 7296 3.3.2: a transform type, its ID, attributes (Key Length).

    A NamedTuple: an SA's payloads hold a dozen or more, each made once per message (never shared
    between messages: ``render/cisco`` tells an SA's offered and accepted transforms apart by
    ``id()``) and never changed."""

    transform_type: int
    transform_id: int
    # a transform without attributes (most: RFC 7296 3.3.5 defines Key Length only) shares the
    # empty tuple instead of holding a list of its own
    attributes: Sequence[TransformAttribute] = NO_ATTRIBUTES
    offset: int = 0

    @property
    def type_name(self) -> str:
        return TRANSFORM_TYPES.name(self.transform_type)

    @property
    def type_short(self) -> str:
        return TRANSFORM_TYPES.short_name(self.transform_type)

    @property
    def id_name(self) -> str:
        table = TRANSFORM_IDS_BY_TYPE.get(self.transform_type)
        return table.name(self.transform_id) if table is not None else f"UNKNOWN ({self.transform_id})"

    @property
    def key_length(self) -> int | None:
        """The Key Length attribute in bits (RFC 7296 3.3.5), None without one."""
        for attribute in self.attributes:
            if attribute.type == KEY_LENGTH_ATTRIBUTE and isinstance(attribute.value, int):
                return attribute.value
        return None

    @property
    def aead(self) -> bool:
        return self.transform_type == TRANSFORM_ENCR and self.transform_id in AEAD_ENCRYPTION

    def text(self) -> str:
        """Compact name, strongSwan-like: ``aes-cbc-256``, ``prfsha256``, ``modp2048``."""
        attributes = self.attributes
        if type(attributes) is tuple:  # values only: the text is a function of them, remembered
            return _transform_text(self.transform_type, self.transform_id, attributes)
        return _make_transform_text(self.transform_type, self.transform_id, self.key_length)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "transform_type": self.transform_type,
            "transform_type_name": self.type_name,
            "transform_id": self.transform_id,
            "transform_name": self.id_name,
        }
        if self.key_length is not None:
            out["key_length"] = self.key_length
        if any(a.type != KEY_LENGTH_ATTRIBUTE for a in self.attributes):
            out["attributes"] = [a.to_dict() for a in self.attributes]
        return out


def _make_transform_text(transform_type: int, transform_id: int, key_length: int | None) -> str:
    table = TRANSFORM_IDS_BY_TYPE.get(transform_type)
    base = table.short_name(transform_id) if table is not None else f"{transform_id}"
    return f"{base}-{key_length}" if key_length is not None else base


@functools.lru_cache(maxsize=1024)
def _transform_text(
    transform_type: int, transform_id: int, attributes: tuple[TransformAttribute, ...]
) -> str:
    """``Ikev2Transform.text`` once per distinct transform (a capture's proposals repeat a few)."""
    return _make_transform_text(
        transform_type, transform_id, Ikev2Transform(transform_type, transform_id, attributes).key_length
    )


@dataclass(slots=True)
class Ikev2Proposal:
    """RFC 7296 3.3.1: one proposal, its protocol and SPI, and its transforms."""

    number: int
    protocol_id: int
    spi: bytes
    transforms: list[Ikev2Transform] = field(default_factory=list)
    offset: int = 0

    @property
    def protocol_name(self) -> str:
        return PROTOCOL_IDS.name(self.protocol_id)

    def of_type(self, transform_type: int) -> list[Ikev2Transform]:
        return [t for t in self.transforms if t.transform_type == transform_type]

    def first(self, transform_type: int) -> Ikev2Transform | None:
        for t in self.transforms:  # a loop, not next(generator): the properties below ask per use
            if t.transform_type == transform_type:
                return t
        return None

    @property
    def encryption(self) -> Ikev2Transform | None:
        return self.first(TRANSFORM_ENCR)

    @property
    def prf(self) -> Ikev2Transform | None:
        return self.first(TRANSFORM_PRF)

    @property
    def integrity(self) -> Ikev2Transform | None:
        return self.first(TRANSFORM_INTEG)

    @property
    def key_exchange(self) -> Ikev2Transform | None:
        return self.first(TRANSFORM_KE)

    @property
    def sequence_numbers(self) -> Ikev2Transform | None:
        return self.first(TRANSFORM_SN)

    def describe(self) -> str:
        """The line reports show for an offered or chosen proposal (``ProposalRecord``)."""
        return self.text()

    def text(self) -> str:
        """``IKE:aes-cbc-256/prfsha256/sha256/modp2048`` (transforms in wire order)."""
        spi = f" SPI 0x{self.spi.hex()}" if self.spi else ""
        return f"#{self.number} {PROTOCOL_IDS.short_name(self.protocol_id)}{spi}: " + "/".join(
            t.text() for t in self.transforms
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "protocol_id": self.protocol_id,
            "protocol": self.protocol_name,
            "spi": self.spi.hex(),
            "transforms": [t.to_dict() for t in self.transforms],
            "text": self.text(),
        }


@dataclass(slots=True, kw_only=True)
class Ikev2SaPayload(Ikev2Payload):
    proposals: list[Ikev2Proposal]

    def fields(self) -> dict[str, Any]:
        return {"proposals": [p.to_dict() for p in self.proposals]}

    def detail(self) -> str:
        if len(self.proposals) == 1:
            return self.proposals[0].text()
        return f"{plural(len(self.proposals), 'proposal')}: " + "; ".join(p.text() for p in self.proposals)


def decode_sa(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    base = header.offset + 4
    proposals: list[Ikev2Proposal] = []
    position = 0
    more = True
    size = len(body)
    unpack = SUBSTRUCTURE.unpack_from
    while more and position < size:
        if len(proposals) >= MAX_PROPOSALS:
            problems.append(f"{_where(header)}: more than {MAX_PROPOSALS} proposals")
            break
        if position + 8 > size:  # RFC 7296 3.3.1: the proposal substructure's fixed part
            problems.append(f"{_where(header)}: proposal at offset {base + position} is truncated")
            break
        last, length, number, protocol_id, spi_size, count = unpack(body, position)
        if length < 8 + spi_size or position + length > size:
            problems.append(
                f"{_where(header)}: proposal at offset {base + position} has a bad length {length}"
            )
            break
        start = position + 8 + spi_size
        transforms = _transforms(body[start : position + length], base + start, count, header, problems)
        proposals.append(
            Ikev2Proposal(number, protocol_id, body[position + 8 : start], transforms, base + position)
        )
        position += length
        more = last == MORE_PROPOSALS
    if not proposals and not body:
        raise BodyError("SA payload without proposals")
    if position < size:
        problems.append(f"{_where(header)}: {size - position} bytes after the last proposal")
    return Ikev2SaPayload(*header, proposals=proposals)


def _where(header: PayloadHeader) -> str:
    return f"SA payload at offset {header.offset}"


def _transforms(
    data: bytes, base: int, count: int, header: PayloadHeader, problems: list[str]
) -> list[Ikev2Transform]:
    """The transforms of one proposal (RFC 7296 3.3.2). A capture's proposals repeat their
    transforms byte for byte (an SA's offer and answer, every SA of the same peers): a block
    that decoded without a problem is remembered by its bytes, offset and announced count, and
    the next one gets records of its own made from the remembered values (the attributes, tuples
    of NamedTuples, are values and shared)."""
    key = (data, base, count)
    seen = _SEEN_TRANSFORMS.get(key)
    if seen is not None:
        return list(map(_new_transform, seen))
    before = len(problems)
    transforms: list[Ikev2Transform] = []
    position = 0
    size = len(data)
    unpack = TRANSFORM_HEADER.unpack_from
    new = _new_transform
    while position < size and len(transforms) < MAX_TRANSFORMS:
        if position + 8 > size:  # RFC 7296 3.3.2: the transform substructure's fixed part
            problems.append(f"{_where(header)}: transform at offset {base + position} is truncated")
            break
        _, length, transform_type, _, transform_id = unpack(data, position)
        if length < 8 or position + length > size:
            problems.append(
                f"{_where(header)}: transform at offset {base + position} has a bad length {length}"
            )
            break
        attributes = (
            _attributes(data[position + 8 : position + length], base + position + 8, header, problems)
            if length > 8
            else NO_ATTRIBUTES  # most transforms carry none (RFC 7296 3.3.5: only Key Length is defined)
        )
        transforms.append(new((transform_type, transform_id, attributes, base + position)))
        position += length
    if len(transforms) != count:
        problems.append(f"{_where(header)}: proposal announces {count} transforms, {len(transforms)} found")
    if len(problems) == before and len(_SEEN_TRANSFORMS) < SEEN_LIMIT:
        _SEEN_TRANSFORMS[key] = tuple(transforms)
    return transforms


SEEN_LIMIT = 4096  # transform blocks remembered (a bound on memory, not on correctness)
_SEEN_TRANSFORMS: dict[tuple[bytes, int, int], tuple[Ikev2Transform, ...]] = {}


# tuple.__new__ directly: a NamedTuple's own constructor costs twice as much (a dozen per SA)
_new_transform = functools.partial(tuple.__new__, Ikev2Transform)
_new_attribute = functools.partial(tuple.__new__, TransformAttribute)


def _attributes(
    data: bytes, base: int, header: PayloadHeader, problems: list[str]
) -> tuple[TransformAttribute, ...]:
    out: list[TransformAttribute] = []
    position = 0
    size = len(data)
    while position + 4 <= size:
        kind, value = ATTRIBUTE_HEADER.unpack_from(data, position)
        if kind & ATTRIBUTE_FORMAT_TV:
            out.append(_new_attribute((kind & 0x7FFF, value)))
            position += 4
        else:
            if position + 4 + value > size:
                problems.append(
                    f"{_where(header)}: attribute at offset {base + position} runs past its transform"
                )
                return tuple(out)
            out.append(_new_attribute((kind, data[position + 4 : position + 4 + value])))
            position += 4 + value
    if position != size:
        problems.append(f"{_where(header)}: {size - position} stray bytes in a transform's attributes")
    return tuple(out)
