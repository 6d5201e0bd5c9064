"""IKEv2 payload chains (RFC 7296 3.2-3.16, RFC 7383) decoded into typed records.

``parse_ikev2_payloads(first_type, data, base_offset)`` walks the generic headers and decodes each
body; it never raises: problems (bad lengths, short bodies, unknown critical payloads) go to
``Ikev2PayloadChain.problems``. Records share the IKEv1 records' interface (``name``, ``short``,
``summary()``, ``to_dict()``) so every renderer prints them.
"""

from __future__ import annotations

from ikedecode.ike.v2.payloads.base import Ikev2Payload, Ikev2PayloadChain, UnknownIkev2Payload
from ikedecode.ike.v2.payloads.decode import DECODERS, ENCRYPTED_TYPES, parse_ikev2_payloads
from ikedecode.ike.v2.payloads.notify import Ikev2NotifyPayload
from ikedecode.ike.v2.payloads.records import (
    Ikev2AuthPayload,
    Ikev2CertPayload,
    Ikev2CertRequestPayload,
    Ikev2DeletePayload,
    Ikev2EapPayload,
    Ikev2EncryptedPayload,
    Ikev2FragmentPayload,
    Ikev2IdPayload,
    Ikev2KePayload,
    Ikev2NoncePayload,
    Ikev2VendorIdPayload,
)
from ikedecode.ike.v2.payloads.sa import Ikev2Proposal, Ikev2SaPayload, Ikev2Transform
from ikedecode.ike.v2.payloads.selectors import (
    ConfigAttribute,
    Ikev2ConfigPayload,
    Ikev2TsPayload,
    TrafficSelector,
)

__all__ = [
    "DECODERS",
    "ENCRYPTED_TYPES",
    "ConfigAttribute",
    "Ikev2AuthPayload",
    "Ikev2CertPayload",
    "Ikev2CertRequestPayload",
    "Ikev2ConfigPayload",
    "Ikev2DeletePayload",
    "Ikev2EapPayload",
    "Ikev2EncryptedPayload",
    "Ikev2FragmentPayload",
    "Ikev2IdPayload",
    "Ikev2KePayload",
    "Ikev2NoncePayload",
    "Ikev2NotifyPayload",
    "Ikev2Payload",
    "Ikev2PayloadChain",
    "Ikev2Proposal",
    "Ikev2SaPayload",
    "Ikev2Transform",
    "Ikev2TsPayload",
    "Ikev2VendorIdPayload",
    "TrafficSelector",
    "UnknownIkev2Payload",
    "parse_ikev2_payloads",
]
