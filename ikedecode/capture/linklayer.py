"""Link layers: find the IP packet inside a frame.

Each decoder takes the frame bytes and returns ``(ip_version, offset)``: 4 or 6 and where the IP
header starts, or ``NOT_IP`` for readable frames carrying something else (ARP, LLDP, ...).
Frames too short for their own header raise ``Malformed``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from .malformed import Malformed

NOT_IP = 0
LinkDecoder = Callable[[bytes], tuple[int, int]]

ETHERTYPE_VERSIONS = {0x0800: 4, 0x86DD: 6}
VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100})  # 802.1Q, 802.1ad (QinQ), pre-standard QinQ
MAX_VLAN_TAGS = 8
ETHERNET_HEADER_LEN = 14
VLAN_TAG_LEN = 4
MAX_ETHERNET_LENGTH_FIELD = 1500  # a type/length field up to this is an 802.3 length (LLC follows)

# Address family values in DLT_NULL / DLT_LOOP headers. IPv6 differs between systems:
# 24 NetBSD/OpenBSD/BSD/OS, 28 FreeBSD/DragonFly, 30 macOS; 23 is Windows (Npcap loopback).
LOOPBACK_FAMILY_VERSIONS = {2: 4, 24: 6, 28: 6, 30: 6, 23: 6}

_unpack_u16 = struct.Struct("!H").unpack_from
_ethertype_version = ETHERTYPE_VERSIONS.get


def _too_short(link: str, data: bytes) -> Malformed:
    return Malformed(f"frame too short for {link} header", f"{len(data)} bytes")


def ethernet(data: bytes) -> tuple[int, int]:
    """Ethernet II with any number (up to ``MAX_VLAN_TAGS``) of 802.1Q / 802.1ad tags."""
    if len(data) < ETHERNET_HEADER_LEN:
        raise _too_short("Ethernet", data)
    ethertype = (data[12] << 8) | data[13]
    offset = ETHERNET_HEADER_LEN
    tags = 0
    while ethertype in VLAN_TPIDS:
        tags += 1
        if tags > MAX_VLAN_TAGS:
            raise Malformed("too many VLAN tags", f"more than {MAX_VLAN_TAGS}")
        if len(data) < offset + VLAN_TAG_LEN:
            raise _too_short("802.1Q VLAN", data)
        ethertype = _unpack_u16(data, offset + 2)[0]
        offset += VLAN_TAG_LEN
    if ethertype <= MAX_ETHERNET_LENGTH_FIELD:
        return NOT_IP, offset  # IEEE 802.3 length field: LLC/SNAP frame, not IP for our purposes
    return _ethertype_version(ethertype, NOT_IP), offset


def linux_sll(data: bytes) -> tuple[int, int]:
    """Linux "cooked" capture v1: 16-byte header, protocol type in the last two bytes."""
    if len(data) < 16:
        raise _too_short("Linux cooked (SLL)", data)
    return ETHERTYPE_VERSIONS.get((data[14] << 8) | data[15], NOT_IP), 16


def linux_sll2(data: bytes) -> tuple[int, int]:
    """Linux "cooked" capture v2: 20-byte header, protocol type in the first two bytes."""
    if len(data) < 20:
        raise _too_short("Linux cooked (SLL2)", data)
    return ETHERTYPE_VERSIONS.get((data[0] << 8) | data[1], NOT_IP), 20


def raw_ip(data: bytes) -> tuple[int, int]:
    """No link header; the IP version nibble says IPv4 or IPv6."""
    if not data:
        raise _too_short("raw IP", data)
    version = data[0] >> 4
    if version not in (4, 6):
        raise Malformed("raw IP frame with a bad IP version", f"version {version}")
    return version, 0


def raw_ipv4(data: bytes) -> tuple[int, int]:
    return 4, 0


def raw_ipv6(data: bytes) -> tuple[int, int]:
    return 6, 0


def bsd_null(data: bytes) -> tuple[int, int]:
    """BSD loopback: 4-byte address family in the byte order of the capturing host.

    A value with bits in the upper half can only be the other byte order (libpcap does the same).
    """
    if len(data) < 4:
        raise _too_short("BSD loopback", data)
    family = int.from_bytes(data[:4], "little")
    if family & 0xFFFF0000:
        family = int.from_bytes(data[:4], "big")
    return LOOPBACK_FAMILY_VERSIONS.get(family, NOT_IP), 4


def openbsd_loop(data: bytes) -> tuple[int, int]:
    """OpenBSD loopback: like BSD null, but the address family is always big-endian."""
    if len(data) < 4:
        raise _too_short("OpenBSD loopback", data)
    return LOOPBACK_FAMILY_VERSIONS.get(int.from_bytes(data[:4], "big"), NOT_IP), 4


# LINKTYPE_* value -> (name counted in CaptureStats.link_types, decoder). See tcpdump.org/linktypes.
LINK_TYPES: dict[int, tuple[str, LinkDecoder]] = {
    0: ("null", bsd_null),
    1: ("ethernet", ethernet),
    12: ("raw-ip", raw_ip),  # DLT_RAW on OpenBSD
    14: ("raw-ip", raw_ip),  # DLT_RAW on BSD/OS
    101: ("raw-ip", raw_ip),
    108: ("loop", openbsd_loop),
    113: ("linux-sll", linux_sll),
    228: ("ipv4", raw_ipv4),
    229: ("ipv6", raw_ipv6),
    276: ("linux-sll2", linux_sll2),
}


# Link types whose IPv4 frames the reader's batching fast path reads in place:
# LINKTYPE -> (offset of the IP header, offset of a 2-byte EtherType that must be 0x0800 or None,
# name as in LINK_TYPES)
FAST_LINKS: dict[int, tuple[int, int | None, str]] = {
    1: (ETHERNET_HEADER_LEN, 12, "ethernet"),
    12: (0, None, "raw-ip"),
    14: (0, None, "raw-ip"),
    101: (0, None, "raw-ip"),
    113: (16, 14, "linux-sll"),
    228: (0, None, "ipv4"),
    276: (20, 0, "linux-sll2"),
}


def unknown_link_type_name(linktype: int) -> str:
    return f"unknown link type {linktype}"
