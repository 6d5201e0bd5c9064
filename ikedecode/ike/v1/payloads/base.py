"""The IKEv1 payload record and chain (RFC 2408 3.2), on the shared ``ike/payload_chain.py``."""

from __future__ import annotations

import dataclasses
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


def stores_every_field(cls: type, names: tuple[str, ...]) -> None:
    """Raise ``TypeError`` unless ``names`` are exactly the dataclass fields of ``cls``, in order:
    the check, at import, of a decoder that makes ``cls`` records by storing ``names`` after
    ``object.__new__`` (what the dataclass ``__init__`` does, without its keyword call)."""
    declared = tuple(f.name for f in dataclasses.fields(cls))
    if declared != names:
        raise TypeError(f"{cls.__name__} has fields {declared}, its fast decoder stores {names}")


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
