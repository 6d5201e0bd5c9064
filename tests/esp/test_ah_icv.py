"""AH ICVs (RFC 4302 section 3.3.3): mutable IP fields are zeroed, everything else is covered."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspStatus, IpsecSa, SaDatabase, decrypted_ip_packet
from ikedecode.esp.inner import ipv4_checksum

KEY = b"ah-test-key-0123456789"
SPI = 0x4242
UPPER = bytes.fromhex("1f900050000000010000000050022000") + b"hello, AH"  # a TCP-ish upper layer
SRC4, DST4 = "192.0.2.10", "192.0.2.20"
SRC6, DST6 = "2001:db8::10", "2001:db8::20"


def _icv(data: bytes) -> bytes:
    return hmac.new(KEY, data, hashlib.sha1).digest()[:12]


def _ah(seq: int, icv: bytes, next_header: int = 6) -> bytes:
    return struct.pack("!BBHII", next_header, (12 + len(icv)) // 4 - 2, 0, SPI, seq) + icv


def _ipv4(total: int, *, tos=0x10, ttl=64, flags=0x4000, options=b"", src=SRC4, checksum=True) -> bytearray:
    ihl = 5 + len(options) // 4
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            tos,
            total,
            0x1234,
            flags,
            ttl,
            51,
            0,
            ipaddress.IPv4Address(src).packed,
            ipaddress.IPv4Address(DST4).packed,
        )
        + options
    )
    if checksum:
        struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return header


def _ipv4_ah_packet(
    seq: int = 1, options: bytes = b"", zeroed_options: bytes = b"", esn_high: int | None = None
):
    """The IPv4 header and AH+payload, the ICV computed over an explicitly zeroed header."""
    total = 20 + len(options) + 24 + len(UPPER)
    zeroed = _ipv4(total, tos=0, ttl=0, flags=0, options=zeroed_options or options, checksum=False)
    trailer = struct.pack("!I", esn_high) if esn_high is not None else b""
    icv = _icv(bytes(zeroed) + _ah(seq, bytes(12)) + UPPER + trailer)
    return _ipv4(total, options=options), _ah(seq, icv) + UPPER


def _process(
    header: bytes | bytearray, payload: bytes, *, version: int = 4, esn: bool = False, seq_hi: int = 0
):
    src, dst = (SRC6, DST6) if version == 6 else (SRC4, DST4)
    sa = IpsecSa(
        "ah", SPI, src, dst, integrity="hmac-sha1-96", integrity_key=KEY, esn=esn, initial_seq_hi=seq_hi
    )
    datagram = Datagram(
        frame=1,
        time=0.0,
        kind=Kind.AH,
        src=src,
        dst=dst,
        sport=0,
        dport=0,
        payload=payload,
        ip_version=version,
        ip_header=bytes(header),
    )
    return EspProcessor(SaDatabase([sa])).process(datagram)


def test_ipv4_ah_verifies_and_survives_changes_to_mutable_fields():
    header, payload = _ipv4_ah_packet()
    result = _process(header, payload)
    assert result.status == EspStatus.VERIFIED
    assert (result.next_header, result.mode, result.payload) == (6, "transport", UPPER)
    header[1], header[8] = 0xB8, 3  # DSCP and TTL changed by routers
    header[6:8] = b"\x00\x00"  # DF cleared
    struct.pack_into("!H", header, 10, 0)
    assert _process(header, payload).status == EspStatus.VERIFIED


def test_ipv4_ah_fails_when_covered_bytes_change():
    header, payload = _ipv4_ah_packet()
    spoofed = bytearray(header)
    spoofed[12:16] = bytes([192, 0, 2, 99])
    assert _process(spoofed, payload).status == EspStatus.ICV_FAILED
    tampered = payload[:-1] + bytes([payload[-1] ^ 1])
    result = _process(header, tampered)
    assert result.status == EspStatus.ICV_FAILED and result.sa.counters.icv_failed == 1


def test_ipv4_options_mutable_zeroed_immutable_covered():
    router_alert = bytes([148, 4, 0, 0])  # immutable (RFC 4302 A.1)
    record_route = bytes([7, 7, 4]) + bytes(4) + b"\x00"  # mutable: zeroed whole, then EOL padding
    options = router_alert + record_route
    zeroed = router_alert + bytes(7) + b"\x00"
    header, payload = _ipv4_ah_packet(options=options, zeroed_options=zeroed)
    assert _process(header, payload).status == EspStatus.VERIFIED
    header[20 + 4 + 3 : 20 + 4 + 7] = bytes([198, 51, 100, 1])  # a router recorded itself
    assert _process(header, payload).status == EspStatus.VERIFIED
    header[22] = 1  # router alert value is covered
    assert _process(header, payload).status == EspStatus.ICV_FAILED


def test_ah_with_esn_appends_the_high_bits():
    header, payload = _ipv4_ah_packet(seq=9, esn_high=2)
    result = _process(header, payload, esn=True, seq_hi=2)
    assert result.status == EspStatus.VERIFIED and result.seq == (2 << 32) | 9
    assert _process(header, payload, esn=True, seq_hi=0).status == EspStatus.ICV_FAILED


def test_ipv6_ah_zeroes_flow_label_hop_limit_and_changeable_options():
    hop_by_hop_body = bytes([51, 0]) + bytes([0x3E, 2, 0xAB, 0xCD]) + bytes([1, 0])  # option 0x3e may change
    payload_length = len(hop_by_hop_body) + 24 + len(UPPER)

    def ipv6(flow: int, hop_limit: int, option_data: bytes, dst: str = DST6) -> bytes:
        first = (6 << 28) | flow
        fixed = struct.pack(
            "!IHBB16s16s",
            first,
            payload_length,
            0,
            hop_limit,
            ipaddress.IPv6Address(SRC6).packed,
            ipaddress.IPv6Address(dst).packed,
        )
        return fixed + hop_by_hop_body[:4] + option_data + hop_by_hop_body[6:]

    zeroed = ipv6(0, 0, b"\x00\x00")
    icv = _icv(zeroed + _ah(1, bytes(12)) + UPPER)
    payload = _ah(1, icv) + UPPER
    assert _process(ipv6(0x0ABCDE, 64, b"\xab\xcd"), payload, version=6).status == EspStatus.VERIFIED
    assert _process(ipv6(0x012345, 7, b"\x11\x22"), payload, version=6).status == EspStatus.VERIFIED
    assert (
        _process(ipv6(0, 64, b"\xab\xcd", dst="2001:db8::99"), payload, version=6).status
        == EspStatus.ICV_FAILED
    )


def test_transport_ah_rebuilds_the_ip_packet_without_ah():
    header, payload = _ipv4_ah_packet()
    packet = decrypted_ip_packet(_process(header, payload))
    assert packet[9] == 6 and struct.unpack_from("!H", packet, 2)[0] == 20 + len(UPPER) == len(packet)
    assert ipv4_checksum(packet[:20]) == 0
    assert packet[20:] == UPPER


def test_ah_without_the_outer_header_cannot_be_checked():
    _, payload = _ipv4_ah_packet()
    result = _process(b"", payload)
    assert result.status == EspStatus.MALFORMED and "header missing" in result.reason


def test_ah_icv_field_too_small_for_the_algorithm_is_malformed():
    header, payload = _ipv4_ah_packet()
    short = bytes([6, 2]) + payload[2:12] + payload[12:16] + UPPER  # length field says 4-byte ICV
    assert _process(header, short).status == EspStatus.MALFORMED
