"""IKEv2 key derivation (RFC 7296 sections 2.14, 2.17, 2.18; RFC 9370 section 2.2.2).

Known answer: the IKEv2 KDF vector (NIST CAVS format, PRF HMAC-SHA1, 1056-bit DKM) that
libreswan's CAVS test program for IKEv2 (libreswan/libreswan, the ``libreswan-ikev2-cavs``
usage comment) prints: SKEYSEED, DKM = prf+(SKEYSEED, Ni|Nr|SPIi|SPIr), DKM(Child SA) =
prf+(SK_d, Ni|Nr), DKM(Child SA D-H) = prf+(SK_d, g^ir(new)|Ni|Nr) and SKEYSEED(Rekey) =
prf(SK_d, g^ir(new)|Ni|Nr), computed there by NSS.
"""

from __future__ import annotations

import pytest

from ikedecode.ike.crypto_errors import InvalidKeyMaterial, UnsupportedAlgorithm
from ikedecode.ike.v2.keymat import (
    child_sa_keys,
    derive_ike_sa_keys,
    derive_rekeyed_ike_sa_keys,
    ike_sa_keys_from_skeyseed,
    initial_skeyseed,
    rekey_skeyseed,
    stage_skeyseed,
)
from ikedecode.ike.v2.prf import prf, prf_plus

H = bytes.fromhex
CAVS = {
    "gir": H("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52"),
    "gir_new": H("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330"),
    "ni": H("32b50d5f4a3763f3"),
    "nr": H("9206a04b26564cb1"),
    "spi_i": H("34c9e7c188868785"),
    "spi_r": H("3ff77d760d2b2199"),
    "skeyseed": "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7",
    "dkm": "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5"
    "e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd1119"
    "8af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4",
    "dkm_child": "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5"
    "e092d1f2"
    "4e2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf"
    "285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d234cb4",
    "dkm_child_dh": "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4"
    "b3ab14c400a5"
    "197dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a"
    "05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d56fd74c",
    "skeyseed_rekey": "63e81194946ebd05df7df5ebf5d8750056bf1f1d",
}
PRF_HMAC_SHA1 = 2
AES_CBC, AES_GCM_16, AUTH_HMAC_SHA1_96 = 12, 20, 2


def test_skeyseed_and_dkm_match_the_cavs_ikev2_kdf_vector():
    c = CAVS
    skeyseed = initial_skeyseed(PRF_HMAC_SHA1, c["gir"], c["ni"], c["nr"])
    assert skeyseed.hex() == c["skeyseed"]
    # AES-CBC-128 + HMAC-SHA1-96: SK_d 20, SK_a 20+20, SK_e 16+16, SK_p 20+20 = 132 bytes = the DKM
    keys = derive_ike_sa_keys(
        c["gir"], c["ni"], c["nr"], c["spi_i"], c["spi_r"],
        prf_id=PRF_HMAC_SHA1, encr_id=AES_CBC, encr_key_bits=128, integ_id=AUTH_HMAC_SHA1_96,
    )  # fmt: skip
    joined = keys.sk_d + keys.sk_ai + keys.sk_ar + keys.sk_ei + keys.sk_er + keys.sk_pi + keys.sk_pr
    assert joined.hex() == c["dkm"]
    assert [len(k) for k in (keys.sk_d, keys.sk_ai, keys.sk_ei, keys.sk_pr)] == [20, 20, 16, 20]
    assert keys.skeyseed.hex() == c["skeyseed"]


def test_child_sa_keymat_and_rekey_skeyseed_match_the_cavs_vector():
    c = CAVS
    sk_d = H(c["dkm"])[:20]
    # 132 bytes split as 2 x (encr 46 + integ 20): the split only cuts one prf+ stream
    plain = child_sa_keys(PRF_HMAC_SHA1, sk_d, c["ni"], c["nr"], encr_keymat_size=46, integ_key_size=20)
    assert (plain.encr_i + plain.integ_i + plain.encr_r + plain.integ_r).hex() == c["dkm_child"]
    pfs = child_sa_keys(
        PRF_HMAC_SHA1, sk_d, c["ni"], c["nr"],
        encr_keymat_size=46, integ_key_size=20, shared_secret=c["gir_new"],
    )  # fmt: skip
    assert (pfs.encr_i + pfs.integ_i + pfs.encr_r + pfs.integ_r).hex() == c["dkm_child_dh"]
    assert rekey_skeyseed(PRF_HMAC_SHA1, sk_d, c["gir_new"], c["ni"], c["nr"]).hex() == c["skeyseed_rekey"]


def test_child_sa_keymat_is_initiator_encr_integ_then_responder_encr_integ():
    stream = prf_plus(5, b"D" * 32, b"N" * 64, 2 * (36 + 0))
    gcm = child_sa_keys(5, b"D" * 32, b"N" * 32, b"N" * 32, encr_keymat_size=36, integ_key_size=0)
    assert (gcm.encr_i, gcm.integ_i, gcm.encr_r, gcm.integ_r) == (stream[:36], b"", stream[36:], b"")
    stream = prf_plus(5, b"D" * 32, b"N" * 64, 2 * (16 + 32))
    cbc = child_sa_keys(5, b"D" * 32, b"N" * 32, b"N" * 32, encr_keymat_size=16, integ_key_size=32)
    assert (cbc.encr_i, cbc.integ_i, cbc.encr_r, cbc.integ_r) == (
        stream[:16], stream[16:48], stream[48:64], stream[64:],
    )  # fmt: skip


def test_aead_ike_sa_has_no_integrity_keys_and_salted_encryption_keys():
    keys = derive_ike_sa_keys(
        b"g" * 256, b"i" * 32, b"r" * 32, b"I" * 8, b"R" * 8,
        prf_id=5, encr_id=AES_GCM_16, encr_key_bits=256, integ_id=None,
    )  # fmt: skip
    assert keys.sk_ai == keys.sk_ar == b"" and keys.integ_id is None
    assert len(keys.sk_ei) == len(keys.sk_er) == 36 and len(keys.sk_d) == len(keys.sk_pi) == 32
    stream = prf_plus(5, keys.skeyseed, b"i" * 32 + b"r" * 32 + b"I" * 8 + b"R" * 8, 32 + 36 + 36 + 32 + 32)
    assert stream == keys.sk_d + keys.sk_ei + keys.sk_er + keys.sk_pi + keys.sk_pr
    assert keys.sender_keys(from_initiator=True) == (keys.sk_ei, b"")
    assert "sk_ei" not in repr(keys) and keys.sk_ei.hex() not in repr(keys)


@pytest.mark.parametrize("prf_id", [4, 8])
def test_fixed_key_prfs_key_skeyseed_with_the_first_half_of_each_nonce(prf_id):
    ni, nr = bytes(range(32)), bytes(range(100, 132))
    assert initial_skeyseed(prf_id, b"secret", ni, nr) == prf(prf_id, ni[:8] + nr[:8], b"secret")
    # HMAC PRFs take the whole Ni | Nr
    assert initial_skeyseed(5, b"secret", ni, nr) == prf(5, ni + nr, b"secret")


def test_ike_sa_rekey_uses_the_old_prf_for_skeyseed_and_the_new_prf_for_the_keys():
    old = derive_ike_sa_keys(
        b"g" * 128, b"i" * 16, b"r" * 16, b"I" * 8, b"R" * 8,
        prf_id=PRF_HMAC_SHA1, encr_id=AES_CBC, encr_key_bits=128, integ_id=AUTH_HMAC_SHA1_96,
    )  # fmt: skip
    new = derive_rekeyed_ike_sa_keys(
        old, b"G" * 256, b"n" * 32, b"m" * 32, b"J" * 8, b"S" * 8,
        prf_id=7, encr_id=AES_GCM_16, encr_key_bits=256,
    )  # fmt: skip
    skeyseed = prf(PRF_HMAC_SHA1, old.sk_d, b"G" * 256 + b"n" * 32 + b"m" * 32)
    assert new.skeyseed == skeyseed and len(skeyseed) == 20
    again = ike_sa_keys_from_skeyseed(
        skeyseed, b"n" * 32, b"m" * 32, b"J" * 8, b"S" * 8, prf_id=7, encr_id=AES_GCM_16, encr_key_bits=256
    )
    assert again == new and len(new.sk_d) == 64


def test_rfc9370_stage_skeyseed_is_the_rekey_formula_with_the_stage_secret():
    sk_d0 = b"d" * 32
    assert stage_skeyseed(5, sk_d0, b"mlkem", b"i" * 32, b"r" * 32) == prf(
        5, sk_d0, b"mlkem" + b"i" * 32 + b"r" * 32
    )
    assert stage_skeyseed(5, sk_d0, b"mlkem", b"i" * 32, b"r" * 32) == rekey_skeyseed(
        5, sk_d0, b"mlkem", b"i" * 32, b"r" * 32
    )


def test_bad_sizes_and_algorithms_are_one_line_errors():
    kwargs = {"prf_id": 5, "encr_id": AES_CBC, "encr_key_bits": 128, "integ_id": 12}
    with pytest.raises(InvalidKeyMaterial, match="SPIs must be 8 bytes"):
        derive_ike_sa_keys(b"g", b"i" * 16, b"r" * 16, b"I" * 4, b"R" * 8, **kwargs)
    with pytest.raises(InvalidKeyMaterial, match="key length 100"):
        derive_ike_sa_keys(b"g", b"i" * 16, b"r" * 16, b"I" * 8, b"R" * 8, **{**kwargs, "encr_key_bits": 100})
    with pytest.raises(InvalidKeyMaterial, match="needs an integrity transform"):
        derive_ike_sa_keys(b"g", b"i" * 16, b"r" * 16, b"I" * 8, b"R" * 8, **{**kwargs, "integ_id": None})
    with pytest.raises(UnsupportedAlgorithm):
        derive_ike_sa_keys(b"g", b"i" * 16, b"r" * 16, b"I" * 8, b"R" * 8, **{**kwargs, "encr_id": 99})
    with pytest.raises(InvalidKeyMaterial, match="empty"):
        initial_skeyseed(5, b"", b"i" * 16, b"r" * 16)
