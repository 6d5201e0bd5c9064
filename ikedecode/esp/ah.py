"""AH (RFC 4302): header parsing and the ICV input with mutable fields zeroed.

The ICV covers the IP header (mutable fields as zero), the AH header with the ICV field as zero,
and everything after AH (RFC 4302 section 3.3.3). With ESN the high 32 bits of the sequence
number are appended after the packet for the computation only (section 2.5.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

AH_FIXED = 12  # next header, payload length, reserved, SPI, sequence number
_AH = struct.Struct("!BBHII")

# IPv4 options that are immutable in transit (RFC 4302 Appendix A.1): EOL, NOP, Security,
# Extended Security, Commercial Security, Router Alert, Sender Directed Multi-Destination Delivery.
IMMUTABLE_IPV4_OPTIONS = frozenset({0, 1, 130, 133, 134, 148, 149})
# IPv6 extension headers carrying TLV options (RFC 8200 section 4.2)
IPV6_OPTION_HEADERS = frozenset({0, 60})
IPV6_OPTION_MAY_CHANGE = 0x20  # third-highest bit of the option type: data may change en route


class AhFormatError(ValueError):
    pass


@dataclass(slots=True, frozen=True)
class AhHeader:
    next_header: int
    length: int  # bytes of the whole AH header including the ICV field
    spi: int
    seq: int


def parse_ah(payload: bytes | memoryview) -> AhHeader:
    if len(payload) < AH_FIXED:
        raise AhFormatError(f"AH header needs {AH_FIXED} bytes, {len(payload)} present")
    next_header, words, _reserved, spi, seq = _AH.unpack_from(payload)
    length = (words + 2) * 4  # RFC 4302 section 2.2: length in 32-bit words minus 2
    if length < AH_FIXED:
        raise AhFormatError(f"AH payload length field {words} gives {length} bytes, less than {AH_FIXED}")
    if length > len(payload):
        raise AhFormatError(f"AH header claims {length} bytes, {len(payload)} present")
    return AhHeader(next_header, length, spi, seq)


def _zero_ipv4_mutable(header: bytes, datagram_length: int) -> bytearray:
    """RFC 4302 section 3.3.3.1.1: TOS, flags, fragment offset, TTL, checksum and mutable options."""
    h = bytearray(header)
    if len(h) < 20:
        raise AhFormatError("IPv4 header shorter than 20 bytes")
    h[1] = 0  # type of service / DSCP+ECN
    struct.pack_into("!H", h, 2, datagram_length & 0xFFFF)  # total length of the reassembled datagram
    h[6:8] = b"\x00\x00"  # flags, fragment offset
    h[8] = 0  # TTL
    h[10:12] = b"\x00\x00"  # header checksum
    end = min((h[0] & 0x0F) * 4, len(h))
    pos = 20
    while pos < end:
        option = h[pos]
        if option == 0:  # end of option list: the rest is padding
            break
        if option == 1:  # no-operation
            pos += 1
            continue
        length = h[pos + 1] if pos + 1 < end else 0
        if length < 2 or pos + length > end:
            h[pos:end] = bytes(end - pos)  # malformed option: treat the rest as mutable
            break
        if option not in IMMUTABLE_IPV4_OPTIONS:
            h[pos : pos + length] = bytes(length)  # the entire mutable option counts as zero
        pos += length
    return h


def _zero_ipv6_options(h: bytearray, start: int, end: int) -> None:
    pos = start
    while pos < end:
        option = h[pos]
        if option == 0:  # Pad1
            pos += 1
            continue
        if pos + 1 >= end:
            break
        data_len = h[pos + 1]
        if option & IPV6_OPTION_MAY_CHANGE:
            stop = min(pos + 2 + data_len, end)
            h[pos + 2 : stop] = bytes(stop - pos - 2)
        pos += 2 + data_len


def _zero_ipv6_mutable(header: bytes, payload_length: int) -> bytearray:
    """RFC 4302 section 3.3.3.1.2: class, flow label, hop limit, changeable options."""
    h = bytearray(header)
    if len(h) < 40:
        raise AhFormatError("IPv6 header shorter than 40 bytes")
    h[0] &= 0xF0  # keep the version, zero the top of the traffic class
    h[1:4] = b"\x00\x00\x00"  # rest of traffic class, flow label
    struct.pack_into("!H", h, 4, payload_length & 0xFFFF)
    h[7] = 0  # hop limit
    next_header, pos = h[6], 40
    while pos + 2 <= len(h):
        if next_header == 44:  # fragment header (should be gone after reassembly): fixed 8 bytes
            length = 8
        else:
            length = (h[pos + 1] + 1) * 8
        if pos + length > len(h):
            break
        if next_header in IPV6_OPTION_HEADERS:
            _zero_ipv6_options(h, pos + 2, pos + length)
        # Routing headers are "mutable but predictable"; they are left as captured.
        next_header = h[pos]
        pos += length
    return h


def ah_icv_input(
    ip_header: bytes, ip_version: int, packet: bytes | memoryview, header: AhHeader, seq_hi: int | None = None
) -> bytes:
    """The bytes the AH ICV is computed over; ``packet`` is the AH header and what follows it."""
    total = len(ip_header) + len(packet)
    if ip_version == 6:
        zeroed = _zero_ipv6_mutable(ip_header, total - 40)
    else:
        zeroed = _zero_ipv4_mutable(ip_header, total)
    view = memoryview(packet)
    parts = [
        bytes(zeroed),
        view[:AH_FIXED].tobytes(),
        bytes(header.length - AH_FIXED),
        view[header.length :].tobytes(),
    ]
    if seq_hi is not None:
        parts.append(struct.pack("!I", seq_hi))
    return b"".join(parts)
