"""IKEv1 phase 1 encryption algorithms (all CBC): key sizes, block sizes, encrypt / decrypt.

Identifiers follow RFC 2409 Appendix A and the IANA "IKE Attributes / Encryption Algorithm"
registry. IKEv1 encrypts the message body after the ISAKMP header in CBC mode; the sender pads
it to whole blocks itself, so these functions neither add nor strip padding.

Key length (bits): ciphers with a variable key take the "Key Length" attribute (RFC 2409
Appendix A, class 14); when it is absent the default below applies: RFC 2451 s2.2 for
Blowfish and CAST (128 bits), RFC 3602 / RFC 4312 for AES and Camellia, where the attribute is
mandatory and 128 bits is what racoon and strongSwan assume when a peer leaves it out.

Not implementable: 4 RC5-R16-B64-CBC (not in cryptography). cryptography also offers SEED, but
SEED has no IKEv1 phase 1 identifier (only ESP transform 21, RFC 4196).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes

from ikedecode.ike.crypto_errors import CipherInputError, UnsupportedAlgorithm

__all__ = [
    "CIPHERS",
    "UNSUPPORTED_CIPHERS",
    "CipherAlgorithm",
    "CipherInputError",
    "block_size",
    "cbc_decrypt",
    "cbc_encrypt",
    "cipher_algorithm",
    "cipher_key_length",
]


def _single_des(key: bytes) -> BlockCipherAlgorithm:
    # Single DES is 3DES with K1 = K2 = K3 (EDE with equal keys collapses to one DES).
    return decrepit.TripleDES(key * 3)


@dataclass(frozen=True, slots=True)
class CipherAlgorithm:
    id: int
    name: str
    block_size: int  # bytes
    default_key_bits: int
    key_bits: frozenset[int]  # allowed key lengths in bits
    variable_key: bool  # takes the Key Length attribute
    rfc: str
    factory: Callable[[bytes], BlockCipherAlgorithm]  # key -> cryptography algorithm object


def _bits(low: int, high: int) -> frozenset[int]:
    return frozenset(range(low, high + 1, 8))


CIPHERS: dict[int, CipherAlgorithm] = {
    c.id: c
    for c in (
        CipherAlgorithm(1, "DES-CBC", 8, 64, frozenset({64}), False, "RFC 2405", _single_des),
        CipherAlgorithm(2, "IDEA-CBC", 8, 128, frozenset({128}), False, "RFC 2451", decrepit.IDEA),
        CipherAlgorithm(3, "Blowfish-CBC", 8, 128, _bits(40, 448), True, "RFC 2451", decrepit.Blowfish),
        CipherAlgorithm(5, "3DES-CBC", 8, 192, frozenset({192}), False, "RFC 2451", decrepit.TripleDES),
        CipherAlgorithm(6, "CAST-CBC", 8, 128, _bits(40, 128), True, "RFC 2451 / RFC 2144", decrepit.CAST5),
        CipherAlgorithm(7, "AES-CBC", 16, 128, frozenset({128, 192, 256}), True, "RFC 3602", algorithms.AES),
        CipherAlgorithm(
            8, "Camellia-CBC", 16, 128, frozenset({128, 192, 256}), True, "RFC 4312", decrepit.Camellia
        ),
    )
}

UNSUPPORTED_CIPHERS: dict[int, str] = {4: "RC5-R16-B64-CBC"}


def cipher_algorithm(cipher_id: int) -> CipherAlgorithm:
    """The table entry for an IKE encryption algorithm ID, or ``UnsupportedAlgorithm``."""
    if isinstance(cipher_id, int) and cipher_id in CIPHERS:
        return CIPHERS[cipher_id]
    if isinstance(cipher_id, int) and cipher_id in UNSUPPORTED_CIPHERS:
        raise UnsupportedAlgorithm(
            f"IKE encryption algorithm {cipher_id} ({UNSUPPORTED_CIPHERS[cipher_id]}) is not supported"
        )
    raise UnsupportedAlgorithm(f"unknown IKE encryption algorithm {cipher_id!r}")


def block_size(cipher_id: int) -> int:
    """Cipher block size in bytes (also the IV length)."""
    return cipher_algorithm(cipher_id).block_size


def cipher_key_length(cipher_id: int, key_length_attr_bits: int | None = None) -> int:
    """Key length in bytes for a cipher and its (optional) Key Length attribute in bits.

    Fixed-key ciphers accept the attribute only when it names their own size (some peers send
    it anyway); any other value, or a size the cipher does not allow, is ``CipherInputError``.
    """
    cipher = cipher_algorithm(cipher_id)
    if key_length_attr_bits is None:
        return cipher.default_key_bits // 8
    if key_length_attr_bits not in cipher.key_bits:
        allowed = sorted(cipher.key_bits)
        shown = (
            f"{allowed[0]}..{allowed[-1]} in steps of 8" if len(allowed) > 3 else ", ".join(map(str, allowed))
        )
        raise CipherInputError(
            f"key length {key_length_attr_bits!r} bits is not valid for {cipher.name} (allowed: {shown})"
        )
    return key_length_attr_bits // 8


def _checked(cipher_id: int, key: bytes, iv: bytes, data: bytes) -> CipherAlgorithm:
    cipher = cipher_algorithm(cipher_id)
    if len(key) * 8 not in cipher.key_bits:
        raise CipherInputError(f"{cipher.name} key of {len(key)} bytes is not a valid key length")
    if len(iv) != cipher.block_size:
        raise CipherInputError(f"{cipher.name} IV must be {cipher.block_size} bytes, got {len(iv)}")
    if len(data) % cipher.block_size:
        raise CipherInputError(
            f"{cipher.name} input of {len(data)} bytes is not whole {cipher.block_size}-byte blocks"
        )
    return cipher


def _cipher(cipher_id: int, key: bytes, iv: bytes, data: bytes) -> Cipher:
    cipher = _checked(cipher_id, key, iv, data)
    return Cipher(cipher.factory(bytes(key)), modes.CBC(bytes(iv)))


def cbc_decrypt(cipher_id: int, key: bytes, iv: bytes, data: bytes) -> bytes:
    """Decrypt whole CBC blocks; padding is left in place. The next IV is ``data[-block_size:]``.

    CBC decryption is P_i = D_K(C_i) XOR C_(i-1), with C_0 = IV (NIST SP 800-38A 6.2): the block
    decryptions do not depend on the IV, so one ECB decryptor per key serves every message of an
    IKE SA (an SA decrypts five or more messages with one key), and the chaining is one XOR.
    A key is checked once, when its decryptor is made; the IV and the data at every call.
    """
    found = _ECB_DECRYPTORS.get((cipher_id, key)) if type(key) is bytes and type(cipher_id) is int else None
    if found is not None and len(iv) == found[0] and not len(data) % found[0]:
        _ECB_DECRYPTORS.move_to_end((cipher_id, key))
        block, block_decrypt = found
    else:
        block = _checked(cipher_id, key, iv, data).block_size  # raises what is wrong
        block_decrypt = _block_decryptor(cipher_id, bytes(key))
    if not data:
        return b""
    blocks = block_decrypt(data)
    chained = bytes(iv) + bytes(data[:-block])
    return (int.from_bytes(blocks, "big") ^ int.from_bytes(chained, "big")).to_bytes(len(blocks), "big")


_ECB_DECRYPTORS: OrderedDict[tuple[int, bytes], tuple[int, Callable[[bytes], bytes]]] = OrderedDict()
_MAX_ECB_DECRYPTORS = 64  # keys kept: the IKE SAs being decoded at once, not every key of a capture
_ECB = modes.ECB()  # a mode without state (no IV): one serves every key


def _block_decryptor(cipher_id: int, key: bytes) -> Callable[[bytes], bytes]:
    """The block decryption of ``key`` (ECB over whole blocks), kept with the block size for the
    last few keys used; ``key`` has been checked (``_checked``)."""
    found = _ECB_DECRYPTORS.get((cipher_id, key))
    if found is not None:
        _ECB_DECRYPTORS.move_to_end((cipher_id, key))
        return found[1]
    cipher = cipher_algorithm(cipher_id)
    update = Cipher(cipher.factory(key), _ECB).decryptor().update
    _ECB_DECRYPTORS[(cipher_id, key)] = (cipher.block_size, update)
    if len(_ECB_DECRYPTORS) > _MAX_ECB_DECRYPTORS:
        _ECB_DECRYPTORS.popitem(last=False)
    return update


def cbc_encrypt(cipher_id: int, key: bytes, iv: bytes, data: bytes) -> bytes:
    """Encrypt whole CBC blocks (the caller pads); used by tests and benchmarks."""
    encryptor = _cipher(cipher_id, key, iv, data).encryptor()
    return encryptor.update(data) + encryptor.finalize()
