"""Diffie-Hellman groups of IKE: public values and shared secrets.

``GROUPS`` maps IANA "IKE Attributes / Group Description" numbers to ``DhGroup`` entries:

* MODP: 1, 2 (RFC 2409 s6.1, s6.2), 5, 14-18 (RFC 3526), 22-24 (RFC 5114 s2.1-2.3, with their
  prime-order subgroups). Public value and shared secret are big-endian integers left-padded
  to the length of the prime (RFC 2409 s5, "pre-pending the value with zeros").
* ECP: 19-21 (NIST P-256/384/521, RFC 5903), 25/26 (P-192/224, RFC 5114 s2.4/2.5), 28-30
  (brainpoolP256r1/384r1/512r1, RFC 6932). The KE payload is x | y, each coordinate padded to
  the field size, without the 0x04 prefix of SEC 1 (RFC 5903 s7); the shared secret is the x
  coordinate of the common point (RFC 5903 s7, s9).
* Montgomery: 31 Curve25519, 32 Curve448 (RFC 8031): 32 / 56-byte little-endian strings as in
  RFC 7748.

All arithmetic runs in OpenSSL through ``cryptography``. Errors are ``UnsupportedAlgorithm``,
``InvalidPublicValue`` and ``InvalidPrivateValue`` (all ``ValueError`` subclasses).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from cryptography.exceptions import UnsupportedAlgorithm as _BackendUnsupported
from cryptography.hazmat.primitives.asymmetric import dh, ec, x448, x25519
from cryptography.utils import CryptographyDeprecationWarning

from ikedecode.ike.crypto_errors import InvalidPrivateValue, InvalidPublicValue, UnsupportedAlgorithm
from ikedecode.ike.modp_primes import (
    MODP_768,
    MODP_1024,
    MODP_1536,
    MODP_2048,
    MODP_3072,
    MODP_4096,
    MODP_6144,
    MODP_8192,
    RFC5114_1024_160,
    RFC5114_2048_224,
    RFC5114_2048_256,
)

__all__ = [
    "GROUPS",
    "UNSUPPORTED_GROUPS",
    "DhGroup",
    "GroupKind",
    "dh_group",
    "public_value",
    "shared_secret",
]


class GroupKind(StrEnum):
    MODP = "modp"
    ECP = "ecp"
    MONTGOMERY = "montgomery"  # RFC 7748 X25519 / X448


@dataclass(frozen=True, slots=True)
class DhGroup:
    id: int
    name: str  # strongSwan proposal keyword, e.g. "modp1024", "ecp256", "curve25519"
    kind: GroupKind
    public_length: int  # bytes of KE payload data
    secret_length: int  # bytes of g^xy
    prime: int = 0  # MODP only
    generator: int = 0  # MODP only
    subgroup_order: int | None = None  # MODP groups of RFC 5114 only
    curve: Callable[[], ec.EllipticCurve] | None = None  # ECP only
    rfc: str = ""


def _modp(
    group_id: int, name: str, rfc: str, prime: int, generator: int = 2, order: int | None = None
) -> DhGroup:
    size = (prime.bit_length() + 7) // 8
    return DhGroup(group_id, name, GroupKind.MODP, size, size, prime, generator, order, rfc=rfc)


def _ecp(
    group_id: int, name: str, curve: Callable[[], ec.EllipticCurve], field_bytes: int, rfc: str
) -> DhGroup:
    return DhGroup(group_id, name, GroupKind.ECP, 2 * field_bytes, field_bytes, curve=curve, rfc=rfc)


def _montgomery(group_id: int, name: str, size: int) -> DhGroup:
    return DhGroup(group_id, name, GroupKind.MONTGOMERY, size, size, rfc="RFC 8031")


GROUPS: dict[int, DhGroup] = {
    g.id: g
    for g in (
        _modp(1, "modp768", "RFC 2409 s6.1", MODP_768),
        _modp(2, "modp1024", "RFC 2409 s6.2", MODP_1024),
        _modp(5, "modp1536", "RFC 3526 s2", MODP_1536),
        _modp(14, "modp2048", "RFC 3526 s3", MODP_2048),
        _modp(15, "modp3072", "RFC 3526 s4", MODP_3072),
        _modp(16, "modp4096", "RFC 3526 s5", MODP_4096),
        _modp(17, "modp6144", "RFC 3526 s6", MODP_6144),
        _modp(18, "modp8192", "RFC 3526 s7", MODP_8192),
        _ecp(19, "ecp256", ec.SECP256R1, 32, "RFC 5903"),
        _ecp(20, "ecp384", ec.SECP384R1, 48, "RFC 5903"),
        _ecp(21, "ecp521", ec.SECP521R1, 66, "RFC 5903"),
        _modp(22, "modp1024s160", "RFC 5114 s2.1", *RFC5114_1024_160),
        _modp(23, "modp2048s224", "RFC 5114 s2.2", *RFC5114_2048_224),
        _modp(24, "modp2048s256", "RFC 5114 s2.3", *RFC5114_2048_256),
        _ecp(25, "ecp192", ec.SECP192R1, 24, "RFC 5114 s2.4"),
        _ecp(26, "ecp224", ec.SECP224R1, 28, "RFC 5114 s2.5"),
        _ecp(28, "ecp256bp", ec.BrainpoolP256R1, 32, "RFC 6932"),
        _ecp(29, "ecp384bp", ec.BrainpoolP384R1, 48, "RFC 6932"),
        _ecp(30, "ecp512bp", ec.BrainpoolP512R1, 64, "RFC 6932"),
        _montgomery(31, "curve25519", 32),
        _montgomery(32, "curve448", 56),
    )
}

# Registered groups this module cannot compute (no implementation in cryptography/OpenSSL).
UNSUPPORTED_GROUPS: dict[int, str] = {
    3: "EC2N group on GP[2^155] (Oakley group 3)",
    4: "EC2N group on GP[2^185] (Oakley group 4)",
    27: "brainpoolP224r1",
}


def dh_group(group_id: int) -> DhGroup:
    """The table entry for an IKE group number, or ``UnsupportedAlgorithm``."""
    if isinstance(group_id, int) and group_id in GROUPS:
        return GROUPS[group_id]
    if isinstance(group_id, int) and group_id in UNSUPPORTED_GROUPS:
        raise UnsupportedAlgorithm(
            f"Diffie-Hellman group {group_id} ({UNSUPPORTED_GROUPS[group_id]}) is not supported"
        )
    raise UnsupportedAlgorithm(f"unknown Diffie-Hellman group {group_id!r}")


# --- MODP ------------------------------------------------------------------------------------


# cryptography's FFDH classes, looked up once: each lookup on the module goes through its
# deprecation shim (a warning raised and filtered), three of them per exponentiation otherwise.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    _DHParameterNumbers = dh.DHParameterNumbers
    _DHPublicNumbers = dh.DHPublicNumbers
    _DHPrivateNumbers = dh.DHPrivateNumbers


@cache
def _modp_parameters(group_id: int) -> dh.DHParameterNumbers:
    group = GROUPS[group_id]
    return _DHParameterNumbers(group.prime, group.generator, group.subgroup_order)


def _modp_private_exponent(group: DhGroup, private_value: bytes) -> int:
    if not 0 < len(private_value) <= group.public_length:
        raise InvalidPrivateValue(
            f"{group.name} private value must be 1 to {group.public_length} bytes, got {len(private_value)}"
        )
    exponent = int.from_bytes(private_value, "big")
    if exponent < 2:
        raise InvalidPrivateValue(f"{group.name} private value must be at least 2")
    return exponent


# Below this size Python's own modular exponentiation is faster than OpenSSL: cryptography
# checks DH parameters OpenSSL does not know by name (groups 1 and 2) on every key import,
# which costs about 40 ms per key, while ``pow`` needs 1-4 ms for these sizes.
_PYTHON_POW_MAX_BITS = 1024


def _modp_power(group: DhGroup, base: int, exponent: int) -> bytes:
    """base^exponent mod p, left-padded to the prime length.

    ``base`` has been range-checked (1 < base < p-1) by the caller. Above 1024 bits OpenSSL
    does the work: its DH derivation is exactly this exponentiation (our exponent applied to the
    peer value), and for the RFC 5114 groups it also checks base^q = 1. cryptography wants the
    public half of the private key too, but derivation never reads it; we pass the generator
    instead of computing g^x in Python (a Python ``pow`` takes about a second for group 18).
    Should a later cryptography version check that field, we compute the real value and retry.
    """
    if group.prime.bit_length() <= _PYTHON_POW_MAX_BITS and group.subgroup_order is None:
        return pow(base, exponent, group.prime).to_bytes(group.secret_length, "big")
    # IKEv1 peers negotiate these groups; cryptography's FFDH deprecation notice is not the user's concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _modp_power_openssl(group, base, exponent)


def _modp_power_openssl(group: DhGroup, base: int, exponent: int) -> bytes:
    parameters = _modp_parameters(group.id)
    try:
        peer = _DHPublicNumbers(base, parameters).public_key()
    except ValueError as error:
        raise InvalidPublicValue(f"{group.name} public value is not valid in the group: {error}") from None
    try:
        private = _DHPrivateNumbers(exponent, _DHPublicNumbers(group.generator, parameters)).private_key()
    except ValueError:
        real_public = pow(group.generator, exponent, group.prime)
        try:
            private = _DHPrivateNumbers(exponent, _DHPublicNumbers(real_public, parameters)).private_key()
        except ValueError:
            raise InvalidPrivateValue(f"{group.name} private value is not usable in the group") from None
    try:
        secret = private.exchange(peer)
    except ValueError:
        raise InvalidPublicValue(
            f"{group.name} public value is not valid in the group (out of range or not in the subgroup)"
        ) from None
    return secret.rjust(group.secret_length, b"\x00")


def _modp_peer(group: DhGroup, peer_public: bytes) -> int:
    if len(peer_public) != group.public_length:
        raise InvalidPublicValue(
            f"{group.name} public value must be {group.public_length} bytes, got {len(peer_public)}"
        )
    value = int.from_bytes(peer_public, "big")
    if not 1 < value < group.prime - 1:
        raise InvalidPublicValue(f"{group.name} public value is out of range (must be 1 < y < p-1)")
    return value


# --- ECP -------------------------------------------------------------------------------------


def _ecp_private(group: DhGroup, private_value: bytes) -> ec.EllipticCurvePrivateKey:
    assert group.curve is not None
    if not 0 < len(private_value) <= group.secret_length:
        raise InvalidPrivateValue(
            f"{group.name} private value must be 1 to {group.secret_length} bytes, got {len(private_value)}"
        )
    try:
        return ec.derive_private_key(int.from_bytes(private_value, "big"), group.curve())
    except _BackendUnsupported:
        raise UnsupportedAlgorithm(f"{group.name} is not available in this OpenSSL build") from None
    except ValueError:
        raise InvalidPrivateValue(f"{group.name} private value is out of range for the curve") from None


def _ecp_peer(group: DhGroup, peer_public: bytes) -> ec.EllipticCurvePublicKey:
    assert group.curve is not None
    if len(peer_public) != group.public_length:
        raise InvalidPublicValue(
            f"{group.name} public value must be {group.public_length} bytes (x | y), got {len(peer_public)}"
        )
    try:
        # RFC 5903 s7: x | y; SEC 1 uncompressed form adds the 0x04 prefix.
        return ec.EllipticCurvePublicKey.from_encoded_point(group.curve(), b"\x04" + peer_public)
    except _BackendUnsupported:
        raise UnsupportedAlgorithm(f"{group.name} is not available in this OpenSSL build") from None
    except ValueError:
        raise InvalidPublicValue(f"{group.name} public value is not a point on the curve") from None


# --- Curve25519 / Curve448 -------------------------------------------------------------------

X25519_GROUP = 31  # RFC 8031: the other Montgomery group is Curve448 (32)


def _montgomery_private(
    group: DhGroup, private_value: bytes
) -> x25519.X25519PrivateKey | x448.X448PrivateKey:
    if len(private_value) != group.secret_length:
        raise InvalidPrivateValue(
            f"{group.name} private value must be {group.secret_length} bytes, got {len(private_value)}"
        )
    try:
        if group.id == X25519_GROUP:
            return x25519.X25519PrivateKey.from_private_bytes(private_value)
        return x448.X448PrivateKey.from_private_bytes(private_value)
    except _BackendUnsupported:
        raise UnsupportedAlgorithm(f"{group.name} is not available in this OpenSSL build") from None


def _montgomery_shared(group: DhGroup, private_value: bytes, peer_public: bytes) -> bytes:
    private = _montgomery_private(group, private_value)
    if len(peer_public) != group.public_length:
        raise InvalidPublicValue(
            f"{group.name} public value must be {group.public_length} bytes, got {len(peer_public)}"
        )
    try:
        if isinstance(private, x25519.X25519PrivateKey):
            return private.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))
        return private.exchange(x448.X448PublicKey.from_public_bytes(peer_public))
    except ValueError:
        # RFC 7748 s6.1 / RFC 8031 s2.3: an all-zero result means a small-order peer value.
        raise InvalidPublicValue(f"{group.name} public value is a small-order point") from None


# --- Public API ------------------------------------------------------------------------------


def _need_bytes(value: object, error: type[InvalidPrivateValue | InvalidPublicValue], what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise error(f"{what} must be bytes, not {type(value).__name__}")


def shared_secret(group_id: int, private_value: bytes, peer_public: bytes) -> bytes:
    """g^xy as IKE uses it, from our private value and the peer's KE payload data.

    MODP: big-endian, left-padded to the prime length; ECP: the x coordinate (field size);
    Curve25519 / Curve448: the 32 / 56-byte X25519 / X448 output.
    """
    group = dh_group(group_id)
    private_value = _need_bytes(private_value, InvalidPrivateValue, "private value")
    peer_public = _need_bytes(peer_public, InvalidPublicValue, "public value")
    if group.kind is GroupKind.MODP:
        exponent = _modp_private_exponent(group, private_value)
        return _modp_power(group, _modp_peer(group, peer_public), exponent)
    if group.kind is GroupKind.ECP:
        private, peer = _ecp_private(group, private_value), _ecp_peer(group, peer_public)
        try:
            return private.exchange(ec.ECDH(), peer)
        except ValueError:
            raise InvalidPublicValue(f"{group.name} public value gives no shared point") from None
    return _montgomery_shared(group, private_value, peer_public)


def public_value(group_id: int, private_value: bytes) -> bytes:
    """The KE payload data that belongs to ``private_value`` (g^x in the group's wire form)."""
    group = dh_group(group_id)
    private_value = _need_bytes(private_value, InvalidPrivateValue, "private value")
    if group.kind is GroupKind.MODP:
        exponent = _modp_private_exponent(group, private_value)
        return _modp_power(group, group.generator, exponent)
    if group.kind is GroupKind.ECP:
        # the serialization package imports its SSH key support too (~3 ms): not at every start-up
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        point = _ecp_private(group, private_value).public_key()
        return point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
    return _montgomery_private(group, private_value).public_key().public_bytes_raw()
