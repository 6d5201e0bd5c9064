"""IKE / ESP / AH / other decisions: UDP 500 and 4500 (RFC 3948), extra IKE ports, AH, snaplen."""

from __future__ import annotations

import pytest

from ikedecode.capture import Kind
from ikedecode.capture.classify import Classifier, is_plausible_isakmp

from .builders import ah, esp, ethernet, ethernet_pcap, ipv4, isakmp, pcap, read_capture, udp

A, B = "192.0.2.10", "198.51.100.20"


def _one(packet: bytes, **kwargs: object):
    reader, datagrams = read_capture(ethernet_pcap([packet]), **kwargs)
    return reader, datagrams


def test_ike_on_port_500_either_side() -> None:
    for sport, dport in ((500, 500), (500, 61000), (61000, 500)):
        reader, datagrams = _one(ipv4(A, B, 17, udp(sport, dport, isakmp())))
        assert [(d.kind, d.sport, d.dport, d.payload, d.udp_encapsulated) for d in datagrams] == [
            (Kind.IKE, sport, dport, isakmp(), False)
        ]


def test_nat_t_keepalive() -> None:
    reader, datagrams = _one(ipv4(A, B, 17, udp(4500, 4500, b"\xff")))
    assert [(d.kind, d.nat_keepalive, d.payload) for d in datagrams] == [(Kind.IKE, True, b"\xff")]
    assert reader.stats.nat_keepalives == 1
    assert reader.stats.ike == 1


def test_non_esp_marker_is_stripped_from_ike_on_4500() -> None:
    message = isakmp(version=0x20, exchange=35)
    reader, datagrams = _one(ipv4(A, B, 17, udp(4500, 4500, bytes(4) + message)))
    assert [(d.kind, d.payload, d.udp_encapsulated, d.nat_keepalive) for d in datagrams] == [
        (Kind.IKE, message, True, False)
    ]


def test_esp_in_udp_starts_at_the_spi() -> None:
    packet = esp(spi=0xC1A9656B, seq=3)
    reader, datagrams = _one(ipv4(A, B, 17, udp(4500, 10954, packet)))
    assert [(d.kind, d.payload, d.udp_encapsulated, d.sport, d.dport) for d in datagrams] == [
        (Kind.ESP, packet, True, 4500, 10954)
    ]
    assert reader.stats.esp == 1


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\x00\x00\x00", b"\xfe", b"\x12\x34\x56\x78\x00"])
def test_udp_4500_payload_that_is_neither_esp_nor_ike_is_malformed(payload: bytes) -> None:
    reader, datagrams = _one(ipv4(A, B, 17, udp(4500, 4500, payload)))
    assert datagrams == []
    assert reader.stats.malformed_reasons == {"UDP 4500 payload neither ESP nor IKE": 1}


def test_ip_protocol_50_is_esp() -> None:
    packet = esp(spi=0x0708_83C2)
    _, datagrams = _one(ipv4(A, B, 50, packet))
    assert [(d.kind, d.payload, d.sport, d.dport, d.udp_encapsulated) for d in datagrams] == [
        (Kind.ESP, packet, 0, 0, False)
    ]


def test_short_esp_is_malformed() -> None:
    reader, _ = _one(ipv4(A, B, 50, bytes(7)))
    assert reader.stats.malformed_frames == [(1, "ESP packet too short (7 bytes)")]


def test_ah_keeps_the_ip_header_with_options() -> None:
    options = bytes([0x94, 4, 0, 0])  # router alert
    header_and_icv = ah()
    packet = ipv4(A, B, 51, header_and_icv + bytes(30), options=options)
    _, datagrams = _one(packet)
    assert [(d.kind, d.payload) for d in datagrams] == [(Kind.AH, header_and_icv + bytes(30))]
    assert datagrams[0].ip_header == packet[:24]


def test_ah_length_beyond_the_packet_is_malformed() -> None:
    reader, _ = _one(ipv4(A, B, 51, ah(icv=bytes(12))[:20]))
    assert reader.stats.malformed_frames == [(1, "AH header beyond the packet (24 of 20 bytes)")]


def test_ike_on_an_extra_port_needs_a_plausible_header() -> None:
    good = isakmp(version=0x20, exchange=34)
    packets = [
        ipv4(A, B, 17, udp(7000, 7000, good)),
        ipv4(A, B, 17, udp(7000, 7000, bytes(4) + good)),  # behind a non-ESP marker
        ipv4(A, B, 17, udp(7000, 7000, isakmp(length=999))),  # length field differs from the payload
        ipv4(A, B, 17, udp(7000, 7000, isakmp(version=0x30))),
        ipv4(A, B, 17, udp(7000, 7000, isakmp(exchange=99))),
        ipv4(A, B, 17, udp(7000, 7000, b"\x01" * 27)),
        ipv4(A, B, 17, udp(7001, 7001, good)),  # not a configured port
    ]
    reader, datagrams = read_capture(ethernet_pcap(packets), ike_ports=(500, 4500, 7000))
    assert [(d.frame, d.payload, d.udp_encapsulated) for d in datagrams] == [
        (1, good, False),
        (2, good, True),
    ]
    assert reader.stats.as_dict() == {"packets": 7, "ike": 2, "esp": 0, "ah": 0, "other": 5, "malformed": 0}


def test_without_the_extra_port_the_same_traffic_is_other() -> None:
    reader, datagrams = _one(ipv4(A, B, 17, udp(7000, 7000, isakmp())))
    assert datagrams == []
    assert reader.stats.other == 1


def test_port_500_takes_precedence_over_4500() -> None:
    # Without precedence, dport 4500 would treat the 4 first bytes as an SPI (ESP in UDP).
    _, datagrams = _one(ipv4(A, B, 17, udp(500, 4500, isakmp())))
    assert [(d.kind, d.payload) for d in datagrams] == [(Kind.IKE, isakmp())]


def test_plausible_isakmp() -> None:
    assert is_plausible_isakmp(isakmp(version=0x10, exchange=32))
    assert is_plausible_isakmp(isakmp(version=0x20, exchange=37))
    assert not is_plausible_isakmp(isakmp(version=0x20, exchange=2))  # IKEv1 exchange with an IKEv2 version
    assert not is_plausible_isakmp(isakmp()[:27])


def test_invalid_ike_port_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a UDP port"):
        Classifier((500, 70000))


def test_other_traffic() -> None:
    packets = [ipv4(A, B, 6, bytes(20)), ipv4(A, B, 1, bytes(8)), ipv4(A, B, 17, udp(53, 5353, bytes(12)))]
    reader, datagrams = read_capture(ethernet_pcap(packets))
    assert datagrams == []
    assert reader.stats.other == 3


def test_ike_cut_by_the_snapshot_length_is_malformed() -> None:
    frame = ethernet(ipv4(A, B, 17, udp(500, 500, isakmp(body=bytes(972)))))  # 1000-byte IKE message
    reader, datagrams = read_capture(pcap([(1, frame[:200], len(frame))], snaplen=200))
    assert datagrams == []
    assert reader.stats.malformed_frames == [(1, "truncated by snaplen (158 of 1000 bytes captured)")]
    assert reader.stats.malformed_reasons == {"truncated by snaplen": 1}


def test_esp_cut_by_the_snapshot_length_is_malformed_and_tcp_is_other() -> None:
    esp_frame = ethernet(ipv4(A, B, 50, esp(body=bytes(500))))
    tcp_frame = ethernet(ipv4(A, B, 6, bytes(500)))
    frames = [(1, esp_frame[:96], len(esp_frame)), (2, tcp_frame[:96], len(tcp_frame))]
    reader, _ = read_capture(pcap(frames, snaplen=96))
    assert reader.stats.malformed_frames == [(1, "truncated by snaplen (62 of 508 bytes captured)")]
    assert reader.stats.other == 1


def test_ip_total_length_beyond_a_complete_frame_is_malformed() -> None:
    packet = ipv4(A, B, 17, udp(500, 500, isakmp()), total_length=400)
    reader, _ = _one(packet)
    assert reader.stats.malformed_frames == [
        (1, "IP total length beyond the frame (400 bytes claimed, 96 present)")
    ]


def test_ethernet_padding_after_the_ip_packet_is_ignored() -> None:
    message = isakmp(body=b"")
    frame = ethernet(ipv4(A, B, 17, udp(500, 500, message))) + bytes(20)
    _, datagrams = read_capture(pcap([(1, frame)]))
    assert datagrams[0].payload == message


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (ipv4(A, B, 17, udp(500, 500, isakmp()), ihl=4), "bad IPv4 header length (16 bytes)"),
        (
            ipv4(A, B, 17, udp(500, 500, isakmp()), total_length=19),
            "bad IPv4 total length (19 bytes, header 20)",
        ),
        (ipv4(A, B, 17, bytes(6)), "frame too short for UDP header (6 bytes)"),
        (ipv4(A, B, 17, udp(500, 500, isakmp(), length=7)), "bad UDP length (7 bytes)"),
        (
            ipv4(A, B, 17, udp(500, 500, isakmp(), length=100)),
            "UDP length beyond the IP payload (100 of 76 bytes)",
        ),
    ],
    ids=["ihl-4", "total-length-19", "short-udp", "udp-length-7", "udp-length-100"],
)
def test_broken_ip_and_udp_headers_are_malformed(packet: bytes, reason: str) -> None:
    reader, datagrams = _one(packet)
    assert datagrams == []
    assert reader.stats.malformed_frames == [(1, reason)]
