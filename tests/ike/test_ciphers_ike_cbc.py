"""IKE phase 1 CBC ciphers: published known answers, key-length rules and input checks."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikedecode.ike.ciphers import (
    CIPHERS,
    CipherInputError,
    block_size,
    cbc_decrypt,
    cbc_encrypt,
    cipher_key_length,
)
from ikedecode.ike.crypto_errors import IkeCryptoError, UnsupportedAlgorithm

# Single-block known answers (CBC with a zero IV equals ECB for one block):
# (cipher id, key, plaintext, ciphertext, source)
BLOCK_VECTORS = [
    (1, "133457799BBCDFF1", "0123456789ABCDEF", "85E813540F0AB405", "DES, FIPS 46 worked example"),
    (2, "00010002000300040005000600070008", "0000000100020003", "11FBED2B01986DE5", "IDEA, Lai-Massey paper"),
    (3, "0000000000000000", "0000000000000000", "4EF997456198DD78", "Blowfish, Schneier/Young set"),
    (3, "FFFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFF", "51866FD5B85ECB8A", "Blowfish, Schneier/Young set"),
    (6, "0123456712345678234567893456789A", "0123456789ABCDEF", "238B4FE5847E44B2", "CAST-128, RFC 2144 B.1"),
    (6, "01234567123456782345", "0123456789ABCDEF", "EB6A711A2C02271B", "CAST-80, RFC 2144 B.1"),
    (6, "0123456712", "0123456789ABCDEF", "7AC816D16E9B302E", "CAST-40, RFC 2144 B.1"),
    (
        8,
        "0123456789ABCDEFFEDCBA9876543210",
        "0123456789ABCDEFFEDCBA9876543210",
        "67673138549669730857065648EABE43",
        "Camellia-128, RFC 3713",
    ),
    (
        8,
        "0123456789ABCDEFFEDCBA98765432100011223344556677",
        "0123456789ABCDEFFEDCBA9876543210",
        "B4993401B3E996F84EE5CEE7D79B09B9",
        "Camellia-192, RFC 3713",
    ),
    (
        8,
        "0123456789ABCDEFFEDCBA987654321000112233445566778899AABBCCDDEEFF",
        "0123456789ABCDEFFEDCBA9876543210",
        "9ACC237DFF16D76C20EF7C919E3A7509",
        "Camellia-256, RFC 3713",
    ),
]


@pytest.mark.parametrize(
    ("cipher_id", "key", "plain", "cipher", "source"), BLOCK_VECTORS, ids=[v[4] for v in BLOCK_VECTORS]
)
def test_single_block_known_answers(cipher_id: int, key: str, plain: str, cipher: str, source: str) -> None:
    iv = bytes(block_size(cipher_id))
    assert cbc_encrypt(cipher_id, bytes.fromhex(key), iv, bytes.fromhex(plain)).hex().upper() == cipher
    assert cbc_decrypt(cipher_id, bytes.fromhex(key), iv, bytes.fromhex(cipher)).hex().upper() == plain


def test_rfc3602_aes_cbc_cases(reference_dir: Path) -> None:
    kat = json.loads((reference_dir / "rfc-vectors/esp_cipher_kat.json").read_text())
    cases = kat["rfc3602_aes_cbc"]["cases"]
    assert [case["case"] for case in cases] == [1, 2, 3]
    for case in cases:
        key, iv = bytes.fromhex(case["key"]), bytes.fromhex(case["iv"])
        plain, cipher = bytes.fromhex(case["plain"]), bytes.fromhex(case["cipher"])
        assert cbc_encrypt(7, key, iv, plain) == cipher
        assert cbc_decrypt(7, key, iv, cipher) == plain


def test_cbc_chains_blocks_so_the_next_iv_is_the_last_cipher_block() -> None:
    key, iv, data = b"k" * 16, bytes(range(16)), bytes(range(64))
    whole = cbc_encrypt(7, key, iv, data)
    first, second = cbc_encrypt(7, key, iv, data[:32]), cbc_encrypt(7, key, whole[16:32], data[32:])
    assert first + second == whole


@pytest.mark.parametrize("cipher_id", sorted(CIPHERS))
def test_interleaved_keys_ivs_and_repeats_decrypt_like_fresh_cbc(cipher_id: int) -> None:
    """cbc_decrypt keeps one decryptor per key that goes on from the last block it decrypted: every
    order of calls (the next message of an exchange, a new IV, another key in between, the same
    message again) must give what a CBC decryption from the given IV gives."""
    rng = random.Random(cipher_id)
    block = block_size(cipher_id)
    key_bytes = cipher_key_length(cipher_id)
    keys = [rng.randbytes(key_bytes) for _ in range(3)]
    chained = {key: bytes(block) for key in keys}  # the IV that continues each key's last message
    previous: tuple[bytes, bytes, bytes, bytes] | None = None
    for step in range(60):
        key = rng.choice(keys)
        choice = rng.random()
        if previous is not None and choice < 0.15:
            key, iv, cipher, plain = previous  # the same message again (a retransmission)
        else:
            iv = chained[key] if choice < 0.6 else rng.randbytes(block)
            plain = rng.randbytes(block * rng.randint(1, 12))
            cipher = cbc_encrypt(cipher_id, key, iv, plain)
        assert cbc_decrypt(cipher_id, key, iv, cipher) == plain, step
        chained[key] = cipher[-block:]
        previous = (key, iv, cipher, plain)


def test_single_des_equals_3des_with_three_equal_keys() -> None:
    key, iv, data = bytes.fromhex("133457799BBCDFF1"), bytes(range(8)), bytes(range(48))
    assert cbc_encrypt(1, key, iv, data) == cbc_encrypt(5, key * 3, iv, data)


@pytest.mark.parametrize(
    ("cipher_id", "attribute", "expected"),
    [
        (1, None, 8),
        (1, 64, 8),
        (2, None, 16),
        (3, None, 16),
        (3, 448, 56),
        (3, 40, 5),
        (5, None, 24),
        (5, 192, 24),
        (6, None, 16),
        (6, 80, 10),
        (7, None, 16),
        (7, 128, 16),
        (7, 192, 24),
        (7, 256, 32),
        (8, 256, 32),
    ],
)
def test_key_length_from_the_attribute_or_the_default(
    cipher_id: int, attribute: int | None, expected: int
) -> None:
    assert cipher_key_length(cipher_id, attribute) == expected


@pytest.mark.parametrize(
    ("cipher_id", "attribute"),
    [(7, 64), (7, 129), (7, 512), (5, 128), (1, 56), (3, 456), (3, 32), (6, 136), (8, 0), (7, -128)],
)
def test_impossible_key_length_attributes_are_refused(cipher_id: int, attribute: int) -> None:
    with pytest.raises(CipherInputError):
        cipher_key_length(cipher_id, attribute)


def test_block_sizes() -> None:
    assert {cipher_id: block_size(cipher_id) for cipher_id in CIPHERS} == {
        1: 8,
        2: 8,
        3: 8,
        5: 8,
        6: 8,
        7: 16,
        8: 16,
    }


@pytest.mark.parametrize(
    ("key", "iv", "data", "message"),
    [
        (b"k" * 16, bytes(16), bytes(15), "blocks"),
        (b"k" * 16, bytes(16), bytes(33), "blocks"),
        (b"k" * 16, bytes(8), bytes(16), "IV"),
        (b"k" * 15, bytes(16), bytes(16), "key"),
        (b"k" * 40, bytes(16), bytes(16), "key"),
    ],
)
def test_bad_sizes_raise_cipher_input_error(key: bytes, iv: bytes, data: bytes, message: str) -> None:
    with pytest.raises(CipherInputError, match=message):
        cbc_decrypt(7, key, iv, data)
    assert issubclass(CipherInputError, ValueError)


def test_empty_input_decrypts_to_nothing() -> None:
    assert cbc_decrypt(5, b"k" * 24, bytes(8), b"") == b""


@pytest.mark.parametrize(
    ("cipher_id", "text"), [(4, "RC5"), (0, "unknown"), (9, "unknown"), (65001, "unknown")]
)
def test_unimplemented_or_unknown_ciphers(cipher_id: int, text: str) -> None:
    with pytest.raises(UnsupportedAlgorithm, match=text):
        block_size(cipher_id)
    with pytest.raises(UnsupportedAlgorithm):
        cbc_decrypt(cipher_id, b"k" * 16, bytes(16), bytes(16))


@settings(max_examples=200, deadline=None)
@given(
    cipher_id=st.integers(min_value=0, max_value=10),
    key=st.binary(max_size=64),
    iv=st.binary(max_size=20),
    data=st.binary(max_size=80),
)
def test_arbitrary_inputs_raise_only_documented_errors(
    cipher_id: int, key: bytes, iv: bytes, data: bytes
) -> None:
    try:
        plaintext = cbc_decrypt(cipher_id, key, iv, data)
    except IkeCryptoError:
        return
    assert len(plaintext) == len(data)
