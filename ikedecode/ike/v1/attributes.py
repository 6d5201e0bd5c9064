"""ISAKMP data attributes (RFC 2408 section 3.3) and the contexts that name them.

An attribute is a TLV whose first bit (AF) says whether it is *basic* (type + 2-byte value, TV)
or *variable* (type + 2-byte length + value, TLV). What the type numbers mean depends on where
the attribute sits: transforms of PROTO_ISAKMP proposals carry IKE attributes (RFC 2409
Appendix A), transforms of AH/ESP/IPCOMP proposals carry IPsec DOI attributes (RFC 2407 4.5),
and Attributes payloads carry mode-config / XAUTH attributes. An ``AttributeContext`` bundles the
tables for one of these places.

``parse_attributes`` never raises: a header or value running past the end stops the walk and
is reported as a problem string.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ikedecode.ike.registry.core import Registry
from ikedecode.ike.registry.ike_attributes import (
    IKE_ATTRIBUTE_TYPES,
    IKE_ATTRIBUTE_VALUES,
    IKE_INTEGER_ATTRIBUTES,
    LIFE_DURATION,
    LIFE_TYPE,
)
from ikedecode.ike.registry.ipsec_attributes import (
    IPSEC_ATTRIBUTE_TYPES,
    IPSEC_ATTRIBUTE_VALUES,
    IPSEC_INTEGER_ATTRIBUTES,
)
from ikedecode.ike.registry.isakmp import PROTO_IPCOMP, PROTO_IPSEC_AH, PROTO_IPSEC_ESP, PROTO_ISAKMP
from ikedecode.ike.registry.modecfg import (
    CFG_ATTRIBUTE_TYPES,
    CFG_ATTRIBUTE_VALUES,
    CFG_INTEGER_ATTRIBUTES,
    CFG_IPV4_ATTRIBUTES,
    CFG_IPV6_ATTRIBUTES,
    CFG_SPLIT_NETWORK_ATTRIBUTES,
    CFG_TEXT_ATTRIBUTES,
)

AF_BIT = 0x8000  # RFC 2408 3.3: attribute format, 1 = basic (TV)
UNITY_SPLIT_ENTRY = 14  # Cisco Unity split network entry: address, mask, 6 bytes protocol/ports


@dataclass(frozen=True, slots=True)
class AttributeContext:
    """Which registry names an attribute's type and its enumerated values."""

    name: str  # "ike", "ipsec", "modecfg", "unknown"
    types: Registry
    values: Mapping[int, Registry]
    integer_types: frozenset[int]  # variable-length attributes decoded as unsigned integers


IKE_CONTEXT = AttributeContext("ike", IKE_ATTRIBUTE_TYPES, IKE_ATTRIBUTE_VALUES, IKE_INTEGER_ATTRIBUTES)
IPSEC_CONTEXT = AttributeContext(
    "ipsec", IPSEC_ATTRIBUTE_TYPES, IPSEC_ATTRIBUTE_VALUES, IPSEC_INTEGER_ATTRIBUTES
)
MODECFG_CONTEXT = AttributeContext(
    "modecfg", CFG_ATTRIBUTE_TYPES, CFG_ATTRIBUTE_VALUES, CFG_INTEGER_ATTRIBUTES
)
UNKNOWN_CONTEXT = AttributeContext("unknown", Registry("attribute", {}), {}, frozenset())

CONTEXT_BY_PROTOCOL: dict[int, AttributeContext] = {
    PROTO_ISAKMP: IKE_CONTEXT,
    PROTO_IPSEC_AH: IPSEC_CONTEXT,
    PROTO_IPSEC_ESP: IPSEC_CONTEXT,
    PROTO_IPCOMP: IPSEC_CONTEXT,
}


def context_for_protocol(protocol_id: int) -> AttributeContext:
    """The attribute context of a proposal's transforms (RFC 2407 4.5 / RFC 2409 Appendix A)."""
    return CONTEXT_BY_PROTOCOL.get(protocol_id, UNKNOWN_CONTEXT)


_MAX_REMEMBERED_DICTS = 4096  # distinct attributes whose JSON form is kept (memory stays bounded)
_MAX_REMEMBERED_VALUE = 16  # longer byte values are not kept
_REMEMBERED_DICTS: dict[tuple[str, int, int | bytes, bool], dict[str, Any]] = {}


@dataclass(slots=True)
class Attribute:
    """One data attribute. ``value`` is an ``int`` for basic attributes and for variable-length
    attributes that are numbers (life durations of any length), ``bytes`` otherwise."""

    type: int
    value: int | bytes
    is_basic: bool
    context: AttributeContext = field(default=UNKNOWN_CONTEXT, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.context.types.name(self.type)

    @property
    def short(self) -> str:
        return self.context.types.short_name(self.type)

    @property
    def value_name(self) -> str | None:
        """Name of an enumerated value (``3DES-CBC``), ``None`` for numbers and byte strings."""
        table = self.context.values.get(self.type)
        if table is None or not isinstance(self.value, int):
            return None
        return table.name(self.value)

    @property
    def value_short(self) -> str | None:
        table = self.context.values.get(self.type)
        if table is None or not isinstance(self.value, int):
            return None
        return table.short_name(self.value)

    @property
    def text(self) -> str:
        """The value as a person reads it: a name, a number, an address, text, or hex."""
        named = self.value_name
        if named is not None:
            return named
        if isinstance(self.value, int):
            return str(self.value)
        if self.context is MODECFG_CONTEXT:
            decoded = _modecfg_text(self.type, self.value)
            if decoded is not None:
                return decoded
        return self.value.hex()

    def summary(self) -> str:
        return f"{self.name}={self.text}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the same type and value always give the same dict, so it is computed
        once (every SA of a capture repeats the same few attributes) and copied."""
        value = self.value
        if isinstance(value, bytes) and len(value) > _MAX_REMEMBERED_VALUE:
            return self._dict()
        key = (self.context.name, self.type, value, self.is_basic)
        known = _REMEMBERED_DICTS.get(key)
        if known is None:
            known = self._dict()
            if len(_REMEMBERED_DICTS) < _MAX_REMEMBERED_DICTS:
                _REMEMBERED_DICTS[key] = known
        return dict(known)

    def _dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "format": "TV" if self.is_basic else "TLV",
            "value": self.value if isinstance(self.value, int) else self.value.hex(),
        }
        if self.value_name is not None:
            out["value_name"] = self.value_name
        if isinstance(self.value, bytes) and self.text != self.value.hex():
            out["text"] = self.text
        return out


def parse_attributes(
    data: bytes, context: AttributeContext, base_offset: int = 0
) -> tuple[list[Attribute], list[str]]:
    """Walk the attribute TLVs in ``data`` (RFC 2408 3.3).

    Returns the attributes read and a list of problems; ``base_offset`` is the absolute offset of
    ``data`` in the message, used only in problem texts.
    """
    attributes: list[Attribute] = []
    problems: list[str] = []
    position = 0
    while position < len(data):
        at = base_offset + position
        if len(data) - position < 4:
            problems.append(
                f"attribute at offset {at}: {len(data) - position} stray bytes, too short for a header"
            )
            break
        word, field2 = struct.unpack_from("!HH", data, position)
        attribute_type = word & ~AF_BIT
        if word & AF_BIT:
            attributes.append(Attribute(attribute_type, field2, True, context))
            position += 4
            continue
        start = position + 4
        end = start + field2
        if end > len(data):
            problems.append(
                f"attribute at offset {at}: {context.types.name(attribute_type)} claims {field2} bytes,"
                f" only {len(data) - start} left"
            )
            break
        raw_value = data[start:end]
        value: int | bytes = raw_value
        if attribute_type in context.integer_types:
            if raw_value:
                value = int.from_bytes(raw_value, "big")
            else:
                problems.append(f"attribute at offset {at}: {context.types.name(attribute_type)} is empty")
        attributes.append(Attribute(attribute_type, value, False, context))
        position = end
    return attributes, problems


_MAX_REMEMBERED_LISTS = 4096  # distinct attribute blocks whose records are kept
_REMEMBERED_LISTS: dict[tuple[bytes, str], tuple[Attribute, ...]] = {}


def transform_attributes(
    data: bytes, context: AttributeContext, base_offset: int = 0
) -> tuple[list[Attribute], list[str]]:
    """``parse_attributes`` of a transform, remembered by its bytes: the SAs of a capture offer the
    same few transforms byte for byte (4 blocks, 24 attributes an SA of the benchmark). The records
    are shared, as nothing changes an ``Attribute`` once read; each transform gets its own list.
    Blocks with problems are parsed each time (their problems name the offset)."""
    key = (bytes(data), context.name)
    known = _REMEMBERED_LISTS.get(key)
    if known is not None:
        return list(known), []
    attributes, problems = parse_attributes(data, context, base_offset)
    if not problems and len(_REMEMBERED_LISTS) < _MAX_REMEMBERED_LISTS:
        _REMEMBERED_LISTS[key] = tuple(attributes)
    return attributes, problems


# (life type, life duration) attribute numbers per context: RFC 2409 Appendix A, RFC 2407 4.5
LIFETIME_ATTRIBUTES: dict[str, tuple[int, int]] = {"ike": (LIFE_TYPE, LIFE_DURATION), "ipsec": (1, 2)}


def lifetime_text(attributes: Sequence[Attribute]) -> list[str]:
    """Each life duration with the life type announced before it: ``["28800 seconds"]``.

    A duration without a preceding type is in seconds, the default of both RFCs.
    """
    if not attributes or attributes[0].context.name not in LIFETIME_ATTRIBUTES:
        return []
    life_type_id, duration_id = LIFETIME_ATTRIBUTES[attributes[0].context.name]
    out: list[str] = []
    unit = "seconds"
    for attribute in attributes:
        if attribute.type == life_type_id:
            unit = attribute.value_short or attribute.text
        elif attribute.type == duration_id:
            out.append(f"{attribute.text} {unit}")
    return out


def _ipv4(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(raw))


def _modecfg_text(attribute_type: int, raw: bytes) -> str | None:
    """Readable form of mode-config values (mode-cfg draft 3.3), ``None`` when no form applies."""
    if not raw:
        return ""
    if attribute_type in CFG_IPV4_ATTRIBUTES and len(raw) == 4:
        return _ipv4(raw)
    if attribute_type == 13 and len(raw) % 8 == 0:  # INTERNAL_IP4_SUBNET: address, netmask pairs
        return ", ".join(
            f"{_ipv4(raw[i : i + 4])}/{_ipv4(raw[i + 4 : i + 8])}" for i in range(0, len(raw), 8)
        )
    if attribute_type == 8 and len(raw) in (16, 17):  # INTERNAL_IP6_ADDRESS (+ prefix length)
        address = str(ipaddress.IPv6Address(raw[:16]))
        return f"{address}/{raw[16]}" if len(raw) == 17 else address
    if attribute_type in CFG_IPV6_ATTRIBUTES and len(raw) == 16:
        return str(ipaddress.IPv6Address(raw))
    if attribute_type in CFG_SPLIT_NETWORK_ATTRIBUTES and len(raw) % UNITY_SPLIT_ENTRY == 0:
        return ", ".join(
            f"{_ipv4(raw[i : i + 4])}/{_ipv4(raw[i + 4 : i + 8])}"
            for i in range(0, len(raw), UNITY_SPLIT_ENTRY)
        )
    if attribute_type in CFG_TEXT_ATTRIBUTES:
        return raw.decode("utf-8", "backslashreplace")
    return None
