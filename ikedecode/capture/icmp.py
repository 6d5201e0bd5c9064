"""ICMP "port unreachable" about IKE: the answer a host gives when nothing listens on UDP 500/4500.

RFC 792 (type 3 code 3) and RFC 4443 section 3.1 (ICMPv6 type 1 code 4) quote the start of the
datagram that could not be delivered: its IP header and the first 8 bytes of its payload, the UDP
header. When that UDP datagram went to port 500 or 4500, the ICMP message proves the IKE packet
reached the host and no IKE daemon took it. These frames stay in the "other" bucket; the capture
keeps a note of them (``CaptureStats.port_unreachable``) for the diagnosis.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

PROTO_ICMP, PROTO_ICMPV6 = 1, 58
DEST_UNREACHABLE_V4, PORT_UNREACHABLE_V4 = 3, 3  # RFC 792
DEST_UNREACHABLE_V6, PORT_UNREACHABLE_V6 = 1, 4  # RFC 4443 3.1
ICMP_HEADER_LEN = 8
IPV6_HEADER_LEN = 40
PROTO_UDP = 17
IKE_PORTS = frozenset({500, 4500})
MAX_KEPT = 1000  # notes kept per capture; ``port_unreachable_count`` counts them all

_ports = struct.Struct("!HH").unpack_from


class PortUnreachable(NamedTuple):
    frame: int
    time: float
    reporter: str  # the host that sent the ICMP message
    original_src: str  # the IKE datagram it quotes
    original_dst: str
    sport: int
    dport: int


def port_unreachable(
    version: int, frame: int, time: float, reporter: str, icmp: bytes
) -> PortUnreachable | None:
    """The note for an ICMP(v6) port unreachable quoting a UDP datagram to port 500/4500, else None."""
    if len(icmp) < ICMP_HEADER_LEN:
        return None
    if version == 4:
        if (icmp[0], icmp[1]) != (DEST_UNREACHABLE_V4, PORT_UNREACHABLE_V4):
            return None
        quoted = icmp[ICMP_HEADER_LEN:]
        if len(quoted) < 20 or quoted[0] >> 4 != 4 or quoted[9] != PROTO_UDP:
            return None
        header_len = (quoted[0] & 0x0F) * 4
        src, dst = quoted[12:16], quoted[16:20]
    else:
        if (icmp[0], icmp[1]) != (DEST_UNREACHABLE_V6, PORT_UNREACHABLE_V6):
            return None
        quoted = icmp[ICMP_HEADER_LEN:]
        if len(quoted) < IPV6_HEADER_LEN or quoted[6] != PROTO_UDP:
            return None
        header_len = IPV6_HEADER_LEN
        src, dst = quoted[8:24], quoted[24:40]
    if len(quoted) < header_len + 4:
        return None
    sport, dport = _ports(quoted, header_len)
    if dport not in IKE_PORTS:
        return None
    return PortUnreachable(
        frame, time, reporter, str(ipaddress.ip_address(src)), str(ipaddress.ip_address(dst)), sport, dport
    )
