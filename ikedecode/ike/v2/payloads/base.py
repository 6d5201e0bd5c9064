"""The generic IKEv2 payload record and the chain that holds payloads (RFC 7296 3.2).

Same interface as the IKEv1 records (both build on ``ike/payload_chain.py``): ``type``, ``offset``,
``raw``, ``body``, ``name``/``short``, ``fields()``/``to_dict()`` for JSON and
``detail()``/``summary()`` for text, so renderers print IKEv2 payloads without knowing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ikedecode.ike.payload_chain import (
    GENERIC_HEADER_LENGTH,
    BodyError,
    GenericPayload,
    GenericPayloadChain,
    need,
    plural,
)
from ikedecode.ike.registry.ikev2 import PAYLOAD_TYPES

__all__ = [
    "CRITICAL_BIT",
    "GENERIC_HEADER_LENGTH",
    "BodyError",
    "Ikev2Payload",
    "Ikev2PayloadChain",
    "UnknownIkev2Payload",
    "need",
    "plural",
]

CRITICAL_BIT = 0x80  # RFC 7296 2.5 / 3.2


@dataclass(slots=True, kw_only=True)
class Ikev2Payload(GenericPayload):
    """Any IKEv2 payload: where it is in the message, its exact bytes, the critical bit.

    ``error`` is set (and the chain has a matching problem) when the body of a known type was too
    short to decode; such payloads stay plain ``Ikev2Payload`` objects.
    """

    payload_types = PAYLOAD_TYPES
    version = 2

    @property
    def critical(self) -> bool:
        return bool(self.reserved & CRITICAL_BIT)

    def header_fields(self) -> dict[str, Any]:
        return {"critical": True} if self.critical else {}


@dataclass(slots=True, kw_only=True)
class UnknownIkev2Payload(Ikev2Payload):
    """A payload type not decoded here (unassigned, private use, G-IKEv2); body kept as bytes."""

    def summary(self) -> str:
        critical = ", critical" if self.critical else ""
        return f"{self.name}: {plural(len(self.body), 'byte')}{critical}"


@dataclass(slots=True)
class Ikev2PayloadChain(GenericPayloadChain[Ikev2Payload]):
    """The payloads of one message (or of one decrypted SK payload), and what was wrong."""
