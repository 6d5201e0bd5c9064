"""Open one IKEv2 Encrypted payload (SK, RFC 7296 section 3.14) or Encrypted Fragment (SKF,
RFC 7383 section 2.5), and reassemble fragments.

Layout after the generic payload header (4 bytes; SKF adds Fragment Number and Total Fragments,
2 bytes each)::

    IV | ciphertext( inner payloads | padding | pad length ) | ICV

* Separate integrity (CBC, CTR): the ICV is the INTEG transform's MAC, keyed with SK_a of the
  sender, over the message from the first byte of the IKE header to the last byte of the
  ciphertext (RFC 7296 section 3.14). It is checked before decrypting.
* AEAD (RFC 5282 section 5.1 for GCM and CCM, RFC 7634 section 3 for ChaCha20-Poly1305, RFC 7383
  section 2.5 for SKF): nonce = salt | IV (salt = last 4 bytes of SK_e, 3 for CCM), associated data
  = the message from the IKE header to the end of the SK / SKF header (excluding the IV), tag =
  the ICV.
* CTR (RFC 5930 section 2, with RFC 3686's counter block): nonce(4, end of SK_e) | IV(8) | 00000001.
* The sender's keys are SK_ei / SK_ai when the message's Initiator flag is set, SK_er / SK_ar
  otherwise (RFC 7296 section 2.14); ``Ikev2Keys.sender_keys`` picks them.

Padding contents are not checked (RFC 7296 section 3.14 says the receiver MUST NOT); only the
pad length must fit. Nothing here raises for bad input: every outcome is an ``OpenedPayload``
whose ``failure`` names what went wrong.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305

from ikedecode.ike.crypto_errors import IkeCryptoError
from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.v2.prf import integrity_checksum
from ikedecode.ike.v2.transforms import ENCR, INTEG, CipherMode, EncrParams, MacKind

# module names for the enum members read per message (an enum member read costs ~1k instructions
# on Python 3.11, a module name ~0.1k)
_CCM, _CHACHA20_POLY1305, _CTR = CipherMode.CCM, CipherMode.CHACHA20_POLY1305, CipherMode.CTR
_HMAC = MacKind.HMAC

__all__ = [
    "IKE_HEADER_SIZE",
    "OpenFailure",
    "OpenedPayload",
    "Reassembled",
    "open_encrypted",
    "open_sk",
    "open_skf",
    "reassemble_fragments",
]

IKE_HEADER_SIZE = HEADER_LENGTH  # RFC 7296 3.1
_SK_HEADER = 4
_SKF_HEADER = 8


class OpenFailure(StrEnum):
    TRUNCATED = "truncated"  # shorter than its headers, lengths or IV + pad length + ICV need
    MALFORMED = "malformed"  # impossible field values (fragment numbers, CBC data not whole blocks)
    ICV_MISMATCH = "icv-mismatch"  # integrity checksum or AEAD tag wrong: wrong keys or damage
    BAD_PADDING = "bad-padding"  # pad length longer than the decrypted data
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    BAD_KEY = "bad-key"  # SK_e / SK_a of a length the algorithms cannot use


class OpenedPayload(NamedTuple):
    """What opening one SK / SKF payload gave.

    ``plaintext`` is the inner payload chain (padding and pad length removed) and
    ``next_payload`` the type of its first payload, from the SK header (for SKF: only fragment 1
    carries it, the others have 0). ``integrity_verified`` is True only when the ICV / AEAD tag
    was checked and matched. ``end`` is the offset just past the payload in the message.
    A NamedTuple: one is made for every encrypted message and never changed.
    """

    failure: OpenFailure | None
    detail: str
    next_payload: int = 0
    plaintext: bytes = b""
    integrity_verified: bool = False
    iv: bytes = b""
    pad_length: int = 0
    fragment_number: int | None = None
    total_fragments: int | None = None
    end: int = 0

    @property
    def ok(self) -> bool:
        return self.failure is None

    def __repr__(self) -> str:  # the plaintext is decrypted data: kept out, as the fields' repr
        return (
            f"OpenedPayload(failure={self.failure!r}, detail={self.detail!r}, "
            f"next_payload={self.next_payload}, integrity_verified={self.integrity_verified}, "
            f"iv={self.iv!r}, pad_length={self.pad_length}, "
            f"fragment_number={self.fragment_number}, total_fragments={self.total_fragments}, end={self.end})"
        )


def _single_des(key: bytes) -> BlockCipherAlgorithm:
    return decrepit.TripleDES(key * 3)  # EDE with K1 = K2 = K3 is single DES


_BLOCK_CIPHERS: dict[str, Callable[[bytes], BlockCipherAlgorithm]] = {
    "aes": algorithms.AES,
    "3des": decrepit.TripleDES,
    "des": _single_des,
    "camellia": decrepit.Camellia,
    "cast5": decrepit.CAST5,
    "blowfish": decrepit.Blowfish,
}


def _split_key(encr: EncrParams, sk_e: bytes) -> tuple[bytes, bytes] | None:
    key_size = len(sk_e) - encr.salt_size
    if key_size not in encr.key_sizes:
        return None
    return bytes(sk_e[:key_size]), bytes(sk_e[key_size:])


def _decrypt_aead(encr: EncrParams, key: bytes, salt: bytes, iv: bytes, data: bytes, aad: bytes) -> bytes:
    """Ciphertext | tag -> plaintext; raises InvalidTag."""
    nonce = salt + iv
    if encr.mode is _CCM:
        return AESCCM(key, tag_length=encr.icv_size).decrypt(nonce, data, aad)
    if encr.mode is _CHACHA20_POLY1305:
        return ChaCha20Poly1305(key).decrypt(nonce, data, aad)
    # GCM: the one-shot AESGCM wants a 16-byte tag; the mode object takes 8 and 12 too
    split = len(data) - encr.icv_size
    context = Cipher(
        algorithms.AES(key), modes.GCM(nonce, data[split:], min_tag_length=encr.icv_size)
    ).decryptor()
    context.authenticate_additional_data(aad)
    plaintext = context.update(data[:split])
    context.finalize()
    return plaintext


def _decrypt_plain(encr: EncrParams, key: bytes, salt: bytes, iv: bytes, data: bytes) -> bytes:
    if encr.mode is _CTR:
        counter_block = salt + iv + b"\x00\x00\x00\x01"
        return Cipher(algorithms.AES(key), modes.CTR(counter_block)).decryptor().update(data)
    cipher = _BLOCK_CIPHERS[encr.primitive](key)
    context = Cipher(cipher, modes.CBC(iv)).decryptor()
    return context.update(data) + context.finalize()


def open_encrypted(
    message: bytes,
    offset: int,
    fragment: bool,
    encr_id: int,
    sk_e: bytes,
    integ_id: int | None,
    sk_a: bytes,
    check_icv: bool = True,
) -> OpenedPayload:
    """``open_sk`` (``fragment`` False) or ``open_skf`` with positional arguments (the engine's call)."""
    message = bytes(message)
    header = _SKF_HEADER if fragment else _SK_HEADER
    size = len(message)
    if not isinstance(offset, int) or offset < 0 or offset + header > size:
        return OpenedPayload(OpenFailure.TRUNCATED, "the message ends before the encrypted payload's header")
    next_payload = message[offset]
    length = int.from_bytes(message[offset + 2 : offset + 4], "big")
    end = offset + length
    seen = min(end, size)  # ``end`` of every result past this point
    number = total = None
    if fragment:
        number = int.from_bytes(message[offset + 4 : offset + 6], "big")
        total = int.from_bytes(message[offset + 6 : offset + 8], "big")
        if not 1 <= number <= total:
            why = f"fragment number {number} of {total} is impossible"
            return OpenedPayload(
                OpenFailure.MALFORMED, why, next_payload, b"", False, b"", 0, number, total, seen
            )
    if length < header or end > size:
        why = f"payload length {length} does not fit the {size - offset} bytes left in the message"
        return OpenedPayload(
            OpenFailure.TRUNCATED, why, next_payload, b"", False, b"", 0, number, total, seen
        )
    encr = ENCR.get(encr_id) if isinstance(encr_id, int) else None
    failure: OpenFailure | None = None
    why = ""
    integ = None
    if encr is None or not encr.ike_sa:
        failure, why = OpenFailure.UNSUPPORTED_ALGORITHM, f"encryption transform {encr_id!r}"
    elif not encr.aead:
        integ = INTEG.get(integ_id) if isinstance(integ_id, int) else None
        if integ is None:
            failure, why = OpenFailure.UNSUPPORTED_ALGORITHM, f"integrity transform {integ_id!r}"
    if failure is None:
        assert encr is not None
        keys = _split_key(encr, sk_e)
        if keys is None:
            failure, why = OpenFailure.BAD_KEY, f"SK_e of {len(sk_e)} bytes does not fit transform {encr_id}"
        elif integ is not None and check_icv and len(sk_a) != integ.key_size:
            failure, why = OpenFailure.BAD_KEY, f"SK_a of {len(sk_a)} bytes does not fit transform {integ_id}"
    if failure is not None:
        return OpenedPayload(failure, why, next_payload, b"", False, b"", 0, number, total, seen)
    assert encr is not None and keys is not None
    key, salt = keys
    icv_size = encr.icv_size if integ is None else integ.icv_size
    data_start = offset + header
    iv = message[data_start : data_start + encr.iv_size]
    ciphertext = message[data_start + encr.iv_size : end - icv_size]
    if end - data_start < encr.iv_size + icv_size + 1:
        failure, why = OpenFailure.TRUNCATED, f"{end - data_start} bytes cannot hold IV, pad length and ICV"
    elif len(ciphertext) % encr.block_size:
        failure, why = OpenFailure.MALFORMED, "ciphertext is not whole cipher blocks"
    else:
        try:
            if integ is None:
                data = message[data_start + encr.iv_size : end]
                padded = _decrypt_aead(encr, key, salt, iv, data, message[:data_start])
            else:
                if check_icv:
                    signed = message[: end - icv_size]  # RFC 7296 3.14: from the IKE header on
                    if integ.kind is _HMAC:  # the key's length was checked above
                        expected = hmac.digest(bytes(sk_a), signed, integ.hash_name)[:icv_size]
                    else:
                        expected = integrity_checksum(integ.transform_id, bytes(sk_a), signed)
                    if not hmac.compare_digest(expected, message[end - icv_size : end]):
                        failure, why = OpenFailure.ICV_MISMATCH, "integrity checksum does not match"
                if failure is None:
                    padded = _decrypt_plain(encr, key, salt, iv, ciphertext)
        except InvalidTag:
            failure, why = OpenFailure.ICV_MISMATCH, "AEAD authentication tag does not match"
        except (ValueError, IkeCryptoError) as error:  # a key size the backend refuses
            failure, why = OpenFailure.BAD_KEY, str(error)
    if failure is not None:
        return OpenedPayload(failure, why, next_payload, b"", False, iv, 0, number, total, seen)
    verified = check_icv or integ is None
    pad_length = padded[-1]
    if pad_length + 1 > len(padded):
        why = f"pad length {pad_length} exceeds the {len(padded) - 1} decrypted bytes"
        return OpenedPayload(
            OpenFailure.BAD_PADDING, why, next_payload, b"", verified, iv, 0, number, total, seen
        )
    plaintext = padded[: len(padded) - pad_length - 1]
    return OpenedPayload(None, "", next_payload, plaintext, verified, iv, pad_length, number, total, seen)


def open_sk(
    message: bytes,
    offset: int,
    *,
    encr_id: int,
    sk_e: bytes,
    integ_id: int | None = None,
    sk_a: bytes = b"",
    check_icv: bool = True,
) -> OpenedPayload:
    """Check and decrypt the SK payload that starts at ``offset`` of the whole IKE ``message``.

    ``sk_e`` / ``sk_a`` are the sender's keys (``Ikev2Keys.sender_keys(initiator_flag)``); SK_e
    includes the salt of CTR / GCM / CCM / ChaCha20-Poly1305, its length gives the key size.
    ``integ_id`` is ignored for AEAD ciphers. ``check_icv=False`` (non-AEAD only) skips the ICV
    as tcpdump does with its ``-E`` IKEv2 secrets: the result is never ``integrity_verified``.
    """
    return open_encrypted(message, offset, False, encr_id, sk_e, integ_id, sk_a, check_icv)


def open_skf(
    message: bytes, offset: int, *, encr_id: int, sk_e: bytes, integ_id: int | None = None, sk_a: bytes = b""
) -> OpenedPayload:
    """Like ``open_sk`` for one Encrypted Fragment payload (RFC 7383 section 2.5): each fragment
    carries its own IV and ICV, and its fragment number / total are in the result."""
    return open_encrypted(message, offset, True, encr_id, sk_e, integ_id, sk_a)


@dataclass(frozen=True, slots=True)
class Reassembled:
    """The inner payload chain of a fragmented message (RFC 7383 section 2.6).

    ``complete`` when fragments 1..total were all opened with their ICVs verified;
    ``missing`` lists absent fragment numbers, ``failed`` those present but not opened.
    """

    complete: bool
    next_payload: int
    total_fragments: int
    plaintext: bytes = field(repr=False)
    missing: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()

    @property
    def integrity_verified(self) -> bool:
        return self.complete


def reassemble_fragments(fragments: Iterable[OpenedPayload]) -> Reassembled:
    """Join opened SKF fragments of one message in fragment-number order.

    Fragments of the largest Total Fragments seen win (RFC 7383 section 2.6: a retransmission
    fragmented differently has a larger total; older ones are discarded); among duplicates the
    first verified one counts. The next payload type comes from fragment 1.
    """
    pieces = [f for f in fragments if f.fragment_number is not None and f.total_fragments]
    if not pieces:
        return Reassembled(False, 0, 0, b"")
    total = max(f.total_fragments or 0 for f in pieces)
    chosen: dict[int, OpenedPayload] = {}
    for piece in pieces:
        number = piece.fragment_number or 0
        if piece.total_fragments != total:
            continue
        held = chosen.get(number)
        if held is None or (not held.ok and piece.ok):
            chosen[number] = piece
    missing = tuple(n for n in range(1, total + 1) if n not in chosen)
    failed = tuple(n for n, piece in sorted(chosen.items()) if not piece.ok)
    complete = not missing and not failed
    first = chosen.get(1)
    plaintext = b"".join(chosen[n].plaintext for n in range(1, total + 1)) if complete else b""
    return Reassembled(
        complete, first.next_payload if first is not None else 0, total, plaintext, missing, failed
    )
