"""Algorithm spellings of Wireshark, strongSwan and ip xfrm resolve to the project's canonical names."""

from __future__ import annotations

import re

import pytest

from ikedecode.esp.algorithms import (
    ENCRYPTION_ALGORITHMS,
    INTEGRITY_ALGORITHMS,
    UnknownAlgorithm,
    resolve_encryption,
    resolve_integrity,
)

WIRESHARK_ESP_SA_FILES = (
    "wireshark/config/esp_sa",
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_1/esp_sa",
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_2/esp_sa",
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_3/esp_sa",
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_5/esp_sa",
    "wireshark-wiki/ipsec_ikev2_esp_nat_t/esp_sa",
    "wireshark-wiki/ipsec_ikev2_esp_nat_t/esp_sa.no_icv",
)

EXPECTED_WIRESHARK = {
    "AES-CBC [RFC3602]": "aes-cbc",
    "TripleDES-CBC [RFC2451]": "3des-cbc",
    "DES-CBC [RFC2405]": "des-cbc",
    "NULL": "null",
    "BLOWFISH-CBC [RFC2451]": "blowfish-cbc",
    "TWOFISH-CBC": "twofish-cbc",
    "AES-CTR [RFC3686]": "aes-ctr",
    "AES-GCM with 16 octet ICV [RFC4106]": "aes-gcm-16",
    "AES-GCM [RFC4106]": "aes-gcm-16",
}
EXPECTED_WIRESHARK_AUTH = {
    "HMAC-SHA-1-96 [RFC2404]": "hmac-sha1-96",
    "HMAC-MD5-96 [RFC2403]": "hmac-md5-96",
    "HMAC-SHA-256-128 [RFC4868]": "hmac-sha2-256-128",
    "NULL": "null",
}


def test_every_algorithm_name_in_the_reference_esp_sa_files_resolves(reference_dir):
    seen_encryption, seen_integrity = set(), set()
    for relative in WIRESHARK_ESP_SA_FILES:
        for line in (reference_dir / relative).read_text().splitlines():
            if not line.startswith('"'):
                continue
            fields = re.findall(r'"([^"]*)"', line)
            seen_encryption.add(fields[4])
            seen_integrity.add(fields[6])
    assert seen_encryption == set(EXPECTED_WIRESHARK)
    assert seen_integrity == set(EXPECTED_WIRESHARK_AUTH)
    for name in seen_encryption:
        assert resolve_encryption(name)[0].name == EXPECTED_WIRESHARK[name]
    for name in seen_integrity:
        assert resolve_integrity(name).name == EXPECTED_WIRESHARK_AUTH[name]


@pytest.mark.parametrize(
    ("alias", "canonical", "key_size"),
    [
        ("aes128", "aes-cbc", 16),
        ("aes256", "aes-cbc", 32),
        ("3des", "3des-cbc", 24),
        ("aes128gcm16", "aes-gcm-16", 16),
        ("aes256gcm128", "aes-gcm-16", 32),
        ("aes192gcm8", "aes-gcm-8", 24),
        ("aes128ctr", "aes-ctr", 16),
        ("aes128ccm12", "aes-ccm-12", 16),
        ("aes256gmac", "aes-gmac", 32),
        ("chacha20poly1305", "chacha20-poly1305", 32),
        ("blowfish", "blowfish-cbc", 16),
        ("cbc(aes)", "aes-cbc", None),
        ("cbc(des3_ede)", "3des-cbc", None),
        ("rfc3686(ctr(aes))", "aes-ctr", None),
        ("rfc4543(gcm(aes))", "aes-gmac", None),
        ("ecb(cipher_null)", "null", None),
        ("AES128-CBC", "aes-cbc", 16),
        ("aes-256-cbc", "aes-cbc", 32),
        ("  AES-CBC   [RFC3602] ", "aes-cbc", None),
    ],
)
def test_encryption_aliases(alias, canonical, key_size):
    algorithm, implied_key = resolve_encryption(alias)
    assert algorithm.name == canonical
    assert implied_key == key_size


@pytest.mark.parametrize(
    ("alias", "icv_bytes", "canonical"),
    [
        ("rfc4106(gcm(aes))", 8, "aes-gcm-8"),
        ("rfc4106(gcm(aes))", 16, "aes-gcm-16"),
        ("rfc4309(ccm(aes))", 12, "aes-ccm-12"),
    ],
)
def test_xfrm_aead_names_take_the_icv_length(alias, icv_bytes, canonical):
    assert resolve_encryption(alias, icv_size=icv_bytes)[0].name == canonical


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("sha1", "hmac-sha1-96"),
        ("md5", "hmac-md5-96"),
        ("sha256", "hmac-sha2-256-128"),
        ("sha2_384", "hmac-sha2-384-192"),
        ("sha512", "hmac-sha2-512-256"),
        ("aesxcbc", "aes-xcbc-mac-96"),
        ("hmac(sha1)", "hmac-sha1-96"),
        ("hmac(sha256)", "hmac-sha2-256-128"),
        ("xcbc(aes)", "aes-xcbc-mac-96"),
        ("digest_null", "null"),
        ("ANY 96 bit authentication [no checking]", "any-96"),
    ],
)
def test_integrity_aliases(alias, canonical):
    assert resolve_integrity(alias).name == canonical


def test_hmac_truncation_length_selects_the_variant():
    assert resolve_integrity("hmac(sha256)", icv_size=12).name == "hmac-sha2-256-96"
    with pytest.raises(UnknownAlgorithm):
        resolve_integrity("hmac(sha1)", icv_size=7)


@pytest.mark.parametrize("name", ["rc5", "AES-XTS", "", "hmac(whirlpool)"])
def test_unknown_names_raise_unknown_algorithm(name):
    with pytest.raises(UnknownAlgorithm):
        resolve_encryption(name)
    with pytest.raises(UnknownAlgorithm):
        resolve_integrity(name)


def test_table_entries_are_self_consistent():
    for name, alg in ENCRYPTION_ALGORITHMS.items():
        assert alg.name == name
        assert alg.combined == (alg.icv_size > 0)
        if alg.mode == "cbc":
            assert alg.iv_size == alg.block_size
        if alg.mode in ("ctr", "gcm", "gmac", "ccm", "chacha20-poly1305"):
            assert alg.iv_size == 8 and alg.salt_size in (3, 4)
    for name, alg in INTEGRITY_ALGORITHMS.items():
        assert alg.name == name
        if alg.kind in ("hmac", "xcbc", "cmac", "unchecked"):
            # the name ends in the ICV length in bits (hmac-sha2-256-128, aes-xcbc-mac-96, any-64)
            assert alg.icv_size * 8 == int(name.rsplit("-", 1)[1])
