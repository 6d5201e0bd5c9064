"""SK / SKF opening beyond the reference captures: the RFC 7634 IKEv2 example, ciphers and MACs no
public capture uses, fragment reassembly, and hostile input (never an exception).

Messages here are sealed by a small sealer written against cryptography's primitives directly
(``seal`` below); only the RFC 7634 Appendix B message is an outside known answer.
"""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from ikedecode.ike.v2.prf import integrity_checksum
from ikedecode.ike.v2.protection import OpenFailure, open_sk, open_skf, reassemble_fragments
from ikedecode.ike.v2.transforms import ENCR, INTEG

NOTIFY = 41

# RFC 7634 Appendix B: INFORMATIONAL request, SPIs c0..c7 / d0..d7, message ID 9, one Notify
# SET_WINDOW_SIZE (16385) = 10, key 80..9f, salt a0a1a2a3, IV 1011..17 (the message as strongSwan's
# test_message_chapoly.c asserts it).
RFC7634_MESSAGE = bytes.fromhex(
    "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e20250000000009000000452900002910111213141516176103"
    "94701f8d017f7c129248896b71bfe25236efd7cdc670669063 15b2".replace(" ", "")
)
RFC7634_SK_E = bytes(range(0x80, 0xA0)) + bytes.fromhex("a0a1a2a3")


def test_chacha20_poly1305_opens_the_rfc7634_appendix_b_ikev2_example():
    result = open_sk(RFC7634_MESSAGE, 28, encr_id=28, sk_e=RFC7634_SK_E)
    assert result.ok and result.integrity_verified
    assert result.next_payload == NOTIFY and result.pad_length == 0
    assert result.plaintext.hex() == "0000000c00004001" + "0000000a"
    assert result.iv.hex() == "1011121314151617"
    damaged = RFC7634_MESSAGE[:-1] + bytes([RFC7634_MESSAGE[-1] ^ 1])
    assert open_sk(damaged, 28, encr_id=28, sk_e=RFC7634_SK_E).failure is OpenFailure.ICV_MISMATCH


def _block_cipher(primitive, key):
    return {"aes": algorithms.AES, "3des": decrepit.TripleDES, "camellia": decrepit.Camellia}[primitive](key)


def seal(encr_id, sk_e, integ_id, sk_a, inner, *, next_payload=NOTIFY, fragment=None, pad=0, iv=None):
    """A whole IKEv2 message (INFORMATIONAL, I flag) whose only payload is SK (or SKF with
    ``fragment`` = (number, total))."""
    encr = ENCR[encr_id]
    icv_size = encr.icv_size if encr.aead else INTEG[integ_id].icv_size
    iv = iv if iv is not None else bytes(range(1, encr.iv_size + 1))
    body = inner + bytes(pad)
    body += bytes((-(len(body) + 1)) % encr.block_size)
    plaintext = body + bytes([len(body) - len(inner)])
    head_size = 8 if fragment else 4
    length = head_size + len(iv) + len(plaintext) + icv_size
    header = b"I" * 8 + b"R" * 8 + bytes([53 if fragment else 46, 0x20, 37, 0x08]) + (1).to_bytes(4, "big")
    header += (28 + length).to_bytes(4, "big")
    payload_head = bytes([next_payload, 0]) + length.to_bytes(2, "big")
    if fragment:
        payload_head += fragment[0].to_bytes(2, "big") + fragment[1].to_bytes(2, "big")
    aad = header + payload_head
    key, salt = sk_e[: len(sk_e) - encr.salt_size], sk_e[len(sk_e) - encr.salt_size :]
    if encr.mode == "gcm":
        sealed = Cipher(algorithms.AES(key), modes.GCM(salt + iv)).encryptor()
        sealed.authenticate_additional_data(aad)
        ct = sealed.update(plaintext) + sealed.finalize()
        return aad + iv + ct + sealed.tag[:icv_size]
    if encr.mode == "ccm":
        return aad + iv + AESCCM(key, tag_length=icv_size).encrypt(salt + iv, plaintext, aad)
    if encr.mode == "chacha20-poly1305":
        return aad + iv + ChaCha20Poly1305(key).encrypt(salt + iv, plaintext, aad)
    if encr.mode == "ctr":
        ct = Cipher(algorithms.AES(key), modes.CTR(salt + iv + b"\0\0\0\1")).encryptor().update(plaintext)
    else:
        ct = Cipher(_block_cipher(encr.primitive, key), modes.CBC(iv)).encryptor().update(plaintext)
    signed = aad + iv + ct
    return signed + integrity_checksum(integ_id, sk_a, signed)


SUITES = [  # encr, key+salt size, integ (None for AEAD)
    (3, 24, 1),  # 3DES + HMAC_MD5_96
    (12, 16, 5),  # AES-CBC-128 + AES_XCBC_96
    (12, 32, 8),  # AES-CBC-256 + AES_CMAC_96
    (23, 16, 6),  # CAMELLIA-CBC-128 + HMAC_MD5_128
    (23, 32, 13),  # CAMELLIA-CBC-256 + HMAC_SHA2_384_192
    (13, 20, 2),  # AES-CTR-128 + HMAC_SHA1_96
    (14, 19, None),  # AES-CCM-8 (128-bit key + 3-byte salt)
    (15, 27, None),  # AES-CCM-12 (192)
    (18, 20, None),  # AES-GCM-8
    (19, 28, None),  # AES-GCM-12
    (20, 36, None),  # AES-GCM-16
    (28, 36, None),  # ChaCha20-Poly1305
]


@pytest.mark.parametrize(("encr_id", "e_size", "integ_id"), SUITES)
def test_each_cipher_and_mac_opens_what_it_sealed_and_rejects_a_flipped_bit(encr_id, e_size, integ_id):
    sk_e = bytes(range(7, 7 + e_size))
    sk_a = bytes(range(50, 50 + INTEG[integ_id].key_size)) if integ_id else b""
    inner = b"\x00\x00\x00\x0c\x00\x00\x40\x01\x00\x00\x00\x0a" * 3
    message = seal(encr_id, sk_e, integ_id, sk_a, inner, pad=5)
    result = open_sk(message, 28, encr_id=encr_id, sk_e=sk_e, integ_id=integ_id, sk_a=sk_a)
    assert result.ok and result.integrity_verified and result.plaintext == inner
    assert result.next_payload == NOTIFY and result.end == len(message)
    flipped = bytearray(message)
    flipped[-ENCR[encr_id].icv_size - 3 if integ_id is None else -INTEG[integ_id].icv_size - 3] ^= 0x40
    bad = open_sk(bytes(flipped), 28, encr_id=encr_id, sk_e=sk_e, integ_id=integ_id, sk_a=sk_a)
    assert bad.failure is OpenFailure.ICV_MISMATCH and bad.plaintext == b""


def _fragments(encr_id, sk_e, integ_id, sk_a, inner, total):
    size = -(-len(inner) // total)
    pieces = [inner[i * size : (i + 1) * size] for i in range(total)]
    return [
        seal(encr_id, sk_e, integ_id, sk_a, piece, fragment=(n, total), next_payload=NOTIFY if n == 1 else 0)
        for n, piece in enumerate(pieces, 1)
    ]


@pytest.mark.parametrize(("encr_id", "e_size", "integ_id"), [(20, 36, None), (12, 32, 12)])
def test_skf_fragments_open_one_by_one_and_reassemble_in_fragment_order(encr_id, e_size, integ_id):
    sk_e, sk_a = bytes(e_size), (b"\x01" * 32 if integ_id else b"")
    inner = bytes(range(256)) * 3
    messages = _fragments(encr_id, sk_e, integ_id, sk_a, inner, 4)
    opened = [open_skf(m, 28, encr_id=encr_id, sk_e=sk_e, integ_id=integ_id, sk_a=sk_a) for m in messages]
    assert [(o.fragment_number, o.total_fragments, o.ok) for o in opened] == [
        (n, 4, True) for n in range(1, 5)
    ]
    assert [o.next_payload for o in opened] == [NOTIFY, 0, 0, 0]
    whole = reassemble_fragments(reversed(opened))
    assert whole.complete and whole.integrity_verified and whole.plaintext == inner
    assert whole.next_payload == NOTIFY and whole.total_fragments == 4

    partial = reassemble_fragments(opened[:1] + opened[2:])
    assert not partial.complete and partial.missing == (2,) and partial.plaintext == b""
    damaged = bytearray(messages[2])
    damaged[40] ^= 1
    broken = open_skf(bytes(damaged), 28, encr_id=encr_id, sk_e=sk_e, integ_id=integ_id, sk_a=sk_a)
    assert broken.failure is OpenFailure.ICV_MISMATCH and broken.fragment_number == 3
    mixed = reassemble_fragments(opened[:2] + [broken] + opened[3:])
    assert not mixed.complete and mixed.failed == (3,)
    # a verified duplicate of fragment 3 repairs the set
    assert reassemble_fragments(opened[:2] + [broken] + opened[2:]).complete


def test_a_retransmission_fragmented_finer_replaces_the_earlier_fragments():
    sk_e = bytes(36)
    inner = bytes(range(200))
    coarse = [open_skf(m, 28, encr_id=20, sk_e=sk_e) for m in _fragments(20, sk_e, None, b"", inner, 2)]
    fine = [open_skf(m, 28, encr_id=20, sk_e=sk_e) for m in _fragments(20, sk_e, None, b"", inner, 3)]
    result = reassemble_fragments(coarse[:1] + fine)
    assert result.complete and result.total_fragments == 3 and result.plaintext == inner


def test_hostile_sk_payloads_give_a_named_failure_not_an_exception():
    sk_e, sk_a = bytes(16), bytes(32)
    good = seal(12, sk_e, 12, sk_a, b"\x00" * 12)

    def opened(message, offset=28, **kw):
        args = {"encr_id": 12, "sk_e": sk_e, "integ_id": 12, "sk_a": sk_a} | kw
        return open_sk(message, offset, **args).failure

    assert opened(good) is None
    assert opened(good, offset=len(good)) is OpenFailure.TRUNCATED
    assert opened(good, offset=-1) is OpenFailure.TRUNCATED
    assert opened(good[:-1]) is OpenFailure.TRUNCATED  # payload length runs past the end
    tiny = good[:30] + (20).to_bytes(2, "big") + good[32:48]
    assert opened(tiny) is OpenFailure.TRUNCATED  # no room for IV + ICV
    assert opened(good, encr_id=21) is OpenFailure.UNSUPPORTED_ALGORITHM  # GMAC: ESP only
    assert opened(good, encr_id=999) is OpenFailure.UNSUPPORTED_ALGORITHM
    assert opened(good, integ_id=None) is OpenFailure.UNSUPPORTED_ALGORITHM
    assert opened(good, sk_e=bytes(17)) is OpenFailure.BAD_KEY
    assert opened(good, sk_a=bytes(20)) is OpenFailure.BAD_KEY
    odd = seal(13, bytes(20), 12, sk_a, b"\x00" * 12)  # CTR: no block alignment
    assert open_sk(odd, 28, encr_id=13, sk_e=bytes(20), integ_id=12, sk_a=sk_a).ok
    misaligned = seal(13, bytes(20), 12, sk_a, b"\x00" * 13)  # 14 bytes: not whole AES blocks for CBC
    assert opened(misaligned, sk_e=bytes(16)) is OpenFailure.MALFORMED


def test_a_pad_length_longer_than_the_data_is_bad_padding_after_a_good_icv():
    sk_e = bytes(36)
    message = bytearray(seal(20, sk_e, None, b"", b""))  # plaintext is the pad length byte alone
    key = sk_e[:32]
    # re-seal the same bytes with pad length 9 over a 1-byte plaintext
    aad = bytes(message[:32])
    iv = bytes(message[32:40])
    ct = AESGCM(key).encrypt(sk_e[32:] + iv, b"\x09", aad)
    result = open_sk(aad + iv + ct, 28, encr_id=20, sk_e=sk_e)
    assert result.failure is OpenFailure.BAD_PADDING and result.integrity_verified


def test_impossible_fragment_numbers_are_malformed():
    sk_e = bytes(36)
    for number, total in ((0, 2), (3, 2), (1, 0)):
        message = seal(20, sk_e, None, b"", b"x" * 8, fragment=(number, total))
        assert open_skf(message, 28, encr_id=20, sk_e=sk_e).failure is OpenFailure.MALFORMED


def test_random_bytes_never_raise():
    rng = random.Random(7296)
    base = seal(12, bytes(16), 12, bytes(32), b"\x00" * 40)
    for _ in range(400):
        message = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            message[rng.randrange(len(message))] = rng.randrange(256)
        message = bytes(message[: rng.randint(0, len(message))])
        for encr_id, e_size, integ_id in SUITES:
            sk_a = bytes(INTEG[integ_id].key_size) if integ_id else b""
            for opener in (open_sk, open_skf):
                result = opener(
                    message, 28, encr_id=encr_id, sk_e=bytes(e_size), integ_id=integ_id, sk_a=sk_a
                )
                assert result.ok or result.failure in OpenFailure


def test_rfc9242_intauth_data_is_the_unencrypted_form_whatever_the_cipher():
    from ikedecode.ike.v2.auth import int_auth_data, int_auth_step
    from ikedecode.ike.v2.prf import prf

    inner = b"\x00\x00\x00\x0c\x00\x00\x40\x01\x00\x00\x00\x0a"
    gcm = seal(20, bytes(36), None, b"", inner, pad=3)
    cbc = seal(12, bytes(32), 12, bytes(32), inner, pad=7)
    blobs = []
    for message, encr_id, sk_e, integ_id, sk_a in (
        (gcm, 20, bytes(36), None, b""),
        (cbc, 12, bytes(32), 12, bytes(32)),
    ):
        opened = open_sk(message, 28, encr_id=encr_id, sk_e=sk_e, integ_id=integ_id, sk_a=sk_a)
        blobs.append(int_auth_data(message, 28, opened.plaintext))
    assert blobs[0] == blobs[1]
    header = gcm[:24] + (28 + 4 + len(inner)).to_bytes(4, "big")
    assert blobs[0] == header + bytes([NOTIFY, 0]) + (4 + len(inner)).to_bytes(2, "big") + inner
    first = int_auth_step(5, b"p" * 32, b"", gcm, 28, inner)
    assert first == prf(5, b"p" * 32, blobs[0])
    assert int_auth_step(5, b"p" * 32, first, gcm, 28, inner) == prf(5, b"p" * 32, first + blobs[0])
    assert int_auth_data(gcm, len(gcm), inner) is None
