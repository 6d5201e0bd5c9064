"""Walking an IKEv2 payload chain (RFC 7296 3.2) into typed records; never raises.

The chain walk stops at an SK or SKF payload (RFC 7296 3.14, RFC 7383 2.5): it is the last payload
of a message, and its next-payload field names the first payload inside the ciphertext.
"""

from __future__ import annotations

from collections.abc import Callable

from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.identification import identification_text
from ikedecode.ike.payload_chain import ChainWording, PayloadHeader, walk_chain
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads.base import (
    CRITICAL_BIT,
    GENERIC_HEADER_LENGTH,
    BodyError,
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
    need(body, 4, "ID payload")  # ID type (1) | reserved (3) | data (RFC 7296 3.5)
    id_type, data = body[0], body[4:]
    if id_type == 13:  # ID_NULL (RFC 7619)
        text, problem = "(null)", None if not data else "ID_NULL with data"
    elif id_type in (1, 2, 3, 5, 9, 11):  # same numbers and layouts as RFC 2407 4.6.2.1
        text, problem = identification_text(id_type, data)
    else:
        text, problem = data.hex(), None
    if problem:
        problems.append(f"ID payload at offset {header.offset}: {problem}")
    return Ikev2IdPayload(*header, id_type=id_type, data=data, text=text)


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
    data = bytes(data)
    chain = Ikev2PayloadChain()
    end = walk_chain(chain, first_type, data, base_offset, _decode_payload, WORDING, ENCRYPTED_TYPES)
    if end is None:
        return chain
    chain.trailing = data[end:]
    last = chain.payloads[-1] if chain.payloads else None
    if last is not None and last.type in ENCRYPTED_TYPES:  # the walk stopped at SK / SKF
        if inner:
            chain.problems.append(f"{last.name} payload at offset {last.offset} inside an encrypted payload")
        elif end != len(data):
            chain.problems.append(f"{last.name} payload at offset {last.offset} is not the last payload")
        return chain
    if chain.trailing:
        chain.problems.append(f"{len(chain.trailing)} trailing bytes after the last payload")
    return chain


WORDING = ChainWording(
    name=reg.PAYLOAD_TYPES.name,
    ends_early=lambda name, at, remaining: (
        f"chain ends early: {name} payload expected at offset {at}, {remaining} bytes left"
    ),
    bad_length=lambda name, at, length, remaining: (
        f"{name} payload at offset {at}: length {length} does not fit ({remaining} left)"
    ),
)


def _decode_payload(header: PayloadHeader, problems: list[str]) -> Ikev2Payload:
    payload_type, offset, raw = header.type, header.offset, header.raw
    decoder = DECODERS.get(payload_type)
    if decoder is None:
        if header.reserved & CRITICAL_BIT:  # RFC 7296 2.5: the receiver must reject the message
            problems.append(
                f"{reg.PAYLOAD_TYPES.name(payload_type)} payload at offset {offset} is critical and unknown "
                "(UNSUPPORTED_CRITICAL_PAYLOAD)"
            )
        return UnknownIkev2Payload(*header)
    try:
        return decoder(header, raw[GENERIC_HEADER_LENGTH:], problems)
    except BodyError as error:
        problems.append(f"{reg.PAYLOAD_TYPES.name(payload_type)} payload at offset {offset}: {error}")
        return Ikev2Payload(*header, error=str(error))
