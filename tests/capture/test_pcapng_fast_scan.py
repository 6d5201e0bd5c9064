"""``PcapngReader.esp_batches`` (plain ESP batched right in the file buffer) against the general
path (the same records through ``CaptureReader``'s per-frame loop, and plain iteration).

The fast scan must give exactly what the general path gives: the same datagrams in the same
batches, the same frame numbers and capture times, the same accounting, whatever the blocks
around the Enhanced Packet Blocks are: several interfaces of different link types and timestamp
resolutions, a second section, other blocks between packets, a block cut by the buffer's end,
a file that ends inside a block.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ikedecode.capture import CaptureReader, source
from ikedecode.capture.batch import FRAME, META_FIELDS, TIME_NS, EspBatch
from ikedecode.capture.pcapng import PcapngReader
from ikedecode.capture.records import RecordIterator, RecordSource
from tests.capture.builders import (
    epb,
    esp,
    ethernet,
    idb,
    ipv4,
    ipv4_fragments,
    isakmp,
    linux_sll,
    linux_sll2,
    loopback,
    obsolete_pb,
    pcapng_block,
    shb,
    spb,
    udp,
)
from tests.capture.test_batched_reading import _flatten
from tests.conftest import CAPTURES_DIR

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
A, B = "192.0.2.1", "198.51.100.2"
SECOND = 1_700_000_000


class _Watched:
    """The reader's records behind another object: ``CaptureReader`` then takes its general loop."""

    def __init__(self, records: RecordSource) -> None:
        self._records = records
        self.format_name = records.format_name

    @property
    def truncated(self) -> str | None:
        return self._records.truncated

    def __iter__(self) -> RecordIterator:
        return iter(self._records)


def _items(items: Iterator) -> list[tuple]:  # noqa: ANN001
    """Each item as what it holds: a batch as its packets' frames, times and datagrams."""
    out: list[tuple] = []
    for item in items:
        if isinstance(item, EspBatch):
            meta = item.meta
            packets = tuple(
                (meta[at + FRAME], meta[at + TIME_NS], item.datagram(at // META_FIELDS))
                for at in range(0, len(meta), META_FIELDS)
            )
            out.append(("batch", packets))
        else:
            out.append(("datagram", item))
    return out


def _fast_and_general(data: bytes, batch_packets: int) -> tuple[tuple, tuple]:
    fast = CaptureReader(io.BytesIO(data))
    general = CaptureReader(io.BytesIO(data))
    general.records = _Watched(general.records)
    results = []
    for reader in (fast, general):
        items = _items(reader.items(batch_packets))
        results.append((items, reader.stats, reader.frames_read(), reader.records.truncated))
    return results[0], results[1]


def _assert_fast_scan_reads_like_the_general_path(data: bytes, batch_packets: int = 4) -> tuple:
    fast, general = _fast_and_general(data, batch_packets)
    assert fast == general
    plain = CaptureReader(io.BytesIO(data))  # a batch keeps a reassembled datagram's last frame only
    assert _flatten(CaptureReader(io.BytesIO(data)).items(batch_packets)) == _flatten(plain)
    assert fast[1] == plain.stats
    return fast


def _esp_ipv4(n: int, sport: int = 0) -> bytes:
    if sport:
        return ipv4(A, B, 17, udp(sport, 4500, esp(seq=n)))
    return ipv4(A, B, 50, esp(seq=n))


# interface -> (link type, frame builder); the timestamp resolutions vary separately
LINKS = [
    (1, lambda packet: ethernet(packet, ETHERTYPE_IPV4)),
    (101, lambda packet: packet),
    (113, lambda packet: linux_sll(packet, ETHERTYPE_IPV4)),
    (276, lambda packet: linux_sll2(packet, ETHERTYPE_IPV4)),
    (0, lambda packet: loopback(packet, 2, "little")),  # BSD loopback: no fast path
]
# if_tsresol per interface: microseconds (the default), nanoseconds, 2^-20 s, 10^-3 s with an offset
RESOLUTIONS = [None, 9, 0x80 | 20, 3, 6]
UNITS_PER_SECOND = [10**6, 10**9, 2**20, 10**3, 10**6]


def _interfaces(order: str = "<") -> bytes:
    blocks = []
    for index, ((linktype, _frame), tsresol) in enumerate(zip(LINKS, RESOLUTIONS, strict=True)):
        blocks.append(idb(linktype, order, tsresol=tsresol, tsoffset=7 if index == 3 else None))
    return b"".join(blocks)


def _packets(first: int, count: int, order: str = "<", interfaces: int = len(LINKS)) -> bytes:
    """ESP (and some IKE, ESP in UDP, IPv6 ESP) on the interfaces in turn, runs of three per interface."""
    blocks = []
    for n in range(first, first + count):
        interface = (n // 3) % interfaces
        linktype, frame = LINKS[interface]
        if n % 11 == 5:
            packet = ipv4(A, B, 17, udp(500, 500, isakmp()))
        elif n % 7 == 3:
            packet = _esp_ipv4(n, sport=4500)
        else:
            packet = _esp_ipv4(n)
        units = UNITS_PER_SECOND[interface]
        timestamp = (SECOND + n) * units + n * 37 % units
        blocks.append(epb(interface, timestamp, frame(packet), order))
    return b"".join(blocks)


def _capture(*parts: bytes) -> bytes:
    return shb() + _interfaces() + b"".join(parts)


@pytest.mark.parametrize("batch_packets", [1, 4, 512])
def test_interfaces_of_different_link_types_and_resolutions_read_alike(batch_packets: int):
    fast = _assert_fast_scan_reads_like_the_general_path(_capture(_packets(0, 60)), batch_packets)
    stats = fast[1]
    assert stats.esp >= 40 and stats.ike >= 5  # the fast scan had ESP to batch, and IKE ended batches
    assert {"ethernet", "raw-ip", "linux-sll", "linux-sll2", "null"} <= set(stats.link_types)


def test_a_second_section_with_the_other_byte_order_reads_alike():
    second = shb(">") + _interfaces(">") + _packets(30, 30, ">")
    fast = _assert_fast_scan_reads_like_the_general_path(_capture(_packets(0, 30), second))
    assert fast[2] == 60


def test_other_blocks_between_packets_read_alike():
    unknown = pcapng_block(0x00000BAD, b"\x01\x02\x03")
    statistics = pcapng_block(0x00000005, struct.pack("<III", 0, 0, 0))
    data = _capture(
        _packets(0, 10),
        unknown,
        _packets(10, 10),
        spb(ethernet(_esp_ipv4(99), ETHERTYPE_IPV4)),  # a simple packet: interface 0, the previous time
        obsolete_pb(1, 5 * 10**15, _esp_ipv4(98)),
        statistics,
        idb(228),  # an interface defined between packets: number 5, raw IPv4
        epb(5, SECOND * 10**6, _esp_ipv4(97)),
        _packets(20, 10),
    )
    fast = _assert_fast_scan_reads_like_the_general_path(data)
    assert fast[2] == 33
    assert fast[1].link_types["ipv4"] == 1


def test_odd_blocks_take_the_general_path_and_read_alike():
    good = _packets(0, 6)
    bad_trailer = bytearray(epb(0, SECOND * 10**6, ethernet(_esp_ipv4(50), ETHERTYPE_IPV4)))
    bad_trailer[-4:] = struct.pack("<I", len(bad_trailer) + 4)
    cases = [
        epb(9, SECOND * 10**6, _esp_ipv4(51)),  # an undefined interface: malformed
        epb(0, SECOND * 10**6, ethernet(_esp_ipv4(52), ETHERTYPE_IPV6)),  # IPv4 behind the IPv6 EtherType
        epb(0, SECOND * 10**6, ethernet(_esp_ipv4(53), ETHERTYPE_IPV4)[:40]),  # cut short: malformed
        epb(0, SECOND * 10**6, ethernet(_esp_ipv4(54), ETHERTYPE_IPV4), orig_len=9000),
        bytes(bad_trailer),  # corrupt: the file stops here
    ]
    for case in cases:
        _assert_fast_scan_reads_like_the_general_path(_capture(good, case, good))


def test_fragments_waiting_for_reassembly_read_alike():
    pieces = ipv4_fragments(A, B, 50, esp(body=bytes(400)), 128, ident=7)
    data = _capture(
        epb(0, SECOND * 10**6, ethernet(pieces[0], ETHERTYPE_IPV4)),
        _packets(0, 12, interfaces=2),
        *(epb(0, (SECOND + 1) * 10**6, ethernet(piece, ETHERTYPE_IPV4)) for piece in pieces[1:]),
        _packets(12, 6, interfaces=2),
        epb(0, (SECOND + 2) * 10**6, ethernet(pieces[0], ETHERTYPE_IPV4)),  # never completed
        _packets(40, 6, interfaces=2),
    )
    fast = _assert_fast_scan_reads_like_the_general_path(data)
    assert fast[1].ip_fragments == len(pieces) + 1


@pytest.mark.parametrize("chunk", [7, 100, 1000])
def test_blocks_crossing_the_buffers_end_read_alike(chunk: int, monkeypatch):
    monkeypatch.setattr(source, "CHUNK_SIZE", chunk)
    data = _capture(_packets(0, 40), pcapng_block(0x00000BAD, bytes(300)), _packets(40, 20))
    fast = _assert_fast_scan_reads_like_the_general_path(data)
    assert fast[2] == 60


@pytest.mark.parametrize("cut", [1, 4, 30, 60])
def test_a_truncated_last_block_reads_alike(cut: int):
    data = _capture(_packets(0, 20))[:-cut]
    fast = _assert_fast_scan_reads_like_the_general_path(data)
    assert fast[3] and "file ends inside record 20" in fast[3]


def _converted_captures() -> list[Path]:
    return sorted(CAPTURES_DIR.glob("*.pcap"))


@pytest.mark.skipif(
    shutil.which("editcap") is None, reason="editcap (Wireshark) not installed: no pcapng conversion"
)
@pytest.mark.parametrize("path", _converted_captures(), ids=lambda p: p.name)
def test_captures_converted_to_pcapng_read_alike_and_like_the_pcap(path: Path, tmp_path: Path):
    converted = tmp_path / (path.stem + ".pcapng")
    subprocess.run(["editcap", "-F", "pcapng", str(path), str(converted)], check=True, capture_output=True)
    data = converted.read_bytes()
    assert data[:4] == b"\x0a\x0d\x0d\x0a"
    fast = _assert_fast_scan_reads_like_the_general_path(data, batch_packets=3)
    from_pcap = CaptureReader(io.BytesIO(path.read_bytes()))
    assert _items(from_pcap.items(3)) == fast[0]
    assert from_pcap.stats == fast[1]


def test_batched_reading_of_pcapng_takes_the_fast_scan(monkeypatch):
    booked: list[tuple] = []
    book = CaptureReader.fast_frames

    def spy(self: CaptureReader, *run: object) -> None:
        booked.append(run)
        book(self, *run)  # type: ignore[arg-type]

    monkeypatch.setattr(CaptureReader, "fast_frames", spy)
    reader = CaptureReader(io.BytesIO(_capture(_packets(0, 24, interfaces=4))))  # all with a fast path
    assert isinstance(reader.records, PcapngReader)
    batched = sum(item.count for item in reader.items(512) if isinstance(item, EspBatch))
    assert sum(run[1] for run in booked) == batched == reader.stats.esp > 0
    assert {run[4] for run in booked} == {"ethernet", "raw-ip", "linux-sll", "linux-sll2"}
