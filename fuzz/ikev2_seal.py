"""Seal an IKEv2 Encrypted payload (SK, RFC 7296 section 3.14) or Encrypted Fragment (SKF, RFC 7383
section 2.5): the encrypting side of ``ikedecode.ike.v2.protection``, which only opens.

ikedecode never encrypts IKEv2; the fuzz targets need to (a mutated *plaintext* sealed again with
the SA's real keys is the only way mutations reach the decoders behind the ICV check), and so does
the benchmark's capture generator. Written against cryptography's primitives directly, from the
RFCs: CBC (RFC 7296 3.14) and CTR (RFC 5930) with a separate ICV over header .. ciphertext; GCM and
CCM (RFC 5282 5.1) and ChaCha20-Poly1305 (RFC 7634 3) with nonce = salt | IV and associated data =
the message up to the end of the SK / SKF header.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305

from ikedecode.ike.v2.prf import integrity_checksum
from ikedecode.ike.v2.transforms import ENCR, INTEG, CipherMode

LENGTH_FIELD = slice(24, 28)  # IKE header: length of the whole message
SK_LENGTH_FIELD = slice(2, 4)  # generic payload header: payload length

_BLOCK_CIPHERS: dict[str, Callable[[bytes], BlockCipherAlgorithm]] = {
    "aes": algorithms.AES,
    "3des": decrepit.TripleDES,
    "des": lambda key: decrepit.TripleDES(key * 3),
    "camellia": decrepit.Camellia,
    "cast5": decrepit.CAST5,
    "blowfish": decrepit.Blowfish,
}


def can_seal(encr_id: int, integ_id: int | None) -> bool:
    encr = ENCR.get(encr_id)
    if encr is None or not encr.ike_sa:
        return False
    if encr.mode is CipherMode.CBC:
        return encr.primitive in _BLOCK_CIPHERS and integ_id in INTEG
    return encr.aead or (encr.mode is CipherMode.CTR and integ_id in INTEG)


def pad(encr_id: int, inner: bytes, extra: int = 0) -> bytes:
    """Inner payloads | padding | pad length, a whole number of cipher blocks (RFC 7296 3.14)."""
    block = ENCR[encr_id].block_size
    padding = extra + (-(len(inner) + extra + 1)) % block
    return inner + bytes(padding) + bytes([padding])


def icv_size(encr_id: int, integ_id: int | None) -> int:
    encr = ENCR[encr_id]
    return encr.icv_size if encr.aead or integ_id is None else INTEG[integ_id].icv_size


def seal(
    head: bytes,
    padded: bytes,
    *,
    encr_id: int,
    sk_e: bytes,
    integ_id: int | None,
    sk_a: bytes,
    iv: bytes,
    fix_lengths: bool = True,
    sk_offset: int | None = None,
) -> bytes:
    """The whole message: ``head`` (IKE header, clear payloads, the SK / SKF payload's own header)
    then IV, the encrypted ``padded`` plaintext and the ICV.

    With ``fix_lengths`` the message length (IKE header) and the payload length (the generic
    header of the SK / SKF payload) are
    set to what was sealed; else they stay as given, for hostile input. The SK / SKF payload starts
    at ``sk_offset`` (found by walking the clear chain when not given). ``padded`` must be whole
    blocks for CBC (``pad``).
    """
    encr = ENCR[encr_id]
    tag_size = icv_size(encr_id, integ_id)
    key, salt = sk_e[: len(sk_e) - encr.salt_size], sk_e[len(sk_e) - encr.salt_size :]
    framed = bytearray(head)
    if fix_lengths and len(framed) >= 28:
        sk_offset = _sk_offset(framed) if sk_offset is None else sk_offset
        if sk_offset is not None and 0 <= sk_offset <= len(framed) - 4:
            length = len(framed) - sk_offset + len(iv) + len(padded) + tag_size
            framed[sk_offset + 2 : sk_offset + 4] = min(length, 0xFFFF).to_bytes(2, "big")
        framed[LENGTH_FIELD] = (len(framed) + len(iv) + len(padded) + tag_size).to_bytes(4, "big")
    aad = bytes(framed)
    if encr.mode is CipherMode.GCM:
        context = Cipher(algorithms.AES(key), modes.GCM(salt + iv)).encryptor()
        context.authenticate_additional_data(aad)
        sealed = context.update(padded) + context.finalize()
        return aad + iv + sealed + context.tag[:tag_size]
    if encr.mode is CipherMode.CCM:
        return aad + iv + AESCCM(key, tag_length=tag_size).encrypt(salt + iv, padded, aad)
    if encr.mode is CipherMode.CHACHA20_POLY1305:
        return aad + iv + ChaCha20Poly1305(key).encrypt(salt + iv, padded, aad)
    if encr.mode is CipherMode.CTR:
        counter = salt + iv + b"\x00\x00\x00\x01"
        ciphertext = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor().update(padded)
    else:
        ciphertext = Cipher(_BLOCK_CIPHERS[encr.primitive](key), modes.CBC(iv)).encryptor().update(padded)
    signed = aad + iv + ciphertext
    assert integ_id is not None
    return signed + integrity_checksum(integ_id, sk_a, signed)


_SK_HEADERS = {46: 4, 53: 8}  # SK, SKF: generic header (+ fragment number and total for SKF)


def _sk_offset(head: bytes | bytearray) -> int | None:
    """Where the SK / SKF payload starts in ``head``: follow the clear chain from the IKE header."""
    kind, at = head[16], 28
    while at + 4 <= len(head):
        if kind in _SK_HEADERS:
            return at if at + _SK_HEADERS[kind] == len(head) else None
        kind, length = head[at], int.from_bytes(head[at + 2 : at + 4], "big")
        if length < 4:
            return None
        at += length
    return None
