"""IPv4 and IPv6 fragment reassembly: order, overlaps, duplicates, missing pieces, limits."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from ikedecode.capture import Kind
from ikedecode.capture.reassembly import Reassembler

from .builders import (
    checksum,
    esp,
    ethernet,
    ethernet_pcap,
    extension_header,
    ipv4,
    ipv4_fragments,
    ipv6_fragments,
    isakmp,
    pcap,
    read_capture,
    udp,
)

A, B = "192.0.2.1", "192.0.2.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
# An IKE message with a certificate-sized body and a recognisable byte pattern
MESSAGE = isakmp(exchange=2, body=bytes(i % 251 for i in range(3000)))
UDP_IKE = udp(500, 500, MESSAGE)


def test_ipv4_fragments_in_order() -> None:
    fragments = ipv4_fragments(A, B, 17, UDP_IKE, 1480)
    assert len(fragments) == 3
    reader, datagrams = read_capture(ethernet_pcap(fragments))
    assert len(datagrams) == 1
    datagram = datagrams[0]
    assert (datagram.kind, datagram.frame, datagram.frames, datagram.payload) == (
        Kind.IKE,
        3,
        (1, 2, 3),
        MESSAGE,
    )
    assert datagram.time_ns == 1_700_000_000_000_000_000 + 2 * 1_000_000  # the completing frame's time
    # the header is the first fragment's, describing the whole datagram: no MF, offset 0, new total length
    total_length, fragment_field = struct.unpack_from("!H2xH", datagram.ip_header, 2)
    assert (total_length, fragment_field) == (20 + len(UDP_IKE), 0)
    assert checksum(datagram.ip_header) == 0  # recomputed
    assert reader.stats.ike == 3
    assert reader.stats.ip_fragments == 3
    assert reader.stats.packets == 3


def test_ipv4_fragments_out_of_order() -> None:
    fragments = ipv4_fragments(A, B, 17, UDP_IKE, 1000)  # 4 fragments
    reader, datagrams = read_capture(ethernet_pcap([fragments[3], fragments[1], fragments[0], fragments[2]]))
    assert [(d.frame, d.frames, d.payload) for d in datagrams] == [(4, (1, 2, 3, 4), MESSAGE)]
    assert reader.stats.ike == 4


def test_overlapping_fragment_keeps_the_first_arrived_bytes() -> None:
    first, second = UDP_IKE[:1480], UDP_IKE[1480:]
    impostor = bytes(len(second) + 480)  # overlaps 480 bytes of the first fragment with zeros
    packets = [
        ipv4(A, B, 17, first, more=True, offset=0),
        ipv4(A, B, 17, impostor, offset=1000),
    ]
    reader, datagrams = read_capture(ethernet_pcap(packets))
    # bytes 1000-1479 come from the first fragment, the rest from the second; total from the last fragment
    assert datagrams[0].payload == (first + impostor[480:])[8:]
    assert reader.anomalies == {"overlapping IP fragments, first-arrived data kept": 1}
    assert reader.anomaly_frames == [(2, "overlapping IP fragments, first-arrived data kept")]


def test_duplicate_fragment_is_counted_with_its_datagram() -> None:
    fragments = ipv4_fragments(A, B, 17, UDP_IKE, 1480)
    reader, datagrams = read_capture(ethernet_pcap([fragments[0], fragments[1], fragments[1], fragments[2]]))
    assert [(d.frames, d.payload) for d in datagrams] == [((1, 2, 3, 4), MESSAGE)]
    assert reader.stats.ike == 4
    assert reader.anomalies == {"duplicate IP fragment data": 1}


def test_missing_fragment_makes_the_others_malformed() -> None:
    fragments = ipv4_fragments(A, B, 17, UDP_IKE, 1480, ident=0x1A2B)
    reader, datagrams = read_capture(ethernet_pcap([fragments[0], fragments[2]]))
    assert datagrams == []
    reason = "incomplete IP fragment set (id 0x1a2b, 2 fragments, 1556 of 3036 bytes, capture ended)"
    assert reader.stats.malformed_frames == [(1, reason), (2, reason)]
    assert reader.stats.malformed_reasons == {"incomplete IP fragment set": 2}
    assert reader.stats.packets == reader.stats.malformed == 2


def test_fragments_that_time_out_are_malformed() -> None:
    fragments = ipv4_fragments(A, B, 17, UDP_IKE, 1480)
    frames = [
        (0, ethernet(fragments[0])),
        (10 * 10**9, ethernet(fragments[1])),
        (45 * 10**9, ethernet(fragments[2])),
    ]
    reader, datagrams = read_capture(pcap(frames, nanosecond=True), fragment_timeout=30.0)
    assert datagrams == []
    assert [frame for frame, _ in reader.stats.malformed_frames] == [1, 2, 3]
    assert reader.stats.malformed_frames[0][1].endswith("timed out after 30 s)")
    assert reader.stats.malformed_frames[2][1].endswith("capture ended)")


def test_oldest_reassembly_is_dropped_beyond_the_buffer_cap() -> None:
    first = ipv4_fragments(A, B, 17, UDP_IKE, 1480, ident=1)
    second = ipv4_fragments(A, B, 17, UDP_IKE, 1480, ident=2)
    third = ipv4_fragments(A, B, 17, UDP_IKE, 1480, ident=3)
    packets = [first[0], second[0], third[0], *second[1:], *third[1:], *first[1:]]
    reader, datagrams = read_capture(ethernet_pcap(packets), max_fragment_buffers=2)
    assert [d.frames for d in datagrams] == [(2, 4, 5), (3, 6, 7)]
    assert reader.stats.malformed_reasons == {"incomplete IP fragment set": 3}
    assert reader.stats.malformed_frames[0] == (
        1,
        "incomplete IP fragment set (id 0x1, 1 fragments, 1480 of ? bytes, dropped, "
        "more than 2 datagrams under reassembly)",
    )
    assert reader.stats.packets == reader.stats.ike + reader.stats.malformed == 9


def test_fragment_beyond_the_largest_datagram_is_rejected() -> None:
    packet = ipv4(A, B, 17, bytes(200), offset=65528, more=False)
    reader, _ = read_capture(ethernet_pcap([packet]))
    assert reader.stats.malformed_frames == [
        (1, "IP fragment beyond the largest datagram (offset 65528, 200 bytes)")
    ]


def test_fragments_of_other_protocols_are_other_without_buffering() -> None:
    fragments = ipv4_fragments(A, B, 1, bytes(3000), 1480)
    reader, datagrams = read_capture(ethernet_pcap(fragments[:2]))  # even incomplete
    assert datagrams == []
    assert reader.stats.as_dict() == {"packets": 2, "ike": 0, "esp": 0, "ah": 0, "other": 2, "malformed": 0}
    assert reader.stats.ip_fragments == 2


def test_fragmented_udp_of_another_port_is_other_once_reassembled() -> None:
    reader, datagrams = read_capture(ethernet_pcap(ipv4_fragments(A, B, 17, udp(53, 53, bytes(3000)), 1480)))
    assert datagrams == []
    assert reader.stats.other == 3


def test_fragmented_esp() -> None:
    packet = esp(body=bytes(range(256)) * 10)
    reader, datagrams = read_capture(ethernet_pcap(ipv4_fragments(A, B, 50, packet, 1000)))
    assert [(d.kind, d.payload, d.frames) for d in datagrams] == [(Kind.ESP, packet, (1, 2, 3))]


def test_ipv6_fragments_out_of_order() -> None:
    fragments = ipv6_fragments(A6, B6, 17, UDP_IKE, 1232, ident=0xCAFE)
    reader, datagrams = read_capture(ethernet_pcap([fragments[2], fragments[0], fragments[1]]))
    assert [(d.kind, d.frames, d.payload, d.ip_version) for d in datagrams] == [
        (Kind.IKE, (1, 2, 3), MESSAGE, 6)
    ]
    header = datagrams[0].ip_header
    # fragment header removed: fixed header only, next header UDP, payload length of the whole datagram
    assert len(header) == 40
    assert (header[6], struct.unpack_from("!H", header, 4)[0]) == (17, len(UDP_IKE))
    assert reader.stats.ike == 3


def test_ipv6_fragments_behind_unfragmentable_extension_headers() -> None:
    hop_by_hop = extension_header(44, bytes([5, 2, 0, 0, 0, 0]))
    packet = esp(body=bytes(range(200)) * 10)
    fragments = ipv6_fragments(A6, B6, 50, packet, 1000, unfragmentable=hop_by_hop, first_header=0)
    _, datagrams = read_capture(ethernet_pcap(fragments))
    assert [(d.kind, d.payload) for d in datagrams] == [(Kind.ESP, packet)]
    header = datagrams[0].ip_header
    assert header[40:] == bytes([50]) + hop_by_hop[1:]  # hop-by-hop now points at ESP
    assert struct.unpack_from("!H", header, 4)[0] == 8 + len(packet)


def test_ipv6_missing_fragment_is_malformed() -> None:
    fragments = ipv6_fragments(A6, B6, 17, UDP_IKE, 1232, ident=0xCAFE)
    reader, datagrams = read_capture(ethernet_pcap(fragments[:2]))
    assert datagrams == []
    assert reader.stats.malformed_reasons == {"incomplete IP fragment set": 2}
    assert "id 0xcafe" in reader.stats.malformed_frames[0][1]


def test_ipv6_atomic_fragment_is_processed_alone() -> None:
    # RFC 6946: a fragment header with offset 0 and M=0
    reader, datagrams = read_capture(ethernet_pcap(ipv6_fragments(A6, B6, 17, UDP_IKE, 4000)))
    assert [(d.frames, d.payload) for d in datagrams] == [((1,), MESSAGE)]
    assert reader.stats.ip_fragments == 1


def test_fragment_cut_by_the_snapshot_length_is_malformed() -> None:
    fragments = [ethernet(f) for f in ipv4_fragments(A, B, 17, UDP_IKE, 1480)]
    frames = [(1, fragments[0][:200], len(fragments[0])), (2, fragments[1]), (3, fragments[2])]
    reader, _ = read_capture(pcap(frames, snaplen=200))
    assert reader.stats.malformed_frames[0] == (
        1,
        "truncated by snaplen (IP fragment, 166 of 1480 bytes captured)",
    )
    assert reader.stats.malformed == 3


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=600),
    cuts=st.lists(st.tuples(st.integers(0, 75), st.integers(1, 20)), min_size=1, max_size=12),
    seed=st.randoms(use_true_random=False),
)
def test_any_covering_set_of_consistent_fragments_reassembles_the_original(data, cuts, seed) -> None:
    # fragments in 8-byte units at arbitrary places, overlapping at will, plus a set covering everything
    size = len(data)
    pieces = [(start * 8, min(start * 8 + units * 8, size)) for start, units in cuts if start * 8 < size]
    pieces += [(offset, min(offset + 64, size)) for offset in range(0, size, 64)]
    seed.shuffle(pieces)
    reassembler = Reassembler()
    results = []
    for frame, (start, end) in enumerate(pieces, 1):
        results.append(reassembler.add("key", 7, frame, 0, start, end < size, data[start:end], "header"))
        if results[-1] is not None:
            break
    done = results[-1]
    assert done is not None and done.payload == data and done.first == "header"
    assert not done.overlapping  # consistent data never counts as a conflicting overlap
    assert reassembler.dropped == []
