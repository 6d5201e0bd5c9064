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

Padding other than 1, 2, 3, ... is allowed by agreement (section 2.4): where an inner IPv4 header
checks out with its checksum, bad padding alone is counted (``SaCounters.bad_padding``) but the
packet is kept; everywhere else (the other checks pass too often on noise) the padding must be
right too, or the packet is judged garbled. For random bytes the checks pass about once in
three thousand packets (a pad length of 0 before a plausible next header), so a per-SA
verdict (``analysis/checks/esp.py``) is certain. The per-packet cost is a few comparisons, and
for IPv4 inner packets without a verified ICV one 20-byte checksum (bench/esp_bench.py measures
it): where the ICV verified, the packet is the peer's and noise would fail the other checks of
every packet of the SA anyway.

``plaintext_problem`` gives the failed check as one of the short codes of ``GARBLED`` ("" when
sane); the codes are the reasons of ``OUTCOME_OPENED`` outcomes and the keys of
``SaCounters.failed_checks``.
"""

from __future__ import annotations

from ikedecode.esp.inner import IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_UDP, PADDINGS

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
    PADDING: "padding bytes not 1, 2, 3, ... (and no inner IPv4 header to vouch for the packet)",
    NEXT_HEADER: "next header not a protocol ESP carries",
    INNER_IPV4: "inner IPv4 header inconsistent (version, length or checksum)",
    INNER_IPV6: "inner IPv6 header inconsistent (version or payload length)",
    INNER_TCP: "TCP data offset inconsistent with the payload",
    INNER_UDP: "UDP length inconsistent with the payload",
}


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
    authentic: bool = False,
) -> str:
    """The check a decrypted payload fails ("" if none): the inner packet is
    ``plaintext[start:payload_end]`` (the trailer is already cut off; a negative size means the
    pad length ran beyond it), ``padding_ok`` whether the padding bytes were 1, 2, 3, ... (or
    padding is not checked). ``authentic``: the ICV verified, so the packet is what the peer
    sent and only the encryption key is in doubt; the IPv4 checksum, the dearest check, is then
    left out (noise passes the rest about once in 250,000 packets, and a wrong key fails all of
    an SA's packets: the per-SA verdict stands)."""
    size = payload_end - start
    if size < 0:
        return PAD_LENGTH
    if next_header == IPPROTO_IPIP:  # the commonest: inlined (this runs for every packet)
        if size < 20:
            return INNER_IPV4
        first = plaintext[start]
        ihl = (first - 0x40) * 4  # version 4 in the high nibble, header length in the low one
        total = (plaintext[start + 2] << 8) | plaintext[start + 3]
        if not 20 <= ihl <= 60 or not ihl <= total <= size:
            return INNER_IPV4
        if authentic:
            return ""
        # RFC 791/1071: the one's complement sum of the header's 16-bit words is 0xffff. As 2^16
        # is 1 modulo 0xffff, that is the header read as one number being 0 modulo 0xffff.
        return INNER_IPV4 if int.from_bytes(plaintext[start : start + ihl], "big") % 0xFFFF else ""
    if next_header == IPPROTO_IPV6:
        problem = _ipv6_problem(plaintext, start, size)
    elif next_header == IPPROTO_TCP:
        problem = "" if size >= 20 and 20 <= (plaintext[start + 12] >> 4) * 4 <= size else INNER_TCP
    elif next_header == IPPROTO_UDP:
        problem = (
            ""
            if size >= 8 and 8 <= ((plaintext[start + 4] << 8) | plaintext[start + 5]) <= size
            else INNER_UDP
        )
    elif next_header not in PLAUSIBLE_NEXT_HEADERS:
        problem = NEXT_HEADER
    else:
        problem = ""
    # these checks pass often enough on noise (a TCP data offset: 11 times in 16) that padding
    # must agree too; only a whole IPv4 header with its checksum outweighs padding (above)
    return problem or ("" if padding_ok else PADDING)


def judge(
    plaintext: bytes | memoryview | None, *, check_padding: bool = True, authentic: bool = False
) -> str:
    """``plaintext_problem`` of a whole decrypted payload, trailer included (``PAD_LENGTH`` when
    there is no room for one)."""
    if plaintext is None or len(plaintext) < 2:
        return PAD_LENGTH
    pad_length, next_header = plaintext[-2], plaintext[-1]
    payload_end = len(plaintext) - 2 - pad_length
    padding_ok = not check_padding or payload_end < 0 or plaintext[payload_end:-2] == PADDINGS[pad_length]
    return plaintext_problem(plaintext, 0, payload_end, next_header, padding_ok, authentic)


__all__ = ["GARBLED", "PLAUSIBLE_NEXT_HEADERS", "judge", "plaintext_problem"]
