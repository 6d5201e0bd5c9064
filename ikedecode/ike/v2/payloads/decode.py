"""Walking an IKEv2 payload chain (RFC 7296 3.2) into typed records; never raises.

The chain walk stops at an SK or SKF payload (RFC 7296 3.14, RFC 7383 2.5): it is the last payload
of a message, and its next-payload field names the first payload inside the ciphertext.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.identification import identification_text
from ikedecode.ike.payload_chain import ChainWording, PayloadHeader, walk_chain
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads.base import (
    CRITICAL_BIT,
    Ikev2Payload,
    Ikev2PayloadChain,
    UnknownIkev2Payload,
    need,
)
from ikedecode.ike.v2.payloads.notify import decode_notify
from ikedecode.ike.v2.payloads.records import (
    Ikev2IdPayload,
    decode_auth,
    decode_cert,
    decode_cert_request,
    decode_delete,
    decode_eap,
    decode_encrypted,
    decode_fragment,
    decode_ke,
    decode_nonce,
    decode_vendor_id,
)
from ikedecode.ike.v2.payloads.sa import decode_sa
from ikedecode.ike.v2.payloads.selectors import decode_cp, decode_ts

ENCRYPTED_TYPES = frozenset({reg.PT_SK, reg.PT_SKF})

Decoder = Callable[[PayloadHeader, bytes, list[str]], Ikev2Payload]


def decode_id(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    if len(body) < 4:  # ID type (1) | reserved (3) | data (RFC 7296 3.5); need() only when short
        need(body, 4, "ID payload")
    id_type, data = body[0], body[4:]
    if id_type == 13:  # ID_NULL (RFC 7619)
        text, problem = "(null)", None if not data else "ID_NULL with data"
    elif id_type in (1, 2, 3, 5, 9, 11):  # same numbers and layouts as RFC 2407 4.6.2.1
        text, problem = _identification_text(id_type, data)
    else:
        text, problem = data.hex(), None
    if problem:
        problems.append(f"ID payload at offset {header.offset}: {problem}")
    return Ikev2IdPayload(*header, id_type=id_type, data=data, text=text)


# the text of an identity, remembered by its type and bytes: a capture's peers repeat theirs in every
# SA, and a distinguished name (ID_DER_ASN1_DN) is parsed to get it (strings, shared safely)
_identification_text = functools.lru_cache(maxsize=1024)(identification_text)

DECODERS: dict[int, Decoder] = {
    reg.PT_SA: decode_sa,
    reg.PT_KE: decode_ke,
    reg.PT_IDI: decode_id,
    reg.PT_IDR: decode_id,
    reg.PT_CERT: decode_cert,
    reg.PT_CERTREQ: decode_cert_request,
    reg.PT_AUTH: decode_auth,
    reg.PT_NONCE: decode_nonce,
    reg.PT_NOTIFY: decode_notify,
    reg.PT_DELETE: decode_delete,
    reg.PT_VENDOR_ID: decode_vendor_id,
    reg.PT_TSI: decode_ts,
    reg.PT_TSR: decode_ts,
    reg.PT_SK: decode_encrypted,
    reg.PT_CP: decode_cp,
    reg.PT_EAP: decode_eap,
    reg.PT_SKF: decode_fragment,
}


def parse_ikev2_payloads(
    first_type: int, data: bytes, base_offset: int = HEADER_LENGTH, *, inner: bool = False
) -> Ikev2PayloadChain:
    """Decode the chain in ``data`` starting with a payload of ``first_type``.

    ``base_offset``: where ``data`` starts in the message, so offsets are absolute. ``inner``: the
    chain is the plaintext of an SK payload (its offsets count from the start of that plaintext,
    and an SK payload inside is a problem).
    """
    chain = Ikev2PayloadChain()
    chain.trailing = walk_ikev2_chain(chain.payloads, chain.problems, first_type, data, base_offset, inner)
    return chain


def walk_ikev2_chain(
    payloads: list[Ikev2Payload],
    problems: list[str],
    first_type: int,
    data: bytes,
    base_offset: int = HEADER_LENGTH,
    inner: bool = False,
) -> bytes:
    """``parse_ikev2_payloads`` into the caller's lists (the engine keeps them as the message's):
    ``payload_chain.walk_chain`` with the body decoders, stopping after an SK / SKF payload.
    Returns the bytes after the last payload (``trailing``)."""
    if type(data) is not bytes:  # (bytes() of bytes is the same object, but a class call)
        data = bytes(data)
    before = len(payloads)
    end = walk_chain(
        payloads,
        problems,
        first_type,
        data,
        base_offset,
        _unknown,
        WORDING,
        ENCRYPTED_TYPES,
        decoders=DECODERS,
        malformed=Ikev2Payload,
    )
    if end is None:
        return b""
    if len(payloads) > before and payloads[-1].type in ENCRYPTED_TYPES:
        # SK / SKF (RFC 7296 3.14): the walk stopped there; it is the last payload of a message
        last = payloads[-1]
        if inner:
            problems.append(f"{last.name} payload at offset {last.offset} inside an encrypted payload")
        elif end != len(data):
            problems.append(f"{last.name} payload at offset {last.offset} is not the last payload")
        return data[end:]
    trailing = data[end:]
    if trailing:
        problems.append(f"{len(trailing)} trailing bytes after the last payload")
    return trailing


def _unknown(header: PayloadHeader, problems: list[str]) -> Ikev2Payload:
    """A payload of a type without a body decoder: kept as it is, a problem when it is critical."""
    if header.reserved & CRITICAL_BIT:  # RFC 7296 2.5: the receiver must reject the message
        problems.append(
            f"{reg.PAYLOAD_TYPES.name(header.type)} payload at offset {header.offset} is critical and "
            "unknown (UNSUPPORTED_CRITICAL_PAYLOAD)"
        )
    return UnknownIkev2Payload(*header)


WORDING = ChainWording(
    name=reg.PAYLOAD_TYPES.name,
    ends_early=lambda name, at, remaining: (
        f"chain ends early: {name} payload expected at offset {at}, {remaining} bytes left"
    ),
    bad_length=lambda name, at, length, remaining: (
        f"{name} payload at offset {at}: length {length} does not fit ({remaining} left)"
    ),
)
