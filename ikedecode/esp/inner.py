"""What an opened ESP/AH packet carries, as IP packets.

``decrypted_ip_packet`` gives the packet a decrypting gateway would forward: in tunnel mode the
inner IP packet (TFC padding cut off, RFC 4303 section 2.4), in transport mode the outer IP
header rebuilt around the payload (protocol = next header, lengths and checksum fixed).
``inner_datagram`` turns a decrypted packet that is itself ESP or AH (nested SAs) into a
``Datagram`` for another pass.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import TYPE_CHECKING

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.capture.ip import PROTO_AH as IPPROTO_AH
from ikedecode.capture.ip import PROTO_ESP as IPPROTO_ESP

if TYPE_CHECKING:
    from ikedecode.esp.processor import EspResult

IPPROTO_IPIP = 4
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
NAT_T_PORT = 4500  # RFC 3948

TUNNEL_NEXT_HEADERS = {IPPROTO_IPIP: 4, IPPROTO_IPV6: 6}  # next header -> inner IP version
IPSEC_KINDS = {IPPROTO_ESP: Kind.ESP, IPPROTO_AH: Kind.AH}
# IPv6 extension headers that may precede ESP/AH and how to size them
_IPV6_EXTENSIONS = frozenset({0, 43, 44, 60})
IPSEC_PROTOCOLS = (IPPROTO_ESP, IPPROTO_AH)  # an inner packet carrying them is opened again (nested SAs)
# RFC 4303 section 2.4: default padding is 1, 2, 3, ... up to the pad length
MONOTONIC_PADDING = bytes(range(1, 256))
PADDINGS = tuple(MONOTONIC_PADDING[:length] for length in range(256))  # by pad length


def carries_ipsec(
    next_header: int, payload: bytes | memoryview, start: int = 0, end: int | None = None
) -> bool:
    """Whether an opened payload (``payload[start:end]``) holds another ESP/AH layer (so it must
    be opened again)."""
    if next_header in IPSEC_PROTOCOLS:
        return True
    size = (len(payload) if end is None else end) - start
    if next_header == IPPROTO_IPIP and size >= 20:
        return payload[start + 9] in IPSEC_PROTOCOLS
    if next_header == IPPROTO_IPV6 and size >= 40:
        inner = payload[start + 6]
        return inner in IPSEC_PROTOCOLS or inner in (0, 43, 60)  # or behind extension headers
    return False


def ipv4_checksum(header: bytes | bytearray) -> int:
    """RFC 791 header checksum (one's complement sum of 16-bit words)."""
    if len(header) % 2:
        header = bytes(header) + b"\x00"
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv6_extension_length(next_header: int, data: bytes | bytearray, pos: int) -> int:
    if next_header == 44:
        return 8
    if next_header == IPPROTO_AH:
        return (data[pos + 1] + 2) * 4
    return (data[pos + 1] + 1) * 8


def _synthetic_header(version: int, src: str, dst: str, protocol: int, payload_length: int) -> bytes:
    """A plain header for when the capture gave none (or an unusable one)."""
    if version == 6:
        return struct.pack(
            "!IHBB16s16s",
            6 << 28,
            payload_length,
            protocol,
            64,
            ipaddress.IPv6Address(src).packed,
            ipaddress.IPv6Address(dst).packed,
        )
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + payload_length,
            0,
            0,
            64,
            protocol,
            0,
            ipaddress.IPv4Address(src).packed,
            ipaddress.IPv4Address(dst).packed,
        )
    )
    struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return bytes(header)


def rebuild_ip_header(
    ip_header: bytes, version: int, src: str, dst: str, protocol: int, payload_length: int
) -> bytes:
    """The outer header of a transport-mode packet with ESP/AH (and NAT-T UDP) removed."""
    if version == 4 and len(ip_header) >= 20 and ip_header[0] >> 4 == 4:
        ihl = (ip_header[0] & 0x0F) * 4
        if 20 <= ihl <= len(ip_header):
            header = bytearray(ip_header[:ihl])
            struct.pack_into("!H", header, 2, (ihl + payload_length) & 0xFFFF)
            header[6:8] = b"\x00\x00"  # reassembled: no fragment fields
            header[9] = protocol
            header[10:12] = b"\x00\x00"
            struct.pack_into("!H", header, 10, ipv4_checksum(header))
            return bytes(header)
    if version == 6 and len(ip_header) >= 40 and ip_header[0] >> 4 == 6:
        header = bytearray(ip_header)
        current, field, pos = header[6], 6, 40  # field: offset of the last next-header byte in the chain
        while current in _IPV6_EXTENSIONS and pos + 2 <= len(header):
            length = _ipv6_extension_length(current, header, pos)
            field, current = pos, header[pos]
            pos += length
        if pos == len(header):
            header[field] = protocol
            struct.pack_into("!H", header, 4, (len(header) - 40 + payload_length) & 0xFFFF)
            return bytes(header)
    return _synthetic_header(version, src, dst, protocol, payload_length)


def trim_ip_packet(packet: bytes) -> bytes:
    """Cut TFC padding after an inner IP packet, using the packet's own length field."""
    if len(packet) >= 20 and packet[0] >> 4 == 4:
        total = struct.unpack_from("!H", packet, 2)[0]
    elif len(packet) >= 40 and packet[0] >> 4 == 6:
        total = 40 + struct.unpack_from("!H", packet, 4)[0]
    else:
        return packet
    return packet[:total] if 0 < total < len(packet) else packet


def decrypted_ip_packet(result: EspResult) -> bytes | None:
    """The IP packet carried by an opened ESP/AH packet, or None without plaintext."""
    if result.payload is None or result.next_header is None:
        return None
    payload = bytes(result.payload)
    if result.mode == "tunnel":
        return trim_ip_packet(payload)
    dg = result.datagram
    header = rebuild_ip_header(dg.ip_header, dg.ip_version, dg.src, dg.dst, result.next_header, len(payload))
    return header + payload


def _ipv4_datagram(outer: Datagram, packet: bytes) -> Datagram | None:
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack_from("!H", packet, 2)[0]
    flags_fragment = struct.unpack_from("!H", packet, 6)[0]
    if ihl < 20 or total < ihl or total > len(packet) or flags_fragment & 0x3FFF:
        return None  # malformed, or a fragment: no reassembly here
    return _make_datagram(
        outer,
        packet[9],
        4,
        packet[:ihl],
        packet[ihl:total],
        str(ipaddress.IPv4Address(packet[12:16])),
        str(ipaddress.IPv4Address(packet[16:20])),
    )


def _ipv6_datagram(outer: Datagram, packet: bytes) -> Datagram | None:
    end = min(40 + struct.unpack_from("!H", packet, 4)[0], len(packet))
    next_header, pos = packet[6], 40
    while next_header in _IPV6_EXTENSIONS and pos + 2 <= end:
        if next_header == 44:
            return None  # fragment
        length = _ipv6_extension_length(next_header, packet, pos)
        next_header = packet[pos]
        pos += length
    if pos > end:
        return None
    return _make_datagram(
        outer,
        next_header,
        6,
        packet[:pos],
        packet[pos:end],
        str(ipaddress.IPv6Address(packet[8:24])),
        str(ipaddress.IPv6Address(packet[24:40])),
    )


def _make_datagram(
    outer: Datagram, protocol: int, version: int, header: bytes, body: bytes, src: str, dst: str
) -> Datagram | None:
    kind = IPSEC_KINDS.get(protocol)
    sport = dport = 0
    encapsulated = False
    if kind is None and protocol == IPPROTO_UDP and len(body) >= 12:
        sport, dport = struct.unpack_from("!HH", body)
        # RFC 3948 section 2.2: ESP in UDP 4500 unless the non-ESP marker (zero SPI) follows
        if NAT_T_PORT in (sport, dport) and body[8:12] != b"\x00\x00\x00\x00":
            kind, body, encapsulated = Kind.ESP, body[8:], True
    if kind is None:
        return None
    return Datagram(
        frame=outer.frame,
        time=outer.time,
        kind=kind,
        src=src,
        dst=dst,
        sport=sport,
        dport=dport,
        payload=body,
        ip_version=version,
        ip_header=header,
        udp_encapsulated=encapsulated,
        frames=outer.frames,
        time_ns=outer.time_ns,
    )


def inner_datagram(result: EspResult) -> Datagram | None:
    """The ESP/AH datagram inside an opened packet (nested SAs), or None if there is none."""
    if result.payload is None or result.next_header is None:
        return None
    outer = result.datagram
    payload = bytes(result.payload)
    if result.mode == "tunnel":
        if len(payload) >= 20 and payload[0] >> 4 == 4:
            return _ipv4_datagram(outer, payload)
        if len(payload) >= 40 and payload[0] >> 4 == 6:
            return _ipv6_datagram(outer, payload)
        return None
    kind = IPSEC_KINDS.get(result.next_header)
    if kind is None:
        return None
    header = rebuild_ip_header(
        outer.ip_header, outer.ip_version, outer.src, outer.dst, result.next_header, len(payload)
    )
    return Datagram(
        frame=outer.frame,
        time=outer.time,
        kind=kind,
        src=outer.src,
        dst=outer.dst,
        sport=0,
        dport=0,
        payload=payload,
        ip_version=outer.ip_version,
        ip_header=header,
        frames=outer.frames,
        time_ns=outer.time_ns,
    )
