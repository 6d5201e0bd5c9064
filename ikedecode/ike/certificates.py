"""X.509 certificates from CERT payloads (IKEv1 RFC 2408 section 3.9, IKEv2 RFC 7296 section 3.6)
and a simple chain check.

Only encoding 4, "X.509 Certificate - Signature" (a DER certificate), is parsed; the CERT payload
body is the encoding byte followed by the data. ``check_chain`` builds a path from the peer's
certificate through the capture's other certificates to one of the trusted CA certificates
(the capture's, or those a ``--ca FILE`` gives): each link must have the issuer's subject as its
issuer name, a signature the issuer's key verifies, a validity period covering ``at`` (when
given), and every issuer must be a CA (basicConstraints cA, where present). It is a diagnosis
aid, not an RFC 5280 path validation: no revocation, name constraints or policy checks.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.utils import CryptographyDeprecationWarning

from ikedecode.ike.crypto_errors import IkeCryptoError
from ikedecode.ike.wire_text import escape_controls

__all__ = [
    "CERT_X509_SIGNATURE",
    "CertificateError",
    "CertificateInfo",
    "ChainCheck",
    "certificate_from_payload",
    "check_chain",
    "load_certificates",
    "parse_certificate",
]

CERT_X509_SIGNATURE = 4  # IKEv1 and IKEv2 Certificate Encoding 4
_MAX_PATH = 8


class CertificateError(IkeCryptoError):
    """The bytes are not a certificate this module reads (one sentence)."""


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    subject: str  # RFC 4514 string
    issuer: str
    serial: int
    not_before: datetime.datetime  # UTC
    not_after: datetime.datetime
    subject_alt_names: tuple[str, ...]  # "DNS:x", "IP:x", "email:x", "URI:x", "DN:x"
    key_type: str  # "RSA", "EC", "Ed25519", "Ed448", "DSA"
    key_bits: int
    curve: str | None  # EC curve name
    signature_algorithm: str  # the issuer's signature, e.g. "sha256WithRSAEncryption"
    is_ca: bool | None  # basicConstraints cA; None when the extension is absent
    fingerprint_sha256: str
    self_signed: bool  # subject == issuer
    der: bytes = field(repr=False)
    public_key: PublicKeyTypes = field(repr=False, compare=False)
    certificate: x509.Certificate = field(repr=False, compare=False)

    def valid_at(self, when: datetime.datetime) -> bool:
        return self.not_before <= when <= self.not_after


def _key_description(key: PublicKeyTypes) -> tuple[str, int, str | None]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    return type(key).__name__, 0, None


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    out = []
    for name in extension.value:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
        elif isinstance(name, x509.DirectoryName):
            out.append(f"DN:{name.value.rfc4514_string()}")
        else:
            out.append(f"{type(name).__name__}:{name.value!r}")
    return tuple(escape_controls(name) for name in out)


def _is_ca(cert: x509.Certificate) -> bool | None:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return None


def parse_certificate(der: bytes) -> CertificateInfo:
    """A DER X.509 certificate, described; ``CertificateError`` when it cannot be read.

    A certificate from the wire may break RFC 5280 in ways ``cryptography`` still reads but warns
    about to its callers (a serial number that is not positive, 4.1.2.2): the certificate is
    described as it is, and the warning, meant for programmers, does not reach the user's terminal.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _parse_certificate(der)


def _parse_certificate(der: bytes) -> CertificateInfo:
    try:
        cert = x509.load_der_x509_certificate(bytes(der))
        key = cert.public_key()
        key_type, bits, curve = _key_description(key)
        try:
            oid_name = cert.signature_algorithm_oid._name  # noqa: SLF001 - the OID's registered name
        except AttributeError:
            oid_name = cert.signature_algorithm_oid.dotted_string
        return CertificateInfo(
            subject=escape_controls(cert.subject.rfc4514_string()),
            issuer=escape_controls(cert.issuer.rfc4514_string()),
            serial=cert.serial_number,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            subject_alt_names=_names(cert),
            key_type=key_type,
            key_bits=bits,
            curve=curve,
            signature_algorithm=oid_name,
            is_ca=_is_ca(cert),
            fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
            self_signed=cert.subject == cert.issuer,
            der=bytes(der),
            public_key=key,
            certificate=cert,
        )
    # InvalidVersion (no ValueError): a version field beyond v3, found by fuzzing (v2-fragments)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as error:
        raise CertificateError(f"not a readable X.509 certificate: {error}") from None


def certificate_from_payload(body: bytes) -> CertificateInfo | None:
    """The certificate of a CERT payload body (encoding byte + data) when the encoding is 4
    (X.509 Signature); ``None`` for other encodings (hash-and-URL, CRLs, raw keys ...)."""
    if len(body) < 2 or body[0] != CERT_X509_SIGNATURE:
        return None
    return parse_certificate(body[1:])


def load_certificates(data: bytes) -> list[CertificateInfo]:
    """Every certificate of a PEM file (one or more BEGIN CERTIFICATE blocks) or one DER file."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            certs = x509.load_pem_x509_certificates(bytes(data))
        except (ValueError, x509.InvalidVersion) as error:
            raise CertificateError(f"unreadable PEM certificate: {error}") from None
        return [parse_certificate(c.public_bytes(serialization.Encoding.DER)) for c in certs]
    return [parse_certificate(data)]


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """``valid``: a path to a trusted certificate was found and every link checked out.

    ``path`` runs from the leaf to the trust anchor (only the leaf when nothing was found);
    ``problems`` says what failed, one sentence each.
    """

    valid: bool
    path: tuple[CertificateInfo, ...]
    problems: tuple[str, ...] = ()


def _signed_by(cert: CertificateInfo, issuer: CertificateInfo) -> bool:
    try:
        cert.certificate.verify_directly_issued_by(issuer.certificate)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def check_chain(
    leaf: CertificateInfo,
    intermediates: Sequence[CertificateInfo] = (),
    trusted: Sequence[CertificateInfo] = (),
    at: datetime.datetime | None = None,
) -> ChainCheck:
    """Find and check a path from ``leaf`` through ``intermediates`` to one of ``trusted``."""
    problems: list[str] = []
    path = [leaf]
    anchors = {c.fingerprint_sha256 for c in trusted}
    candidates = list(trusted) + [c for c in intermediates if c.fingerprint_sha256 not in anchors]
    current = leaf
    for _ in range(_MAX_PATH):
        if at is not None and not current.valid_at(at):
            problems.append(f"{current.subject} is not valid at {at.isoformat()}")
        if current.fingerprint_sha256 in anchors:
            return ChainCheck(not problems, tuple(path), tuple(problems))
        issuers = [
            c
            for c in candidates
            if c.subject == current.issuer and c.fingerprint_sha256 != current.fingerprint_sha256
        ]
        issuer = next((c for c in issuers if _signed_by(current, c)), None)
        if issuer is None:
            if issuers:
                problems.append(
                    f"the signature of {current.subject} does not verify with {current.issuer}'s key"
                )
            elif current.self_signed:
                problems.append(f"{current.subject} is self-signed and not among the trusted certificates")
            else:
                problems.append(f"no certificate of the issuer {current.issuer} is available")
            return ChainCheck(False, tuple(path), tuple(problems))
        if issuer.is_ca is False:
            problems.append(f"{issuer.subject} signs certificates but is not a CA (basicConstraints)")
        path.append(issuer)
        current = issuer
    problems.append(f"no trusted certificate within {_MAX_PATH} links")
    return ChainCheck(False, tuple(path), tuple(problems))
