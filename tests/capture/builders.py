"""Hand-built frames and capture files for the capture-layer tests (written independently of the
parsers under test: plain ``struct`` following the RFCs / file format specifications)."""

from __future__ import annotations

import io
import ipaddress
import struct
from collections.abc import Iterable, Sequence

from ikedecode.capture import CaptureReader, Datagram

MAC_DST = bytes.fromhex("001122334455")
MAC_SRC = bytes.fromhex("66778899aabb")
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD


def packed(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


def checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# --- network and transport layers -----------------------------------------------------------------


def ipv4(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    *,
    ident: int = 0x1234,
    more: bool = False,
    offset: int = 0,
    dont_fragment: bool = False,
    options: bytes = b"",
    total_length: int | None = None,
    ihl: int | None = None,
) -> bytes:
    """An IPv4 packet; ``offset`` in bytes (must be a multiple of 8 for real fragments)."""
    header_len = 20 + len(options)
    flags = (0x4000 if dont_fragment else 0) | (0x2000 if more else 0) | (offset // 8)
    total = header_len + len(payload) if total_length is None else total_length
    version_ihl = 0x40 | ((header_len // 4) if ihl is None else ihl)
    header = (
        struct.pack(
            "!BBHHHBBH4s4s", version_ihl, 0, total, ident, flags, 64, proto, 0, packed(src), packed(dst)
        )
        + options
    )
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(src: str, dst: str, next_header: int, payload: bytes, *, payload_length: int | None = None) -> bytes:
    """An IPv6 packet; ``payload`` includes any extension headers (``next_header`` names the first)."""
    length = len(payload) if payload_length is None else payload_length
    return struct.pack("!IHBB16s16s", 0x60000000, length, next_header, 64, packed(src), packed(dst)) + payload


def extension_header(next_header: int, body: bytes = b"") -> bytes:
    """Hop-by-hop / routing / destination options header, padded with PadN to a multiple of 8."""
    unpadded = 2 + len(body)
    padding = -unpadded % 8
    if padding == 1:
        pad = b"\x00"  # Pad1
    elif padding:
        pad = bytes([1, padding - 2]) + bytes(padding - 2)  # PadN
    else:
        pad = b""
    data = bytes([next_header, (unpadded + padding) // 8 - 1]) + body + pad
    return data


def fragment_header(next_header: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", next_header, 0, offset | int(more), ident)


def udp(sport: int, dport: int, payload: bytes, *, length: int | None = None) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def esp(spi: int = 0x11223344, seq: int = 1, body: bytes = bytes(range(48))) -> bytes:
    return struct.pack("!II", spi, seq) + body


def ah(next_header: int = 4, spi: int = 0x55667788, seq: int = 1, icv: bytes = bytes(12)) -> bytes:
    """RFC 4302 AH: payload length is the AH length in 32-bit words minus 2."""
    length_words = (12 + len(icv)) // 4
    return struct.pack("!BBHII", next_header, length_words - 2, 0, spi, seq) + icv


def isakmp(
    *,
    exchange: int = 2,
    version: int = 0x10,
    body: bytes = bytes(40),
    initiator: bytes = b"I" * 8,
    responder: bytes = bytes(8),
    length: int | None = None,
    message_id: int = 0,
) -> bytes:
    """An ISAKMP message (RFC 2408 section 3.1) with an opaque body."""
    total = 28 + len(body) if length is None else length
    header = initiator + responder + struct.pack("!BBBBII", 1, version, exchange, 0, message_id, total)
    return header + body


def ipv4_fragments(
    src: str, dst: str, proto: int, payload: bytes, size: int, *, ident: int = 0x1A2B
) -> list[bytes]:
    """Split ``payload`` (the transport bytes) into IPv4 fragments of ``size`` bytes (a multiple of 8)."""
    return [
        ipv4(
            src,
            dst,
            proto,
            payload[offset : offset + size],
            ident=ident,
            offset=offset,
            more=offset + size < len(payload),
        )
        for offset in range(0, len(payload), size)
    ]


def ipv6_fragments(
    src: str,
    dst: str,
    next_header: int,
    payload: bytes,
    size: int,
    *,
    ident: int = 0xCAFE,
    unfragmentable: bytes = b"",
    first_header: int = 44,
) -> list[bytes]:
    """IPv6 fragments; ``unfragmentable`` extension headers (whose last Next Header must be 44) precede
    the fragment header, ``first_header`` is the Next Header of the fixed header."""
    return [
        ipv6(
            src,
            dst,
            first_header if unfragmentable else 44,
            unfragmentable
            + fragment_header(next_header, offset, offset + size < len(payload), ident)
            + payload[offset : offset + size],
        )
        for offset in range(0, len(payload), size)
    ]


# --- link layers --------------------------------------------------------------------------------


def ethernet(
    payload: bytes, ethertype: int = ETHERTYPE_IPV4, vlan_tags: Sequence[tuple[int, int]] = ()
) -> bytes:
    """Ethernet II; ``vlan_tags`` are (TPID, VLAN id) pairs, outermost first."""
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlan_tags)
    return MAC_DST + MAC_SRC + tags + struct.pack("!H", ethertype) + payload


def linux_sll(payload: bytes, protocol: int) -> bytes:
    # packet type, ARPHRD_ETHER, address length, 8 address bytes, protocol
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_SRC + b"\0\0", protocol) + payload


def linux_sll2(payload: bytes, protocol: int) -> bytes:
    # protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, 8 address bytes
    return struct.pack("!HHIHBB8s", protocol, 0, 2, 1, 0, 6, MAC_SRC + b"\0\0") + payload


def loopback(payload: bytes, family: int, byteorder: str) -> bytes:
    return family.to_bytes(4, byteorder) + payload  # type: ignore[arg-type]


# --- capture files --------------------------------------------------------------------------------

Frame = tuple[int, bytes] | tuple[int, bytes, int]  # (time_ns, data) or (time_ns, data, original length)


def pcap(
    frames: Iterable[Frame],
    linktype: int = 1,
    *,
    order: str = "<",
    nanosecond: bool = False,
    snaplen: int = 65535,
) -> bytes:
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for frame in frames:
        time_ns, data = frame[0], frame[1]
        orig_len = frame[2] if len(frame) > 2 else len(data)  # type: ignore[misc]
        seconds, fraction = divmod(time_ns, 1_000_000_000)
        if not nanosecond:
            fraction //= 1000
        out.append(struct.pack(order + "IIII", seconds, fraction, len(data), orig_len) + data)
    return b"".join(out)


def ethernet_pcap(
    packets: Iterable[bytes], *, start_ns: int = 1_700_000_000_000_000_000, step_ns: int = 1_000_000
) -> bytes:
    """A pcap of Ethernet frames around IPv4/IPv6 ``packets``, one ``step_ns`` apart."""
    frames = []
    for index, packet in enumerate(packets):
        ethertype = ETHERTYPE_IPV6 if packet[0] >> 4 == 6 else ETHERTYPE_IPV4
        frames.append((start_ns + index * step_ns, ethernet(packet, ethertype)))
    return pcap(frames)


def pcapng_block(block_type: int, body: bytes, order: str = "<") -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def pcapng_option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def pcapng_options(options: Iterable[tuple[int, bytes]], order: str = "<") -> bytes:
    encoded = b"".join(pcapng_option(code, value, order) for code, value in options)
    return encoded + pcapng_option(0, b"", order) if encoded else b""


def shb(order: str = "<") -> bytes:
    return pcapng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def idb(
    linktype: int,
    order: str = "<",
    *,
    tsresol: int | None = None,
    tsoffset: int | None = None,
    snaplen: int = 0,
) -> bytes:
    options = []
    if tsresol is not None:
        options.append((9, bytes([tsresol])))
    if tsoffset is not None:
        options.append((14, struct.pack(order + "q", tsoffset)))
    body = struct.pack(order + "HHI", linktype, 0, snaplen) + pcapng_options(options, order)
    return pcapng_block(1, body, order)


def epb(interface: int, timestamp: int, data: bytes, order: str = "<", orig_len: int | None = None) -> bytes:
    """Enhanced Packet Block; ``timestamp`` in the interface's units."""
    original = len(data) if orig_len is None else orig_len
    body = struct.pack(
        order + "IIIII", interface, timestamp >> 32, timestamp & 0xFFFFFFFF, len(data), original
    )
    return pcapng_block(6, body + data, order)


def spb(data: bytes, order: str = "<", orig_len: int | None = None) -> bytes:
    return pcapng_block(
        3, struct.pack(order + "I", len(data) if orig_len is None else orig_len) + data, order
    )


def obsolete_pb(interface: int, timestamp: int, data: bytes, order: str = "<") -> bytes:
    body = struct.pack(
        order + "HHIIII", interface, 0, timestamp >> 32, timestamp & 0xFFFFFFFF, len(data), len(data)
    )
    return pcapng_block(2, body + data, order)


def read_capture(data: bytes, **kwargs: object) -> tuple[CaptureReader, list[Datagram]]:
    """Read a capture held in memory; returns the reader (for its stats) and every datagram."""
    reader = CaptureReader(io.BytesIO(data), "test.pcap", **kwargs)  # type: ignore[arg-type]
    return reader, list(reader)
