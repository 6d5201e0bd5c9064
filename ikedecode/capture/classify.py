"""Which bucket an IP payload belongs in: IKE, ESP, AH or other (table-driven).

Rules (RFC 3948 for UDP 4500, RFC 7296 section 2.23, RFC 2408 section 3.1 for the ISAKMP header):

* IP protocol 50 is ESP, 51 is AH: the payload is the IP payload.
* UDP port 500 (either side) is IKE.
* UDP port 4500: a single 0xFF byte is a NAT-T keepalive; four zero bytes (the non-ESP marker) are
  followed by an IKE message; anything else is ESP in UDP, starting at the SPI.
* Any further UDP port the user names is IKE when the payload looks like an ISAKMP header
  (optionally behind a non-ESP marker); otherwise that traffic is "other".

``classify_transport`` returns a ``Verdict`` ``(kind, sport, dport, payload, udp_encapsulated,
nat_keepalive)`` or raises ``Malformed``; everything unreadable or uninteresting is ``OTHER_VERDICT``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from .datagram import Kind
from .ip import PROTO_AH, PROTO_ESP, PROTO_UDP
from .malformed import Malformed

IKE_PORT = 500
NAT_T_PORT = 4500
UDP_HEADER_LEN = 8
NON_ESP_MARKER = b"\x00\x00\x00\x00"  # RFC 3948 section 2.2
NAT_KEEPALIVE = b"\xff"  # RFC 3948 section 2.3
ESP_MIN_LEN = 8  # SPI and sequence number (RFC 4303 section 2)
AH_MIN_LEN = 12  # next header, length, reserved, SPI, sequence number (RFC 4302 section 2)
ISAKMP_HEADER_LEN = 28  # RFC 2408 3.1 (ike/header.py HEADER_LENGTH; capture/ sits below ike/)

# ISAKMP version byte -> exchange types that make a payload on an extra port plausible IKE.
KNOWN_EXCHANGE_TYPES = {
    0x10: frozenset({1, 2, 3, 4, 5, 6, 32, 33}),  # IKEv1 (RFC 2408, 2409; 6 = Transaction, Mode Config)
    0x20: frozenset({34, 35, 36, 37, 38, 39, 40, 41, 43, 44}),  # IKEv2 (IANA IKEv2 Exchange Types)
}

Verdict = tuple[Kind, int, int, bytes, bool, bool]
OTHER_VERDICT: Verdict = (Kind.OTHER, 0, 0, b"", False, False)
UdpRule = Callable[[int, int, bytes], Verdict | None]

_udp_header = struct.Struct("!HHH").unpack_from
_isakmp_length = struct.Struct("!I").unpack_from


def is_plausible_isakmp(message: bytes) -> bool:
    """28+ bytes, length field equal to the message length, IKEv1/IKEv2 version, known exchange."""
    if len(message) < ISAKMP_HEADER_LEN or _isakmp_length(message, 24)[0] != len(message):
        return False
    return message[18] in KNOWN_EXCHANGE_TYPES.get(message[17], ())


def ike_rule(sport: int, dport: int, payload: bytes) -> Verdict:
    return Kind.IKE, sport, dport, payload, False, False


def nat_t_rule(sport: int, dport: int, payload: bytes) -> Verdict:
    if payload == NAT_KEEPALIVE:
        return Kind.IKE, sport, dport, payload, False, True
    if payload[:4] == NON_ESP_MARKER:
        return Kind.IKE, sport, dport, payload[4:], True, False
    if len(payload) < ESP_MIN_LEN:
        raise Malformed("UDP 4500 payload neither ESP nor IKE", f"{len(payload)} bytes")
    return Kind.ESP, sport, dport, payload, True, False


def extra_port_rule(sport: int, dport: int, payload: bytes) -> Verdict | None:
    if is_plausible_isakmp(payload):
        return Kind.IKE, sport, dport, payload, False, False
    if payload[:4] == NON_ESP_MARKER and is_plausible_isakmp(payload[4:]):
        return Kind.IKE, sport, dport, payload[4:], True, False
    return None


# Ports with a fixed meaning. When both ports of a datagram have a rule, the higher precedence wins:
# 500 over 4500 over the user's extra ports.
BUILTIN_PORT_RULES: dict[int, UdpRule] = {IKE_PORT: ike_rule, NAT_T_PORT: nat_t_rule}
EXTRA_PORT_PRECEDENCE = 0
PORT_PRECEDENCE = {IKE_PORT: 2, NAT_T_PORT: 1}


class Classifier:
    """Decides the bucket of an IP payload. ``ike_ports`` are the UDP ports treated as IKE
    (500 and 4500 keep their fixed meaning; any other port needs a plausible ISAKMP header)."""

    def __init__(self, ike_ports: Iterable[int] = (IKE_PORT, NAT_T_PORT)) -> None:
        self.udp_rules: dict[int, tuple[int, UdpRule]] = {}
        for port in ike_ports:
            port = int(port)
            if not 0 < port < 65536:
                raise ValueError(f"not a UDP port: {port}")
            rule = BUILTIN_PORT_RULES.get(port, extra_port_rule)
            self.udp_rules[port] = (PORT_PRECEDENCE.get(port, EXTRA_PORT_PRECEDENCE), rule)
        # IP protocol -> handler(data, payload_start, payload_end, missing); the reader's loop calls these
        self.by_proto: dict[int, Callable[[bytes, int, int, int], Verdict]] = {
            PROTO_ESP: self._esp,
            PROTO_AH: self._ah,
            PROTO_UDP: self._udp,
        }

    def wants(self, proto: int) -> bool:
        return proto in self.by_proto

    def classify(self, proto: int, data: bytes, start: int, end: int, missing: int) -> Verdict:
        """Classify ``data[start:end]``, the payload of IP protocol ``proto``; ``missing`` bytes of it
        were not captured (snapshot length)."""
        handler = self.by_proto.get(proto)
        if handler is None:
            return OTHER_VERDICT
        return handler(data, start, end, missing)

    @staticmethod
    def _esp(data: bytes, start: int, end: int, missing: int) -> Verdict:
        if missing:
            raise _snaplen(end - start, end - start + missing)
        if end - start < ESP_MIN_LEN:
            raise Malformed("ESP packet too short", f"{end - start} bytes")
        return Kind.ESP, 0, 0, data[start:end], False, False

    @staticmethod
    def _ah(data: bytes, start: int, end: int, missing: int) -> Verdict:
        if missing:
            raise _snaplen(end - start, end - start + missing)
        if end - start < AH_MIN_LEN:
            raise Malformed("AH header too short", f"{end - start} bytes")
        ah_len = (data[start + 1] + 2) * 4  # RFC 4302 section 2.2: in 32-bit words, minus 2
        if ah_len > end - start:
            raise Malformed("AH header beyond the packet", f"{ah_len} of {end - start} bytes")
        return Kind.AH, 0, 0, data[start:end], False, False

    def _udp(self, data: bytes, start: int, end: int, missing: int) -> Verdict:
        if end - start < UDP_HEADER_LEN:
            if missing:
                raise Malformed("truncated by snaplen", f"UDP header not captured ({end - start} bytes)")
            raise Malformed("frame too short for UDP header", f"{end - start} bytes")
        sport, dport, udp_len = _udp_header(data, start)
        rules = self.udp_rules
        chosen = rules.get(dport)
        other = rules.get(sport)
        if chosen is None or (other is not None and other[0] > chosen[0]):
            chosen = other
        if chosen is None:
            return OTHER_VERDICT
        if udp_len < UDP_HEADER_LEN:
            raise Malformed("bad UDP length", f"{udp_len} bytes")
        captured = end - start
        if udp_len > captured:
            if missing:
                raise _snaplen(captured - UDP_HEADER_LEN, udp_len - UDP_HEADER_LEN)
            raise Malformed("UDP length beyond the IP payload", f"{udp_len} of {captured} bytes")
        verdict = chosen[1](sport, dport, data[start + UDP_HEADER_LEN : start + udp_len])
        return OTHER_VERDICT if verdict is None else verdict


def _snaplen(captured: int, total: int) -> Malformed:
    return Malformed("truncated by snaplen", f"{max(captured, 0)} of {total} bytes captured")
