"""RFC 2409 key derivation formulas, checked against an independent HMAC computation in the test.

No public vector pairs SKEYID_e with a cipher key: the Wireshark key table
(``wireshark/config/ikev1_decryption_table``) holds the final 24-byte 3DES key of ikev1-certs.pcap,
but the capture's SKEYID_e is not published. The Appendix B expansion is therefore checked
against the RFC text computed here with ``hmac``, and end to end by decrypting the captures in
``test_keyderiv_capture_ivs.py``.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ikedecode.ike.crypto_errors import InvalidKeyMaterial, UnsupportedAlgorithm
from ikedecode.ike.v1.keyderiv import (
    MAX_DERIVED_LENGTH,
    derive_phase1_keys,
    exchange_iv,
    expand_encryption_key,
    nortel_psk_key,
    phase1_iv,
    quick_mode_keymat,
    skeyid_preshared,
    skeyid_public_key,
)

NI = bytes(range(1, 21))
NR = bytes(range(101, 133))
CKY_I = bytes.fromhex("fafaeb49382a763c")
CKY_R = bytes.fromhex("36e65ad2f66f4403")
G_XY = bytes(range(128))


def _hmac(name: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, name).digest()


def test_3des_key_from_md5_skeyid_e_is_k1_k2_truncated() -> None:
    skeyid_e = hashlib.md5(b"some SKEYID_e").digest()  # 16 bytes, 3DES needs 24
    k1 = _hmac("md5", skeyid_e, b"\x00")
    k2 = _hmac("md5", skeyid_e, k1)
    key = expand_encryption_key(1, skeyid_e, 24)
    assert key == (k1 + k2)[:24]
    assert key[:16] != skeyid_e  # expansion replaces SKEYID_e entirely, it does not extend it


def test_aes256_key_from_sha1_skeyid_e_uses_two_prf_blocks() -> None:
    skeyid_e = hashlib.sha1(b"x").digest()  # 20 bytes, AES-256 needs 32
    k1 = _hmac("sha1", skeyid_e, b"\x00")
    k2 = _hmac("sha1", skeyid_e, k1)
    assert expand_encryption_key(2, skeyid_e, 32) == (k1 + k2)[:32]


def test_blowfish_448_key_from_md5_chains_four_blocks() -> None:
    skeyid_e = b"\x11" * 16
    blocks = [_hmac("md5", skeyid_e, b"\x00")]
    for _ in range(3):
        blocks.append(_hmac("md5", skeyid_e, blocks[-1]))
    assert expand_encryption_key(1, skeyid_e, 56) == b"".join(blocks)[:56]


@pytest.mark.parametrize(("hash_id", "key_length"), [(2, 16), (2, 20), (4, 32), (4, 24), (6, 32)])
def test_key_is_a_prefix_of_skeyid_e_when_long_enough(hash_id: int, key_length: int) -> None:
    skeyid_e = bytes(range(64))[: {2: 20, 4: 32, 6: 64}[hash_id]]
    assert expand_encryption_key(hash_id, skeyid_e, key_length) == skeyid_e[:key_length]


def test_derive_phase1_keys_follows_section_5_and_appendix_b() -> None:
    skeyid = skeyid_preshared(1, b"secret", NI, NR)
    assert skeyid == _hmac("md5", b"secret", NI + NR)
    d = _hmac("md5", skeyid, G_XY + CKY_I + CKY_R + b"\x00")
    a = _hmac("md5", skeyid, d + G_XY + CKY_I + CKY_R + b"\x01")
    e = _hmac("md5", skeyid, a + G_XY + CKY_I + CKY_R + b"\x02")
    keys = derive_phase1_keys(1, skeyid, G_XY, CKY_I, CKY_R, key_length=24)
    assert (keys.skeyid_d, keys.skeyid_a, keys.skeyid_e) == (d, a, e)
    k1 = _hmac("md5", e, b"\x00")
    assert keys.encryption_key == (k1 + _hmac("md5", e, k1))[:24]


def test_public_key_encryption_skeyid_keys_with_the_hash_of_the_nonces() -> None:
    expected = _hmac("sha256", hashlib.sha256(NI + NR).digest(), CKY_I + CKY_R)
    assert skeyid_public_key(4, NI, NR, CKY_I, CKY_R) == expected


def test_nortel_key_is_hmac_sha1_of_user_under_sha1_of_psk() -> None:
    expected = _hmac("sha1", hashlib.sha1(b"abc123").digest(), b"test")
    assert nortel_psk_key(b"abc123", b"test") == expected


def test_phase1_iv_is_hash_of_both_public_values_cut_to_the_block() -> None:
    g_xi, g_xr = b"\x01" * 128, b"\x02" * 128
    assert phase1_iv(1, g_xi, g_xr, 8) == hashlib.md5(g_xi + g_xr).digest()[:8]
    assert phase1_iv(4, g_xi, g_xr, 16) == hashlib.sha256(g_xi + g_xr).digest()[:16]


def test_exchange_iv_appends_the_big_endian_message_id() -> None:
    last_block = bytes(range(16))
    expected = hashlib.sha1(last_block + bytes.fromhex("f2cfe203")).digest()[:16]
    assert exchange_iv(2, last_block, 0xF2CFE203, 16) == expected


@pytest.mark.parametrize("block_size", [0, 17, -1])
def test_iv_longer_than_the_hash_is_refused(block_size: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        phase1_iv(1, b"a", b"b", block_size)


@pytest.mark.parametrize("message_id", [-1, 2**32, "1"])
def test_message_id_must_fit_four_bytes(message_id: object) -> None:
    with pytest.raises(InvalidKeyMaterial):
        exchange_iv(1, bytes(8), message_id, 8)  # type: ignore[arg-type]


def test_quick_mode_keymat_without_pfs_chains_prf_blocks() -> None:
    skeyid_d = b"\x42" * 20
    seed = bytes([3]) + bytes.fromhex("95f9fa06") + NI + NR
    k1 = _hmac("sha1", skeyid_d, seed)
    k2 = _hmac("sha1", skeyid_d, k1 + seed)
    k3 = _hmac("sha1", skeyid_d, k2 + seed)
    # AES-256 + HMAC-SHA1: 32 + 20 = 52 bytes, three SHA-1 blocks.
    keymat = quick_mode_keymat(2, skeyid_d, 3, bytes.fromhex("95f9fa06"), NI, NR, 52)
    assert keymat == (k1 + k2 + k3)[:52]
    assert quick_mode_keymat(2, skeyid_d, 3, 0x95F9FA06, NI, NR, 52) == keymat


def test_quick_mode_keymat_with_pfs_puts_the_new_secret_first() -> None:
    skeyid_d = b"\x07" * 32
    g_qm = b"\x09" * 256
    seed = g_qm + bytes([3]) + b"\xca\xfe\xba\xbe" + NI + NR
    k1 = _hmac("sha256", skeyid_d, seed)
    k2 = _hmac("sha256", skeyid_d, k1 + seed)
    keymat = quick_mode_keymat(4, skeyid_d, 3, b"\xca\xfe\xba\xbe", NI, NR, 48, g_qm_xy=g_qm)
    assert keymat == (k1 + k2)[:48]


def test_keymat_differs_per_direction_spi() -> None:
    one = quick_mode_keymat(1, b"d" * 16, 3, 1, NI, NR, 16)
    other = quick_mode_keymat(1, b"d" * 16, 3, 2, NI, NR, 16)
    assert one != other and len(one) == len(other) == 16


@pytest.mark.parametrize("length", [-1, MAX_DERIVED_LENGTH + 1, 10**12])
def test_hostile_lengths_are_refused_before_any_loop(length: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        quick_mode_keymat(1, b"d" * 16, 3, 1, NI, NR, length)
    with pytest.raises(InvalidKeyMaterial):
        expand_encryption_key(1, b"e" * 16, length)


@pytest.mark.parametrize(("argument", "value"), [("protocol_id", 256), ("spi", 2**32), ("spi", "abc")])
def test_bad_protocol_or_spi_is_refused(argument: str, value: object) -> None:
    kwargs: dict[str, object] = {"protocol_id": 3, "spi": 1}
    kwargs[argument] = value
    with pytest.raises(InvalidKeyMaterial):
        quick_mode_keymat(1, b"d" * 16, ni_b=NI, nr_b=NR, length=16, **kwargs)  # type: ignore[arg-type]


def test_unknown_hash_id_is_unsupported() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        skeyid_preshared(3, b"psk", NI, NR)
    with pytest.raises(UnsupportedAlgorithm):
        quick_mode_keymat(9, b"d" * 16, 3, 1, NI, NR, 16)
