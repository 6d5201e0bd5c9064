"""Typed records of IKEv2 payloads other than SA, Notify, TS and CP (RFC 7296 3.4-3.14, 3.16;
RFC 7383 2.5 for SKF)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ikedecode.ike.identification import oid_text
from ikedecode.ike.payload_chain import PayloadHeader
from ikedecode.ike.registry.ikev2 import (
    AUTH_DIGITAL_SIGNATURE,
    AUTH_METHODS,
    CERT_X509_SIGNATURE,
    CERTIFICATE_ENCODINGS,
    EAP_CODES,
    EAP_IDENTITY,
    EAP_METHOD_TYPES,
    ID_TYPES,
    KEY_EXCHANGE_METHODS,
    PROTOCOL_IDS,
    SIGNATURE_ALGORITHM_OIDS,
)
from ikedecode.ike.v2.payloads.base import Ikev2Payload, need, plural
from ikedecode.ike.wire_text import escape_controls

SHA1_SIZE = 20  # CERTREQ certification authority entries (RFC 7296 3.7)


@dataclass(slots=True, kw_only=True)
class Ikev2KePayload(Ikev2Payload):
    """RFC 7296 3.4: key exchange method number and the public value (ECP: x | y, no 04 prefix)."""

    group: int
    data: bytes

    @property
    def group_name(self) -> str:
        return KEY_EXCHANGE_METHODS.name(self.group)

    def fields(self) -> dict[str, Any]:
        return {"group": self.group, "group_name": self.group_name, "data": self.data.hex()}

    def detail(self) -> str:
        return f"{KEY_EXCHANGE_METHODS.short_name(self.group)}, {plural(len(self.data), 'byte')}"


@dataclass(slots=True, kw_only=True)
class Ikev2IdPayload(Ikev2Payload):
    """RFC 7296 3.5: IDi / IDr. ``id_body`` (type, reserved, data) is what AUTH signs (2.15)."""

    id_type: int
    data: bytes
    text: str

    @property
    def id_type_name(self) -> str:
        return ID_TYPES.name(self.id_type)

    @property
    def id_body(self) -> bytes:
        return self.body

    def fields(self) -> dict[str, Any]:
        return {
            "id_type": self.id_type,
            "id_type_name": self.id_type_name,
            "data": self.data.hex(),
            "text": self.text,
        }

    def detail(self) -> str:
        return f"{self.id_type_name} {self.text}"


@dataclass(slots=True, kw_only=True)
class Ikev2CertPayload(Ikev2Payload):
    """RFC 7296 3.6. ``certificate``: what the certificate parser made of it (subject, issuer, ...)."""

    encoding: int
    data: bytes
    certificate: dict[str, Any] | None = None
    info: Any = None  # ike.certificates.CertificateInfo (public key for AUTH), not rendered

    @property
    def encoding_name(self) -> str:
        return CERTIFICATE_ENCODINGS.name(self.encoding)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "encoding": self.encoding,
            "encoding_name": self.encoding_name,
            "size": len(self.data),
        }
        if self.certificate:
            out["certificate"] = self.certificate
        out["data"] = self.data.hex()
        return out

    def detail(self) -> str:
        text = f"{self.encoding_name}, {plural(len(self.data), 'byte')}"
        if self.certificate and self.certificate.get("subject"):
            text += f", subject {self.certificate['subject']}"
        return text


@dataclass(slots=True, kw_only=True)
class Ikev2CertRequestPayload(Ikev2Payload):
    """RFC 7296 3.7: encoding and the SHA-1 hashes of trusted CAs' public keys."""

    encoding: int
    authorities: bytes

    @property
    def authority_hashes(self) -> list[bytes]:
        data = self.authorities
        return [data[i : i + SHA1_SIZE] for i in range(0, len(data) - len(data) % SHA1_SIZE, SHA1_SIZE)]

    def fields(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "encoding_name": CERTIFICATE_ENCODINGS.name(self.encoding),
            "authorities": [h.hex() for h in self.authority_hashes],
        }

    def detail(self) -> str:
        return f"{CERTIFICATE_ENCODINGS.name(self.encoding)}, {plural(len(self.authority_hashes), 'CA')}"


@dataclass(slots=True, kw_only=True)
class Ikev2AuthPayload(Ikev2Payload):
    """RFC 7296 3.8; for method 14 (RFC 7427 3) the data starts with the signature algorithm's
    AlgorithmIdentifier (a length byte, then DER)."""

    method: int
    data: bytes
    signature_algorithm: str | None = None  # RFC 7427: name of the AlgorithmIdentifier's OID
    signature_algorithm_der: bytes = b""

    @property
    def method_name(self) -> str:
        return AUTH_METHODS.name(self.method)

    @property
    def auth_data(self) -> bytes:
        """The signature / MAC itself (after any RFC 7427 AlgorithmIdentifier)."""
        if self.method == AUTH_DIGITAL_SIGNATURE and self.signature_algorithm_der:
            return self.data[1 + len(self.signature_algorithm_der) :]
        return self.data

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "method_name": self.method_name}
        if self.signature_algorithm is not None:
            out["signature_algorithm"] = self.signature_algorithm
        out["data"] = self.data.hex()
        return out

    def detail(self) -> str:
        text = self.method_name
        if self.signature_algorithm:
            text += f" ({self.signature_algorithm})"
        return f"{text}, {plural(len(self.auth_data), 'byte')}"


@dataclass(slots=True, kw_only=True)
class Ikev2NoncePayload(Ikev2Payload):
    """RFC 7296 3.9."""

    data: bytes

    def fields(self) -> dict[str, Any]:
        return {"data": self.data.hex()}


@dataclass(slots=True, kw_only=True)
class Ikev2DeletePayload(Ikev2Payload):
    """RFC 7296 3.11: protocol (IKE: no SPIs, the SA of the message), SPIs of child SAs."""

    protocol_id: int
    spi_size: int
    spis: list[bytes] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        return {
            "protocol_id": self.protocol_id,
            "protocol": PROTOCOL_IDS.name(self.protocol_id),
            "spi_size": self.spi_size,
            "spis": [s.hex() for s in self.spis],
        }

    def detail(self) -> str:
        protocol = PROTOCOL_IDS.short_name(self.protocol_id)
        if not self.spis:
            return f"{protocol} SA"
        return f"{protocol} " + ", ".join(f"0x{s.hex()}" for s in self.spis)


@dataclass(slots=True, kw_only=True)
class Ikev2VendorIdPayload(Ikev2Payload):
    """RFC 7296 3.12, named with ``ike/vendor_ids.py``."""

    data: bytes
    vendor: str | None

    @property
    def vendor_name(self) -> str:
        return self.vendor or self.data.hex()

    def fields(self) -> dict[str, Any]:
        return {"data": self.data.hex(), "vendor": self.vendor}

    def detail(self) -> str:
        return self.vendor_name


@dataclass(slots=True, kw_only=True)
class Ikev2EncryptedPayload(Ikev2Payload):
    """RFC 7296 3.14: IV | encrypted payloads, padding, pad length | ICV. The IV and ICV sizes
    follow from the negotiated algorithms; ``next_payload`` names the first inner payload.
    ``inner`` is the decrypted chain once keys opened it."""

    inner: list[Ikev2Payload] | None = None
    inner_problems: Sequence[str] = ()  # the shared empty tuple until a decoder has some to keep

    @property
    def ciphertext(self) -> bytes:
        return self.body

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"size": len(self.body)}
        if self.inner is not None:
            out["inner"] = [p.to_dict() for p in self.inner]
        return out

    def detail(self) -> str:
        return f"{plural(len(self.body), 'byte')} encrypted"


@dataclass(slots=True, kw_only=True)
class Ikev2FragmentPayload(Ikev2EncryptedPayload):
    """RFC 7383 2.5: fragment number and total, then IV | ciphertext | ICV like SK."""

    number: int
    total: int

    @property
    def ciphertext(self) -> bytes:
        return self.body[4:]

    def fields(self) -> dict[str, Any]:
        return {"fragment_number": self.number, "total_fragments": self.total, "size": len(self.body) - 4}

    def detail(self) -> str:
        return f"fragment {self.number}/{self.total}, {plural(len(self.body) - 4, 'byte')} encrypted"


@dataclass(slots=True, kw_only=True)
class Ikev2EapPayload(Ikev2Payload):
    """RFC 7296 3.16 carrying an EAP message (RFC 3748 4): code, identifier, type, data."""

    code: int
    identifier: int
    eap_length: int
    method_type: int | None
    data: bytes

    @property
    def identity(self) -> str | None:
        if self.method_type == EAP_IDENTITY:
            return escape_controls(self.data.decode("utf-8", "backslashreplace"))
        return None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "code_name": EAP_CODES.name(self.code),
            "identifier": self.identifier,
        }
        if self.method_type is not None:
            out["method_type"] = self.method_type
            out["method_name"] = EAP_METHOD_TYPES.name(self.method_type)
        if self.identity is not None:
            out["identity"] = self.identity
        out["data"] = self.data.hex()
        return out

    def detail(self) -> str:
        text = f"{EAP_CODES.name(self.code)} #{self.identifier}"
        if self.method_type is not None:
            text += f" {EAP_METHOD_TYPES.name(self.method_type)}"
        if self.identity is not None:
            text += f" {self.identity!r}"
        return text


def decode_ke(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    if len(body) < 4:  # group (2) | reserved (2) | data (RFC 7296 3.4); need() only when short
        need(body, 4, "KE payload")
    return Ikev2KePayload(*header, group=body[0] << 8 | body[1], data=body[4:])


def decode_cert(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    need(body, 1, "CERT payload")
    info = certificate_info(body[0], body[1:])
    if info is None and body[0] == CERT_X509_SIGNATURE:
        problems.append(f"CERT payload at offset {header.offset}: the X.509 certificate does not parse")
    return Ikev2CertPayload(
        *header, encoding=body[0], data=body[1:], certificate=certificate_summary(info), info=info
    )


def decode_cert_request(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    need(body, 1, "CERTREQ payload")
    if (len(body) - 1) % SHA1_SIZE:
        problems.append(f"CERTREQ payload at offset {header.offset}: CA list is not a multiple of 20 bytes")
    return Ikev2CertRequestPayload(*header, encoding=body[0], authorities=body[1:])


def decode_auth(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    if len(body) < 4:  # method (1) | reserved (3) | data (RFC 7296 3.8); need() only when short
        need(body, 4, "AUTH payload")
    method, data = body[0], body[4:]
    algorithm, der = None, b""
    if method == AUTH_DIGITAL_SIGNATURE:
        algorithm, der = _signature_algorithm(data)
        if algorithm is None:
            problems.append(
                f"AUTH payload at offset {header.offset}: no readable RFC 7427 AlgorithmIdentifier"
            )
    return Ikev2AuthPayload(
        *header, method=method, data=data, signature_algorithm=algorithm, signature_algorithm_der=der
    )


def decode_nonce(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    if not 16 <= len(body) <= 256:  # RFC 7296 3.9
        problems.append(f"Nonce payload at offset {header.offset}: {len(body)} bytes, RFC 7296 says 16-256")
    return Ikev2NoncePayload(*header, data=body)


def decode_delete(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    need(body, 4, "Delete payload")  # protocol (1) | SPI size (1) | number of SPIs (2) | SPIs
    protocol_id, spi_size, count = struct.unpack_from("!BBH", body)
    room = len(body) - 4
    fits = room // spi_size if spi_size else 0
    spis = [body[4 + i * spi_size : 4 + (i + 1) * spi_size] for i in range(min(count, fits))]
    if count > len(spis):
        problems.append(f"Delete payload at offset {header.offset}: announces {count} SPIs, {len(spis)} fit")
    return Ikev2DeletePayload(*header, protocol_id=protocol_id, spi_size=spi_size, spis=spis)


def decode_vendor_id(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    from ikedecode.ike.vendor_ids import lookup_vendor_id

    return Ikev2VendorIdPayload(*header, data=body, vendor=lookup_vendor_id(body))


def decode_encrypted(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    return Ikev2EncryptedPayload(*header)


def decode_fragment(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    need(body, 4, "SKF payload")  # fragment number (2) | total fragments (2) | IV | ... | ICV
    number, total = struct.unpack_from("!HH", body)
    if not 1 <= number <= total:
        problems.append(f"SKF payload at offset {header.offset}: fragment {number} of {total}")
    return Ikev2FragmentPayload(*header, number=number, total=total)


def decode_eap(header: PayloadHeader, body: bytes, problems: list[str]) -> Ikev2Payload:
    need(body, 4, "EAP payload")  # code (1) | identifier (1) | length (2) | [type (1) | data]
    code, identifier, length = struct.unpack_from("!BBH", body)
    if length != len(body):
        problems.append(
            f"EAP payload at offset {header.offset}: EAP length {length}, payload has {len(body)}"
        )
    method_type = body[4] if code in (1, 2) and len(body) > 4 else None
    data = body[5:] if method_type is not None else body[4:]
    return Ikev2EapPayload(
        *header, code=code, identifier=identifier, eap_length=length, method_type=method_type, data=data
    )


def _signature_algorithm(data: bytes) -> tuple[str | None, bytes]:
    """RFC 7427 3: ASN.1 length (1) | AlgorithmIdentifier DER | signature. (name, DER) or (None, b'')."""
    if not data:
        return None, b""
    der = data[1 : 1 + data[0]]
    if len(der) != data[0] or len(der) < 4 or der[0] != 0x30 or der[2] != 0x06:
        return None, b""
    oid_length = der[3]
    oid = oid_text(der[4 : 4 + oid_length])
    if oid is None:
        return None, b""
    return SIGNATURE_ALGORITHM_OIDS.get(oid, oid), der


def certificate_info(encoding: int, data: bytes) -> Any:
    """The ``CertificateInfo`` of an X.509 certificate (encoding 4) via the shared certificate
    parser, or None (other encodings, or DER that does not parse)."""
    if encoding != CERT_X509_SIGNATURE or not data:
        return None
    from ikedecode.ike.certificates import CertificateError, parse_certificate

    try:
        return parse_certificate(data)
    except CertificateError:
        return None


def certificate_summary(info: Any) -> dict[str, Any] | None:
    """Subject, issuer, validity and key type of a parsed certificate, JSON-ready."""
    if info is None:
        return None
    return {
        "subject": info.subject,
        "issuer": info.issuer,
        "serial": f"{info.serial:x}",
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "subject_alt_names": list(info.subject_alt_names),
        "key_type": info.key_type,
        "key_bits": info.key_bits,
        "curve": info.curve,
        "signature_algorithm": info.signature_algorithm,
        "self_signed": info.self_signed,
    }
