"""IKEv1 hash algorithms and the HMAC pseudo-random function built on them.

IKEv1 negotiates a *hash* algorithm (phase 1 attribute "Hash Algorithm", RFC 2409 Appendix A)
and, unless a separate PRF is negotiated (never seen in practice), uses the HMAC version of that
hash as ``prf`` (RFC 2409 section 4). Identifiers follow the IANA "IKE Attributes / Hash
Algorithm" registry.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ikedecode.ike.crypto_errors import UnsupportedAlgorithm

__all__ = [
    "HASHES",
    "UNSUPPORTED_HASHES",
    "HashAlgorithm",
    "digest_size",
    "hash_",
    "hash_algorithm",
    "prf",
]


@dataclass(frozen=True, slots=True)
class HashAlgorithm:
    id: int
    name: str  # as IANA / strongSwan spell it
    hashlib_name: str  # name understood by hashlib and hmac.digest
    digest_size: int  # bytes
    block_size: int  # bytes (HMAC block size)


# RFC 2409 Appendix A (1-3), RFC 4868 section 3 / IANA (4-6).
HASHES: dict[int, HashAlgorithm] = {
    h.id: h
    for h in (
        HashAlgorithm(1, "MD5", "md5", 16, 64),
        HashAlgorithm(2, "SHA", "sha1", 20, 64),
        HashAlgorithm(4, "SHA2-256", "sha256", 32, 64),
        HashAlgorithm(5, "SHA2-384", "sha384", 48, 128),
        HashAlgorithm(6, "SHA2-512", "sha512", 64, 128),
    )
}

# Registered, but not implementable with the libraries we use.
UNSUPPORTED_HASHES: dict[int, str] = {3: "Tiger"}


def hash_algorithm(hash_id: int) -> HashAlgorithm:
    """The table entry for an IKE hash algorithm ID, or ``UnsupportedAlgorithm``."""
    if isinstance(hash_id, int) and hash_id in HASHES:
        return HASHES[hash_id]
    if isinstance(hash_id, int) and hash_id in UNSUPPORTED_HASHES:
        raise UnsupportedAlgorithm(
            f"IKE hash algorithm {hash_id} ({UNSUPPORTED_HASHES[hash_id]}) is not supported"
        )
    raise UnsupportedAlgorithm(f"unknown IKE hash algorithm {hash_id!r}")


def digest_size(hash_id: int) -> int:
    """Output size in bytes of the hash (and of its HMAC prf)."""
    found = HASHES.get(hash_id) if type(hash_id) is int else None
    return (found or hash_algorithm(hash_id)).digest_size


# hashlib's name of each supported hash ID: the lookup of ``prf`` and ``hash_`` (13 prf calls per
# IKEv1 SA), with ``hash_algorithm`` for anything else (its errors, a bool ID).
_HASHLIB_NAMES: dict[int, str] = {h.id: h.hashlib_name for h in HASHES.values()}


def prf(hash_id: int, key: bytes, data: bytes) -> bytes:
    """prf(key, data) = HMAC-<hash>(key, data) (RFC 2409 section 4, RFC 2104)."""
    name = _HASHLIB_NAMES.get(hash_id) if type(hash_id) is int else None
    return hmac.digest(key, data, name or hash_algorithm(hash_id).hashlib_name)


# hashlib's constructor of each (hashlib.new looks the name up on every call)
_HASH_CONSTRUCTORS = {h.id: getattr(hashlib, h.hashlib_name) for h in HASHES.values()}


def hash_(hash_id: int, data: bytes) -> bytes:
    """The plain negotiated hash of ``data`` (used for IVs, RFC 2409 Appendix B)."""
    constructor = _HASH_CONSTRUCTORS.get(hash_id) if type(hash_id) is int else None
    if constructor is None:
        return hashlib.new(hash_algorithm(hash_id).hashlib_name, data).digest()
    return constructor(data).digest()
