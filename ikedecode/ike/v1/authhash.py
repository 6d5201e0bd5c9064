"""IKEv1 authentication hashes: HASH_I / HASH_R (phase 1) and HASH(1)/(2)/(3) (phase 2).

Phase 1 (RFC 2409 section 5):
  HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
  HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
``SAi_b`` is the body of the initiator's SA payload and ``IDii_b`` / ``IDir_b`` the bodies of the
ID payloads, all without their 4-byte generic payload headers. With pre-shared keys the value
is sent in the HASH payload; with signatures it is what was signed.

Phase 2 (RFC 2409 section 5.5) and Informational / Transaction exchanges (RFC 2409 section
5.7, draft-ietf-ipsec-isakmp-mode-cfg section 3.2) authenticate each message with SKEYID_a.
``rest`` is every byte of the message that follows the HASH payload (payload headers
included), ``message_id`` the ISAKMP header's message ID, written as 4 bytes big-endian.
"""

from __future__ import annotations

from ikedecode.ike.crypto_errors import InvalidKeyMaterial
from ikedecode.ike.prf import prf

__all__ = ["hash_i", "hash_r", "informational_hash", "qm_hash1", "qm_hash2", "qm_hash3"]


def _message_id_bytes(message_id: int) -> bytes:
    if type(message_id) is int and 0 <= message_id <= 0xFFFFFFFF:
        return message_id.to_bytes(4, "big")
    if not isinstance(message_id, int) or not 0 <= message_id <= 0xFFFFFFFF:
        raise InvalidKeyMaterial(f"message ID {message_id!r} does not fit in 4 bytes")
    return message_id.to_bytes(4, "big")


def hash_i(
    hash_id: int,
    skeyid: bytes,
    g_xi: bytes,
    g_xr: bytes,
    cky_i: bytes,
    cky_r: bytes,
    sai_b: bytes,
    idii_b: bytes,
) -> bytes:
    """HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b) (RFC 2409 s5)."""
    return prf(hash_id, skeyid, b"".join((g_xi, g_xr, cky_i, cky_r, sai_b, idii_b)))


def hash_r(
    hash_id: int,
    skeyid: bytes,
    g_xi: bytes,
    g_xr: bytes,
    cky_i: bytes,
    cky_r: bytes,
    sai_b: bytes,
    idir_b: bytes,
) -> bytes:
    """HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b) (RFC 2409 s5).

    Arguments are given in initiator/responder order, like ``hash_i``; the function swaps them.
    """
    return prf(hash_id, skeyid, b"".join((g_xr, g_xi, cky_r, cky_i, sai_b, idir_b)))


def qm_hash1(hash_id: int, skeyid_a: bytes, message_id: int, rest: bytes) -> bytes:
    """Quick mode HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [| KE] [| IDci | IDcr]) (RFC 2409 s5.5)."""
    return prf(hash_id, skeyid_a, _message_id_bytes(message_id) + rest)


def qm_hash2(hash_id: int, skeyid_a: bytes, message_id: int, ni_b: bytes, rest: bytes) -> bytes:
    """Quick mode HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [| KE] [| IDci | IDcr]) (RFC 2409 s5.5)."""
    return prf(hash_id, skeyid_a, b"".join((_message_id_bytes(message_id), ni_b, rest)))


def qm_hash3(hash_id: int, skeyid_a: bytes, message_id: int, ni_b: bytes, nr_b: bytes) -> bytes:
    """Quick mode HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b) (RFC 2409 s5.5); 0 is one zero octet."""
    return prf(hash_id, skeyid_a, b"".join((b"\x00", _message_id_bytes(message_id), ni_b, nr_b)))


def informational_hash(hash_id: int, skeyid_a: bytes, message_id: int, rest: bytes) -> bytes:
    """Informational / Transaction HASH(1) = prf(SKEYID_a, M-ID | N/D or ATTR) (RFC 2409 s5.7).

    Same formula as quick mode HASH(1); ``rest`` is the Notification / Delete / Attribute
    payload(s) following the HASH payload.
    """
    return prf(hash_id, skeyid_a, _message_id_bytes(message_id) + rest)
