"""The fast scans' IKE path (``fastpath.udp_fast`` + ``CaptureReader.ike_frame``) against the
general path.

The pcap and pcapng scans make the ``Datagram`` of the commonest IKE frame (IPv4 without options,
not a fragment, UDP 500, or 4500 behind the non-ESP marker) straight from the file buffer. Every
UDP frame the general path would classify otherwise (a NAT-T keepalive, a bad or short UDP
length, the user's extra ports, a port set without 500 or 4500, IP options, a fragment, a frame
cut by the snapshot length, ...) must come out exactly as the general path gives it: the same
datagrams, in the same batches and order, with the same accounting, over every link type the
fast scans read in place, for any ``--ike-port`` set.
"""

from __future__ import annotations

import io
import itertools

import pytest

from ikedecode.capture import CaptureReader
from ikedecode.capture.linklayer import FAST_LINKS
from ikedecode.capture.reader import DEFAULT_BATCH_PACKETS
from tests.capture.builders import epb, esp, idb, ipv4, isakmp, pcap, shb, udp
from tests.capture.test_batched_reading import LINK_HEADERS, _flatten
from tests.capture.test_pcapng_fast_scan import _fast_and_general

A, B = "192.0.2.1", "198.51.100.2"
IKE = isakmp(body=bytes(60))
MARKER = b"\x00\x00\x00\x00"
START_NS = 1_700_000_000_123_456_789


def _udp_packets() -> list[bytes]:
    """IKE and what only looks like it, between ESP (batched) packets."""
    return [
        ipv4(A, B, 50, esp(seq=1)),
        ipv4(A, B, 17, udp(500, 500, IKE)),  # the commonest IKE frame
        ipv4(B, A, 17, udp(500, 500, IKE)),  # the other direction: another flow
        ipv4(A, B, 17, udp(500, 500, IKE)),  # the first flow again
        ipv4(A, B, 50, esp(seq=2)),
        ipv4(A, B, 50, esp(seq=3)),
        ipv4(A, B, 17, udp(4500, 4500, MARKER + IKE)),  # IKE behind the non-ESP marker
        ipv4(A, B, 17, udp(4500, 4500, esp(seq=4))),  # ESP in UDP
        ipv4(A, B, 17, udp(500, 4500, esp(seq=5))),  # port 500 wins: IKE
        ipv4(A, B, 17, udp(4500, 500, MARKER + IKE)),  # port 500 wins: IKE, the marker kept
        ipv4(A, B, 17, udp(4500, 7000, MARKER + IKE)),  # 4500 wins over an extra port
        ipv4(A, B, 17, udp(7000, 7000, IKE)),  # an extra port: IKE only when configured
        ipv4(A, B, 17, udp(7000, 7000, MARKER + IKE)),
        ipv4(A, B, 17, udp(4500, 4500, b"\xff")),  # NAT-T keepalive
        ipv4(A, B, 17, udp(4500, 4500, b"\x00\x00")),  # neither ESP nor IKE: malformed
        ipv4(A, B, 17, udp(4500, 4500, MARKER)),  # an empty IKE message behind the marker
        ipv4(A, B, 17, udp(4500, 4500, MARKER[:3] + b"\x01" + bytes(4))),  # 8 bytes of "ESP"
        ipv4(A, B, 17, udp(500, 500, b"")),  # empty UDP payload on 500: IKE, empty
        ipv4(A, B, 17, udp(500, 500, IKE, length=7)),  # bad UDP length
        ipv4(A, B, 17, udp(500, 500, IKE, length=8 + len(IKE) + 1)),  # UDP length beyond the IP payload
        ipv4(A, B, 17, udp(500, 500, IKE, length=8 + len(IKE) - 10)),  # trailing bytes after UDP
        ipv4(A, B, 17, udp(4500, 4500, MARKER + IKE, length=8 + 2)),  # UDP length cuts the marker
        ipv4(A, B, 17, udp(4500, 4500, esp(seq=6), length=8 + 20)),  # ESP in UDP, shorter UDP length
        ipv4(A, B, 17, udp(500, 500, IKE), options=b"\x01\x01\x01\x01"),  # IP options
        ipv4(A, B, 17, udp(500, 500, IKE), total_length=0),  # segmentation offload
        ipv4(A, B, 17, udp(500, 500, IKE), more=True),  # a first fragment, never completed
        ipv4(A, B, 17, udp(500, 500, IKE), dont_fragment=True),  # DF: not a fragment
        ipv4(A, B, 17, udp(53, 53, bytes(30))),  # DNS: other
        ipv4(A, B, 17, udp(500, 500, IKE))[:27],  # not even the UDP header
        ipv4(A, B, 50, esp(seq=7)),
    ]


def _frames(linktype: int) -> list[tuple[int, bytes, int]]:
    head = LINK_HEADERS[linktype]
    frames = [
        (START_NS + n * 1_000_003, head + packet, len(head) + len(packet))
        for n, packet in enumerate(_udp_packets())
    ]
    ike = head + ipv4(A, B, 17, udp(500, 500, IKE))
    frames.append((START_NS + 10**9, ike + bytes(6), len(ike) + 6))  # Ethernet-style trailing padding
    frames.append((START_NS + 2 * 10**9, ike[:-9], len(ike)))  # cut by the snapshot length
    frames.append((START_NS + 3 * 10**9, ike[:-9], len(ike[:-9])))  # cut, the frame says it is whole
    return frames


def _pcapng(linktype: int, frames: list[tuple[int, bytes, int]]) -> bytes:
    return (
        shb()
        + idb(linktype, tsresol=9)
        + b"".join(epb(0, t, data, orig_len=orig) for t, data, orig in frames)
    )


PORT_SETS = [(500, 4500), (500,), (4500,), (500, 4500, 7000), (7000,)]


@pytest.mark.parametrize("ike_ports", PORT_SETS, ids=str)
@pytest.mark.parametrize("file_format", ["pcap", "pcapng"])
@pytest.mark.parametrize("linktype", sorted(FAST_LINKS))
def test_ike_frames_read_alike_on_the_fast_and_the_general_path(linktype, file_format, ike_ports):
    frames = _frames(linktype)
    data = pcap(frames, linktype, nanosecond=True) if file_format == "pcap" else _pcapng(linktype, frames)
    for batch_packets in (1, 3, DEFAULT_BATCH_PACKETS):
        plain = CaptureReader(io.BytesIO(data), ike_ports=ike_ports)
        batched = CaptureReader(io.BytesIO(data), ike_ports=ike_ports)
        assert _flatten(batched.items(batch_packets)) == _flatten(plain)
        assert batched.stats == plain.stats
        assert batched.frames_read() == plain.frames_read() == len(frames)
        assert plain.stats.ike >= (2 if ike_ports == (7000,) else 5)  # there was IKE to read
    if ike_ports == (500, 4500):  # the items themselves (batches included) against the general loop
        fast, general = _fast_and_general(data, 3)
        assert fast == general


def test_the_commonest_ike_frames_skip_the_general_path(monkeypatch):
    frames = _frames(1)
    general: list[int] = []
    original = CaptureReader._general_frame

    def counted(self, frame, *args):  # noqa: ANN001, ANN202
        general.append(frame)
        return original(self, frame, *args)

    monkeypatch.setattr(CaptureReader, "_general_frame", counted)
    for data in (pcap(frames, 1, nanosecond=True), _pcapng(1, frames)):
        general.clear()
        reader = CaptureReader(io.BytesIO(data))
        ike = [item.frame for item in reader.items() if getattr(item, "kind", None) == "ike"]
        fast = sorted(set(ike) - set(general))
        # UDP 500 (three flows), 4500 behind the marker, 500 against 4500 twice, 4500 against an
        # extra port, the empty message behind the marker, empty UDP 500, trailing UDP bytes, DF,
        # Ethernet padding
        assert fast == [2, 3, 4, 7, 9, 10, 11, 16, 18, 21, 27, 31]


def test_the_fast_path_names_each_flow_like_the_general_path():
    packets = [
        ipv4(src, dst, 17, udp(sport, dport, IKE))
        for (src, dst), (sport, dport) in itertools.product(
            [(A, B), (B, A), ("203.0.113.9", A)], [(500, 500), (500, 40000), (40000, 500)]
        )
    ]
    head = LINK_HEADERS[1]
    data = pcap([(START_NS + n, head + p) for n, p in enumerate(packets * 2)], 1)
    batched = [(d[3], d[4], d[5], d[6]) for d in _flatten(CaptureReader(io.BytesIO(data)).items())]
    plain = [(d.src, d.dst, d.sport, d.dport) for d in CaptureReader(io.BytesIO(data))]
    assert batched == plain and len(set(plain)) == 9
