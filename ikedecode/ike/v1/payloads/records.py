"""Typed records for the payloads other than SA (RFC 2408 3.7-3.16, RFC 3947, mode-config,
Cisco fragmentation)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from ikedecode.ike.registries import (
    CERT_ENCODINGS,
    CFG_TYPES,
    ID_TYPES,
    IP_PROTOCOLS,
    NAT_T_DRAFT_PAYLOAD_TYPES,
    NOTIFY_ERROR_MAX,
    NOTIFY_TYPES,
    PAYLOAD_TYPES,
    PROTOCOL_IDS,
    R_U_THERE,
    R_U_THERE_ACK,
    REPLAY_STATUS,
    RESPONDER_LIFETIME,
    payload_type_name,
)
from ikedecode.ike.v1.attributes import Attribute, context_for_protocol, lifetime_text, parse_attributes
from ikedecode.ike.v1.payloads.base import Payload, hex_text, plural, printable_text
from ikedecode.ike.wire_text import escape_controls

# Notify types whose data is decoded (RFC 2407 4.6.3, RFC 3706 5)
DPD_NOTIFY_TYPES = frozenset({R_U_THERE, R_U_THERE_ACK})


@dataclass(slots=True, kw_only=True)
class DataPayload(Payload):
    """A payload whose whole body is one opaque value (KE, HASH, SIG, NONCE, NAT-D)."""

    data: bytes

    def fields(self) -> dict[str, Any]:
        return {"data": hex_text(self.data)}


@dataclass(slots=True, kw_only=True)
class KePayload(DataPayload):
    """RFC 2408 3.7: the Diffie-Hellman public value."""


@dataclass(slots=True, kw_only=True)
class IdPayload(Payload):
    """RFC 2408 3.8 with the IPsec DOI layout of RFC 2407 4.6.2."""

    id_type: int
    protocol_id: int
    port: int
    data: bytes
    text: str

    @property
    def id_type_name(self) -> str:
        return ID_TYPES.name(self.id_type)

    def fields(self) -> dict[str, Any]:
        return {
            "id_type": self.id_type,
            "id_type_name": self.id_type_name,
            "protocol_id": self.protocol_id,
            "protocol": IP_PROTOCOLS.name(self.protocol_id),
            "port": self.port,
            "data": hex_text(self.data),
            "text": self.text,
        }

    def detail(self) -> str:
        text = f"{self.id_type_name} {self.text}"
        if self.protocol_id or self.port:
            text += f" ({IP_PROTOCOLS.short_name(self.protocol_id)}/{self.port})"
        return text


@dataclass(slots=True, kw_only=True)
class CertPayload(Payload):
    """RFC 2408 3.9."""

    encoding: int
    data: bytes

    def fields(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "encoding_name": CERT_ENCODINGS.name(self.encoding),
            "data": hex_text(self.data),
        }

    def detail(self) -> str:
        return f"{CERT_ENCODINGS.name(self.encoding)}, {plural(len(self.data), 'byte')}"


@dataclass(slots=True, kw_only=True)
class CertRequestPayload(Payload):
    """RFC 2408 3.10."""

    encoding: int
    authority: bytes

    def fields(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "encoding_name": CERT_ENCODINGS.name(self.encoding),
            "authority": hex_text(self.authority),
        }

    def detail(self) -> str:
        text = CERT_ENCODINGS.name(self.encoding)
        return f"{text}, authority {plural(len(self.authority), 'byte')}" if self.authority else text


@dataclass(slots=True, kw_only=True)
class HashPayload(DataPayload):
    """RFC 2408 3.11."""


@dataclass(slots=True, kw_only=True)
class SignaturePayload(DataPayload):
    """RFC 2408 3.12."""


@dataclass(slots=True, kw_only=True)
class NoncePayload(DataPayload):
    """RFC 2408 3.13."""


@dataclass(slots=True, kw_only=True)
class NotifyPayload(Payload):
    """RFC 2408 3.14; data of RESPONDER-LIFETIME, REPLAY-STATUS (RFC 2407 4.6.3) and DPD
    (RFC 3706) is decoded by the properties below."""

    doi: int
    protocol_id: int
    spi: bytes
    notify_type: int
    data: bytes

    @property
    def notify_name(self) -> str:
        return NOTIFY_TYPES.name(self.notify_type)

    @property
    def is_error(self) -> bool:
        return 0 < self.notify_type <= NOTIFY_ERROR_MAX

    @property
    def text(self) -> str | None:
        """The data as text when it is printable (vendors put messages there)."""
        return printable_text(self.data)

    @property
    def sequence(self) -> int | None:
        """DPD sequence number (RFC 3706 5.2) or REPLAY-STATUS value (RFC 2407 4.6.3.2)."""
        if self.notify_type in DPD_NOTIFY_TYPES | {REPLAY_STATUS} and len(self.data) == 4:
            return struct.unpack("!I", self.data)[0]
        return None

    @property
    def lifetime_attributes(self) -> list[Attribute]:
        """RESPONDER-LIFETIME attributes (RFC 2407 4.6.3.1) in the protocol's context."""
        if self.notify_type != RESPONDER_LIFETIME:
            return []
        return parse_attributes(self.data, context_for_protocol(self.protocol_id))[0]

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "doi": self.doi,
            "protocol_id": self.protocol_id,
            "protocol": PROTOCOL_IDS.short_name(self.protocol_id),
            "spi": hex_text(self.spi),
            "notify_type": self.notify_type,
            "notify_name": self.notify_name,
            "data": hex_text(self.data),
        }
        if self.text is not None:
            out["text"] = self.text
        if self.sequence is not None:
            out["sequence"] = self.sequence
        if self.lifetime_attributes:
            out["attributes"] = [attribute.to_dict() for attribute in self.lifetime_attributes]
        return out

    def detail(self) -> str:
        text = self.notify_name
        if self.sequence is not None:
            text += f" seq {self.sequence}"
        if self.lifetime_attributes:
            text += " " + ", ".join(lifetime_text(self.lifetime_attributes))
        elif self.text is not None:
            text += f' "{escape_controls(self.text)}"'
        if self.spi:
            text += f" ({PROTOCOL_IDS.short_name(self.protocol_id)} SPI 0x{hex_text(self.spi)})"
        return text


@dataclass(slots=True, kw_only=True)
class DeletePayload(Payload):
    """RFC 2408 3.15."""

    doi: int
    protocol_id: int
    spi_size: int
    spis: list[bytes]

    def fields(self) -> dict[str, Any]:
        return {
            "doi": self.doi,
            "protocol_id": self.protocol_id,
            "protocol": PROTOCOL_IDS.short_name(self.protocol_id),
            "spi_size": self.spi_size,
            "spis": [hex_text(spi) for spi in self.spis],
        }

    def detail(self) -> str:
        spis = ", ".join(f"0x{hex_text(spi)}" for spi in self.spis)
        return f"{PROTOCOL_IDS.short_name(self.protocol_id)} {plural(len(self.spis), 'SPI')}" + (
            f" {spis}" if spis else ""
        )


@dataclass(slots=True, kw_only=True)
class VendorIdPayload(Payload):
    """RFC 2408 3.16; ``name`` is the known vendor / feature, ``None`` when unknown."""

    data: bytes
    vendor: str | None = None

    @property
    def vendor_name(self) -> str:
        return self.vendor or hex_text(self.data)

    def fields(self) -> dict[str, Any]:
        return {"data": hex_text(self.data), "vendor": self.vendor}

    def detail(self) -> str:
        return self.vendor_name


@dataclass(slots=True, kw_only=True)
class ConfigAttributePayload(Payload):
    """Mode-config / XAUTH Attributes payload (draft-dukes-ike-mode-cfg 3.2)."""

    cfg_type: int
    identifier: int
    attributes: list[Attribute]

    @property
    def cfg_type_name(self) -> str:
        return CFG_TYPES.name(self.cfg_type)

    def fields(self) -> dict[str, Any]:
        return {
            "cfg_type": self.cfg_type,
            "cfg_type_name": self.cfg_type_name,
            "identifier": self.identifier,
            "attributes": [attribute.to_dict() for attribute in self.attributes],
        }

    def detail(self) -> str:
        names = ", ".join(attribute.name for attribute in self.attributes)
        return f"{self.cfg_type_name} id {self.identifier}" + (f": {names}" if names else "")


class _NatTDraftNames:
    """The names of a NAT-T payload, also under the draft payload numbers (registry/isakmp.py
    NAT_T_DRAFT_PAYLOAD_TYPES): shared by NAT-D and NAT-OA."""

    __slots__ = ()
    type: int

    @property
    def name(self) -> str:
        draft = NAT_T_DRAFT_PAYLOAD_TYPES.get(self.type)  # (super() fails in a slots dataclass)
        return draft[0] if draft is not None else payload_type_name(self.type)

    @property
    def short(self) -> str:
        draft = NAT_T_DRAFT_PAYLOAD_TYPES.get(self.type)  # (super() fails in a slots dataclass)
        return draft[1] if draft is not None else PAYLOAD_TYPES.short.get(self.type) or self.name


@dataclass(slots=True, kw_only=True)
class NatDPayload(_NatTDraftNames, DataPayload):
    """RFC 3947 3.2 (type 20; draft types 130 and 15): HASH of cookies, address and port."""


@dataclass(slots=True, kw_only=True)
class NatOaPayload(_NatTDraftNames, Payload):
    """RFC 3947 5.2 (type 21; draft types 131 and 16): the original address."""

    id_type: int
    address: str

    def fields(self) -> dict[str, Any]:
        return {"id_type": self.id_type, "id_type_name": ID_TYPES.name(self.id_type), "address": self.address}

    def detail(self) -> str:
        return self.address


@dataclass(slots=True, kw_only=True)
class FragmentPayload(Payload):
    """IKEv1 fragment, Cisco layout (type 132): fragment ID (2), number (1), flags (1; bit 0 =
    last), data. IKEv2 fragments (RFC 7383, type 53) are encrypted and not decoded here."""

    fragment_id: int
    number: int
    flags: int
    data: bytes

    @property
    def last(self) -> bool:
        return bool(self.flags & 0x01)

    def fields(self) -> dict[str, Any]:
        return {
            "fragment_id": self.fragment_id,
            "number": self.number,
            "flags": self.flags,
            "last": self.last,
            "data": hex_text(self.data),
        }

    def detail(self) -> str:
        text = f"id {self.fragment_id} #{self.number}, {plural(len(self.data), 'byte')}"
        return text + " (last)" if self.last else text
