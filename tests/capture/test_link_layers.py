"""Every supported link type carries IPv4 and IPv6 to the classifier; others are counted, not fatal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ikedecode.capture import Kind

from .builders import (
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    esp,
    ethernet,
    ipv4,
    ipv6,
    linux_sll,
    linux_sll2,
    loopback,
    pcap,
    read_capture,
)

PACKET4 = ipv4("203.0.113.1", "203.0.113.2", 50, esp(spi=4))
PACKET6 = ipv6("2001:db8::a", "2001:db8::b", 50, esp(spi=6))
ETHERTYPES = {4: ETHERTYPE_IPV4, 6: ETHERTYPE_IPV6}

# (link type, name counted in stats.link_types, framing function(packet, ip_version))
LINKS: list[tuple[int, str, Callable[[bytes, int], bytes]]] = [
    (1, "ethernet", lambda p, v: ethernet(p, ETHERTYPES[v])),
    (1, "ethernet", lambda p, v: ethernet(p, ETHERTYPES[v], [(0x8100, 10)])),
    (1, "ethernet", lambda p, v: ethernet(p, ETHERTYPES[v], [(0x88A8, 100), (0x8100, 10)])),  # QinQ
    (1, "ethernet", lambda p, v: ethernet(p, ETHERTYPES[v], [(0x9100, 100), (0x8100, 10)])),
    (113, "linux-sll", lambda p, v: linux_sll(p, ETHERTYPES[v])),
    (276, "linux-sll2", lambda p, v: linux_sll2(p, ETHERTYPES[v])),
    (101, "raw-ip", lambda p, v: p),
    (12, "raw-ip", lambda p, v: p),
    (14, "raw-ip", lambda p, v: p),
    (0, "null", lambda p, v: loopback(p, {4: 2, 6: 24}[v], "little")),
    (0, "null", lambda p, v: loopback(p, {4: 2, 6: 28}[v], "big")),
    (0, "null", lambda p, v: loopback(p, {4: 2, 6: 30}[v], "little")),
    (108, "loop", lambda p, v: loopback(p, {4: 2, 6: 24}[v], "big")),
]
LINK_IDS = [
    "ethernet",
    "802.1q",
    "qinq-88a8",
    "qinq-9100",
    "sll",
    "sll2",
    "raw101",
    "raw12",
    "raw14",
    "null-le-24",
    "null-be-28",
    "null-le-30",
    "loop",
]


@pytest.mark.parametrize(("linktype", "name", "frame"), LINKS, ids=LINK_IDS)
@pytest.mark.parametrize("version", [4, 6])
def test_link_type_carries_ip(
    linktype: int, name: str, frame: Callable[[bytes, int], bytes], version: int
) -> None:
    packet = {4: PACKET4, 6: PACKET6}[version]
    reader, datagrams = read_capture(pcap([(1, frame(packet, version))], linktype=linktype))
    assert len(datagrams) == 1
    datagram = datagrams[0]
    assert (datagram.kind, datagram.ip_version) == (Kind.ESP, version)
    assert datagram.payload == esp(spi=version)
    assert datagram.src == {4: "203.0.113.1", 6: "2001:db8::a"}[version]
    assert datagram.ip_header == packet[: {4: 20, 6: 40}[version]]
    assert reader.stats.link_types == {name: 1}


@pytest.mark.parametrize(("linktype", "name", "packet"), [(228, "ipv4", PACKET4), (229, "ipv6", PACKET6)])
def test_linktype_ipv4_and_ipv6(linktype: int, name: str, packet: bytes) -> None:
    reader, datagrams = read_capture(pcap([(1, packet)], linktype=linktype))
    assert [d.kind for d in datagrams] == [Kind.ESP]
    assert reader.stats.link_types == {name: 1}


def test_linktype_ipv4_with_an_ipv6_packet_is_malformed() -> None:
    reader, datagrams = read_capture(pcap([(1, PACKET6)], linktype=228))
    assert datagrams == []
    assert reader.stats.malformed_frames == [
        (1, "IP version differs from the link layer's (IPv4 expected, version 6)")
    ]


def test_unknown_link_type_is_counted_as_other() -> None:
    reader, datagrams = read_capture(pcap([(1, PACKET4), (2, PACKET4)], linktype=147))
    assert datagrams == []
    assert reader.stats.as_dict() == {"packets": 2, "ike": 0, "esp": 0, "ah": 0, "other": 2, "malformed": 0}
    assert reader.stats.link_types == {"unknown link type 147": 2}


@pytest.mark.parametrize(
    "frame",
    [
        ethernet(bytes(28), 0x0806),  # ARP
        ethernet(bytes(46), 46),  # IEEE 802.3 length field: LLC follows
        ethernet(bytes(46), 0x88CC, [(0x8100, 5)]),  # LLDP behind a VLAN tag
    ],
    ids=["arp", "802.3-llc", "vlan-lldp"],
)
def test_non_ip_ethernet_frames_are_other(frame: bytes) -> None:
    reader, datagrams = read_capture(pcap([(1, frame)]))
    assert datagrams == []
    assert reader.stats.other == 1


def test_loopback_with_other_address_family_is_other() -> None:
    reader, _ = read_capture(pcap([(1, loopback(PACKET4, 17, "little"))], linktype=0))
    assert reader.stats.other == 1


@pytest.mark.parametrize(
    ("linktype", "frame", "reason"),
    [
        (1, bytes(10), "frame too short for Ethernet header (10 bytes)"),
        (1, ethernet(b"", 0x8100)[:14] + b"\x00", "frame too short for 802.1Q VLAN header (15 bytes)"),
        (1, ethernet(PACKET4, ETHERTYPE_IPV4, [(0x8100, 1)] * 9), "too many VLAN tags (more than 8)"),
        (113, bytes(15), "frame too short for Linux cooked (SLL) header (15 bytes)"),
        (276, bytes(19), "frame too short for Linux cooked (SLL2) header (19 bytes)"),
        (101, b"", "frame too short for raw IP header (0 bytes)"),
        (101, b"\x50" + PACKET4[1:], "raw IP frame with a bad IP version (version 5)"),
        (0, b"\x02\x00", "frame too short for BSD loopback header (2 bytes)"),
        (108, b"\x00", "frame too short for OpenBSD loopback header (1 bytes)"),
        (1, ethernet(PACKET4[:19]), "frame too short for IPv4 header (19 bytes)"),
        (1, ethernet(PACKET6[:39], ETHERTYPE_IPV6), "frame too short for IPv6 header (39 bytes)"),
    ],
)
def test_frames_too_short_for_their_headers_are_malformed(linktype: int, frame: bytes, reason: str) -> None:
    reader, datagrams = read_capture(pcap([(1, frame)], linktype=linktype))
    assert datagrams == []
    assert reader.stats.malformed_frames == [(1, reason)]
    assert reader.stats.packets == reader.stats.malformed == 1
