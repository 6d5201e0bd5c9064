"""The generic IKEv2 payload record and the chain that holds payloads (RFC 7296 3.2).

Same interface as the IKEv1 records (``ike/v1/payloads/base.py``): ``type``, ``offset``, ``raw``,
``body``, ``name``/``short``, ``fields()``/``to_dict()`` for JSON and ``detail()``/``summary()`` for
text, so renderers print IKEv2 payloads without knowing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ikedecode.ike.registry.ikev2 import PAYLOAD_TYPES

GENERIC_HEADER_LENGTH = 4  # next payload (1) | C + reserved (1) | payload length (2)
CRITICAL_BIT = 0x80  # RFC 7296 2.5 / 3.2


class BodyError(Exception):
    """A payload body too short for the fixed fields of its type (caught by the chain walk)."""


def need(body: bytes, size: int, what: str) -> None:
    if len(body) < size:
        raise BodyError(f"{what} needs {size} bytes, body has {len(body)}")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(slots=True, kw_only=True)
class Ikev2Payload:
    """Any IKEv2 payload: where it is in the message, its exact bytes, the critical bit.

    ``error`` is set (and the chain has a matching problem) when the body of a known type was too
    short to decode; such payloads stay plain ``Ikev2Payload`` objects.
    """

    type: int
    offset: int  # absolute offset of the generic header in the message
    raw: bytes  # whole payload, generic header included
    next_payload: int
    reserved: int = 0  # second byte of the generic header: critical bit and 7 reserved bits
    error: str | None = None

    version = 2

    @property
    def critical(self) -> bool:
        return bool(self.reserved & CRITICAL_BIT)

    @property
    def name(self) -> str:
        return PAYLOAD_TYPES.name(self.type)

    @property
    def short(self) -> str:
        return PAYLOAD_TYPES.short.get(self.type) or self.name

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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "offset": self.offset,
            "end": self.end,
            "length": self.length,
            "next_payload": self.next_payload,
        }
        if self.critical:
            out["critical"] = True
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


@dataclass(slots=True, kw_only=True)
class UnknownIkev2Payload(Ikev2Payload):
    """A payload type not decoded here (unassigned, private use, G-IKEv2); body kept as bytes."""

    def summary(self) -> str:
        critical = ", critical" if self.critical else ""
        return f"{self.name}: {plural(len(self.body), 'byte')}{critical}"


@dataclass(slots=True)
class Ikev2PayloadChain:
    """The payloads of one message (or of one decrypted SK payload), and what was wrong."""

    payloads: list[Ikev2Payload] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    trailing: bytes = b""

    def of_type(self, payload_type: int) -> list[Ikev2Payload]:
        return [payload for payload in self.payloads if payload.type == payload_type]

    def first(self, payload_type: int) -> Ikev2Payload | None:
        return next((payload for payload in self.payloads if payload.type == payload_type), None)

    def summary(self) -> str:
        return ", ".join(payload.short for payload in self.payloads)
