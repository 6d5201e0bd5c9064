"""Sound inner payloads for ESP tests: what a real sender encrypts passes the plaintext checks of
ikedecode/esp/plaintext.py (a UDP length, a TCP data offset, an IPv4 checksum that agree)."""

from __future__ import annotations

import struct

from ikedecode.esp.inner import ipv4_checksum


def udp(data: bytes, sport: int = 1024, dport: int = 53) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(data: bytes, sport: int = 1024, dport: int = 80) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 512, 0, 0) + data


def ipv4(
    protocol: int, payload: bytes, src: bytes = bytes([10, 0, 0, 1]), dst: bytes = bytes([10, 0, 0, 2])
) -> bytes:
    header = bytearray(
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, protocol, 0, src, dst)
    )
    struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return bytes(header) + payload
