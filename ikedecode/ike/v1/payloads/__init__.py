"""ISAKMP payload chains (RFC 2408 section 3.2 onwards) decoded into typed payload records.

``parse_payloads(first_type, data, base_offset)`` walks the chain of generic payload headers

    next payload (1) | reserved (1) | payload length (2, includes these 4 bytes) | body

and decodes every body it knows. It never raises: a malformed chain (a length below 4 or past the
end, more than ``MAX_PAYLOADS`` payloads, bytes left after the last payload, a body too short for
its type) is written to ``PayloadChain.problems`` and the walk stops or goes on as far as is
safe. Every payload keeps its absolute ``offset`` / ``end`` in the message and its exact ``raw``
bytes (``body`` = ``raw`` without the generic header), which is what the IKE hashes cover
(SAi_b, IDii_b in RFC 2409 5; everything after HASH(1) in RFC 2409 5.5).

Modules: ``base`` (generic record, chain), ``sa`` (SA / proposal / transform), ``records`` (the
other payload types), ``decode`` (the chain walk).
"""

from __future__ import annotations

from ikedecode.ike.identification import distinguished_name_text, identification_text
from ikedecode.ike.v1.attributes import Attribute
from ikedecode.ike.v1.payloads.base import Payload, PayloadChain, UnknownPayload
from ikedecode.ike.v1.payloads.decode import DECODERS, MAX_PAYLOADS, parse_payloads
from ikedecode.ike.v1.payloads.records import (
    CertPayload,
    CertRequestPayload,
    ConfigAttributePayload,
    DeletePayload,
    FragmentPayload,
    HashPayload,
    IdPayload,
    KePayload,
    NatDPayload,
    NatOaPayload,
    NoncePayload,
    NotifyPayload,
    SignaturePayload,
    VendorIdPayload,
)
from ikedecode.ike.v1.payloads.sa import Proposal, SaPayload, Transform

__all__ = [
    "DECODERS",
    "MAX_PAYLOADS",
    "Attribute",
    "CertPayload",
    "CertRequestPayload",
    "ConfigAttributePayload",
    "DeletePayload",
    "FragmentPayload",
    "HashPayload",
    "IdPayload",
    "KePayload",
    "NatDPayload",
    "NatOaPayload",
    "NoncePayload",
    "NotifyPayload",
    "Payload",
    "PayloadChain",
    "Proposal",
    "SaPayload",
    "SignaturePayload",
    "Transform",
    "UnknownPayload",
    "VendorIdPayload",
    "distinguished_name_text",
    "identification_text",
    "parse_payloads",
]
