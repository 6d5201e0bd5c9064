"""Decrypting a protected IKEv1 message and judging whether the result makes sense.

A CBC decryption with the wrong key or IV does not fail by itself: it yields noise. The test of a
key is whether the plaintext is a well-formed payload chain, starting with the payload type the
header announces and ending, padding aside, at the end of the message (RFC 2408 section 3.1;
padding rules RFC 2409 Appendix B).
"""

from __future__ import annotations

from typing import NamedTuple

from ikedecode.ike import ciphers
from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.registries import NAT_T_DRAFT_PAYLOAD_TYPES
from ikedecode.ike.v1.payloads import PayloadChain, UnknownPayload, parse_payloads

# Padding may be up to 255 bytes by some implementations; more is not plausible.
MAX_PADDING = 255


class Decryption(NamedTuple):
    plaintext: bytes
    chain: PayloadChain
    last_block: bytes  # last ciphertext block: the next IV in this chain (RFC 2409 Appendix B)
    padding: int  # bytes after the last payload


# ``Decryption(...)`` through ``tuple.__new__``: a NamedTuple's own constructor is a Python function,
# and every encrypted message makes one
_tuple_new = tuple.__new__


def ciphertext_of(message: bytes, length: int) -> bytes:
    """The encrypted part of an ISAKMP message: everything after the header, up to its length."""
    size = len(message)  # (a conditional, not min(): a builtin call per encrypted message)
    return message[HEADER_LENGTH : length if HEADER_LENGTH <= length <= size else size]


def block_size_of(cipher_id: int) -> int | str:
    """The block size of an IKEv1 cipher, or why it has none here (``UnsupportedAlgorithm``'s words);
    the usual ciphers straight from the table."""
    cipher = ciphers.CIPHERS.get(cipher_id) if type(cipher_id) is int else None
    if cipher is not None:
        return cipher.block_size
    try:
        return ciphers.block_size(cipher_id)
    except UnsupportedAlgorithm as exc:
        return str(exc)


def try_decrypt(
    cipher_id: int, key: bytes, iv: bytes, ciphertext: bytes, first_payload: int
) -> Decryption | str:
    """Decrypt and check the plaintext; a string says why it is not plausible."""
    block = block_size_of(cipher_id)
    if isinstance(block, str):
        return block
    if not ciphertext:
        return "no encrypted data after the header"
    if len(ciphertext) % block:
        return f"encrypted part is {len(ciphertext)} bytes, not a multiple of the {block}-byte cipher block"
    return open_blocks(cipher_id, key, iv, ciphertext, first_payload, block)


def open_blocks(
    cipher_id: int, key: bytes, iv: bytes, ciphertext: bytes, first_payload: int, block: int
) -> Decryption | str:
    """``try_decrypt`` of ``ciphertext`` already known to be whole blocks (``block`` bytes each,
    at least one) of a cipher in ``ciphers.CIPHERS``."""
    try:
        plaintext = ciphers.cbc_decrypt(cipher_id, key, iv, ciphertext)
    except (UnsupportedAlgorithm, ValueError) as exc:
        return str(exc)
    if first_payload == 0:
        return "header announces no payload"
    # After decryption, bytes past the last payload are padding (RFC 2409 Appendix B).
    chain = parse_payloads(first_payload, plaintext, HEADER_LENGTH, padded=True)
    if chain.problems:
        return "decrypted data is not a payload chain: " + chain.problems[0]
    payloads = chain.payloads
    if not payloads:
        return "decrypted data holds no payload"
    for p in payloads:
        if type(p) is UnknownPayload and p.type not in NAT_T_DRAFT_PAYLOAD_TYPES:
            # (15 and 16 are NAT-D/NAT-OA in an SA with draft NAT-T numbers: ike/v1/nat_t_numbers.py)
            return "decrypted data holds an unknown payload type"
    padding = len(chain.trailing)
    if padding > MAX_PADDING + block:
        return f"implausible padding of {padding} bytes"
    return _tuple_new(Decryption, (plaintext, chain, ciphertext[-block:], padding))
