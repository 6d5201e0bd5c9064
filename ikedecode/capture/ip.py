"""IPv4 and IPv6 headers: addresses, upper-layer protocol, payload bounds, fragment information.

``parse_ip`` returns a plain tuple (this runs for every frame, so no object is built):

    (src, dst, proto, header_start, payload_start, payload_end, missing, fragment)

``src``/``dst`` are the packed addresses, ``proto`` the upper-layer protocol after IPv6 extension
headers (for a fragment: the protocol of the fragmented datagram), ``data[header_start:payload_start]``
the IP header including options / extension headers, ``data[payload_start:payload_end]`` the captured
payload, ``missing`` the number of bytes the IP length field claims beyond the captured frame, and
``fragment`` either None or ``(ident, offset, more, fragment_header_start, next_header_pos)``
(the last two only matter for IPv6, where the fragment header is removed on reassembly).
"""

from __future__ import annotations

import struct

from .malformed import Malformed

IPV4_HEADER_LEN = 20
IPV6_HEADER_LEN = 40
IPV6_FRAGMENT_HEADER_LEN = 8
MAX_IP_PACKET = 65535  # IPv4 total length / IPv6 payload length (jumbograms are not reassembled)

PROTO_HOPOPTS = 0
PROTO_UDP = 17
PROTO_ROUTING = 43
PROTO_FRAGMENT = 44
PROTO_ESP = 50
PROTO_AH = 51
PROTO_DSTOPTS = 60

# IPv6 extension headers walked over (RFC 8200 section 4); all share the "next header, length in
# 8-octet units not counting the first 8" layout. ESP and AH end the walk: they are what we look for.
IPV6_WALKED_HEADERS = frozenset({PROTO_HOPOPTS, PROTO_ROUTING, PROTO_DSTOPTS})

IPV4_FLAG_MORE_FRAGMENTS = 0x2000
IPV4_FRAGMENT_OFFSET_MASK = 0x1FFF
IPV4_FRAGMENT_FIELDS_MASK = 0x3FFF  # MF flag or a non-zero offset: the packet is a fragment
IPV4_FLAG_DONT_FRAGMENT = 0x4000

# total length, identification, flags + fragment offset, protocol, source, destination
_ipv4_fields = struct.Struct("!2xHHH1xB2x4s4s").unpack_from
_u16 = struct.Struct("!H").unpack_from
_u32 = struct.Struct("!I").unpack_from

Fragment = tuple[int, int, bool, int, int]
IPInfo = tuple[bytes, bytes, int, int, int, int, int, Fragment | None]


def parse_ipv4(data: bytes, start: int) -> IPInfo:
    available = len(data) - start
    if available < IPV4_HEADER_LEN:
        raise Malformed("frame too short for IPv4 header", f"{available} bytes")
    version_ihl = data[start]
    if version_ihl >> 4 != 4:
        raise Malformed(
            "IP version differs from the link layer's", f"IPv4 expected, version {version_ihl >> 4}"
        )
    header_len = (version_ihl & 0x0F) * 4
    if header_len < IPV4_HEADER_LEN:
        raise Malformed("bad IPv4 header length", f"{header_len} bytes")
    if available < header_len:
        raise Malformed("frame too short for IPv4 header", f"{available} of {header_len} bytes")
    total_len, ident, fragment_field, proto, src, dst = _ipv4_fields(data, start)
    if total_len == 0:
        total_len = available  # segmentation offload: the NIC fills the length in (Wireshark assumes so too)
    if total_len < header_len:
        raise Malformed("bad IPv4 total length", f"{total_len} bytes, header {header_len}")
    payload_end = start + total_len
    missing = 0
    if total_len > available:
        missing = total_len - available
        payload_end = len(data)
    fragment = None
    if fragment_field & IPV4_FRAGMENT_FIELDS_MASK:
        fragment = (
            ident,
            (fragment_field & IPV4_FRAGMENT_OFFSET_MASK) * 8,
            bool(fragment_field & IPV4_FLAG_MORE_FRAGMENTS),
            0,
            0,
        )
    return (
        src,
        dst,
        proto,
        start,
        start + header_len,
        payload_end,
        missing,
        fragment,
    )


def parse_ipv6(data: bytes, start: int) -> IPInfo:
    available = len(data) - start
    if available < IPV6_HEADER_LEN:
        raise Malformed("frame too short for IPv6 header", f"{available} bytes")
    if data[start] >> 4 != 6:
        raise Malformed(
            "IP version differs from the link layer's", f"IPv6 expected, version {data[start] >> 4}"
        )
    payload_len = _u16(data, start + 4)[0]
    if payload_len == 0:
        payload_len = available - IPV6_HEADER_LEN  # jumbogram or segmentation offload
    payload_end = start + IPV6_HEADER_LEN + payload_len
    missing = 0
    if payload_end > len(data):
        missing = payload_end - len(data)
        payload_end = len(data)
    next_header = data[start + 6]
    next_header_pos = start + 6
    pos = start + IPV6_HEADER_LEN
    while next_header in IPV6_WALKED_HEADERS:
        if pos + 8 > payload_end or pos + (data[pos + 1] + 1) * 8 > payload_end:
            raise _beyond_packet(missing, "IPv6 extension header")
        next_header_pos = pos
        next_header = data[pos]
        pos += (data[pos + 1] + 1) * 8
    fragment = None
    if next_header == PROTO_FRAGMENT:
        if pos + IPV6_FRAGMENT_HEADER_LEN > payload_end:
            raise _beyond_packet(missing, "IPv6 fragment header")
        offset_field = _u16(data, pos + 2)[0]
        fragment = (
            _u32(data, pos + 4)[0],
            offset_field & 0xFFF8,
            bool(offset_field & 1),
            pos,
            next_header_pos,
        )
        next_header = data[pos]
        pos += IPV6_FRAGMENT_HEADER_LEN
    return (
        data[start + 8 : start + 24],
        data[start + 24 : start + 40],
        next_header,
        start,
        pos,
        payload_end,
        missing,
        fragment,
    )


def _beyond_packet(missing: int, what: str) -> Malformed:
    if missing:
        return Malformed("truncated by snaplen", f"{what} not captured")
    return Malformed(f"{what} beyond the packet")


IP_PARSERS = {4: parse_ipv4, 6: parse_ipv6}


def ipv4_checksum(header: bytes | bytearray) -> int:
    """RFC 791 header checksum: one's complement of the one's complement sum of 16-bit words."""
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rebuild_ipv4(first_header: bytes, payload: bytes) -> bytes:
    """The unfragmented packet: the first fragment's header with the total length set, the
    fragment fields cleared (DF kept) and the checksum recomputed, followed by ``payload``."""
    header = bytearray(first_header)
    if len(header) + len(payload) > MAX_IP_PACKET:
        raise Malformed("reassembled IP datagram too large", f"{len(header) + len(payload)} bytes")
    struct.pack_into("!H", header, 2, len(header) + len(payload))
    flags = _u16(header, 6)[0] & IPV4_FLAG_DONT_FRAGMENT
    struct.pack_into("!H", header, 6, flags)
    struct.pack_into("!H", header, 10, 0)
    struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return bytes(header) + payload


def rebuild_ipv6(unfragmentable: bytes, next_header_pos: int, next_header: int, payload: bytes) -> bytes:
    """The unfragmented packet (RFC 8200 section 4.5): the first fragment's unfragmentable part,
    the fragment header removed (its Next Header moved into the preceding header), payload length set.

    ``next_header_pos`` is relative to the start of ``unfragmentable``.
    """
    header = bytearray(unfragmentable)
    if len(header) - IPV6_HEADER_LEN + len(payload) > MAX_IP_PACKET:
        raise Malformed("reassembled IP datagram too large", f"{len(header) + len(payload)} bytes")
    header[next_header_pos] = next_header
    struct.pack_into("!H", header, 4, len(header) - IPV6_HEADER_LEN + len(payload))
    return bytes(header) + payload
