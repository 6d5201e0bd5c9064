"""IPv6 extension headers are walked up to ESP, AH or UDP (RFC 8200 section 4)."""

from __future__ import annotations

from ikedecode.capture import Kind

from .builders import ah, esp, ethernet_pcap, extension_header, ipv6, isakmp, read_capture, udp

A, B = "2001:db8:1::1", "2001:db8:2::2"


def test_esp_after_hop_by_hop_routing_and_destination_options() -> None:
    chain = (
        extension_header(43, bytes([5, 2, 0, 0, 0, 0]))  # hop-by-hop: router alert option, next: routing
        + extension_header(60, bytes([0, 0]) + bytes(4) + bytes(16))  # routing type 0, 0 segments left
        + extension_header(50, bytes([1, 2, 0, 0]))  # destination options, next: ESP
    )
    packet = ipv6(A, B, 0, chain + esp(spi=77))
    _, datagrams = read_capture(ethernet_pcap([packet]))
    assert [(d.kind, d.payload) for d in datagrams] == [(Kind.ESP, esp(spi=77))]
    assert datagrams[0].ip_header == packet[: 40 + len(chain)]


def test_ah_header_includes_the_extension_headers_before_it() -> None:
    chain = extension_header(51, bytes([1, 4, 0, 0, 0, 0]))
    packet = ipv6(A, B, 60, chain + ah(next_header=41) + bytes(40))
    _, datagrams = read_capture(ethernet_pcap([packet]))
    assert [d.kind for d in datagrams] == [Kind.AH]
    assert datagrams[0].ip_header == packet[:48]
    assert datagrams[0].payload == ah(next_header=41) + bytes(40)


def test_ike_after_destination_options() -> None:
    packet = ipv6(A, B, 60, extension_header(17) + udp(500, 500, isakmp(version=0x20, exchange=34)))
    _, datagrams = read_capture(ethernet_pcap([packet]))
    assert [(d.kind, d.src, d.dst, d.ip_version) for d in datagrams] == [(Kind.IKE, A, B, 6)]


def test_no_next_header_is_other() -> None:
    reader, _ = read_capture(ethernet_pcap([ipv6(A, B, 59, b"")]))
    assert reader.stats.other == 1


def test_extension_header_beyond_the_packet_is_malformed() -> None:
    header = bytes([50, 4]) + bytes(6)  # claims 40 bytes, only 8 follow
    reader, _ = read_capture(ethernet_pcap([ipv6(A, B, 60, header)]))
    assert reader.stats.malformed_frames == [(1, "IPv6 extension header beyond the packet")]
