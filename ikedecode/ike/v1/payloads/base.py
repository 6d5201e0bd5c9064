"""The IKEv1 payload record and chain (RFC 2408 3.2), on the shared ``ike/payload_chain.py``."""

from __future__ import annotations

from dataclasses import dataclass

from ikedecode.ike.payload_chain import (
    GENERIC_HEADER_LENGTH,
    BodyError,
    GenericPayload,
    GenericPayloadChain,
    need,
    plural,
    printable_text,
)
from ikedecode.ike.registries import payload_type_name
from ikedecode.ike.registry.isakmp import PAYLOAD_TYPES
from ikedecode.stored_fields import stores_every_field  # (the payload decoders import it from here)

__all__ = [
    "GENERIC_HEADER_LENGTH",
    "BodyError",
    "Payload",
    "PayloadChain",
    "UnknownPayload",
    "HEADER_FIELDS",
    "hex_text",
    "need",
    "plural",
    "printable_text",
    "stores_every_field",
]

# The fields every payload record starts with (``PayloadHeader``'s, then ``error``).
HEADER_FIELDS = ("type", "offset", "raw", "next_payload", "reserved", "error")


def hex_text(data: bytes) -> str:
    return data.hex()


@dataclass(slots=True, kw_only=True)
class Payload(GenericPayload):
    """Any IKEv1 payload: where it is in the message and its exact bytes.

    ``error`` is set (and the chain has a matching problem) when the body of a known type was too
    short to decode; such payloads stay plain ``Payload`` objects.
    """

    payload_types = PAYLOAD_TYPES

    @property
    def name(self) -> str:
        return payload_type_name(self.type)  # IKEv2 numbers are named too


@dataclass(slots=True, kw_only=True)
class UnknownPayload(Payload):
    """A payload type this module does not decode (unassigned, private, GDOI, IKEv2, or a
    Proposal / Transform outside an SA payload); its body is kept as bytes."""

    def summary(self) -> str:
        return f"{self.name}: {plural(len(self.body), 'byte')}"


@dataclass(slots=True)
class PayloadChain(GenericPayloadChain[Payload]):
    """The payloads of one IKEv1 message, and what was wrong with the chain."""
