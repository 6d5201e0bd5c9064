"""Walking a payload chain and decoding each payload body (RFC 2408 3.1-3.2)."""

from __future__ import annotations

import struct
from collections.abc import Callable

from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.identification import identification_text
from ikedecode.ike.payload_chain import MAX_PAYLOADS, ChainWording, PayloadHeader, walk_chain
from ikedecode.ike.registries import payload_type_name
from ikedecode.ike.v1.attributes import MODECFG_CONTEXT, parse_attributes
from ikedecode.ike.v1.payloads.base import (
    GENERIC_HEADER_LENGTH,
    HEADER_FIELDS,
    Payload,
    PayloadChain,
    UnknownPayload,
    need,
    stores_every_field,
)
from ikedecode.ike.v1.payloads.records import (
    CertPayload,
    CertRequestPayload,
    ConfigAttributePayload,
    DataPayload,
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
from ikedecode.ike.v1.payloads.sa import decode_sa
from ikedecode.ike.vendor_ids import lookup_vendor_id

__all__ = ["DECODERS", "MAX_PAYLOADS", "parse_payloads"]

Decoder = Callable[[PayloadHeader, bytes, list[str]], Payload]


# The most frequent records (KE, HASH, NONCE, NAT-D, ID: 15 of the 21 payloads of an IKEv1 SA) are
# made by storing their fields after ``object.__new__``, which is what their dataclass ``__init__``
# does, without the keyword call (0.39 -> 0.21 us a HASH payload). ``stores_every_field`` checks at
# import that the stores below name every field of the class, so a field added later cannot be
# left unset.
_new = object.__new__
_HEADER_FIELDS = HEADER_FIELDS


def _decode_data(cls: type[DataPayload]) -> Decoder:
    """Decoder for payloads whose whole body is one opaque value (KE, HASH, SIG, NONCE, NAT-D)."""
    stores_every_field(cls, (*_HEADER_FIELDS, "data"))

    def decode(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
        payload = _new(cls)  # cls(*header, data=body)
        payload.type, payload.offset, payload.raw, payload.next_payload, payload.reserved = header
        payload.error = None
        payload.data = body
        return payload

    return decode


_ID_HEADER = struct.Struct("!BBH")  # RFC 2407 4.6.2: ID type, protocol ID, port
_MAX_REMEMBERED_IDS = 4096  # distinct ID payload bodies whose decoding is kept (emptied when full)
_MAX_REMEMBERED_ID_BODY = 256  # longer bodies (big distinguished names) are decoded each time
_REMEMBERED_IDS: dict[bytes, tuple[int, int, int, bytes, str, str | None]] = {}


def _decode_id(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    # RFC 2407 4.6.2: ID type (1) | protocol ID (1) | port (2) | identification data. The same
    # identities (peers, proxy subnets) come back in every SA of a capture: decoded once per body.
    known = _REMEMBERED_IDS.get(body)
    if known is None:
        need(body, 4, "ID payload")
        id_type, protocol_id, port = _ID_HEADER.unpack_from(body)
        data = body[4:]
        text, problem = identification_text(id_type, data)
        known = (id_type, protocol_id, port, data, text, problem)
        if len(body) <= _MAX_REMEMBERED_ID_BODY:
            if len(_REMEMBERED_IDS) >= _MAX_REMEMBERED_IDS:  # many identities (a proxy subnet per
                _REMEMBERED_IDS.clear()  # SA): keep the recent ones, which QM2 repeats from QM1
            _REMEMBERED_IDS[body] = known
    payload = _new(IdPayload)  # IdPayload(*header, id_type=..., port=..., data=..., text=...)
    payload.type, payload.offset, payload.raw, payload.next_payload, payload.reserved = header
    payload.error = None
    payload.id_type, payload.protocol_id, payload.port, payload.data, payload.text, problem = known
    if problem:
        problems.append(f"ID payload at offset {header.offset}: {problem}")
    return payload


stores_every_field(IdPayload, (*_HEADER_FIELDS, "id_type", "protocol_id", "port", "data", "text"))
stores_every_field(PayloadChain, ("payloads", "problems", "trailing"))


def _decode_cert(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    need(body, 1, "CERT payload")
    return CertPayload(*header, encoding=body[0], data=body[1:])


def _decode_cert_request(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    need(body, 1, "CR payload")
    return CertRequestPayload(*header, encoding=body[0], authority=body[1:])


def _decode_notify(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    # RFC 2408 3.14: DOI (4) | protocol (1) | SPI size (1) | notify type (2) | SPI | data
    need(body, 8, "NOTIFY payload")
    doi, protocol_id, spi_size, notify_type = struct.unpack_from("!IBBH", body)
    need(body, 8 + spi_size, f"NOTIFY payload with a {spi_size}-byte SPI")
    return NotifyPayload(
        *header,
        doi=doi,
        protocol_id=protocol_id,
        spi=body[8 : 8 + spi_size],
        notify_type=notify_type,
        data=body[8 + spi_size :],
    )


def _decode_delete(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    # RFC 2408 3.15: DOI (4) | protocol (1) | SPI size (1) | number of SPIs (2) | SPIs
    need(body, 8, "DELETE payload")
    doi, protocol_id, spi_size, count = struct.unpack_from("!IBBH", body)
    room = len(body) - 8
    fits = room // spi_size if spi_size else 0
    spis = [body[8 + i * spi_size : 8 + (i + 1) * spi_size] for i in range(min(count, fits))]
    where = f"DELETE payload at offset {header.offset}"
    if count > len(spis):
        problems.append(f"{where}: announces {count} SPIs of {spi_size} bytes, only {len(spis)} fit")
    elif room > count * spi_size:
        problems.append(f"{where}: {room - count * spi_size} bytes left over after the SPIs")
    return DeletePayload(*header, doi=doi, protocol_id=protocol_id, spi_size=spi_size, spis=spis)


def _decode_vendor_id(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    return VendorIdPayload(*header, data=body, vendor=lookup_vendor_id(body))


def _decode_config(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    # mode-cfg 3.2: type (1) | reserved (1) | identifier (2) | attributes
    need(body, 4, "Attributes payload")
    cfg_type, _, identifier = struct.unpack_from("!BBH", body)
    attributes, attribute_problems = parse_attributes(body[4:], MODECFG_CONTEXT, header.offset + 8)
    problems.extend(attribute_problems)
    return ConfigAttributePayload(*header, cfg_type=cfg_type, identifier=identifier, attributes=attributes)


def _decode_nat_oa(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    # RFC 3947 5.2: ID type (1) | reserved (3) | IPv4 or IPv6 address
    need(body, 4, "NAT-OA payload")
    id_type = body[0]
    address, problem = identification_text(id_type, body[4:])
    if problem:
        problems.append(f"NAT-OA payload at offset {header.offset}: {problem}")
    return NatOaPayload(*header, id_type=id_type, address=address)


def _decode_fragment(header: PayloadHeader, body: bytes, problems: list[str]) -> Payload:
    need(body, 4, "fragment payload")
    fragment_id, number, flags = struct.unpack_from("!HBB", body)
    return FragmentPayload(*header, fragment_id=fragment_id, number=number, flags=flags, data=body[4:])


DECODERS: dict[int, Decoder] = {
    1: decode_sa,
    4: _decode_data(KePayload),
    5: _decode_id,
    6: _decode_cert,
    7: _decode_cert_request,
    8: _decode_data(HashPayload),
    9: _decode_data(SignaturePayload),
    10: _decode_data(NoncePayload),
    11: _decode_notify,
    12: _decode_delete,
    13: _decode_vendor_id,
    14: _decode_config,
    20: _decode_data(NatDPayload),
    21: _decode_nat_oa,
    130: _decode_data(NatDPayload),
    131: _decode_nat_oa,
    132: _decode_fragment,
}


def parse_payloads(
    first_type: int, data: bytes, base_offset: int = HEADER_LENGTH, *, padded: bool = False
) -> PayloadChain:
    """Decode the payload chain in ``data``, which starts with a payload of ``first_type``.

    ``base_offset`` is the offset of ``data`` in the message (28 after the ISAKMP header), so
    payload offsets are absolute. Bytes after the payload whose next-payload field is 0 are kept
    in ``PayloadChain.trailing`` and reported as a problem (the word "trailing" in it) unless
    ``padded`` says they are the padding of a decrypted message (RFC 2409 Appendix B).
    """
    if type(data) is not bytes:  # (bytes() of bytes is the same object, but a class call)
        data = bytes(data)
    chain = _new(PayloadChain)  # PayloadChain([], []), its fields stored (one chain per message)
    chain.payloads, chain.problems, chain.trailing = [], [], b""
    end = walk_chain(
        chain.payloads,
        chain.problems,
        first_type,
        data,
        base_offset,
        _unknown,
        WORDING,
        decoders=DECODERS,
        malformed=Payload,
    )
    if end is None or end == len(data):
        return chain
    chain.trailing = data[end:]
    if not padded:
        chain.problems.append(f"{len(chain.trailing)} trailing bytes after the last payload")
    return chain


def _ends_early(name: str, at: int, remaining: int) -> str:
    what = "no bytes left" if remaining == 0 else f"only {remaining} bytes left"
    return f"chain ends early: {name} payload expected at offset {at}, {what}"


def _bad_length(name: str, at: int, length: int, remaining: int) -> str:
    if length < GENERIC_HEADER_LENGTH:
        return f"{name} payload at offset {at}: length {length} is below 4"
    return f"{name} payload at offset {at}: length {length} runs past the end ({remaining} bytes left)"


WORDING = ChainWording(name=payload_type_name, ends_early=_ends_early, bad_length=_bad_length)


def _unknown(header: PayloadHeader, problems: list[str]) -> Payload:
    """A payload of a type without a body decoder (``DECODERS``): kept as bytes."""
    return UnknownPayload(*header)
