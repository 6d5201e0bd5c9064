"""The AlgorithmIdentifier of an RFC 7427 Digital Signature AUTH payload (method 14), decoded.

Authentication Data of method 14 (RFC 7427 section 3)::

    ASN.1 Length (1 byte) | AlgorithmIdentifier (DER) | Signature Value

The AlgorithmIdentifier is SEQUENCE { OID, parameters }. Signature values are what the algorithm
defines: RSA PKCS#1 v1.5 and RSASSA-PSS octet strings, ECDSA and DSA as DER Ecdsa-Sig-Value /
Dss-Sig-Value (RFC 7427 section 3, RFC 3279), EdDSA raw (RFC 8420). RSASSA-PSS parameters
(RFC 4055 section 3.1) give the hash, the MGF1 hash and the salt length; absent fields take the
RFC 4055 defaults (SHA-1, MGF1 with SHA-1, 20 bytes).

Only the few DER forms these structures use are read (SEQUENCE, OID, NULL, INTEGER, context tags
[0]-[3]); anything else is reported as a sentence, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

__all__ = ["SignatureAlgorithm", "parse_digital_signature"]


@dataclass(frozen=True, slots=True)
class SignatureAlgorithm:
    name: str  # the OID's name as RFC 7427 Appendix A / RFC 8420 spell it
    key_type: str  # "rsa", "ec", "dsa", "ed25519", "ed448"
    hash: type[hashes.HashAlgorithm] | None = None
    pss_salt_length: int | None = None  # RSASSA-PSS only
    pss_mgf_hash: type[hashes.HashAlgorithm] | None = None


_HASH_OIDS: dict[str, type[hashes.HashAlgorithm]] = {
    "1.3.14.3.2.26": hashes.SHA1,
    "2.16.840.1.101.3.4.2.4": hashes.SHA224,
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_MGF1 = "1.2.840.113549.1.1.8"
_RSASSA_PSS = "1.2.840.113549.1.1.10"

_SIGNATURE_OIDS: dict[str, SignatureAlgorithm] = {
    oid: SignatureAlgorithm(name, key_type, hash_type)
    for oid, name, key_type, hash_type in (
        ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption", "rsa", hashes.SHA1),
        ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption", "rsa", hashes.SHA224),
        ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption", "rsa", hashes.SHA256),
        ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption", "rsa", hashes.SHA384),
        ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption", "rsa", hashes.SHA512),
        ("1.2.840.10045.4.1", "ecdsa-with-SHA1", "ec", hashes.SHA1),
        ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224", "ec", hashes.SHA224),
        ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256", "ec", hashes.SHA256),
        ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384", "ec", hashes.SHA384),
        ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512", "ec", hashes.SHA512),
        ("1.2.840.10040.4.3", "dsa-with-sha1", "dsa", hashes.SHA1),
        ("2.16.840.1.101.3.4.3.1", "dsa-with-sha224", "dsa", hashes.SHA224),
        ("2.16.840.1.101.3.4.3.2", "dsa-with-sha256", "dsa", hashes.SHA256),
        ("1.3.101.112", "Ed25519", "ed25519", None),
        ("1.3.101.113", "Ed448", "ed448", None),
    )
}


class _DerError(ValueError):
    pass


def _read(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, value, next offset) of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise _DerError("DER element cut short")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise _DerError("bad DER length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise _DerError("DER element longer than its container")
    return tag, data[offset : offset + length], offset + length


def _oid(value: bytes) -> str:
    if not value:
        raise _DerError("empty OID")
    parts = []
    number = 0
    for byte in value:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    if not parts or value[-1] & 0x80:
        raise _DerError("OID ends inside a sub-identifier")
    first = min(parts[0] // 40, 2)
    return ".".join(map(str, [first, parts[0] - 40 * first, *parts[1:]]))


def _algorithm_identifier(der: bytes) -> tuple[str, bytes | None]:
    tag, body, end = _read(der, 0)
    if tag != 0x30:
        raise _DerError("AlgorithmIdentifier is not a SEQUENCE")
    oid_tag, oid_value, after = _read(body, 0)
    if oid_tag != 0x06:
        raise _DerError("AlgorithmIdentifier does not start with an OID")
    params = body[after:] if after < len(body) else None
    return _oid(oid_value), params


def _pss(params: bytes | None) -> SignatureAlgorithm:
    hash_type: type[hashes.HashAlgorithm] = hashes.SHA1
    mgf_hash: type[hashes.HashAlgorithm] = hashes.SHA1
    salt = 20
    if params:
        tag, body, _ = _read(params, 0)
        if tag != 0x30:
            raise _DerError("RSASSA-PSS parameters are not a SEQUENCE")
        offset = 0
        while offset < len(body):
            field_tag, value, offset = _read(body, offset)
            if field_tag == 0xA0:
                oid, _ = _algorithm_identifier(value)
                hash_type = _known_hash(oid)
            elif field_tag == 0xA1:
                oid, mgf_params = _algorithm_identifier(value)
                if oid != _MGF1 or not mgf_params:
                    raise _DerError(f"mask generation function {oid} is not MGF1")
                mgf_hash = _known_hash(_algorithm_identifier(mgf_params)[0])
            elif field_tag == 0xA2:
                int_tag, number, _ = _read(value, 0)
                if int_tag != 0x02:
                    raise _DerError("PSS salt length is not an INTEGER")
                salt = int.from_bytes(number, "big")
            elif field_tag == 0xA3:
                int_tag, number, _ = _read(value, 0)
                if int_tag != 0x02 or int.from_bytes(number, "big") != 1:
                    raise _DerError("PSS trailer field other than 1")
    name = f"RSASSA-PSS ({hash_type().name.upper()}, MGF1 {mgf_hash().name.upper()}, salt {salt})"
    return SignatureAlgorithm(name, "rsa", hash_type, salt, mgf_hash)


def _known_hash(oid: str) -> type[hashes.HashAlgorithm]:
    if oid not in _HASH_OIDS:
        raise _DerError(f"hash algorithm {oid} is not supported")
    return _HASH_OIDS[oid]


def parse_digital_signature(auth_data: bytes) -> tuple[SignatureAlgorithm, bytes] | str:
    """(algorithm, signature value) of method-14 Authentication Data, or a sentence saying why not.

    ECDSA / DSA signature values stay DER (what cryptography verifies).
    """
    if len(auth_data) < 2:
        return "Digital Signature authentication data is too short"
    size = auth_data[0]
    if 1 + size > len(auth_data):
        return "the AlgorithmIdentifier length runs past the authentication data"
    try:
        oid, params = _algorithm_identifier(auth_data[1 : 1 + size])
        if oid == _RSASSA_PSS:
            algorithm = _pss(params)
        elif oid in _SIGNATURE_OIDS:
            algorithm = _SIGNATURE_OIDS[oid]
        else:
            return f"signature algorithm {oid} is not supported"
    except _DerError as error:
        return f"unreadable AlgorithmIdentifier: {error}"
    signature = bytes(auth_data[1 + size :])
    if not signature:
        return "no signature value after the AlgorithmIdentifier"
    return algorithm, signature
