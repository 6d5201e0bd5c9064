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
from threading import get_ident

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

    CBC decryption is P_i = D_K(C_i) XOR C_(i-1), with C_0 = IV (NIST SP 800-38A 6.2). One CBC
    decryptor per key (and thread) serves every message of an IKE SA (five or more with one key):
    it goes on from the last block it decrypted, which is the IV of the next message of the same
    exchange (RFC 2409 Appendix B); for any other IV only the first block is corrected, by XOR
    with (that last block XOR the IV). A key is checked once, when its decryptor is made; the IV
    and the data at every call.
    """
    cache_key = (cipher_id, key, get_ident())
    found = _CBC_CHAINS.get(cache_key) if type(key) is bytes and type(cipher_id) is int else None
    if found is not None and len(iv) == found.block_size and not len(data) % found.block_size:
        _CBC_CHAINS.move_to_end(cache_key)
    else:
        _checked(cipher_id, key, iv, data)  # raises what is wrong
        found = _cbc_chain(cipher_id, bytes(key))
    if not data:
        return b""
    block = found.block_size
    plaintext = found.update(data)
    last, found.last = found.last, data[-block:] if type(data) is bytes else bytes(data[-block:])
    if iv == last:  # the decryptor chained on this IV itself
        return plaintext
    first = int.from_bytes(plaintext[:block], "big") ^ int.from_bytes(last, "big") ^ int.from_bytes(iv, "big")
    return first.to_bytes(block, "big") + plaintext[block:]


class _CbcChain:
    """A key's CBC decryptor (made with a zero IV) and the ciphertext block it chains on now."""

    __slots__ = ("block_size", "last", "update")

    def __init__(self, block_size: int, update: Callable[[bytes], bytes]) -> None:
        self.block_size = block_size
        self.update = update
        self.last = bytes(block_size)


# (cipher ID, key, thread) -> its decryptor, the most recently used last: a decryptor has state
# (the block it chains on), so threads do not share one.
_CBC_CHAINS: OrderedDict[tuple[int, bytes, int], _CbcChain] = OrderedDict()
_MAX_CBC_CHAINS = 64  # keys kept: the IKE SAs being decoded at once, not every key of a capture
_ZERO_IV_MODES = {block: modes.CBC(bytes(block)) for block in (8, 16)}  # a mode only holds its IV


def _cbc_chain(cipher_id: int, key: bytes) -> _CbcChain:
    """The decryptor of ``key`` (checked by ``_checked``) for this thread, made when not kept."""
    cache_key = (cipher_id, key, get_ident())
    found = _CBC_CHAINS.get(cache_key)
    if found is not None:
        _CBC_CHAINS.move_to_end(cache_key)
        return found
    cipher = cipher_algorithm(cipher_id)
    block = cipher.block_size
    mode = _ZERO_IV_MODES.get(block) or modes.CBC(bytes(block))
    found = _CBC_CHAINS[cache_key] = _CbcChain(block, Cipher(cipher.factory(key), mode).decryptor().update)
    if len(_CBC_CHAINS) > _MAX_CBC_CHAINS:
        _CBC_CHAINS.popitem(last=False)
    return found


def cbc_encrypt(cipher_id: int, key: bytes, iv: bytes, data: bytes) -> bytes:
    """Encrypt whole CBC blocks (the caller pads); used by tests and benchmarks."""
    encryptor = _cipher(cipher_id, key, iv, data).encryptor()
    return encryptor.update(data) + encryptor.finalize()
