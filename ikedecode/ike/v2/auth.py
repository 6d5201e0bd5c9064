"""IKEv2 AUTH payload verification (RFC 7296 section 2.15, RFC 7427, RFC 4754, RFC 9242).

Signed octets (RFC 7296 section 2.15)::

    InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload) [| IntAuth]
    ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload) [| IntAuth]

RealMessage1/2 are the IKE_SA_INIT request / response as sent (from the IKE header, without the
non-ESP marker), NonceXData the body of the peer's Nonce payload, RestOfXIDPayload the ID payload
after its generic header (ID Type, 3 reserved bytes, data). With IKE_INTERMEDIATE exchanges
(RFC 9242 section 3.3.2) IntAuth = IntAuth_iN | IntAuth_rN | IKE_AUTH message ID (4 bytes).

Methods (AUTH payload byte 0, IANA "IKEv2 Authentication Method"):
1 RSA PKCS#1 v1.5 with SHA-1; 2 shared key: AUTH = prf(prf(PSK, "Key Pad for IKEv2"), octets);
3 DSS with SHA-1 (r | s); 9/10/11 ECDSA with SHA-256/384/512 on P-256/384/521, signature r | s
of fixed size (RFC 4754 section 7); 13 NULL (RFC 7619): nothing to verify; 14 Digital Signature
(RFC 7427 section 3): 1-byte length, DER AlgorithmIdentifier, then the signature (RSA PKCS#1
v1.5, RSASSA-PSS with its parameters, ECDSA with a DER signature, Ed25519, Ed448, DSA).

Nothing here raises for bad input: results are ``AuthVerification`` records.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ikedecode.ike.crypto_errors import IkeCryptoError
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.prf import prf
from ikedecode.ike.v2.signature_algorithms import SignatureAlgorithm, parse_digital_signature

__all__ = [
    "KEY_PAD",
    "AuthVerification",
    "IntAuth",
    "int_auth_data",
    "int_auth_step",
    "psk_auth_data",
    "signed_octets",
    "verify_auth",
    "verify_psk_candidates",
    "verify_signature",
]

KEY_PAD = b"Key Pad for IKEv2"  # RFC 7296 section 2.15, 17 ASCII bytes, no terminator

# RFC 4754 section 7 (methods 9-11): hash, curve, bytes of r and of s.
_ECDSA_METHODS: dict[int, tuple[type[hashes.HashAlgorithm], type[ec.EllipticCurve], int]] = {
    reg.AUTH_ECDSA_SHA256_P256: (hashes.SHA256, ec.SECP256R1, 32),
    reg.AUTH_ECDSA_SHA384_P384: (hashes.SHA384, ec.SECP384R1, 48),
    reg.AUTH_ECDSA_SHA512_P521: (hashes.SHA512, ec.SECP521R1, 66),
}


@dataclass(frozen=True, slots=True)
class IntAuth:
    """The RFC 9242 section 3.3.2 addition to both signed octets."""

    int_auth_i: bytes  # IntAuth_iN: the initiator's chain over its IKE_INTERMEDIATE messages
    int_auth_r: bytes  # IntAuth_rN
    ike_auth_message_id: int  # Message ID of the first IKE_AUTH request

    def octets(self) -> bytes:
        return self.int_auth_i + self.int_auth_r + (self.ike_auth_message_id & 0xFFFFFFFF).to_bytes(4, "big")


class AuthVerification(NamedTuple):
    """``verified``: True (matches), False (checked, does not match), None (could not be checked).

    ``detail`` says what was used ("shared key candidate 2", "ecdsa-with-SHA256") or why it
    failed or could not be checked; ``psk_index`` is the matching candidate's index. A NamedTuple:
    one per AUTH payload, never changed.
    """

    verified: bool | None
    method: int
    detail: str
    psk_index: int | None = None
    algorithm: str = ""


def int_auth_data(message: bytes, encrypted_offset: int, plaintext: bytes) -> bytes | None:
    """IntAuth_[i/r]*A | IntAuth_[i/r]*P of one IKE_INTERMEDIATE message (RFC 9242 section 3.3.2).

    A is the message from the IKE header to the end of the Encrypted payload's generic header, with
    the IKE header's Length and the Encrypted payload's Payload Length set as if the message were
    not encrypted (no IV, padding, pad length or ICV); P is the inner payloads (``plaintext`` of
    ``protection.open_sk``). The result depends on the inner payloads, not on the cipher.
    Only SK payloads are taken; None when the offset does not fit the message.
    """
    message = bytes(message)
    if not 28 <= encrypted_offset <= len(message) - 4:
        return None
    a_part = bytearray(message[: encrypted_offset + 4])
    a_part[24:28] = (encrypted_offset + 4 + len(plaintext)).to_bytes(4, "big")
    a_part[encrypted_offset + 2 : encrypted_offset + 4] = (4 + len(plaintext)).to_bytes(2, "big")
    return bytes(a_part) + bytes(plaintext)


def int_auth_step(
    prf_id: int, sk_p: bytes, previous: bytes, message: bytes, encrypted_offset: int, plaintext: bytes
) -> bytes | None:
    """IntAuth_xN = prf(SK_px, IntAuth_x(N-1) | IntAuth_xNA | IntAuth_xNP) (RFC 9242 section 3.3.2);
    ``previous`` is empty for the first IKE_INTERMEDIATE message of a side, ``sk_p`` the SK_pi or
    SK_pr in force when the message was sent (RFC 9370: before the keys it establishes)."""
    data = int_auth_data(message, encrypted_offset, plaintext)
    return None if data is None else prf(prf_id, sk_p, bytes(previous) + data)


def signed_octets(
    prf_id: int,
    sk_p: bytes,
    real_message: bytes,
    peer_nonce: bytes,
    id_payload_body: bytes,
    int_auth: IntAuth | None = None,
) -> bytes:
    """The octets the AUTH payload of one side covers (RFC 7296 section 2.15, RFC 9242 3.3.2).

    For the initiator's AUTH: ``sk_p`` = SK_pi, ``real_message`` = IKE_SA_INIT request,
    ``peer_nonce`` = Nr data, ``id_payload_body`` = IDi body. For the responder's: SK_pr, the
    IKE_SA_INIT response, Ni data, IDr body.
    """
    octets = bytes(real_message) + bytes(peer_nonce) + prf(prf_id, sk_p, bytes(id_payload_body))
    return octets + int_auth.octets() if int_auth is not None else octets


def psk_auth_data(prf_id: int, psk: bytes, octets: bytes) -> bytes:
    """AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), signed octets) (RFC 7296 section 2.15)."""
    return prf(prf_id, prf(prf_id, bytes(psk), KEY_PAD), octets)


@functools.lru_cache(maxsize=256)
def _padded_psk(prf_id: int, psk: bytes) -> bytes:
    """prf(PSK, "Key Pad for IKEv2"): the same for every AUTH payload keyed with one shared key and
    PRF, and a capture's SAs share a few shared keys, so each is padded once (2 of the 18 prf calls
    of a PSK-authenticated IKEv2 SA). ``psk_auth_data`` (``--crack``: a new guess each call) pads
    afresh."""
    return prf(prf_id, psk, KEY_PAD)


def verify_psk_candidates(
    prf_id: int, candidates: Sequence[bytes], auth_data: bytes, octets: bytes
) -> AuthVerification:
    """Which of ``candidates`` (if any) produced ``auth_data`` for these signed octets."""
    if not candidates:
        return AuthVerification(None, reg.AUTH_SHARED_KEY, "no shared key to try")
    try:
        for index, psk in enumerate(candidates):
            if hmac.compare_digest(prf(prf_id, _padded_psk(prf_id, bytes(psk)), octets), bytes(auth_data)):
                return AuthVerification(True, reg.AUTH_SHARED_KEY, f"shared key candidate {index + 1}", index)
    except IkeCryptoError as error:
        return AuthVerification(None, reg.AUTH_SHARED_KEY, str(error))
    why = (
        "the shared key does not match"
        if len(candidates) == 1
        else f"none of {len(candidates)} shared keys matches"
    )
    return AuthVerification(False, reg.AUTH_SHARED_KEY, why)


def _ecdsa_raw_to_der(signature: bytes, half: int) -> bytes | None:
    if len(signature) != 2 * half:
        return None
    r = int.from_bytes(signature[:half], "big")
    s = int.from_bytes(signature[half:], "big")
    return encode_dss_signature(r, s)


def _check(key: PublicKeyTypes, algorithm: SignatureAlgorithm, signature: bytes, octets: bytes) -> None:
    """Raises InvalidSignature, or TypeError when key and algorithm do not go together."""
    if algorithm.key_type == "rsa" and isinstance(key, rsa.RSAPublicKey):
        assert algorithm.hash is not None
        if algorithm.pss_salt_length is None:
            key.verify(signature, octets, padding.PKCS1v15(), algorithm.hash())
        else:
            mgf_hash = (algorithm.pss_mgf_hash or algorithm.hash)()
            pss = padding.PSS(padding.MGF1(mgf_hash), algorithm.pss_salt_length)
            key.verify(signature, octets, pss, algorithm.hash())
    elif algorithm.key_type == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
        assert algorithm.hash is not None
        key.verify(signature, octets, ec.ECDSA(algorithm.hash()))
    elif algorithm.key_type == "dsa" and isinstance(key, dsa.DSAPublicKey):
        assert algorithm.hash is not None
        key.verify(signature, octets, algorithm.hash())
    elif algorithm.key_type == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, octets)
    elif algorithm.key_type == "ed448" and isinstance(key, ed448.Ed448PublicKey):
        key.verify(signature, octets)
    else:
        raise TypeError(f"a {type(key).__name__.removeprefix('_')} cannot check {algorithm.name}")


def _signature_for(
    method: int, auth_data: bytes, key: PublicKeyTypes
) -> tuple[SignatureAlgorithm, bytes] | str:
    """(algorithm, signature in the form cryptography checks) for a method, or why not."""
    if method == reg.AUTH_RSA_SIG:  # RFC 7296 section 3.8: EMSA-PKCS1-v1_5 with SHA-1
        return SignatureAlgorithm("sha1WithRSAEncryption (method 1)", "rsa", hashes.SHA1), bytes(auth_data)
    if method == reg.AUTH_DSS_SIG:  # RFC 7296 section 3.8: DSS with SHA-1, r | s of 20 bytes each
        der = _ecdsa_raw_to_der(bytes(auth_data), 20)
        if der is None:
            return f"a DSS signature has 40 bytes, this one {len(auth_data)}"
        return SignatureAlgorithm("dsa-with-sha1 (method 3)", "dsa", hashes.SHA1), der
    if method in _ECDSA_METHODS:
        hash_type, curve, half = _ECDSA_METHODS[method]
        if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, curve):
            return f"method {method} needs a {curve.name} key, the peer's is {key.curve.name}"
        der = _ecdsa_raw_to_der(bytes(auth_data), half)
        if der is None:
            return f"method {method} signatures have {2 * half} bytes, this one {len(auth_data)}"
        return SignatureAlgorithm(
            f"ecdsa-with-{hash_type().name.upper()} on {curve.name}", "ec", hash_type
        ), der
    if method == reg.AUTH_DIGITAL_SIGNATURE:
        return parse_digital_signature(bytes(auth_data))
    return f"authentication method {method} is not a signature method this tool checks"


def verify_signature(
    method: int, auth_data: bytes, octets: bytes, public_key: PublicKeyTypes | None
) -> AuthVerification:
    """Check a signature AUTH (methods 1, 3, 9, 10, 11, 14) with the signer's public key
    (from its CERT payload, ``certificates.CertificateInfo.public_key``, or configuration)."""
    if public_key is None:
        return AuthVerification(None, method, "no public key of the signer (no certificate)")
    found = _signature_for(method, auth_data, public_key)
    if isinstance(found, str):
        return AuthVerification(None, method, found)
    algorithm, signature = found
    try:
        _check(public_key, algorithm, signature, bytes(octets))
    except InvalidSignature:
        return AuthVerification(
            False, method, f"{algorithm.name} signature does not verify", algorithm=algorithm.name
        )
    except (TypeError, ValueError, UnsupportedAlgorithm) as error:
        return AuthVerification(None, method, str(error), algorithm=algorithm.name)
    return AuthVerification(True, method, f"{algorithm.name} signature verifies", algorithm=algorithm.name)


def verify_auth(
    method: int,
    auth_data: bytes,
    octets: bytes,
    *,
    prf_id: int | None = None,
    psks: Sequence[bytes] = (),
    public_key: PublicKeyTypes | None = None,
) -> AuthVerification:
    """Verify one AUTH payload body (``method`` = its byte 0, ``auth_data`` = after the 3 reserved
    bytes) whatever its method: shared keys are tried with ``prf_id``, signatures with
    ``public_key``; NULL authentication is named as not verifiable."""
    if method == reg.AUTH_NULL:
        return AuthVerification(None, method, "NULL authentication (RFC 7619) proves no identity")
    if method == reg.AUTH_SHARED_KEY:
        if prf_id is None:
            return AuthVerification(None, method, "the negotiated PRF is not known")
        return verify_psk_candidates(prf_id, psks, auth_data, octets)
    return verify_signature(method, auth_data, octets, public_key)
