"""Decrypted packets become forwardable IP packets; nested ESP becomes a new datagram."""

from __future__ import annotations

import ipaddress
import struct

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspStatus, IpsecSa, SaDatabase, decrypted_ip_packet, inner_datagram
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.inner import ipv4_checksum, rebuild_ip_header

SRC, DST = "198.18.0.1", "198.18.0.2"


def _ipv4_header(protocol: int, payload_length: int, src: str = SRC, dst: str = DST) -> bytes:
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + payload_length,
            7,
            0x4000,
            64,
            protocol,
            0,
            ipaddress.IPv4Address(src).packed,
            ipaddress.IPv4Address(dst).packed,
        )
    )
    struct.pack_into("!H", header, 10, ipv4_checksum(header))
    return bytes(header)


def _esp_datagram(sa: IpsecSa, payload: bytes, next_header: int, **encode) -> Datagram:
    esp = EspEncoder(sa).encode(payload, next_header, 1, **encode)
    return Datagram(
        frame=3,
        time=1.5,
        kind=Kind.ESP,
        src=SRC,
        dst=DST,
        sport=0,
        dport=0,
        payload=esp,
        ip_header=_ipv4_header(50, len(esp)),
        time_ns=1_500_000_000,
    )


def test_transport_mode_rebuilds_the_ipv4_header():
    sa = IpsecSa("esp", 7, encryption="aes-cbc", encryption_key=b"k" * 16)
    udp = struct.pack("!HHHH", 53, 53, 12, 0) + b"dns!"
    result = EspProcessor(SaDatabase([sa])).process(_esp_datagram(sa, udp, 17))
    packet = decrypted_ip_packet(result)
    assert packet[9] == 17 and packet[20:] == udp
    assert struct.unpack_from("!H", packet, 2)[0] == len(packet) == 32
    assert packet[6:8] == b"\x00\x00"  # reassembled datagram: no fragment bits
    assert ipv4_checksum(packet[:20]) == 0
    assert packet[12:20] == _ipv4_header(50, 0)[12:20]  # addresses kept


def test_tunnel_mode_cuts_tfc_padding_after_the_inner_packet():
    sa = IpsecSa("esp", 8, encryption="aes-ctr", encryption_key=b"k" * 20)
    inner = _ipv4_header(1, 8, "10.9.0.1", "10.9.0.2") + bytes.fromhex("0800f7ff00000000")
    result = EspProcessor(SaDatabase([sa])).process(_esp_datagram(sa, inner, 4, tfc_padding=40))
    assert result.mode == "tunnel" and len(result.payload) == len(inner) + 40
    assert decrypted_ip_packet(result) == inner


def test_ipv6_header_rebuild_changes_the_last_next_header_of_the_chain():
    destination_options = bytes([50, 0, 1, 4, 0, 0, 0, 0])  # next header ESP, PadN
    fixed = struct.pack("!IHBB16s16s", 6 << 28, 8 + 100, 60, 64, bytes(15) + b"\x01", bytes(15) + b"\x02")
    rebuilt = rebuild_ip_header(fixed + destination_options, 6, "::1", "::2", 58, 30)
    assert rebuilt[6] == 60 and rebuilt[40] == 58  # fixed header still points at the options header
    assert struct.unpack_from("!H", rebuilt, 4)[0] == 8 + 30


def test_a_missing_or_broken_outer_header_is_synthesised():
    ipv4 = rebuild_ip_header(b"", 4, "192.0.2.1", "192.0.2.2", 6, 100)
    assert ipv4[0] == 0x45 and ipv4[9] == 6 and struct.unpack_from("!H", ipv4, 2)[0] == 120
    assert ipv4_checksum(ipv4) == 0
    ipv6 = rebuild_ip_header(b"\x60" + bytes(10), 6, "2001:db8::1", "2001:db8::2", 17, 50)
    assert len(ipv6) == 40 and ipv6[6] == 17 and struct.unpack_from("!H", ipv6, 4)[0] == 50
    assert ipv6[8:24] == ipaddress.IPv6Address("2001:db8::1").packed


def test_nested_esp_inside_a_tunnel_is_opened_layer_by_layer():
    outer_sa = IpsecSa(
        "esp",
        10,
        SRC,
        DST,
        encryption="aes-cbc",
        encryption_key=b"o" * 16,
        integrity="hmac-sha1-96",
        integrity_key=b"a" * 20,
    )
    inner_sa = IpsecSa(
        "esp",
        15,
        "10.1.0.3",
        "10.2.0.4",
        encryption="3des-cbc",
        encryption_key=b"i" * 24,
        integrity="hmac-md5-96",
        integrity_key=b"m" * 16,
    )
    icmp = bytes.fromhex("0800f7ff00000000")
    inner_esp = EspEncoder(inner_sa).encode(icmp, 1, 5)
    inner_packet = _ipv4_header(50, len(inner_esp), "10.1.0.3", "10.2.0.4") + inner_esp
    layers = EspProcessor(SaDatabase([outer_sa, inner_sa])).process_nested(
        _esp_datagram(outer_sa, inner_packet, 4)
    )
    assert [(r.depth, r.spi, r.status, r.mode) for r in layers] == [
        (0, 10, EspStatus.VERIFIED, "tunnel"),
        (1, 15, EspStatus.VERIFIED, "transport"),
    ]
    innermost = decrypted_ip_packet(layers[1])
    assert innermost[9] == 1 and innermost[20:] == icmp
    assert innermost[12:16] == bytes([10, 1, 0, 3])
    assert layers[1].datagram.time_ns == 1_500_000_000 and layers[1].datagram.frame == 3


def test_esp_in_udp_inside_a_tunnel_is_recognised():
    sa = IpsecSa("esp", 11, encryption="null")
    nat_t = struct.pack("!HHHH", 4500, 4500, 8 + 12, 0) + struct.pack("!II", 0x77, 1) + b"data"
    inner_packet = _ipv4_header(17, len(nat_t), "10.0.0.1", "10.0.0.2") + nat_t
    result = EspProcessor(SaDatabase([sa])).process(_esp_datagram(sa, inner_packet, 4))
    nested = inner_datagram(result)
    assert nested.kind == Kind.ESP and nested.udp_encapsulated
    assert nested.payload[:4] == b"\x00\x00\x00\x77" and (nested.src, nested.dst) == ("10.0.0.1", "10.0.0.2")


def test_plain_inner_traffic_is_not_another_layer():
    sa = IpsecSa("esp", 12, encryption="null")
    inner_packet = _ipv4_header(1, 8, "10.0.0.1", "10.0.0.2") + bytes(8)
    result = EspProcessor(SaDatabase([sa])).process(_esp_datagram(sa, inner_packet, 4))
    assert inner_datagram(result) is None


def test_an_inner_ip_fragment_is_not_taken_for_another_layer():
    sa = IpsecSa("esp", 13, encryption="null")
    esp_body = struct.pack("!II", 0x55, 1) + bytes(16)
    fragment = bytearray(_ipv4_header(50, len(esp_body), "10.0.0.1", "10.0.0.2") + esp_body)
    fragment[6] |= 0x20  # more fragments: no reassembly inside the tunnel
    fragment[10:12] = b"\x00\x00"
    struct.pack_into("!H", fragment, 10, ipv4_checksum(fragment[:20]))
    result = EspProcessor(SaDatabase([sa])).process(_esp_datagram(sa, bytes(fragment), 4))
    assert result.status == EspStatus.DECRYPTED
    assert inner_datagram(result) is None
