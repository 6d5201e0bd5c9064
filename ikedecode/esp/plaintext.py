"""Is a decrypted ESP payload plaintext, or the garbage a wrong encryption key gives?

An ICV proves integrity, not the cipher key: a right integrity key with a wrong encryption key
verifies every packet and decrypts each to noise, and an SA without integrity has no ICV at all.
So every decrypted payload is judged on what RFC 4303 lets a receiver check:

* the trailer (section 2.4-2.6): the pad length fits the payload, the padding bytes are the
  default 1, 2, 3, ..., the next header is a protocol ESP carries (``PLAUSIBLE_NEXT_HEADERS``);
* the inner packet: an IPv4 header whose version, header length, total length and checksum
  agree (RFC 791), an IPv6 header whose payload length fits (RFC 8200), a TCP data offset or a
  UDP length consistent with the payload (tunnel mode may carry TFC padding after the inner
  packet, section 2.4, so lengths may be shorter than the payload, never longer).

Padding other than 1, 2, 3, ... is allowed by agreement (section 2.4): where a typed inner
header checks out, bad padding alone is counted (``SaCounters.bad_padding``) but the packet is
kept; where nothing else can be checked it is the only evidence, and the packet is judged
garbled. For random bytes the checks pass about once in several thousand packets, so a per-SA
verdict (``analysis/checks/esp.py``) is certain; the per-packet cost is a few comparisons and,
for IPv4 inner packets, one 20-byte checksum (bench/esp_bench.py measures it).

``plaintext_problem`` gives the failed check as one of the short codes of ``GARBLED`` ("" when
sane); the codes are the reasons of ``OUTCOME_OPENED`` outcomes and the keys of
``SaCounters.failed_checks``.
"""

from __future__ import annotations

import struct

from ikedecode.esp.inner import IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_UDP, MONOTONIC_PADDING

IPPROTO_TCP = 6

# Next headers an ESP payload carries in practice (IANA protocol numbers): tunnel mode (IPv4,
# IPv6), transport mode upper layers, nested IPsec, IPComp (RFC 3173), RFC 4303 2.6 dummy packets
# (59). Anything else in a decrypted trailer is taken for noise.
PLAUSIBLE_NEXT_HEADERS = frozenset(
    {
        1,  # ICMP
        2,  # IGMP
        IPPROTO_IPIP,
        IPPROTO_TCP,
        IPPROTO_UDP,
        IPPROTO_IPV6,
        47,  # GRE
        50,  # ESP
        51,  # AH
        58,  # ICMPv6
        59,  # no next header: a TFC dummy packet
        60,  # IPv6 destination options (transport mode)
        89,  # OSPF
        94,  # IP-within-IP (KA9Q)
        97,  # EtherIP
        103,  # PIM
        108,  # IPComp
        112,  # VRRP
        115,  # L2TP
        132,  # SCTP
        136,  # UDP-Lite
        137,  # MPLS-in-IP
        143,  # Ethernet (RFC 8986)
    }
)

# The checks, by the short code a failed packet is counted under, and what each means.
PAD_LENGTH = "pad_length"
PADDING = "padding"
NEXT_HEADER = "next_header"
INNER_IPV4 = "inner_ipv4"
INNER_IPV6 = "inner_ipv6"
INNER_TCP = "tcp_header"
INNER_UDP = "udp_length"
GARBLED: dict[str, str] = {
    PAD_LENGTH: "pad length beyond the decrypted payload",
    PADDING: "padding bytes not 1, 2, 3, ... and no inner header to check",
    NEXT_HEADER: "next header not a protocol ESP carries",
    INNER_IPV4: "inner IPv4 header inconsistent (version, length or checksum)",
    INNER_IPV6: "inner IPv6 header inconsistent (version or payload length)",
    INNER_TCP: "TCP data offset inconsistent with the payload",
    INNER_UDP: "UDP length inconsistent with the payload",
}

_WORDS = {ihl: struct.Struct(f"!{ihl // 2}H") for ihl in range(20, 64, 4)}  # IPv4 header sizes


def _ipv4_problem(p: bytes | memoryview, start: int, size: int) -> str:
    if size < 20:
        return INNER_IPV4
    first = p[start]
    ihl = (first & 0x0F) * 4
    if first >> 4 != 4 or ihl < 20 or ihl > size:
        return INNER_IPV4
    total = (p[start + 2] << 8) | p[start + 3]
    if total < ihl or total > size:
        return INNER_IPV4
    checksum = sum(_WORDS[ihl].unpack_from(p, start))  # RFC 791: one's complement sum is 0xffff
    checksum = (checksum & 0xFFFF) + (checksum >> 16)
    checksum = (checksum & 0xFFFF) + (checksum >> 16)
    return "" if checksum == 0xFFFF else INNER_IPV4


def _ipv6_problem(p: bytes | memoryview, start: int, size: int) -> str:
    if size < 40 or p[start] >> 4 != 6 or 40 + ((p[start + 4] << 8) | p[start + 5]) > size:
        return INNER_IPV6
    return ""


def plaintext_problem(
    plaintext: bytes | memoryview,
    start: int,
    payload_end: int,
    next_header: int,
    padding_ok: bool,
) -> str:
    """The check a decrypted payload fails ("" if none): the inner packet is
    ``plaintext[start:payload_end]`` (the trailer is already cut off; a negative size means the
    pad length ran beyond it), ``padding_ok`` whether the padding bytes were 1, 2, 3, ... (or
    padding is not checked)."""
    size = payload_end - start
    if size < 0:
        return PAD_LENGTH
    if next_header == IPPROTO_IPIP:
        return _ipv4_problem(plaintext, start, size)
    if next_header == IPPROTO_IPV6:
        return _ipv6_problem(plaintext, start, size)
    if next_header == IPPROTO_TCP:
        if size < 20 or not 20 <= (plaintext[start + 12] >> 4) * 4 <= size:
            return INNER_TCP
        return ""
    if next_header == IPPROTO_UDP:
        if size < 8 or not 8 <= ((plaintext[start + 4] << 8) | plaintext[start + 5]) <= size:
            return INNER_UDP
        return ""
    if next_header not in PLAUSIBLE_NEXT_HEADERS:
        return NEXT_HEADER
    return "" if padding_ok else PADDING


def judge(plaintext: bytes | memoryview | None, *, check_padding: bool = True) -> str:
    """``plaintext_problem`` of a whole decrypted payload, trailer included (``PAD_LENGTH`` when
    there is no room for one)."""
    if plaintext is None or len(plaintext) < 2:
        return PAD_LENGTH
    pad_length, next_header = plaintext[-2], plaintext[-1]
    payload_end = len(plaintext) - 2 - pad_length
    padding_ok = (
        not check_padding or payload_end < 0 or plaintext[payload_end:-2] == MONOTONIC_PADDING[:pad_length]
    )
    return plaintext_problem(plaintext, 0, payload_end, next_header, padding_ok)


__all__ = ["GARBLED", "PLAUSIBLE_NEXT_HEADERS", "judge", "plaintext_problem"]
