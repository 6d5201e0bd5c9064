"""IKEv2 Notify payload (RFC 7296 3.10) and the data of the notify types that carry some."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ikedecode.ike.payload_chain import PayloadHeader
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads.base import Ikev2Payload, need
from ikedecode.ike.wire_text import escape_controls


@dataclass(slots=True, kw_only=True)
class Ikev2NotifyPayload(Ikev2Payload):
    """Protocol, SPI, type, data; ``decoded``: the data as named fields where the type has some."""

    protocol_id: int
    spi: bytes
    notify_type: int
    data: bytes
    decoded: dict[str, Any] = field(default_factory=dict)

    @property
    def type_name(self) -> str:
        return reg.NOTIFY_TYPES.name(self.notify_type)

    @property
    def is_error(self) -> bool:
        return reg.is_error_notify(self.notify_type)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol_id": self.protocol_id,
            "protocol": reg.PROTOCOL_IDS.name(self.protocol_id) if self.protocol_id else None,
            "spi": self.spi.hex(),
            "notify_type": self.notify_type,
            "notify_name": self.type_name,
            "error": self.is_error,
            "data": self.data.hex(),
        }
        if self.decoded:
            out["decoded"] = self.decoded
        return out

    def detail(self) -> str:
        text = self.type_name
        if self.spi:
            text += f" {reg.PROTOCOL_IDS.short_name(self.protocol_id)} SPI 0x{self.spi.hex()}"
        shown = {k: v for k, v in self.decoded.items() if k not in HIDDEN_IN_SUMMARY}
        if shown:
            text += " (" + ", ".join(f"{k} {_short(v)}" for k, v in shown.items()) + ")"
        return text


HIDDEN_IN_SUMMARY = frozenset({"hash", "nonce", "ppk_id"})  # long hex: in JSON, not in the one-line text


def _short(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def decode_notify(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    # RFC 7296 3.10: protocol (1) | SPI size (1) | notify type (2) | SPI | data
    if len(body) < 4:  # need() called (and its text worded) only when the body is short
        need(body, 4, "Notify payload")
    protocol_id, spi_size, notify_type = struct.unpack_from("!BBH", body)
    if len(body) < 4 + spi_size:
        need(body, 4 + spi_size, f"Notify payload with a {spi_size}-byte SPI")
    data = body[4 + spi_size :]
    decoded: dict[str, Any] = {}
    decoder = NOTIFY_DATA_DECODERS.get(notify_type)
    if decoder is not None:
        try:
            decoded = decoder(data)
        except (ValueError, IndexError, struct.error) as exc:
            problems.append(
                f"Notify {reg.NOTIFY_TYPES.name(notify_type)} at offset {header.offset}: "
                f"data does not read ({exc})"
            )
    return Ikev2NotifyPayload(
        *header, protocol_id=protocol_id, spi=body[4 : 4 + spi_size], notify_type=notify_type, data=data,
        decoded=decoded,
    )  # fmt: skip


def _exact(data: bytes, size: int, what: str) -> None:
    if len(data) != size:
        raise ValueError(f"{what} is {len(data)} bytes, expected {size}")


def _hash(data: bytes) -> dict[str, Any]:
    _exact(data, 20, "SHA-1 hash")  # RFC 7296 2.23
    return {"hash": data.hex()}


def _group(data: bytes) -> dict[str, Any]:
    _exact(data, 2, "key exchange method")  # RFC 7296 3.10.1 INVALID_KE_PAYLOAD
    group = struct.unpack("!H", data)[0]
    return {"group": group, "group_name": reg.KEY_EXCHANGE_METHODS.name(group)}


def _cookie(data: bytes) -> dict[str, Any]:
    if not 1 <= len(data) <= 64:  # RFC 7296 2.6
        raise ValueError(f"cookie of {len(data)} bytes (1-64 allowed)")
    return {"cookie_length": len(data)}


def _hash_algorithms(data: bytes) -> dict[str, Any]:
    if len(data) % 2:  # RFC 7427 4: a list of 16-bit hash algorithm numbers
        raise ValueError("odd length")
    ids = [v for (v,) in struct.iter_unpack("!H", data)]
    return {"hash_algorithms": [reg.HASH_ALGORITHMS.name(v) for v in ids]}


def _gateway(data: bytes, with_nonce: bool) -> dict[str, Any]:
    # RFC 5685 8: gateway identity type (1) | length (1) | identity | [nonce data]
    kind, length = data[0], data[1]
    identity = data[2 : 2 + length]
    if len(identity) != length:
        raise ValueError("gateway identity runs past the end")
    if kind == 1:
        text = str(ipaddress.IPv4Address(identity))
    elif kind == 2:
        text = str(ipaddress.IPv6Address(identity))
    else:
        text = escape_controls(identity.decode("utf-8", "backslashreplace")) if kind == 3 else identity.hex()
    out: dict[str, Any] = {"gateway_type": reg.GATEWAY_IDENTITY_TYPES.name(kind), "gateway": text}
    if with_nonce and len(data) > 2 + length:
        out["nonce"] = data[2 + length :].hex()
    return out


def _uint32(key: str) -> Callable[[bytes], dict[str, Any]]:
    def decode(data: bytes) -> dict[str, Any]:
        _exact(data, 4, key)
        return {key: struct.unpack("!I", data)[0]}

    return decode


def _address(version: int) -> Callable[[bytes], dict[str, Any]]:
    def decode(data: bytes) -> dict[str, Any]:
        return {"address": str(ipaddress.IPv4Address(data) if version == 4 else ipaddress.IPv6Address(data))}

    return decode


def _payload_type(data: bytes) -> dict[str, Any]:
    _exact(data, 1, "payload type")  # RFC 7296 3.10.1 UNSUPPORTED_CRITICAL_PAYLOAD
    return {"payload_type": reg.PAYLOAD_TYPES.name(data[0])}


def _ppk_identity(data: bytes) -> dict[str, Any]:
    # RFC 8784 3: PPK ID type (1: PPK_ID_OPAQUE, 2: PPK_ID_FIXED) | PPK ID
    # the responder's PPK_IDENTITY (it used the PPK) carries no data
    if not data:
        return {"ppk_used": True}
    kinds = {1: "PPK_ID_OPAQUE", 2: "PPK_ID_FIXED"}
    return {"ppk_id_type": kinds.get(data[0], f"UNKNOWN ({data[0]})"), "ppk_id": data[1:].hex()}


def _length(data: bytes) -> dict[str, Any]:
    return {"length": len(data)}


NOTIFY_DATA_DECODERS: dict[int, Callable[[bytes], dict[str, Any]]] = {
    1: _payload_type,
    reg.N_INVALID_KE_PAYLOAD: _group,
    9: _uint32("message_id"),  # INVALID_MESSAGE_ID
    reg.N_NAT_DETECTION_SOURCE_IP: _hash,
    reg.N_NAT_DETECTION_DESTINATION_IP: _hash,
    reg.N_COOKIE: _cookie,
    reg.N_SIGNATURE_HASH_ALGORITHMS: _hash_algorithms,
    reg.N_REDIRECT: lambda data: _gateway(data, with_nonce=True),
    reg.N_REDIRECTED_FROM: lambda data: _gateway(data, with_nonce=False),
    reg.N_SET_WINDOW_SIZE: _uint32("window_size"),
    reg.N_AUTH_LIFETIME: _uint32("seconds"),
    reg.N_ADDITIONAL_IP4_ADDRESS: _address(4),
    reg.N_ADDITIONAL_IP6_ADDRESS: _address(6),
    reg.N_PPK_IDENTITY: _ppk_identity,
    reg.N_ADDITIONAL_KEY_EXCHANGE: _length,  # RFC 9370 2.2.4: opaque link data, echoed
    reg.N_NO_PPK_AUTH: _length,
}
