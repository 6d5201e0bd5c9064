"""Wireshark esp_sa UAT files load into IpsecSa objects; broken lines name file and line."""

from __future__ import annotations

import pytest

from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.wireshark import parse_key, read_esp_sa_table, split_uat_line


def test_wireshark_test_suite_esp_sa_file(reference_dir):
    text = (reference_dir / "wireshark/config/esp_sa").read_text()
    first, second = read_esp_sa_table(text, "esp_sa")
    assert (first.protocol, first.spi, first.src, first.dst) == (
        "esp",
        0x070883C2,
        "192.168.0.1",
        "192.168.0.100",
    )
    assert (first.encryption, first.integrity) == ("aes-cbc", "hmac-sha1-96")
    assert first.encryption_key == bytes.fromhex("5de1a4c2c72662c9fda7a7c78cd25623")
    assert first.integrity_key == bytes.fromhex("51c9213c18232f8f26c70c4dee6e0e6d56e31e8a")
    assert first.origin == "key file esp_sa line 1" and second.origin == "key file esp_sa line 2"
    assert second.spi == 0xC254FE64


def test_ascii_keys_decimal_spis_comments_and_blank_lines(reference_dir):
    text = (reference_dir / "wireshark-wiki/ipsec_esp/ipsec_esp_capture_1/esp_sa").read_text()
    sas = read_esp_sa_table(text, "capture_1")
    assert len(sas) == 24
    aes = sas[0]
    assert (aes.spi, aes.src, aes.dst) == (10, "3ffe::1", "3ffe::2")  # "10" is decimal, as setkey wrote it
    assert aes.encryption_key == b"aescbcencryption" and aes.integrity_key == b"hmacsha1authenticati"
    null_null = next(sa for sa in sas if sa.dst == "190.0.0.25")
    assert (null_null.spi, null_null.encryption, null_null.integrity) == (123, "null", "null")
    assert null_null.origin.endswith("line 37")


def test_wildcards_become_none(reference_dir):
    sas = read_esp_sa_table(
        (reference_dir / "wireshark-wiki/ipsec_ikev2_esp_nat_t/esp_sa").read_text(), "esp_sa"
    )
    assert len(sas) == 6 and all(sa.src is None and sa.dst is None for sa in sas)
    gcm = sas[0]
    assert (gcm.spi, gcm.encryption, gcm.integrity) == (0xC1A9656B, "aes-gcm-16", "null")
    assert len(gcm.encryption_key) == 20  # 16-byte key + 4-byte salt
    nested = read_esp_sa_table(
        (reference_dir / "wireshark-wiki/ipsec_esp/ipsec_esp_capture_2/esp_sa").read_text(), "esp_sa"
    )
    assert [sa.spi for sa in nested] == [None, None]


def test_odd_length_hex_keys_get_a_leading_zero_like_wireshark():
    assert parse_key("0xabc") == b"\x0a\xbc"
    assert parse_key("0X0102") == b"\x01\x02"
    assert parse_key("0x") == b""
    assert parse_key("plain text") == b"plain text"


def test_uat_lines_split_with_quotes_escapes_and_bare_fields():
    assert split_uat_line('"a","b,c","\\x22q\\x22",,0x01') == ["a", "b,c", '"q"', "", "0x01"]
    assert split_uat_line('"unterminated,"x"') is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('"IPv4","1.2.3.4","5.6.7.8","0x10","AES-CBC [RFC3602]","0x00"', "6 fields"),
        ('"IPv4","1.2.3.4","5.6.7.8","0x10","ROT13 [RFC0]","","NULL",""', "unknown ESP encryption"),
        ('"IPv4","1.2.3.4","5.6.7.8","0x10","AES-CBC [RFC3602]","0x0011","NULL",""', "16/24/32-byte key"),
        ('"IPv4","1.2.3.4","5.6.7.8","zz","NULL","","NULL",""', "SPI 'zz'"),
        ('"IPv4","1.2.3.4","5.6.7.8","0x1ffffffff","NULL","","NULL",""', "32 bits"),
        ('"IPv4","not-an-ip","5.6.7.8","1","NULL","","NULL",""', "not an IP address"),
        ('"IPv4","1.2.3.4","5.6.7.8","1","AES-CBC [RFC3602]","0xgg","NULL",""', "not a hex digit"),
        ('"IPX","1.2.3.4","5.6.7.8","1","NULL","","NULL",""', "IPv4, IPv6 or Any"),
        ('"IPv4","1.2.3.4",broken"', "comma-separated"),
    ],
)
def test_bad_lines_raise_key_file_error_with_file_and_line(line, message):
    text = "# comment\n\n" + line + "\n"
    with pytest.raises(KeyFileError, match=message) as caught:
        read_esp_sa_table(text, "my_esp_sa")
    assert caught.value.source == "my_esp_sa" and caught.value.line == 3
    assert str(caught.value).startswith("my_esp_sa:3: ")
