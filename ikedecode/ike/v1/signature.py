"""IKEv1 signature authentication: check SIG_I / SIG_R against HASH_I / HASH_R (RFC 2409 section 5.1).

RFC 2409 section 5.1: "SIG_I or SIG_R is the result of the negotiated digital signature algorithm
applied to HASH_I or HASH_R respectively". What implementations sign is the bare hash:

* RSA (auth method 3, and the RSA variants of XAUTH/hybrid): the HASH is padded with PKCS#1 v1.5
  block type 1 (00 01 FF.. 00 | HASH) and raised to the private exponent, *without* the DigestInfo
  that PKCS#1 signatures normally wrap around a hash (racoon, OpenSwan/libreswan, strongSwan's
  ``SIGN_RSA_EMSA_PKCS1_NULL``). Verifying recovers the padded value with the public key and
  compares its content with the HASH.
* DSS (method 2): DSA over HASH as the message digest (the HASH of a SHA-1 negotiation is 20 bytes),
  signature r | s of 20 bytes each.
* ECDSA (methods 9/10/11, RFC 4754 section 8 for IKEv1): ECDSA over HASH as the digest, r | s of
  fixed size.

A pure function: ``verify_ikev1_signature(hash_value, signature, public_key)``; the caller
computes HASH_I / HASH_R (``ikedecode.ike.v1.authhash``) and takes the public key from the peer's
CERT payload (``ikedecode.ike.certificates``). Bad input gives a result, never an exception.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

__all__ = ["SignatureCheck", "recover_rsa_signed_hash", "verify_ikev1_signature"]

# the hash whose length a HASH_I of this many bytes has (only its size matters to Prehashed)
_HASH_BY_SIZE: dict[int, type[hashes.HashAlgorithm]] = {
    16: hashes.MD5,
    20: hashes.SHA1,
    32: hashes.SHA256,
    48: hashes.SHA384,
    64: hashes.SHA512,
}


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """``verified``: True / False, or None when it cannot be checked (``detail`` says why)."""

    verified: bool | None
    detail: str
    algorithm: str = ""


def recover_rsa_signed_hash(signature: bytes, public_key: rsa.RSAPublicKey) -> bytes | None:
    """The value an IKEv1 RSA signature carries (PKCS#1 type 1 padding removed, no DigestInfo
    expected), or None when the signature does not open to type 1 padding with this key."""
    try:
        return public_key.recover_data_from_signature(bytes(signature), padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        return None


def _fixed_rs(signature: bytes, size: int) -> bytes | None:
    if len(signature) != 2 * size:
        return None
    return encode_dss_signature(
        int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    )


def verify_ikev1_signature(
    hash_value: bytes, signature: bytes, public_key: PublicKeyTypes | None
) -> SignatureCheck:
    """Whether SIG_x (the SIG payload body) is the signer's signature over HASH_x."""
    if public_key is None:
        return SignatureCheck(None, "no public key of the signer (no certificate)")
    hash_value, signature = bytes(hash_value), bytes(signature)
    if isinstance(public_key, rsa.RSAPublicKey):
        name = "RSA PKCS#1 v1.5 type 1 over the bare hash"
        recovered = recover_rsa_signed_hash(signature, public_key)
        if recovered is None:
            return SignatureCheck(False, "the signature does not open with this RSA key", name)
        if hmac.compare_digest(recovered, hash_value):
            return SignatureCheck(True, "RSA signature verifies", name)
        return SignatureCheck(False, f"the signature carries a different {len(recovered)}-byte value", name)
    hash_type = _HASH_BY_SIZE.get(len(hash_value))
    if hash_type is None:
        return SignatureCheck(None, f"a HASH of {len(hash_value)} bytes matches no known hash")
    try:
        if isinstance(public_key, dsa.DSAPublicKey):
            name = "DSS"
            der = _fixed_rs(signature, 20)
            if der is None:
                return SignatureCheck(None, f"a DSS signature has 40 bytes, this one {len(signature)}", name)
            public_key.verify(der, hash_value, Prehashed(hash_type()))
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            name = f"ECDSA on {public_key.curve.name}"
            der = _fixed_rs(signature, (public_key.curve.key_size + 7) // 8)
            if der is None:
                return SignatureCheck(None, f"{name} signatures are r | s of fixed size", name)
            public_key.verify(der, hash_value, ec.ECDSA(Prehashed(hash_type())))
        else:
            return SignatureCheck(
                None, f"IKEv1 signatures with a {type(public_key).__name__} are not supported"
            )
    except InvalidSignature:
        return SignatureCheck(False, f"{name} signature does not verify", name)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        return SignatureCheck(None, str(error), name)
    return SignatureCheck(True, f"{name} signature verifies", name)
