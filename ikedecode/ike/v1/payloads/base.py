"""The generic payload record, the chain that holds payloads, and small shared helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ikedecode.ike.registries import payload_type_name
from ikedecode.ike.registry.isakmp import PAYLOAD_TYPES

GENERIC_HEADER_LENGTH = 4  # RFC 2408 3.2: next payload (1) | reserved (1) | payload length (2)


class BodyError(Exception):
    """A payload body too short for the fixed fields of its type (caught by ``parse_payloads``)."""


def hex_text(data: bytes) -> str:
    return data.hex()


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def printable_text(data: bytes) -> str | None:
    """``data`` as text when it is printable ASCII (a trailing NUL is allowed), else ``None``."""
    text = data[:-1] if data.endswith(b"\x00") else data
    if text and all(32 <= byte < 127 or byte in (9, 10, 13) for byte in text):
        return data.decode("ascii").replace("\x00", "\\000")
    return None


@dataclass(slots=True, kw_only=True)
class Payload:
    """Any payload: where it is in the message and its exact bytes.

    ``error`` is set (and the chain has a matching problem) when the body of a known type was too
    short to decode; such payloads stay plain ``Payload`` objects.
    """

    type: int
    offset: int  # absolute offset of the generic header in the message
    raw: bytes  # whole payload, generic header included
    next_payload: int
    reserved: int = 0  # the generic header's second byte (IKEv2: critical bit)
    error: str | None = None

    @property
    def name(self) -> str:
        return payload_type_name(self.type)

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
        return {"data": hex_text(self.body)}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "offset": self.offset,
            "end": self.end,
            "length": self.length,
            "next_payload": self.next_payload,
        }
        if self.error:
            out["error"] = self.error
            out["data"] = hex_text(self.body)
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
class UnknownPayload(Payload):
    """A payload type this module does not decode (unassigned, private, GDOI, IKEv2, or a
    Proposal / Transform outside an SA payload); its body is kept as bytes."""

    def summary(self) -> str:
        return f"{self.name}: {plural(len(self.body), 'byte')}"


@dataclass(slots=True)
class PayloadChain:
    """The payloads of one message, and what was wrong with the chain."""

    payloads: list[Payload] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    trailing: bytes = b""  # bytes after the last payload (padding once decrypted)

    def first(self, payload_type: int) -> Payload | None:
        for payload in self.payloads:
            if payload.type == payload_type:
                return payload
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloads": [payload.to_dict() for payload in self.payloads],
            "problems": list(self.problems),
            "trailing": hex_text(self.trailing),
        }

    def summary(self) -> str:
        return ", ".join(payload.short for payload in self.payloads)


def need(body: bytes, size: int, what: str) -> None:
    """Raise ``BodyError`` when ``body`` is shorter than the fixed fields of its payload type."""
    if len(body) < size:
        raise BodyError(f"{what} needs {size} bytes, body has {len(body)}")
