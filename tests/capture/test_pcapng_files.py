"""pcapng: interfaces with different link types and timestamp resolutions, block types, sections."""

from __future__ import annotations

import struct

import pytest

from ikedecode.capture import Kind
from ikedecode.capture.pcapng import timestamp_scale

from .builders import (
    epb,
    esp,
    ethernet,
    idb,
    ipv4,
    ipv6,
    isakmp,
    obsolete_pb,
    pcapng_block,
    read_capture,
    shb,
    spb,
    udp,
)

IKE_PACKET = ipv4("192.0.2.1", "192.0.2.2", 17, udp(500, 500, isakmp()))
ESP6_PACKET = ipv6("2001:db8::1", "2001:db8::2", 50, esp(spi=0x99))


@pytest.mark.parametrize(
    ("tsresol", "expected"),
    [
        (6, (1000, 1)),  # microseconds
        (9, (1, 1)),  # nanoseconds
        (3, (1_000_000, 1)),  # milliseconds
        (12, (1, 1000)),  # picoseconds: divided, exactly
        (0x80 | 20, (1_953_125, 2048)),  # 2^-20 s: 10^9 / 2^20 reduced
    ],
)
def test_timestamp_scale_is_exact(tsresol: int, expected: tuple[int, int]) -> None:
    assert timestamp_scale(tsresol) == expected


def test_two_interfaces_with_different_link_types_and_resolutions() -> None:
    seconds = 1_700_000_000
    data = (
        shb()
        + idb(1, tsresol=9)  # interface 0: Ethernet, nanoseconds
        + idb(101, tsresol=0x80 | 20, tsoffset=1000)  # interface 1: raw IP, 2^-20 s, +1000 s
        + epb(0, seconds * 10**9 + 123_456_789, ethernet(IKE_PACKET))
        + epb(1, (seconds << 20) + (1 << 19), ESP6_PACKET)  # x.5 seconds
        + epb(0, seconds * 10**9 + 2, ethernet(IKE_PACKET))
    )
    reader, datagrams = read_capture(data)
    assert reader.format == "pcapng"
    assert [d.time_ns for d in datagrams] == [
        seconds * 10**9 + 123_456_789,
        (seconds + 1000) * 10**9 + 500_000_000,
        seconds * 10**9 + 2,
    ]
    assert [(d.kind, d.ip_version, d.src) for d in datagrams] == [
        (Kind.IKE, 4, "192.0.2.1"),
        (Kind.ESP, 6, "2001:db8::1"),
        (Kind.IKE, 4, "192.0.2.1"),
    ]
    assert datagrams[1].payload == esp(spi=0x99)
    assert reader.stats.link_types == {"ethernet": 2, "raw-ip": 1}


def test_interface_without_tsresol_counts_microseconds() -> None:
    data = shb() + idb(1) + epb(0, 1_700_000_000_654_321, ethernet(IKE_PACKET))
    _, datagrams = read_capture(data)
    assert datagrams[0].time_ns == 1_700_000_000_654_321_000


def test_big_endian_section() -> None:
    data = shb(">") + idb(1, ">", tsresol=9) + epb(0, 5_000_000_007, ethernet(IKE_PACKET), ">")
    reader, datagrams = read_capture(data)
    assert [(d.kind, d.time_ns) for d in datagrams] == [(Kind.IKE, 5_000_000_007)]
    assert reader.stats.truncated is None


def test_simple_and_obsolete_packet_blocks() -> None:
    data = (
        shb()
        + idb(1, tsresol=9)
        + obsolete_pb(0, 7_000_000_000, ethernet(IKE_PACKET))
        + spb(ethernet(ipv4("10.1.1.1", "10.1.1.2", 50, esp())))  # no timestamp: inherits the previous one
    )
    reader, datagrams = read_capture(data)
    assert [(d.frame, d.kind, d.time_ns) for d in datagrams] == [
        (1, Kind.IKE, 7_000_000_000),
        (2, Kind.ESP, 7_000_000_000),
    ]
    assert reader.stats.packets == 2


def test_simple_packet_block_is_cut_to_the_interface_snaplen() -> None:
    frame = ethernet(ipv4("10.1.1.1", "10.1.1.2", 50, esp(body=bytes(100))))
    reader, datagrams = read_capture(shb() + idb(1, snaplen=60) + spb(frame))
    assert datagrams == []
    assert reader.stats.malformed == 1
    assert reader.stats.malformed_frames == [(1, "truncated by snaplen (26 of 108 bytes captured)")]


def test_unknown_blocks_are_skipped() -> None:
    name_resolution = pcapng_block(4, struct.pack("<HH", 0, 0))
    statistics = pcapng_block(5, struct.pack("<III", 0, 0, 0))
    custom = pcapng_block(0x00000BAD, b"\x00\x00\x7e\x5f" + bytes(5000))
    future = pcapng_block(0x0BADF00D, bytes(20))
    data = shb() + name_resolution + idb(1) + custom + epb(0, 1, ethernet(IKE_PACKET)) + statistics + future
    reader, datagrams = read_capture(data + epb(0, 2, ethernet(IKE_PACKET)))
    assert [d.frame for d in datagrams] == [1, 2]
    assert reader.stats.packets == 2
    assert reader.stats.truncated is None


def test_new_section_has_its_own_byte_order_and_interfaces() -> None:
    data = (
        shb("<")
        + idb(1, "<")
        + idb(113, "<")
        + epb(1, 1, bytes(16) + IKE_PACKET)  # SLL framing is ignored here: protocol 0 -> not IP
        + shb(">")
        + idb(228, ">", tsresol=9)  # the only interface of section 2: raw IPv4
        + epb(0, 42, IKE_PACKET, ">")
    )
    reader, datagrams = read_capture(data)
    assert [(d.frame, d.time_ns) for d in datagrams] == [(2, 42)]
    assert reader.stats.link_types == {"linux-sll": 1, "ipv4": 1}
    assert reader.stats.as_dict() == {"packets": 2, "ike": 1, "esp": 0, "ah": 0, "other": 1, "malformed": 0}


def test_packet_on_undefined_interface_is_malformed() -> None:
    # interface 1 of section 1 does not exist in section 2
    data = (
        shb()
        + idb(1)
        + idb(1)
        + shb()
        + idb(1)
        + epb(1, 1, ethernet(IKE_PACKET))
        + epb(0, 2, ethernet(IKE_PACKET))
    )
    reader, datagrams = read_capture(data)
    assert [d.frame for d in datagrams] == [2]
    assert reader.stats.malformed_frames == [(1, "packet on an undefined pcapng interface")]


def test_packet_block_shorter_than_its_captured_length_is_malformed() -> None:
    block = bytearray(epb(0, 1, ethernet(IKE_PACKET)))
    struct.pack_into("<I", block, 20, 5000)  # captured length field far beyond the block
    reader, datagrams = read_capture(shb() + idb(1) + bytes(block) + epb(0, 2, ethernet(IKE_PACKET)))
    assert [d.frame for d in datagrams] == [2]
    assert reader.stats.malformed_reasons == {"pcapng packet block shorter than its captured length": 1}
