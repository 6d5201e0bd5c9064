"""The batching fast path's shared parts: plain ESP over IPv4 recognised in place, and what a
format reader's fast scan hands the frames it does not batch itself to.

``CaptureReader.items`` batches plain ESP (the bulk of a concentrator's capture) without building
a per-packet object. Over classic pcap and pcapng the whole loop runs inside the format reader's
``esp_batches`` (``PcapReader``, ``PcapngReader``), right in the file buffer; over other record
sources (merged files, watched records) the reader calls ``plain_esp`` per frame.
"""

from __future__ import annotations

from struct import Struct
from typing import Protocol

from .datagram import Datagram

# LINKTYPE -> (offset of the IP header, offset of a 2-byte EtherType that must be 0x0800 or None,
# link type name): the shape of linklayer.FAST_LINKS' values.
FastLink = tuple[int, int | None, str]


class FastPathSink(Protocol):
    """The frames' accounting and general path, on the reader's side of a format's fast scan."""

    def fast_frames(
        self, frame: int, count: int, first_time_ns: int, last_time_ns: int, link_name: str
    ) -> None:
        """``count`` consecutive frames, the last of them ``frame``, were batched as plain ESP; all
        of them were read over the link type ``link_name`` (as in ``linklayer.LINK_TYPES``)."""

    def expire_fragments(self, frame: int, time_ns: int) -> None:
        """Frame ``frame`` was read while IP fragments wait for reassembly."""

    def other_frame(
        self, frame: int, time_ns: int, linktype: int, data: bytes, orig_len: int
    ) -> Datagram | None:
        """A frame the scan did not batch: the datagram it completes, if any (as when iterating)."""

    def ike_frame(
        self, frame: int, time_ns: int, buf: bytes, ip: int, start: int, end: int, link_name: str
    ) -> Datagram:
        """Book frame ``frame``, read over ``link_name``, as IKE: an IPv4 datagram (header
        ``buf[ip:ip + 20]``, no options, not a fragment, wholly captured) whose UDP payload
        ``udp_fast`` found to be an IKE message at ``buf[start:end]``; the ``Datagram`` the
        general path would have made of it."""


def ipv4_test(link: FastLink, header_len: int) -> tuple[int, int, int, int]:
    """How a fast scan recognises plain IPv4 in a record of ``link`` whose frame starts
    ``header_len`` bytes after the record: ``(ip_at, mask, word, ether_at)``, the IPv4 header's
    position from the record's start; ``unpack("!I", buf, record + ip_at - 2)[0] & mask == word``
    tests the version/IHL byte 0x45 and, where the EtherType lies right before the IPv4 header
    (Ethernet, Linux SLL), the EtherType 0x0800 in the same word; elsewhere a distant EtherType
    (Linux SLL2) is at ``record + ether_at`` (-1: none to test)."""
    ip_offset, type_offset, _name = link
    ip_at = header_len + ip_offset
    if type_offset is not None and type_offset == ip_offset - 2:
        return ip_at, 0xFFFFFF00, 0x08004500, -1
    return ip_at, 0xFF00, 0x4500, -1 if type_offset is None else header_len + type_offset


_unpack_udp = Struct("!HHH").unpack_from  # UDP source and destination ports, length: one call, not
# six byte reads (0.1 us a frame less)


def udp_fast(buf: bytes, ip: int, ip_length: int, nat_t: bool, ike_500: bool) -> tuple[int, int, int]:
    """``(esp_start, ike_start, ike_end)`` for a UDP datagram whose IPv4 header (no options, not a
    fragment, ``ip_length`` >= 28 bytes wholly captured, after the right EtherType) is at ``ip``,
    as the general path would classify it (capture/classify.py) in its common cases: ESP in UDP
    4500 when ``nat_t`` (as ``plain_esp``: the UDP length the IP payload's, 8 bytes of ESP at
    least, no port 500), or an IKE message at ``buf[ike_start:ike_end]``: UDP 500 when
    ``ike_500`` (500 takes precedence over any other port), or UDP 4500 behind the non-ESP marker
    when ``nat_t`` (neither port 500). All zero otherwise: the frame takes the general path, which
    decides it (NAT-T keepalives, bad UDP lengths, the user's extra ports, ...)."""
    sport, dport, udp_len = _unpack_udp(buf, ip + 20)
    if sport == 500 or dport == 500:
        if ike_500 and 8 <= udp_len <= ip_length - 20:
            return 0, ip + 28, ip + 20 + udp_len
    elif nat_t and (sport == 4500 or dport == 4500):
        if buf[ip + 28 : ip + 32] != b"\x00\x00\x00\x00":
            if udp_len == ip_length - 20 and ip_length >= 36:
                return ip + 28, 0, 0
        elif 12 <= udp_len <= ip_length - 20:
            return 0, ip + 32, ip + 20 + udp_len
    return 0, 0, 0


def plain_esp(
    buf: bytes, data_start: int, data_end: int, ip: int, type_offset: int | None, nat_t: bool
) -> tuple[int, int]:
    """(end of the IP datagram, start of its ESP) for a frame at ``buf[data_start:data_end]`` whose
    IPv4 header (starting 0x45: no options) is at ``ip``, when it is plain ESP (IP protocol 50, or
    UDP 4500 without the non-ESP marker when ``nat_t``) the reader's fast path may batch: EtherType
    0x0800 at ``type_offset`` (if any), not a fragment, wholly captured, ESP at least 8 bytes.
    ESP start 0 otherwise (the frame then takes the general path, which tells why)."""
    if (
        type_offset is not None
        and buf[data_start + type_offset : data_start + type_offset + 2] != b"\x08\x00"
    ):
        return 0, 0
    if buf[ip + 6] & 0x3F or buf[ip + 7]:
        return 0, 0
    ip_end = ip + ((buf[ip + 2] << 8) | buf[ip + 3])
    if ip_end > data_end:
        return 0, 0
    proto = buf[ip + 9]
    if proto == 50:
        esp_start = ip + 20
    elif proto == 17 and nat_t and ip_end >= ip + 36:
        sport = (buf[ip + 20] << 8) | buf[ip + 21]
        dport = (buf[ip + 22] << 8) | buf[ip + 23]
        if not (
            (sport == 4500 or dport == 4500)
            and sport != 500
            and dport != 500
            and ((buf[ip + 24] << 8) | buf[ip + 25]) == ip_end - ip - 20
            and buf[ip + 28 : ip + 32] != b"\x00\x00\x00\x00"
        ):
            return 0, 0
        esp_start = ip + 28
    else:
        return 0, 0
    return (ip_end, esp_start) if ip_end - esp_start >= 8 else (0, 0)
