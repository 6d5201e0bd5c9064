"""IKEv1 key derivation: SKEYID, SKEYID_d/a/e, the phase 1 cipher key, IVs and quick mode KEYMAT.

Every formula is RFC 2409 (IKE), section 5 and Appendix B; ``|`` in the comments is byte
concatenation. Arguments are the raw byte strings as they appear on the wire:

* ``ni_b`` / ``nr_b``: nonce payload bodies (without the generic payload header);
* ``cky_i`` / ``cky_r``: the 8-byte initiator / responder cookies of the ISAKMP header;
* ``g_xy``: the Diffie-Hellman shared secret exactly as ``ikedecode.ike.dh.shared_secret``
  returns it (MODP: left-padded to the prime length, as strongSwan logs it);
* ``g_xi`` / ``g_xr``: KE payload bodies of initiator and responder.

All functions are pure; they raise ``UnsupportedAlgorithm`` for unknown hash IDs and
``InvalidKeyMaterial`` for impossible lengths (both ``ValueError`` subclasses).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ikedecode.ike.crypto_errors import InvalidKeyMaterial
from ikedecode.ike.prf import digest_size, hash_, prf

__all__ = [
    "MAX_DERIVED_LENGTH",
    "Phase1Keys",
    "derive_phase1_keys",
    "exchange_iv",
    "expand_encryption_key",
    "nortel_psk_key",
    "phase1_iv",
    "phase1_key_chain",
    "keymat_from_seed",
    "quick_mode_keymat",
    "quick_mode_seed",
    "skeyid_preshared",
    "skeyid_public_key",
    "skeyid_signature",
]

# Upper bound for any derived key stream (cipher key, KEYMAT). The largest real need is a
# 448-bit Blowfish key plus a 512-bit HMAC key (120 bytes); the bound only stops a hostile
# length field from driving a long loop.
MAX_DERIVED_LENGTH = 1024


def _need_length(length: int, what: str) -> None:
    if type(length) is int and 0 <= length <= MAX_DERIVED_LENGTH:
        return
    if not isinstance(length, int) or isinstance(length, bool) or not 0 <= length <= MAX_DERIVED_LENGTH:
        raise InvalidKeyMaterial(f"{what} length {length!r} is not between 0 and {MAX_DERIVED_LENGTH} bytes")


def _message_id_bytes(message_id: int) -> bytes:
    if not isinstance(message_id, int) or not 0 <= message_id <= 0xFFFFFFFF:
        raise InvalidKeyMaterial(f"message ID {message_id!r} does not fit in 4 bytes")
    return message_id.to_bytes(4, "big")


# --- SKEYID, one formula per authentication method (RFC 2409 section 5) ---------------------


def skeyid_preshared(hash_id: int, psk: bytes, ni_b: bytes, nr_b: bytes) -> bytes:
    """Pre-shared key authentication: SKEYID = prf(pre-shared-key, Ni_b | Nr_b) (RFC 2409 s5)."""
    return prf(hash_id, psk, ni_b + nr_b)


def nortel_psk_key(psk: bytes, user: bytes) -> bytes:
    """The key Nortel Contivity uses in place of the PSK in ``skeyid_preshared``.

    Contivity "group" authentication keys SKEYID with HMAC-SHA1(key=SHA1(PSK), data=user name)
    instead of the PSK itself, whatever hash was negotiated (the variant ike-scan's psk-crack
    implements with --nortel-user; no RFC describes it).
    """
    return hmac.digest(hashlib.sha1(psk).digest(), user, "sha1")


def skeyid_signature(hash_id: int, ni_b: bytes, nr_b: bytes, g_xy: bytes) -> bytes:
    """Signature authentication (DSS, RSA): SKEYID = prf(Ni_b | Nr_b, g^xy) (RFC 2409 s5)."""
    return prf(hash_id, ni_b + nr_b, g_xy)


def skeyid_public_key(hash_id: int, ni_b: bytes, nr_b: bytes, cky_i: bytes, cky_r: bytes) -> bytes:
    """Public key encryption authentication: SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R) (RFC 2409 s5)."""
    return prf(hash_id, hash_(hash_id, ni_b + nr_b), cky_i + cky_r)


# --- SKEYID_d, SKEYID_a, SKEYID_e and the phase 1 cipher key --------------------------------


@dataclass(frozen=True, slots=True)
class Phase1Keys:
    """Keying material of one ISAKMP SA."""

    skeyid: bytes
    skeyid_d: bytes  # derives phase 2 KEYMAT
    skeyid_a: bytes  # authenticates phase 2 / informational messages (HASH(1), ...)
    skeyid_e: bytes  # source of the phase 1 cipher key
    encryption_key: bytes  # the key the negotiated cipher uses (Appendix B expansion of SKEYID_e)


def expand_encryption_key(hash_id: int, skeyid_e: bytes, key_length: int) -> bytes:
    """The first ``key_length`` bytes of SKEYID_e, stretched when SKEYID_e is too short.

    RFC 2409 Appendix B: when SKEYID_e is shorter than the key the cipher needs,
    Ka = K1 | K2 | K3 | ..., K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1), and the key is the
    first bits of Ka ("0" is a single zero octet, as in racoon, strongSwan and Wireshark).
    """
    _need_length(key_length, "encryption key")
    if key_length <= len(skeyid_e):
        return skeyid_e[:key_length]
    blocks: list[bytes] = []
    block = prf(hash_id, skeyid_e, b"\x00")  # K1
    blocks.append(block)
    produced = len(block)
    while produced < key_length:  # bounded: key_length <= MAX_DERIVED_LENGTH, block >= 16 bytes
        block = prf(hash_id, skeyid_e, block)  # Kn = prf(SKEYID_e, Kn-1)
        blocks.append(block)
        produced += len(block)
    return b"".join(blocks)[:key_length]


def derive_phase1_keys(
    hash_id: int, skeyid: bytes, g_xy: bytes, cky_i: bytes, cky_r: bytes, key_length: int
) -> Phase1Keys:
    """SKEYID_d/a/e and the cipher key (``key_length`` bytes) from SKEYID (RFC 2409 s5, App B)."""
    return Phase1Keys(skeyid, *phase1_key_chain(hash_id, skeyid, g_xy, cky_i, cky_r, key_length))


def phase1_key_chain(
    hash_id: int, skeyid: bytes, g_xy: bytes, cky_i: bytes, cky_r: bytes, key_length: int
) -> tuple[bytes, bytes, bytes, bytes]:
    """(SKEYID_d, SKEYID_a, SKEYID_e, cipher key): ``derive_phase1_keys`` without its record."""
    _need_length(key_length, "encryption key")
    shared = g_xy + cky_i + cky_r
    # RFC 2409 section 5:
    #   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
    #   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
    #   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
    skeyid_d = prf(hash_id, skeyid, shared + b"\x00")
    skeyid_a = prf(hash_id, skeyid, b"".join((skeyid_d, shared, b"\x01")))
    skeyid_e = prf(hash_id, skeyid, b"".join((skeyid_a, shared, b"\x02")))
    return skeyid_d, skeyid_a, skeyid_e, expand_encryption_key(hash_id, skeyid_e, key_length)


# --- IVs (RFC 2409 Appendix B) ---------------------------------------------------------------


def _truncate_to_block(digest: bytes, block_size: int) -> bytes:
    if not isinstance(block_size, int) or not 0 < block_size <= len(digest):
        raise InvalidKeyMaterial(
            f"cipher block size {block_size!r} is larger than the {len(digest)}-byte hash output"
        )
    return digest[:block_size]


def phase1_iv(hash_id: int, g_xi: bytes, g_xr: bytes, block_size: int) -> bytes:
    """IV of the first encrypted phase 1 message: hash(g^xi | g^xr), cut to the block size (App B)."""
    return _truncate_to_block(hash_(hash_id, g_xi + g_xr), block_size)


def exchange_iv(hash_id: int, last_phase1_block: bytes, message_id: int, block_size: int) -> bytes:
    """IV of the first message of a phase 2 / informational exchange (RFC 2409 Appendix B).

    IV = hash(last phase 1 CBC output block | M-ID), cut to the block size; M-ID is the
    4-byte big-endian message ID of the new exchange.
    """
    return _truncate_to_block(hash_(hash_id, last_phase1_block + _message_id_bytes(message_id)), block_size)


# --- Quick mode KEYMAT (RFC 2409 section 5.5) ------------------------------------------------


def _spi_bytes(spi: bytes | int) -> bytes:
    if type(spi) is bytes:
        return spi
    if isinstance(spi, int) and not isinstance(spi, bool):
        if not 0 <= spi <= 0xFFFFFFFF:
            raise InvalidKeyMaterial(f"SPI {spi!r} does not fit in 4 bytes")
        return spi.to_bytes(4, "big")
    if isinstance(spi, bytes | bytearray | memoryview):
        return bytes(spi)
    raise InvalidKeyMaterial(f"SPI must be bytes or an int, not {type(spi).__name__}")


def quick_mode_keymat(
    hash_id: int,
    skeyid_d: bytes,
    protocol_id: int,
    spi: bytes | int,
    ni_b: bytes,
    nr_b: bytes,
    length: int,
    g_qm_xy: bytes | None = None,
) -> bytes:
    """``length`` bytes of KEYMAT for one IPsec SA (one direction, one protocol).

    RFC 2409 section 5.5:
      without PFS: KEYMAT = prf(SKEYID_d, protocol | SPI | Ni_b | Nr_b)
      with PFS:    KEYMAT = prf(SKEYID_d, g(qm)^xy | protocol | SPI | Ni_b | Nr_b)
    and when more material is needed, KEYMAT = K1 | K2 | K3 | ... with
      K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
      Kn = prf(SKEYID_d, K(n-1) | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
    ``protocol_id`` is the one-byte protocol of the proposal (2 AH, 3 ESP, 4 IPCOMP); ``spi``
    is the SPI of the SA being keyed: the one chosen by the receiving side (bytes, or an int
    written as 4 bytes big-endian). ``ni_b`` / ``nr_b`` are the quick mode nonces.
    """
    return keymat_from_seed(hash_id, skeyid_d, quick_mode_seed(protocol_id, spi, ni_b, nr_b, g_qm_xy), length)


def quick_mode_seed(
    protocol_id: int, spi: bytes | int, ni_b: bytes, nr_b: bytes, g_qm_xy: bytes | None = None
) -> bytes:
    """``[g(qm)^xy |] protocol | SPI | Ni_b | Nr_b``: what each KEYMAT block is the prf of (5.5)."""
    if not isinstance(protocol_id, int) or not 0 <= protocol_id <= 0xFF:
        raise InvalidKeyMaterial(f"protocol ID {protocol_id!r} does not fit in one byte")
    return b"".join((g_qm_xy or b"", _ONE_BYTE[protocol_id], _spi_bytes(spi), ni_b, nr_b))


_ONE_BYTE = [bytes((value,)) for value in range(256)]  # each byte value (bytes((n,)) is a class call)


def keymat_from_seed(hash_id: int, skeyid_d: bytes, seed: bytes, length: int) -> bytes:
    """The first ``length`` bytes of KEYMAT = K1 | K2 | ..., K1 = prf(SKEYID_d, seed),
    Kn = prf(SKEYID_d, K(n-1) | seed) (RFC 2409 section 5.5): a longer KEYMAT starts with a
    shorter one, so each SA needs only the blocks its keys take."""
    _need_length(length, "KEYMAT")
    block_size = digest_size(hash_id)
    if not length:
        return b""
    previous = prf(hash_id, skeyid_d, seed)  # K1
    if length <= block_size:  # one block: AES-128 + HMAC-SHA1 with SHA-256 and larger
        return previous[:length]
    blocks = [previous]
    for _ in range(-(-length // block_size) - 1):  # bounded by MAX_DERIVED_LENGTH / digest size
        previous = prf(hash_id, skeyid_d, previous + seed)
        blocks.append(previous)
    return b"".join(blocks)[:length]
