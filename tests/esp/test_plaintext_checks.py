"""The plaintext checks of esp/plaintext.py: what a real sender encrypts passes, each defect is
named, and random bytes (what a wrong key decrypts to) almost never pass."""

from __future__ import annotations

import random
import struct

import pytest

from ikedecode.esp.inner import MONOTONIC_PADDING
from ikedecode.esp.plaintext import (
    GARBLED,
    INNER_IPV4,
    INNER_IPV6,
    INNER_TCP,
    INNER_UDP,
    NEXT_HEADER,
    PAD_LENGTH,
    PADDING,
    judge,
)
from tests.esp.payloads import ipv4, tcp, udp

IPV6 = struct.pack("!IHBB16s16s", 6 << 28, 12, 17, 64, bytes(16), bytes(16)) + udp(b"v6v6")


def _trailer(inner: bytes, next_header: int, pad: int = 3, padding: bytes | None = None) -> bytes:
    return inner + (MONOTONIC_PADDING[:pad] if padding is None else padding) + bytes([pad, next_header])


@pytest.mark.parametrize(
    ("inner", "next_header"),
    [
        (ipv4(17, udp(b"dns")), 4),
        (IPV6, 41),
        (tcp(b"GET /"), 6),
        (udp(b"x"), 17),
        (b"\x08\x00rest", 1),
        (b"", 59),
    ],
    ids=["ipv4", "ipv6", "tcp", "udp", "icmp", "dummy"],
)
def test_what_a_sender_encrypts_passes(inner: bytes, next_header: int):
    assert judge(_trailer(inner, next_header)) == ""
    assert judge(_trailer(inner + bytes(9), next_header)) == ""  # TFC padding after the packet


def _with(packet: bytes, at: int, value: int) -> bytes:
    changed = bytearray(packet)
    changed[at] = value
    return bytes(changed)


@pytest.mark.parametrize(
    ("plaintext", "code"),
    [
        (bytes([200, 4]), PAD_LENGTH),
        (_trailer(b"stuff", 200), NEXT_HEADER),
        (_trailer(b"\x08\x00rest", 1, padding=b"\xaa\xbb\xcc"), PADDING),
        (_trailer(_with(ipv4(17, udp(b"dns")), 0, 0x46), 4), INNER_IPV4),  # header length
        (_trailer(_with(ipv4(17, udp(b"dns")), 3, 0xFF), 4), INNER_IPV4),  # total length
        (_trailer(_with(ipv4(17, udp(b"dns")), 8, 1), 4), INNER_IPV4),  # checksum no longer agrees
        (_trailer(_with(ipv4(17, udp(b"dns")), 0, 0x65), 4), INNER_IPV4),  # version
        (_trailer(_with(IPV6, 5, 200), 41), INNER_IPV6),
        (_trailer(_with(tcp(b"x"), 12, 0xF0), 6), INNER_TCP),
        (_trailer(_with(udp(b"x"), 5, 99), 17), INNER_UDP),
    ],
)
def test_each_defect_is_named(plaintext: bytes, code: str):
    assert judge(plaintext) == code and code in GARBLED


def test_an_authentic_packet_is_spared_only_the_ipv4_checksum():
    wrong_checksum = _trailer(_with(ipv4(17, udp(b"dns")), 8, 1), 4)
    wrong_version = _trailer(_with(ipv4(17, udp(b"dns")), 0, 0x65), 4)
    assert (judge(wrong_checksum, authentic=True), judge(wrong_checksum)) == ("", INNER_IPV4)
    assert judge(wrong_version, authentic=True) == INNER_IPV4


def test_random_bytes_almost_never_pass():
    rng = random.Random(16)
    passed = sum(not judge(rng.randbytes(rng.choice((64, 128, 1400)))) for _ in range(20000))
    assert passed < 20  # about 1 in 4,000 by the numbers; a per-SA verdict needs only a few packets
