"""Every frame lands in exactly one bucket: packets == ike + esp + ah + other + malformed, always."""

from __future__ import annotations

import gzip
import io
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikedecode.capture import CaptureError, CaptureReader, Kind, open_capture

from .builders import (
    ah,
    epb,
    esp,
    ethernet,
    ethernet_pcap,
    idb,
    ipv4,
    ipv4_fragments,
    ipv6,
    ipv6_fragments,
    isakmp,
    pcap,
    shb,
    spb,
    udp,
)

A, B = "192.0.2.1", "192.0.2.2"


def _balanced(stats) -> bool:
    return stats.packets == stats.ike + stats.esp + stats.ah + stats.other + stats.malformed


def _mixed_packets() -> list[bytes]:
    return [
        ipv4(A, B, 17, udp(500, 500, isakmp())),  # ike
        ipv4(A, B, 17, udp(4500, 4500, b"\xff")),  # ike (keepalive)
        ipv4(A, B, 17, udp(4500, 4500, esp())),  # esp
        ipv4(A, B, 50, esp()),  # esp
        ipv4(A, B, 51, ah() + bytes(20)),  # ah
        ipv4(A, B, 6, bytes(20)),  # other
        ipv4(A, B, 50, bytes(3)),  # malformed
        *ipv4_fragments(A, B, 17, udp(500, 500, isakmp(body=bytes(2000))), 1000),  # 3 x ike
        *ipv6_fragments("2001:db8::1", "2001:db8::2", 50, esp(body=bytes(2000)), 1000)[:2],  # 2 x malformed
        ipv6("2001:db8::1", "2001:db8::2", 58, bytes(8)),  # other (ICMPv6)
    ]


def test_mixed_capture_buckets() -> None:
    reader = CaptureReader(io.BytesIO(ethernet_pcap(_mixed_packets())))
    datagrams = list(reader)
    stats = reader.stats
    assert stats.as_dict() == {"packets": 13, "ike": 5, "esp": 2, "ah": 1, "other": 2, "malformed": 3}
    assert _balanced(stats)
    assert stats.nat_keepalives == 1
    assert stats.ip_fragments == 5
    assert [d.kind for d in datagrams] == [Kind.IKE, Kind.IKE, Kind.ESP, Kind.ESP, Kind.AH, Kind.IKE]
    assert reader.frames_read() == 13


def test_accounting_balances_after_a_truncated_file() -> None:
    data = ethernet_pcap(_mixed_packets())
    for cut in range(24, len(data), 37):
        reader = CaptureReader(io.BytesIO(data[:cut]))
        list(reader)
        assert _balanced(reader.stats), cut
        assert reader.stats.packets == reader.frames_read()
        assert (reader.stats.truncated is None) == (cut in _record_boundaries(data))


def _record_boundaries(data: bytes) -> set[int]:
    boundaries, position = {24}, 24
    while position + 16 <= len(data):
        position += 16 + int.from_bytes(data[position + 8 : position + 12], "little")
        boundaries.add(position)
    return boundaries


def test_accounting_balances_when_iteration_stops_early(tmp_path) -> None:
    fragments = ipv4_fragments(A, B, 17, udp(500, 500, isakmp(body=bytes(2000))), 1000)
    path = tmp_path / "early.pcap"
    path.write_bytes(ethernet_pcap([fragments[0], fragments[1], ipv4(A, B, 50, esp()), fragments[2]]))
    reader = open_capture(path)
    for datagram in reader:
        assert datagram.frame == 3  # the ESP packet; two fragments are held
        break
    reader.close()
    assert reader.stats.as_dict() == {"packets": 3, "ike": 0, "esp": 1, "ah": 0, "other": 0, "malformed": 2}
    assert reader.stats.malformed_reasons == {"incomplete IP fragment set": 2}
    assert list(reader) == []


def test_frames_read_counts_during_iteration() -> None:
    reader = CaptureReader(io.BytesIO(ethernet_pcap(_mixed_packets())))
    seen = [(d.frame, reader.frames_read()) for d in reader]
    assert all(frame == read for frame, read in seen)


def _sample_captures() -> list[bytes]:
    frames = [ethernet(p) for p in _mixed_packets()]
    classic = ethernet_pcap(_mixed_packets())
    nextgen = shb() + idb(1, tsresol=9) + idb(101) + b"".join(epb(i % 2, i, f) for i, f in enumerate(frames))
    return [classic, nextgen + spb(frames[0]), gzip.compress(classic)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.integers(0, 2), seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40))
def test_corrupted_captures_never_raise_and_always_balance(sample: int, seed: int, flips: int) -> None:
    data = bytearray(_sample_captures()[sample])
    rng = random.Random(seed)
    for _ in range(flips):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.3:
        del data[rng.randrange(len(data)) :]
    try:
        reader = CaptureReader(io.BytesIO(bytes(data)), "fuzz", max_fragment_buffers=2)
    except CaptureError:
        return
    for datagram in reader:
        assert datagram.kind in (Kind.IKE, Kind.ESP, Kind.AH)
        assert isinstance(datagram.payload, bytes)
    assert _balanced(reader.stats)
    assert len(reader.stats.malformed_frames) <= 100


@settings(max_examples=300, deadline=None)
@given(
    linktype=st.sampled_from([0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9999]),
    frame=st.binary(max_size=200),
)
def test_arbitrary_frame_bytes_on_every_link_type(linktype: int, frame: bytes) -> None:
    reader = CaptureReader(io.BytesIO(pcap([(1, frame), (2, frame[:10], 300)], linktype=linktype)))
    list(reader)
    assert reader.stats.packets == 2
    assert _balanced(reader.stats)
