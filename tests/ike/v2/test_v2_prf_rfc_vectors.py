"""The IKEv2 PRFs and MACs reproduce the published RFC test vectors.

Vectors: RFC 3566 section 4 (AES-XCBC-MAC-96, test cases 1-5, full 128-bit MAC where RFC 4434
gives it), RFC 4434 section 4 (AES-XCBC-PRF-128 with 16, 10 and 18-byte keys), RFC 4493 section 4
(AES-CMAC examples 1-4), RFC 4615 section 4 (AES-CMAC-PRF-128 with 18, 16 and 10-byte keys),
RFC 4231 section 4.2 (HMAC-SHA-256/384/512 test case 1), RFC 2202 (HMAC-MD5 and HMAC-SHA-1 test
case 1).
"""

from __future__ import annotations

import pytest

from ikedecode.ike.crypto_errors import InvalidKeyMaterial, UnsupportedAlgorithm
from ikedecode.ike.v2.prf import aes_xcbc_mac, integrity_checksum, prf, prf_plus

PRF_HMAC_MD5, PRF_HMAC_SHA1, PRF_AES128_XCBC = 1, 2, 4
PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512, PRF_AES128_CMAC = 5, 6, 7, 8
AUTH_AES_XCBC_96, AUTH_AES_CMAC_96 = 5, 8

K16 = bytes(range(16))
M20 = bytes(range(20))

# RFC 3566 section 4: key 000102..0f, messages 00 01 02 .. of the given length; AES-XCBC-MAC-96.
RFC3566_CASES = [
    (0, "75f0251d528ac01c4573dfd5"),
    (3, "5b376580ae2f19afe7219cee"),
    (16, "d2a246fa349b68a79998a439"),
    (20, "47f51b4564966215b8985c63"),
    (32, "f54f0ec8d2b9f3d36807734b"),
]


@pytest.mark.parametrize(("length", "mac96"), RFC3566_CASES)
def test_aes_xcbc_mac_96_matches_rfc3566_section4(length, mac96):
    assert integrity_checksum(AUTH_AES_XCBC_96, K16, bytes(range(length))).hex() == mac96
    assert aes_xcbc_mac(K16, bytes(range(length))).hex().startswith(mac96)


# RFC 4434 section 4 (message 000102..13): 16-byte key, 10-byte key (zero-padded), 18-byte key
# (shortened with AES-XCBC-PRF-128 under the zero key).
RFC4434_CASES = [
    (K16, "47f51b4564966215b8985c63055ed308"),
    (bytes(range(10)), "0fa087af7d866e7653434e602fdde835"),
    (K16 + bytes.fromhex("edcb"), "8cd3c93ae598a9803006ffb67c40e9e4"),
]


@pytest.mark.parametrize(("key", "out"), RFC4434_CASES, ids=["16-byte", "10-byte", "18-byte"])
def test_aes_xcbc_prf_128_matches_rfc4434_section4_for_every_key_length(key, out):
    assert prf(PRF_AES128_XCBC, key, M20).hex() == out


# RFC 4615 section 4 (message 000102..13): 18-byte, 16-byte, 10-byte keys; any key that is not
# 16 bytes goes through AES-CMAC(0^128, key) first (so the 10-byte key is NOT zero-padded).
RFC4615_CASES = [
    (K16 + bytes.fromhex("edcb"), "84a348a4a45d235babfffc0d2b4da09a"),
    (K16, "980ae87b5f4c9c5214f5b6a8455e4c2d"),
    (bytes(range(10)), "290d9e112edb09ee141fcf64c0b72f3d"),
]


@pytest.mark.parametrize(("key", "out"), RFC4615_CASES, ids=["18-byte", "16-byte", "10-byte"])
def test_aes_cmac_prf_128_matches_rfc4615_section4_for_every_key_length(key, out):
    assert prf(PRF_AES128_CMAC, key, M20).hex() == out


# RFC 4493 section 4 examples 1-4 (the AES-CMAC-96 ICV of RFC 4494 is the first 12 bytes).
RFC4493_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
RFC4493_MSG = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)
RFC4493_CASES = [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
]


@pytest.mark.parametrize(("length", "out"), RFC4493_CASES)
def test_aes_cmac_matches_rfc4493_and_its_96_bit_icv_is_the_prefix(length, out):
    message = RFC4493_MSG[:length]
    assert prf(PRF_AES128_CMAC, RFC4493_KEY, message).hex() == out
    assert integrity_checksum(AUTH_AES_CMAC_96, RFC4493_KEY, message).hex() == out[:24]


# RFC 2202 test case 1 (HMAC-MD5 key 0x0b*16, HMAC-SHA-1 key 0x0b*20) and RFC 4231 test case 1
# (key 0x0b*20, "Hi There").
HMAC_CASES = [
    (PRF_HMAC_MD5, b"\x0b" * 16, "9294727a3638bb1c13f48ef8158bfc9d"),
    (PRF_HMAC_SHA1, b"\x0b" * 20, "b617318655057264e28bc0b6fb378c8ef146be00"),
    (PRF_HMAC_SHA2_256, b"\x0b" * 20, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        PRF_HMAC_SHA2_384,
        b"\x0b" * 20,
        "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
    ),
    (
        PRF_HMAC_SHA2_512,
        b"\x0b" * 20,
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4"
        "be9d914eeb61f1702e696c203a126854",
    ),
]


@pytest.mark.parametrize(("prf_id", "key", "out"), HMAC_CASES)
def test_hmac_prfs_match_rfc2202_and_rfc4231_case1(prf_id, key, out):
    assert prf(prf_id, key, b"Hi There").hex() == out


@pytest.mark.parametrize("prf_id", [1, 2, 4, 5, 6, 7, 8])
def test_prf_plus_chains_rounds_as_rfc7296_section_2_13_says(prf_id):
    key, seed = b"k" * 16, b"seed bytes"
    t1 = prf(prf_id, key, seed + b"\x01")
    t2 = prf(prf_id, key, t1 + seed + b"\x02")
    t3 = prf(prf_id, key, t2 + seed + b"\x03")
    stream = t1 + t2 + t3
    assert prf_plus(prf_id, key, seed, len(stream)) == stream
    assert prf_plus(prf_id, key, seed, len(stream) - 5) == stream[:-5]
    assert prf_plus(prf_id, key, seed, 0) == b""


def test_prf_plus_refuses_more_than_255_rounds():
    assert len(prf_plus(PRF_HMAC_SHA1, b"k", b"s", 255 * 20)) == 5100
    with pytest.raises(InvalidKeyMaterial):
        prf_plus(PRF_HMAC_SHA1, b"k", b"s", 255 * 20 + 1)


def test_unknown_prf_and_wrong_integrity_key_are_one_line_errors():
    with pytest.raises(UnsupportedAlgorithm, match="PRF transform 3"):
        prf(3, b"k", b"d")  # PRF_HMAC_TIGER: registered, not implemented
    with pytest.raises(InvalidKeyMaterial, match="20-byte key"):
        integrity_checksum(2, b"short", b"d")
