"""IKEv2 Traffic Selector (RFC 7296 3.13) and Configuration (RFC 7296 3.15) payloads."""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ikedecode.ike.identification import ipv4_text
from ikedecode.ike.payload_chain import PayloadHeader
from ikedecode.ike.registry.ikev2 import (
    CONFIGURATION_ATTRIBUTE_FORMATS,
    CONFIGURATION_ATTRIBUTES,
    CONFIGURATION_TYPES,
    TS_IPV4_ADDR_RANGE,
    TS_IPV6_ADDR_RANGE,
    TS_SECLABEL,
    TS_TYPES,
)
from ikedecode.ike.registry.isakmp import IP_PROTOCOLS
from ikedecode.ike.v2.payloads.base import Ikev2Payload, need, plural
from ikedecode.ike.wire_text import escape_controls

MAX_SELECTORS = 256
SELECTOR_HEADER = struct.Struct("!BBH")  # TS type | IP protocol ID | selector length (RFC 7296 3.13.1)
PORTS = struct.Struct("!HH")  # start port | end port
ADDRESS_SIZE = {TS_IPV4_ADDR_RANGE: 4, TS_IPV6_ADDR_RANGE: 16}  # bytes of each address (RFC 7296 3.13.1)


@dataclass(slots=True)
class TrafficSelector:
    ts_type: int
    ip_protocol: int = 0
    start_port: int = 0
    end_port: int = 65535
    start_address: str = ""
    end_address: str = ""
    label: bytes = b""  # TS_SECLABEL (RFC 9478)
    # ``text()`` once made: the engine's Child SA record, the payload's detail, the diagnosis and
    # the JSON each ask for it (a selector is not changed once decoded)
    _text: str | None = field(default=None, init=False, repr=False, compare=False)
    _range: str | None = field(default=None, init=False, repr=False, compare=False)  # see from_wire

    @classmethod
    def from_wire(
        cls, ts_type: int, ip_protocol: int, start_port: int, end_port: int, start: bytes, end: bytes
    ) -> TrafficSelector:
        """An address-range selector as decoded: its addresses as text, and the range as text
        (``_range_text``) worked out from the address bytes rather than read back from the text."""
        first, last, selector_range = _range_texts(start, end)
        selector = cls(ts_type, ip_protocol, start_port, end_port, first, last)
        selector._range = selector_range
        return selector

    def text(self) -> str:
        if self._text is None:
            self._text = self._make_text()
        return self._text

    def _make_text(self) -> str:
        if self.ts_type == TS_SECLABEL:
            return "label " + escape_controls(self.label.rstrip(b"\x00").decode("utf-8", "backslashreplace"))
        if self.ts_type not in (TS_IPV4_ADDR_RANGE, TS_IPV6_ADDR_RANGE):
            return f"{TS_TYPES.name(self.ts_type)}"
        addresses = self._range or _range_text(self.start_address, self.end_address)
        if self.ip_protocol == 0 and (self.start_port, self.end_port) == (0, 65535):
            return addresses
        ports = "" if (self.start_port, self.end_port) == (0, 65535) else (
            str(self.start_port) if self.start_port == self.end_port else f"{self.start_port}-{self.end_port}"
        )  # fmt: skip
        return f"{addresses}[{IP_PROTOCOLS.short_name(self.ip_protocol) if self.ip_protocol else 'any'}" + (
            f"/{ports}]" if ports else "]"
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ts_type": self.ts_type, "ts_type_name": TS_TYPES.name(self.ts_type)}
        if self.ts_type == TS_SECLABEL:
            out["label"] = self.label.hex()
        else:
            out |= {
                "ip_protocol": self.ip_protocol,
                "start_port": self.start_port,
                "end_port": self.end_port,
                "start_address": self.start_address,
                "end_address": self.end_address,
            }
        out["text"] = self.text()
        return out


@functools.lru_cache(maxsize=4096)
def _range_texts(start: bytes, end: bytes) -> tuple[str, str, str]:
    """The first and last addresses of a range as text, and the range (``a``, ``a/n`` or ``a-b``):
    remembered by the address bytes, which a capture's selectors repeat (the texts are strings,
    shared safely; each selector record is still its own)."""
    if len(start) == 4:
        first_text, last_text = ipv4_text(start), ipv4_text(end)
    else:
        first_text, last_text = _ipv6_text(start), _ipv6_text(end)
    if start == end:
        return first_text, last_text, first_text
    first = int.from_bytes(start, "big")
    span = int.from_bytes(end, "big") - first
    if span < 0 or (span + 1) & span or first & span:
        return first_text, last_text, f"{first_text}-{last_text}"
    return first_text, last_text, f"{first_text}/{8 * len(start) - span.bit_length()}"


def _range_text(start: str, end: str) -> str:
    """``10.1.0.0/16`` when the range is a prefix, else ``a-b`` (strongSwan writes the same)."""
    if start == end:
        return start
    first, last = _address(start), _address(end)
    if first is None or last is None or first.bits != last.bits or last.value < first.value:
        return f"{start}-{end}"
    # one prefix (what ipaddress.summarize_address_range would give as a single network): the range
    # holds a power of two of addresses and starts on a multiple of it
    span = last.value - first.value
    if (span + 1) & span or first.value & span:
        return f"{start}-{end}"
    return f"{first.text}/{first.bits - span.bit_length()}"


class _Address(NamedTuple):
    bits: int  # 32 or 128
    value: int
    text: str  # as ipaddress writes it


def _address(text: str) -> _Address | None:
    """An IPv4 or IPv6 address written as text, None if it is not one. Dotted decimal as
    ``decode_ts`` writes it is read by the C library; anything else as ``ipaddress`` reads it."""
    try:
        packed = socket.inet_pton(socket.AF_INET, text)
    except OSError:
        packed = b""
    if packed and ipv4_text(packed) == text:  # written as ipaddress writes it: the same address
        return _Address(32, int.from_bytes(packed, "big"), text)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return _Address(address.max_prefixlen, int(address), str(address))


def _ipv6_text(data: bytes) -> str:
    return str(ipaddress.IPv6Address(data))


@dataclass(slots=True, kw_only=True)
class Ikev2TsPayload(Ikev2Payload):
    selectors: list[TrafficSelector] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        return {"selectors": [s.to_dict() for s in self.selectors]}

    def detail(self) -> str:
        return " ".join(s.text() for s in self.selectors) or "no selectors"


def decode_ts(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    if len(body) < 4:  # number of TSs (1) | reserved (3) | selectors (RFC 7296 3.13); need() only when short
        need(body, 4, "TS payload")
    seen = _SEEN_SELECTORS.get(body)
    if seen is not None:  # the same selectors as an earlier payload: records of this one's own
        return Ikev2TsPayload(*header, selectors=[_copy(s) for s in seen])
    before = len(problems)
    count = body[0]
    selectors: list[TrafficSelector] = []
    position = 4
    size = len(body)
    while position < size and len(selectors) < MAX_SELECTORS:
        if position + 4 > size:
            problems.append(f"TS payload at offset {header.offset}: truncated selector")
            break
        # RFC 7296 3.13.1: TS type (1) | IP protocol (1) | length (2) | start port (2) | end port (2)
        ts_type, ip_protocol, length = SELECTOR_HEADER.unpack_from(body, position)
        if length < 4 or position + length > size:
            problems.append(
                f"TS payload at offset {header.offset}: selector length {length} runs past the payload"
            )
            break
        address = ADDRESS_SIZE.get(ts_type)
        if address is not None and length == 8 + 2 * address:
            start_port, end_port = PORTS.unpack_from(body, position + 4)
            first = position + 8
            selectors.append(
                TrafficSelector.from_wire(
                    ts_type, ip_protocol, start_port, end_port, body[first : first + address],
                    body[first + address : position + length],
                )
            )  # fmt: skip
        elif ts_type == TS_SECLABEL:
            selectors.append(TrafficSelector(ts_type, label=body[position + 4 : position + length]))
        else:
            if address is not None:
                problems.append(
                    f"TS payload at offset {header.offset}: {TS_TYPES.name(ts_type)} of length {length}"
                )
            selectors.append(
                TrafficSelector(ts_type, ip_protocol, label=body[position + 4 : position + length])
            )
        position += length
    if len(selectors) != count:
        problems.append(
            f"TS payload at offset {header.offset}: announces {count} selectors, {len(selectors)} found"
        )
    if len(problems) == before and len(_SEEN_SELECTORS) < SEEN_LIMIT:
        _SEEN_SELECTORS[body] = tuple([_copy(s) for s in selectors])  # copies: the records may change
    return Ikev2TsPayload(*header, selectors=selectors)


# TS payload bodies decoded without a problem, remembered by their bytes (a bound on memory):
# an SA's two TS payloads repeat in its request and response and across the SAs of the same peers
SEEN_LIMIT = 4096
_SEEN_SELECTORS: dict[bytes, tuple[TrafficSelector, ...]] = {}


def _copy(selector: TrafficSelector) -> TrafficSelector:
    """A selector record of its own with the remembered one's fields and texts (strings, shared)."""
    copy = TrafficSelector(
        selector.ts_type, selector.ip_protocol, selector.start_port, selector.end_port,
        selector.start_address, selector.end_address, selector.label,
    )  # fmt: skip
    copy._range = selector._range
    return copy


@dataclass(slots=True)
class ConfigAttribute:
    type: int
    value: bytes

    @property
    def name(self) -> str:
        return CONFIGURATION_ATTRIBUTES.name(self.type)

    def value_text(self) -> str:
        return configuration_value_text(self.type, self.value)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "value": self.value.hex(), "text": self.value_text()}


def configuration_value_text(kind: int, value: bytes) -> str:
    """RFC 7296 3.15.1 value layouts; empty (a request for the attribute) is ``""``."""
    if not value:
        return ""
    layout = CONFIGURATION_ATTRIBUTE_FORMATS.get(kind, "hex")
    try:
        if layout == "ip4" and len(value) == 4:
            return str(ipaddress.IPv4Address(value))
        if layout == "ip4-subnet" and len(value) == 8:
            return f"{ipaddress.IPv4Address(value[:4])}/{ipaddress.IPv4Address(value[4:])}"
        if layout == "ip6" and len(value) == 16:
            return str(ipaddress.IPv6Address(value))
        if layout == "ip6-prefix" and len(value) == 17:
            return f"{ipaddress.IPv6Address(value[:16])}/{value[16]}"
        if layout == "ip6-or-ip4" and len(value) in (4, 16):
            return str(ipaddress.ip_address(value))
        if layout == "text":
            return escape_controls(value.decode("utf-8", "backslashreplace"))
        if layout == "types" and len(value) % 2 == 0:
            return ",".join(
                CONFIGURATION_ATTRIBUTES.name(t & 0x7FFF) for (t,) in struct.iter_unpack("!H", value)
            )
    except ValueError:
        pass
    return value.hex()


@dataclass(slots=True, kw_only=True)
class Ikev2ConfigPayload(Ikev2Payload):
    cfg_type: int
    attributes: list[ConfigAttribute] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        return {
            "cfg_type": self.cfg_type,
            "cfg_type_name": CONFIGURATION_TYPES.name(self.cfg_type),
            "attributes": [a.to_dict() for a in self.attributes],
        }

    def detail(self) -> str:
        parts = [f"{a.name}={a.value_text()}" if a.value else a.name for a in self.attributes]
        return f"{CONFIGURATION_TYPES.name(self.cfg_type)} " + (", ".join(parts) or plural(0, "attribute"))


def decode_cp(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    need(body, 4, "CP payload")  # CFG type (1) | reserved (3) | attributes
    attributes: list[ConfigAttribute] = []
    position = 4
    while position + 4 <= len(body) and len(attributes) < MAX_SELECTORS:
        kind, length = struct.unpack_from("!HH", body, position)  # R bit | type (15) | length (2)
        if position + 4 + length > len(body):
            problems.append(f"CP payload at offset {header.offset}: attribute runs past the payload")
            break
        attributes.append(ConfigAttribute(kind & 0x7FFF, body[position + 4 : position + 4 + length]))
        position += 4 + length
    if position < len(body) and len(attributes) < MAX_SELECTORS:
        problems.append(f"CP payload at offset {header.offset}: {len(body) - position} stray bytes")
    return Ikev2ConfigPayload(*header, cfg_type=body[0], attributes=attributes)
