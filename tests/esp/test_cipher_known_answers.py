"""RFC 3602 / 3686 / 4106 known-answer vectors through the ESP decryption code."""

from __future__ import annotations

import json

import pytest

from ikedecode.esp.algorithms import ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS
from ikedecode.esp.ciphers import MISALIGNED, EspCrypto, make_aead
from ikedecode.esp.xcbc import AesXcbcMac

ESP_HEADER = bytes.fromhex("0000022200000001")  # SPI 0x222, sequence number 1
NULL_INTEGRITY = INTEGRITY_ALGORITHMS["null"]


@pytest.fixture
def kat(reference_dir):
    return json.loads((reference_dir / "rfc-vectors" / "esp_cipher_kat.json").read_text())


def test_rfc3602_aes_cbc_cases(kat):
    cases = kat["rfc3602_aes_cbc"]["cases"]
    assert len(cases) == 3
    for case in cases:
        crypto = EspCrypto(ENCRYPTION_ALGORITHMS["aes-cbc"], bytes.fromhex(case["key"]), NULL_INTEGRITY, b"")
        packet = ESP_HEADER + bytes.fromhex(case["iv"] + case["cipher"])
        icv_ok, plaintext, problem = crypto.open(packet)
        assert (icv_ok, problem) == (None, "")
        assert plaintext == bytes.fromhex(case["plain"]), case["case"]


def test_rfc3686_aes_ctr_cases(kat):
    cases = kat["rfc3686_aes_ctr"]["cases"]
    assert len(cases) == 9
    for case in cases:
        crypto = EspCrypto(ENCRYPTION_ALGORITHMS["aes-ctr"], bytes.fromhex(case["key"]), NULL_INTEGRITY, b"")
        packet = ESP_HEADER + bytes.fromhex(case["iv"] + case["cipher"])
        assert crypto.open(packet)[1] == bytes.fromhex(case["plain"]), case["case"]


def test_rfc4106_aes_gcm_cases(kat):
    cases = kat["rfc4106_aes_gcm"]["cases"]
    assert {case["icv"] for case in cases} == {8, 16}
    for case in cases:
        aead = make_aead(ENCRYPTION_ALGORITHMS[f"aes-gcm-{case['icv']}"], bytes.fromhex(case["key"]))
        iv, aad = bytes.fromhex(case["iv"]), bytes.fromhex(case["aad"])
        sealed = bytes.fromhex(case["cipher"])
        assert aead.decrypt(iv, sealed, aad) == bytes.fromhex(case["plain"]), case["case"]
        tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
        assert aead.decrypt(iv, tampered, aad) is None
        assert aead.decrypt(iv, sealed, aad + b"x") is None


def test_cbc_with_a_misaligned_ciphertext_is_reported_not_decrypted(kat):
    case = kat["rfc3602_aes_cbc"]["cases"][1]
    crypto = EspCrypto(ENCRYPTION_ALGORITHMS["aes-cbc"], bytes.fromhex(case["key"]), NULL_INTEGRITY, b"")
    icv_ok, plaintext, problem = crypto.open(ESP_HEADER + bytes.fromhex(case["iv"] + case["cipher"])[:-3])
    assert plaintext is None
    assert problem == MISALIGNED


# RFC 3566 section 4.6 test cases: key 000102..0f, message 00 01 02 .. of the given length
@pytest.mark.parametrize(
    ("length", "mac"),
    [
        (0, "75f0251d528ac01c4573dfd584d79f29"),
        (3, "5b376580ae2f19afe7219ceef172756f"),
        (16, "d2a246fa349b68a79998a4394ff7a263"),
        (20, "47f51b4564966215b8985c63055ed308"),
        (32, "f54f0ec8d2b9f3d36807734bd5283fd4"),
        (34, "becbb3bccdb518a30677d5481fb6b4d8"),
    ],
)
def test_rfc3566_aes_xcbc_mac(length, mac):
    assert AesXcbcMac(bytes(range(16))).mac(bytes(range(length))).hex() == mac


def test_rfc3566_aes_xcbc_mac_1000_zero_bytes():
    assert AesXcbcMac(bytes(range(16))).mac(bytes(1000)).hex() == "f0dafee895db30253761103b5d84528f"


def test_aes_xcbc_mac_appended_bytes_equal_one_message():
    mac = AesXcbcMac(bytes(range(16)))
    assert mac.mac(bytes(range(30)), bytes(range(30, 34))) == mac.mac(bytes(range(34)))
