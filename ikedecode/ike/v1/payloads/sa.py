"""Security Association payloads: proposals, transforms and their attributes (RFC 2408 3.4-3.6,
RFC 2407 4.6.1)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ikedecode.ike.payload_chain import GENERIC_HEADER, GENERIC_HEADER_LENGTH, PayloadHeader
from ikedecode.ike.registries import DOI, PROTO_ISAKMP, PROTOCOL_IDS, TRANSFORM_IDS_BY_PROTOCOL
from ikedecode.ike.registry.ike_attributes import (
    AUTHENTICATION_METHOD,
    ENCRYPTION_ALGORITHM,
    GROUP_DESCRIPTION,
    HASH_ALGORITHM,
    KEY_LENGTH,
)
from ikedecode.ike.registry.ipsec_attributes import (
    AUTHENTICATION_ALGORITHM,
    ENCAPSULATION_MODE,
    IPSEC_GROUP_DESCRIPTION,
    IPSEC_KEY_LENGTH,
)
from ikedecode.ike.v1.attributes import Attribute, context_for_protocol, lifetime_text, transform_attributes
from ikedecode.ike.v1.payloads.base import HEADER_FIELDS, Payload, need, plural, stores_every_field

SUBSTRUCTURE_MIN = 8  # proposal and transform headers are 8 bytes before SPI / attributes
MAX_PROPOSALS = 256
MAX_TRANSFORMS = 256
IPSEC_DOI = 1
SIT_SECRECY_OR_INTEGRITY = 0x06  # RFC 2407 4.2: these add labelled-domain fields to the SA payload
NEXT_PROPOSAL = 2
NEXT_TRANSFORM = 3


@dataclass(slots=True)
class Transform:
    """RFC 2408 3.6. ``protocol_id`` is that of the enclosing proposal and decides how the
    transform ID and the attributes are named."""

    number: int
    transform_id: int
    attributes: Sequence[Attribute]  # a tuple shared by the transforms decoded from the same bytes
    protocol_id: int = PROTO_ISAKMP
    offset: int = 0
    # The JSON form of the bytes this transform was decoded from, shared by every transform decoded
    # from the same bytes (``decode_sa``; records are not changed once decoded): ``to_dict`` copies it.
    _json: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def transform_name(self) -> str:
        table = TRANSFORM_IDS_BY_PROTOCOL.get(self.protocol_id)
        return table.name(self.transform_id) if table is not None else f"UNKNOWN ({self.transform_id})"

    def attribute(self, attribute_type: int) -> Attribute | None:
        """The first attribute of that type, or ``None``."""
        for attribute in self.attributes:
            if attribute.type == attribute_type:
                return attribute
        return None

    def get(self, attribute_type: int, default: int | bytes | None = None) -> int | bytes | None:
        """Value of the first attribute of that type, or ``default``."""
        attribute = self.attribute(attribute_type)
        return attribute.value if attribute is not None else default

    def describe(self) -> str:
        """One line such as ``AES-CBC-256, SHA2-256, XAUTHInitPreShared, group 2, 28800 seconds``."""
        if self.protocol_id == PROTO_ISAKMP:
            parts = [
                _with_key_length(self.attribute(ENCRYPTION_ALGORITHM), self.get(KEY_LENGTH)),
                _text_of(self.attribute(HASH_ALGORITHM)),
                _text_of(self.attribute(AUTHENTICATION_METHOD)),
                _group_text(self.get(GROUP_DESCRIPTION)),
            ]
        else:
            transform = self.transform_name
            key_length = self.get(IPSEC_KEY_LENGTH)
            parts = [
                f"{transform}-{key_length}" if isinstance(key_length, int) else transform,
                _text_of(self.attribute(AUTHENTICATION_ALGORITHM)),
                _text_of(self.attribute(ENCAPSULATION_MODE)),
                _group_text(self.get(IPSEC_GROUP_DESCRIPTION)),
            ]
        parts.extend(lifetime_text(self.attributes))
        return ", ".join(part for part in parts if part)

    def to_dict(self) -> dict[str, Any]:
        known = self._json
        if known is not None:
            return {**known, "attributes": list(map(dict, known["attributes"]))}  # each attribute's own
        return self._dict()

    def _dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "transform_id": self.transform_id,
            "transform_name": self.transform_name,
            "attributes": [attribute.to_dict() for attribute in self.attributes],
        }


def _text_of(attribute: Attribute | None) -> str:
    return attribute.text if attribute is not None else ""


def _with_key_length(attribute: Attribute | None, key_length: int | bytes | None) -> str:
    if attribute is None:
        return ""
    return f"{attribute.text}-{key_length}" if isinstance(key_length, int) else attribute.text


def _group_text(group: int | bytes | None) -> str:
    return f"group {group}" if isinstance(group, int) else ""


_transform_dict = Transform.to_dict  # (a map over the transforms: no comprehension made per call)


@dataclass(slots=True)
class Proposal:
    """RFC 2408 3.5."""

    number: int
    protocol_id: int
    spi: bytes
    transforms: list[Transform]
    offset: int = 0

    @property
    def protocol_name(self) -> str:
        return PROTOCOL_IDS.short_name(self.protocol_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "protocol_id": self.protocol_id,
            "protocol": self.protocol_name,
            "spi": self.spi.hex(),
            "transforms": list(map(_transform_dict, self.transforms)),
        }


@dataclass(slots=True, kw_only=True)
class SaPayload(Payload):
    """RFC 2408 3.4, RFC 2407 4.6.1."""

    doi: int
    situation: int
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def transforms(self) -> list[Transform]:
        return [transform for proposal in self.proposals for transform in proposal.transforms]

    def fields(self) -> dict[str, Any]:
        return {
            "doi": self.doi,
            "doi_name": DOI.name(self.doi),
            "situation": self.situation,
            "proposals": [proposal.to_dict() for proposal in self.proposals],
        }

    def detail(self) -> str:
        transforms = self.transforms
        text = f"{plural(len(self.proposals), 'proposal')}, {plural(len(transforms), 'transform')}"
        if len(transforms) == 1:
            text += f" [{transforms[0].describe()}]"
        return text


_SA_HEADER = struct.Struct("!II")  # RFC 2408 3.4: DOI, situation (IPsec DOI)
_PROPOSAL_HEADER = struct.Struct("!BBBB")  # RFC 2408 3.5, after the generic header
_TRANSFORM_HEADER = struct.Struct("!BB")  # RFC 2408 3.6, after the generic header

# What a decoded SA payload or transform block is made of, remembered by its bytes and offset (a
# pure function of them): the SAs of a capture repeat them byte for byte. Fresh records are made
# from a recipe for every payload (``render/cisco/phase2.py`` tells records apart by ``id()``).
# number, transform ID, attributes, offset, JSON form (``Transform.to_dict``)
_TransformRecipe = tuple[int, int, tuple[Attribute, ...], int, dict[str, Any]]
# number, protocol ID, SPI, transforms, offset
_ProposalRecipe = tuple[int, int, bytes, tuple[_TransformRecipe, ...], int]
_FIRST_PROPOSAL = 8  # where the first proposal starts in an SA payload's body (after DOI, situation)
_FIRST_SPI_SIZE = _FIRST_PROPOSAL + 6  # its SPI size (RFC 2408 3.5)
_FIRST_SPI = _FIRST_PROPOSAL + 8  # its SPI
_MAX_REMEMBERED = 4096  # distinct SA payloads, and transform blocks, kept (memory stays bounded)
_MAX_REMEMBERED_SIZE = 2048  # bytes of the largest one kept (a hostile capture's are decoded each time)
_REMEMBERED_SAS: dict[tuple[bytes, int, int], tuple[tuple[_ProposalRecipe, ...], tuple[str, ...]]] = {}
_REMEMBERED_TRANSFORMS: dict[
    tuple[bytes, int, int], tuple[tuple[_TransformRecipe, ...], tuple[str, ...]]
] = {}


def decode_sa(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    # RFC 2408 3.4: DOI (4) | situation (4 for the IPsec DOI) | proposals
    if len(body) < 8:
        need(body, 8, "SA payload")
    doi, situation = _SA_HEADER.unpack_from(body)
    offset = header.offset
    if doi not in (0, IPSEC_DOI):
        problems.append(f"SA payload at offset {offset}: DOI {DOI.name(doi)}, proposals not decoded")
        return SaPayload(*header, doi=doi, situation=situation)
    if doi == IPSEC_DOI and situation & SIT_SECRECY_OR_INTEGRITY:
        problems.append(
            f"SA payload at offset {offset}: labelled-domain situation {situation:#x}, proposals not decoded"
        )
        return SaPayload(*header, doi=doi, situation=situation)
    # SA payloads repeat across the SAs of a capture but for the SPI of their proposal (quick mode's,
    # RFC 2409 5.5; phase 1's have none): remembered by their bytes without the first proposal's
    # SPI (whose content nothing in the decoding reads), and given their own SPI back.
    spi_size = body[_FIRST_SPI_SIZE] if len(body) > _FIRST_SPI else 0
    key = (body[:_FIRST_SPI] + body[_FIRST_SPI + spi_size :] if spi_size else body, len(body), offset)
    known = _REMEMBERED_SAS.get(key)
    if known is None:
        known = _proposal_recipes(body, offset + GENERIC_HEADER_LENGTH)
        if (
            len(_REMEMBERED_SAS) < _MAX_REMEMBERED
            and len(body) <= _MAX_REMEMBERED_SIZE
            and _rememberable(known[0], spi_size, offset)
        ):
            _REMEMBERED_SAS[key] = known
    elif spi_size:
        number, protocol_id, _, transforms, at = known[0][0]
        known = ((number, protocol_id, body[_FIRST_SPI : _FIRST_SPI + spi_size], transforms, at),), known[1]
    recipes, found = known
    problems.extend(found)
    # Fresh records from the recipes, made by storing their fields (``stores_every_field`` below):
    # Proposal(number, protocol_id, spi, transforms, at), Transform(number, transform_id,
    # attributes, protocol_id, offset) with its JSON form, SaPayload(*header, doi=..., ...).
    proposals = []
    for number, protocol_id, spi, transforms, at in recipes:
        made = []
        for t_number, transform_id, attributes, t_offset, json in transforms:
            transform = _new(Transform)
            transform.number, transform.transform_id = t_number, transform_id
            transform.attributes, transform.protocol_id = attributes, protocol_id
            transform.offset, transform._json = t_offset, json
            made.append(transform)
        proposal = _new(Proposal)
        proposal.number, proposal.protocol_id, proposal.spi = number, protocol_id, spi
        proposal.transforms, proposal.offset = made, at
        proposals.append(proposal)
    payload = _new(SaPayload)
    payload.type, payload.offset, payload.raw, payload.next_payload, payload.reserved = header
    payload.error, payload.doi = None, doi
    payload.situation, payload.proposals = situation, proposals
    return payload


_new = object.__new__
stores_every_field(Transform, ("number", "transform_id", "attributes", "protocol_id", "offset", "_json"))
stores_every_field(Proposal, ("number", "protocol_id", "spi", "transforms", "offset"))
stores_every_field(SaPayload, (*HEADER_FIELDS, "doi", "situation", "proposals"))


def _rememberable(recipes: tuple[_ProposalRecipe, ...], spi_size: int, offset: int) -> bool:
    """Whether an SA payload decoded into ``recipes`` is remembered without its first SPI: with
    no SPI at all, or with one proposal, at the start, whose SPI is the ``spi_size`` bytes the key
    leaves out."""
    if not spi_size:
        return not any(recipe[2] for recipe in recipes)
    return (
        len(recipes) == 1
        and recipes[0][4] == offset + GENERIC_HEADER_LENGTH + _FIRST_PROPOSAL
        and len(recipes[0][2]) == spi_size
    )


def _walk_substructures(
    data: bytes, start: int, base_offset: int, expected_next: int, limit: int, what: str, problems: list[str]
) -> list[tuple[int, bytes]]:
    """Walk proposal or transform substructures (RFC 2408 3.5 / 3.6), which share the generic
    header; returns (absolute offset, raw bytes) of each, reporting problems."""
    found: list[tuple[int, bytes]] = []
    position = start
    size = len(data)
    while position < size:
        at = base_offset + position
        if len(found) >= limit:
            problems.append(f"{what} at offset {at}: more than {limit}, stopped")
            break
        if size - position < SUBSTRUCTURE_MIN:
            left = size - position
            problems.append(f"{what} at offset {at}: {left} bytes left over, too short for a {what}")
            break
        next_type, _, length = GENERIC_HEADER.unpack_from(data, position)
        if length < SUBSTRUCTURE_MIN:
            problems.append(f"{what} at offset {at}: length {length} is below {SUBSTRUCTURE_MIN}")
            break
        if position + length > size:
            problems.append(f"{what} at offset {at}: length {length} runs past the enclosing payload")
            break
        found.append((at, data[position : position + length]))
        position += length
        if next_type != (0 if position >= size else expected_next):
            problems.append(f"{what} at offset {at}: next payload {next_type} does not fit its position")
    return found


def _proposal_recipes(body: bytes, base_offset: int) -> tuple[tuple[_ProposalRecipe, ...], tuple[str, ...]]:
    """The proposals of an SA payload body (from byte 8, after DOI and situation) as recipes, and
    the problems found; ``base_offset`` is the body's offset in the message."""
    found: list[str] = []
    recipes: list[_ProposalRecipe] = []
    for at, raw in _walk_substructures(body, 8, base_offset, NEXT_PROPOSAL, MAX_PROPOSALS, "proposal", found):
        number, protocol_id, spi_size, transform_count = _PROPOSAL_HEADER.unpack_from(raw, 4)
        if 8 + spi_size > len(raw):
            found.append(f"proposal at offset {at}: SPI size {spi_size} runs past the proposal")
            recipes.append((number, protocol_id, raw[8:], (), at))
            continue
        transforms = _transform_recipes(raw[8 + spi_size :], at + 8 + spi_size, protocol_id, found)
        if len(transforms) != transform_count:
            found.append(
                f"proposal at offset {at}: announces {transform_count} transforms, holds {len(transforms)}"
            )
        recipes.append((number, protocol_id, raw[8 : 8 + spi_size], transforms, at))
    if not recipes:
        found.append(f"SA payload at offset {base_offset - GENERIC_HEADER_LENGTH}: no proposal")
    return tuple(recipes), tuple(found)


def _transform_recipes(
    block: bytes, base_offset: int, protocol_id: int, problems: list[str]
) -> tuple[_TransformRecipe, ...]:
    """The transforms of a proposal (``block``: the bytes after its SPI), remembered by bytes,
    offset and protocol."""
    key = (block, base_offset, protocol_id)
    known = _REMEMBERED_TRANSFORMS.get(key)
    if known is not None:
        problems.extend(known[1])
        return known[0]
    context = context_for_protocol(protocol_id)
    found: list[str] = []
    recipes: list[_TransformRecipe] = []
    for at, raw in _walk_substructures(
        block, 0, base_offset, NEXT_TRANSFORM, MAX_TRANSFORMS, "transform", found
    ):
        number, transform_id = _TRANSFORM_HEADER.unpack_from(raw, 4)
        attributes, attribute_problems = transform_attributes(raw[8:], context, at + 8)
        found.extend(attribute_problems)
        json = Transform(number, transform_id, attributes, protocol_id, at)._dict()
        json["attributes"] = tuple(json["attributes"])  # (copied by every to_dict)
        recipes.append((number, transform_id, tuple(attributes), at, json))
    if len(_REMEMBERED_TRANSFORMS) < _MAX_REMEMBERED and len(block) <= _MAX_REMEMBERED_SIZE:
        _REMEMBERED_TRANSFORMS[key] = (tuple(recipes), tuple(found))
    problems.extend(found)
    return tuple(recipes)
