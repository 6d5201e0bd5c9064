"""Packets built by EspEncoder decrypt and authenticate in Wireshark: the encoder is sound."""

from __future__ import annotations

import ipaddress
import shutil
import struct
import subprocess

import pytest

from ikedecode.esp import ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, IpsecSa
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.inner import ipv4_checksum
from ikedecode.render.pcap_writer import DecryptedPcapWriter

SRC, DST = "192.0.2.1", "192.0.2.2"
INNER_PORT = 4242

# (encryption, cipher key size, integrity, Wireshark encryption name, Wireshark authentication name)
SUITES = [
    ("aes-cbc", 16, "hmac-sha1-96", "AES-CBC [RFC3602]", "HMAC-SHA-1-96 [RFC2404]"),
    ("aes-cbc", 32, "hmac-sha2-512-256", "AES-CBC [RFC3602]", "HMAC-SHA-512-256 [RFC4868]"),
    ("aes-gcm-16", 16, "null", "AES-GCM with 16 octet ICV [RFC4106]", "NULL"),
    ("aes-gcm-8", 32, "null", "AES-GCM with 8 octet ICV [RFC4106]", "NULL"),
    ("aes-ctr", 24, "hmac-sha2-256-128", "AES-CTR [RFC3686]", "HMAC-SHA-256-128 [RFC4868]"),
    ("3des-cbc", 24, "hmac-md5-96", "TripleDES-CBC [RFC2451]", "HMAC-MD5-96 [RFC2403]"),
    ("des-cbc", 8, "hmac-sha2-384-192", "DES-CBC [RFC2405]", "HMAC-SHA-384-192 [RFC4868]"),
    ("blowfish-cbc", 16, "hmac-sha1-96", "BLOWFISH-CBC [RFC2451]", "HMAC-SHA-1-96 [RFC2404]"),
    ("cast-cbc", 16, "hmac-sha1-96", "CAST5-CBC [RFC2144]", "HMAC-SHA-1-96 [RFC2404]"),
    ("null", 0, "hmac-sha1-96", "NULL", "HMAC-SHA-1-96 [RFC2404]"),
]


def _ipv4(src: str, dst: str, protocol: int, payload: bytes) -> bytes:
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(payload),
            1,
            0x4000,
            64,
            protocol,
            0,
            ipaddress.IPv4Address(src).packed,
            ipaddress.IPv4Address(dst).packed,
        )
    )
    struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return bytes(header) + payload


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: f"{s[0]}-{s[1] * 8}+{s[2]}")
def test_wireshark_opens_encoder_output(suite, tmp_path):
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    encryption, key_size, integrity, ws_encryption, ws_integrity = suite
    salt = ENCRYPTION_ALGORITHMS[encryption].salt_size
    integrity_key = bytes(range(100, 100 + INTEGRITY_ALGORITHMS[integrity].key_size))
    sa = IpsecSa(
        "esp",
        0x1001,
        SRC,
        DST,
        encryption=encryption,
        encryption_key=bytes(range(key_size + salt)),
        integrity=integrity,
        integrity_key=integrity_key,
    )
    encoder = EspEncoder(sa)
    path = tmp_path / "esp.pcap"
    with path.open("wb") as stream:
        writer = DecryptedPcapWriter(stream)  # any raw-IP packet will do: here, the ESP packets themselves
        for seq in range(1, 6):
            data = bytes(range(seq * 7 % 50))
            udp = struct.pack("!HHHH", INNER_PORT, INNER_PORT, 8 + len(data), 0) + data
            esp = encoder.encode(_ipv4("10.0.0.1", "10.0.0.2", 17, udp), 4, seq)
            writer.write_packet(seq * 10**9, _ipv4(SRC, DST, 50, esp))
    enc_key = f"0x{sa.encryption_key.hex()}" if sa.encryption_key else ""
    auth_key = f"0x{integrity_key.hex()}" if integrity_key else ""
    uat = f'"IPv4","{SRC}","{DST}","0x1001","{ws_encryption}","{enc_key}","{ws_integrity}","{auth_key}"'
    command = [
        "tshark",
        "-n",
        "-r",
        str(path),
        "-o",
        "esp.enable_encryption_decode:TRUE",
        "-o",
        "esp.enable_authentication_check:TRUE",
        "-o",
        f"uat:esp_sa:{uat}",
        "-T",
        "fields",
        "-e",
        "esp.icv_good",
        "-e",
        "udp.dstport",
        "-e",
        "esp.pad_len",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    rows = [line.split("\t") for line in output.splitlines()]
    assert len(rows) == 5
    assert all(row[1] == str(INNER_PORT) for row in rows), rows  # decrypted to the inner UDP packet
    assert all(row[0] == "1" for row in rows), rows  # Wireshark computed the same ICV
