"""Deterministic ESP capture generator for benchmarks (known keys, fixed-size packets).

Writes a classic pcap (Ethernet, microsecond timestamps) of ESP tunnel-mode packets for the SAs
of one suite, and the matching Wireshark ``esp_sa`` UAT lines. Everything is derived from the
suite name and packet index, so two runs give byte-identical files.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.inner import ipv4_checksum
from ikedecode.esp.sa import IpsecSa

ETHERTYPE_IPV4 = b"\x08\x00"
MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
GATEWAY_A, GATEWAY_B = "192.0.2.1", "198.51.100.1"
HOST_A, HOST_B = "10.10.0.1", "10.20.0.1"
UDP_PORT = 9999
BASE_TIME_US = 1_700_000_000 * 1_000_000


@dataclass(frozen=True)
class Suite:
    name: str
    encryption: str
    key_size: int  # cipher key bytes, without salt
    integrity: str
    wireshark_encryption: str
    wireshark_integrity: str


SUITES = {
    suite.name: suite
    for suite in (
        Suite(
            "aes128-cbc+hmac-sha1-96",
            "aes-cbc",
            16,
            "hmac-sha1-96",
            "AES-CBC [RFC3602]",
            "HMAC-SHA-1-96 [RFC2404]",
        ),
        Suite("aes128-gcm-16", "aes-gcm-16", 16, "null", "AES-GCM with 16 octet ICV [RFC4106]", "NULL"),
        Suite(
            "aes256-cbc+hmac-sha2-256-128",
            "aes-cbc",
            32,
            "hmac-sha2-256-128",
            "AES-CBC [RFC3602]",
            "HMAC-SHA-256-128 [RFC4868]",
        ),
        Suite(
            "aes256-ctr+hmac-sha2-256-128",
            "aes-ctr",
            32,
            "hmac-sha2-256-128",
            "AES-CTR [RFC3686]",
            "HMAC-SHA-256-128 [RFC4868]",
        ),
        Suite(
            "3des-cbc+hmac-md5-96",
            "3des-cbc",
            24,
            "hmac-md5-96",
            "TripleDES-CBC [RFC2451]",
            "HMAC-MD5-96 [RFC2403]",
        ),
    )
}


def derive(label: str, length: int) -> bytes:
    """``length`` bytes from SHA-256 of ``label`` and a counter: every generated value."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:length]


def suite_sas(suite: Suite) -> list[IpsecSa]:
    """The two SAs (one per direction) of a suite, keys derived from the suite name."""
    from ikedecode.esp.algorithms import ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS

    salt = ENCRYPTION_ALGORITHMS[suite.encryption].salt_size
    integrity_key_size = INTEGRITY_ALGORITHMS[suite.integrity].key_size
    sas = []
    for index, (src, dst) in enumerate(((GATEWAY_A, GATEWAY_B), (GATEWAY_B, GATEWAY_A))):
        spi = int.from_bytes(derive(f"{suite.name}/spi/{index}", 4), "big") | 0x100
        sas.append(
            IpsecSa(
                "esp",
                spi,
                src,
                dst,
                encryption=suite.encryption,
                encryption_key=derive(f"{suite.name}/enc/{index}", suite.key_size + salt),
                integrity=suite.integrity,
                integrity_key=derive(f"{suite.name}/auth/{index}", integrity_key_size),
                mode="tunnel",
                origin=f"bench suite {suite.name}",
            )
        )
    return sas


def wireshark_uat_lines(suite: Suite, sas: list[IpsecSa]) -> list[str]:
    """``esp_sa`` lines; hex fields quoted as in a UAT file (tshark -o 'uat:esp_sa:LINE' accepts them)."""
    lines = []
    for sa in sas:
        auth_key = f"0x{sa.integrity_key.hex()}" if sa.integrity_key else ""
        lines.append(
            f'"IPv4","{sa.src}","{sa.dst}","0x{sa.spi:08x}","{suite.wireshark_encryption}",'
            f'"0x{sa.encryption_key.hex()}","{suite.wireshark_integrity}","{auth_key}"'
        )
    return lines


def key_file_toml(sas: list[IpsecSa]) -> str:
    """The suite's SAs as an ikedecode key file (``--keys``, docs/keys.md)."""
    blocks = []
    for sa in sas:
        blocks.append(
            "[[ipsec_sa]]\n"
            f'protocol = "esp"\nspi = "0x{sa.spi:08x}"\nsrc = "{sa.src}"\ndst = "{sa.dst}"\n'
            f'mode = "tunnel"\nencryption = "{sa.encryption}"\nencryption_key = "{sa.encryption_key.hex()}"\n'
            f'integrity = "{sa.integrity}"\nintegrity_key = "{sa.integrity_key.hex()}"\n'
        )
    return "\n".join(blocks)


def _ipv4(src: str, dst: str, protocol: int, payload: bytes, ident: int) -> bytes:
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(payload),
            ident & 0xFFFF,
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


def _inner_payload_length(sa: IpsecSa, outer_size: int) -> int:
    """UDP payload bytes that make the outer IP packet about ``outer_size`` bytes."""
    enc, integ = sa.encryption_algorithm, sa.integrity_algorithm
    icv = enc.icv_size if enc.combined else integ.icv_size
    overhead = 20 + 8 + enc.iv_size + 2 + icv + 20 + 8  # outer IP, ESP header, IV, trailer, ICV, inner IP+UDP
    return max(outer_size - overhead - (enc.pad_alignment - 1), 0)


def generate_frames(suite: Suite, count: int, outer_size: int = 1400) -> Iterator[tuple[int, bytes]]:
    """(timestamp in microseconds, Ethernet frame) of ``count`` ESP packets, directions alternating."""
    sas = suite_sas(suite)
    encoders = [EspEncoder(sa) for sa in sas]
    payload_length = _inner_payload_length(sas[0], outer_size)
    pattern = derive(f"{suite.name}/payload", payload_length + 256)
    for index in range(count):
        direction = index & 1
        sa, encoder = sas[direction], encoders[direction]
        seq = index // 2 + 1
        hosts = (HOST_A, HOST_B) if direction == 0 else (HOST_B, HOST_A)
        data = pattern[index & 0xFF : (index & 0xFF) + payload_length]
        udp = struct.pack("!HHHH", UDP_PORT, UDP_PORT, 8 + len(data), 0) + data
        inner = _ipv4(*hosts, 17, udp, index)
        esp = encoder.encode(inner, 4, seq)
        outer = _ipv4(sa.src, sa.dst, 50, esp, index)
        macs = MAC_B + MAC_A if direction == 0 else MAC_A + MAC_B
        yield BASE_TIME_US + index * 100, macs + ETHERTYPE_IPV4 + outer


def write_pcap(stream: BinaryIO, frames: Iterator[tuple[int, bytes]]) -> int:
    """Classic pcap, Ethernet link type, microsecond resolution; returns the number of frames."""
    stream.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    count = 0
    for time_us, frame in frames:
        seconds, micros = divmod(time_us, 1_000_000)
        stream.write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
        stream.write(frame)
        count += 1
    return count
