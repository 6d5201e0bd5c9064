"""HASH_I / HASH_R and the SKEYID_a message hashes follow RFC 2409 s5, s5.5 and s5.7.

Real HASH_R values are checked in ``test_psk_params_hash_r.py``. No published capture comes
with SKEYID_a, so the phase 2 hashes are checked against the RFC formulas computed here with
``hmac``, byte for byte.
"""

from __future__ import annotations

import hmac

import pytest

from ikedecode.ike.crypto_errors import InvalidKeyMaterial, UnsupportedAlgorithm
from ikedecode.ike.v1.authhash import hash_i, hash_r, informational_hash, qm_hash1, qm_hash2, qm_hash3

SKEYID = bytes(range(20))
G_XI, G_XR = b"\xaa" * 128, b"\xbb" * 128
CKY_I, CKY_R = bytes.fromhex("ab3e0f1f8bc3be8e"), bytes.fromhex("3411e716366643fd")
SAI_B = bytes.fromhex("00000001000000010000002c01010001")
IDII_B, IDIR_B = bytes.fromhex("01000000c0a80064"), bytes.fromhex("02000000") + b"moon.localdomain"
NI_B, NR_B = b"\x01" * 32, b"\x02" * 32
MESSAGE_ID = 0xB1167BA3
M_ID = bytes.fromhex("b1167ba3")


def _sha1(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, "sha1").digest()


def test_hash_i_order_is_initiator_first() -> None:
    expected = _sha1(SKEYID, G_XI + G_XR + CKY_I + CKY_R + SAI_B + IDII_B)
    assert hash_i(2, SKEYID, G_XI, G_XR, CKY_I, CKY_R, SAI_B, IDII_B) == expected


def test_hash_r_swaps_public_values_and_cookies_but_keeps_sai_b() -> None:
    expected = _sha1(SKEYID, G_XR + G_XI + CKY_R + CKY_I + SAI_B + IDIR_B)
    assert hash_r(2, SKEYID, G_XI, G_XR, CKY_I, CKY_R, SAI_B, IDIR_B) == expected


def test_quick_mode_hashes() -> None:
    rest1, rest2 = b"SA|Ni|IDci|IDcr", b"SA|Nr|IDci|IDcr"
    assert qm_hash1(2, SKEYID, MESSAGE_ID, rest1) == _sha1(SKEYID, M_ID + rest1)
    assert qm_hash2(2, SKEYID, MESSAGE_ID, NI_B, rest2) == _sha1(SKEYID, M_ID + NI_B + rest2)
    assert qm_hash3(2, SKEYID, MESSAGE_ID, NI_B, NR_B) == _sha1(SKEYID, b"\x00" + M_ID + NI_B + NR_B)


def test_informational_hash_covers_message_id_and_following_payloads() -> None:
    notify = bytes.fromhex("0000001c00000001011060021234")
    expected = hmac.new(SKEYID, bytes.fromhex("83e1ee0b") + notify, "sha256").digest()
    assert informational_hash(4, SKEYID, 0x83E1EE0B, notify) == expected


def test_message_id_zero_is_four_zero_bytes() -> None:
    assert informational_hash(1, SKEYID, 0, b"x") == hmac.new(SKEYID, bytes(4) + b"x", "md5").digest()


@pytest.mark.parametrize("message_id", [-1, 1 << 32, None])
def test_out_of_range_message_ids_are_refused(message_id: object) -> None:
    with pytest.raises(InvalidKeyMaterial):
        qm_hash1(2, SKEYID, message_id, b"")  # type: ignore[arg-type]


def test_unknown_hash_is_unsupported() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        hash_i(3, SKEYID, G_XI, G_XR, CKY_I, CKY_R, SAI_B, IDII_B)
