"""A capture read in chunks (plan_chunks -> scan_chunk -> ChunkJoiner) gives what one sequential
read gives: the same IKE/AH datagrams, every ESP packet in order with the same frame, time and
bytes however batched, and the same statistics field by field (Counter key order included)."""

from __future__ import annotations

import gzip
import io
import mmap
import pickle
import random
from pathlib import Path

import pytest

from ikedecode.capture import CaptureError, CaptureReader
from ikedecode.capture.accounting import DeferredFragment
from ikedecode.capture.chunk_join import ChunkJoiner
from ikedecode.capture.chunk_scan import EspRun, scan_chunk
from ikedecode.capture.chunks import ChunkFeeder, plan_chunks
from tests.conftest import CAPTURES_DIR, PROJECT_ROOT

from .builders import (
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
    obsolete_pb,
    pcap,
    pcapng_block,
    shb,
    spb,
    udp,
)
from .chunked import feed_in_chunks, join_scans, read_in_chunks, read_sequentially, scanned

CORPUS_DIR = PROJECT_ROOT / "tests" / "corpus"
BUNDLED = sorted(CAPTURES_DIR.glob("*.pcap*")) + sorted(CORPUS_DIR.rglob("*.pcap*"))
# (chunk_bytes, chunk_records): one record per chunk, seven records, 64 KiB
CHUNKINGS = [(1, None), (1 << 40, 7), (65536, None)]
CHUNKING_IDS = ["1-record", "7-records", "64KiB"]

A, B = "192.0.2.1", "192.0.2.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
START_NS = 1_700_000_000_000_000_000


def _bytes_of(path: Path) -> tuple[bytes, bytes | None]:
    """The file's bytes, and the capture decompressed (None when the gzip stream is cut)."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw, raw
    try:
        return raw, gzip.decompress(raw)
    except (EOFError, OSError):
        return raw, None


def _assert_chunked_reads_equal(raw: bytes, view: bytes | None, batch_packets: int = 512, **options) -> None:
    expected = read_sequentially(raw, batch_packets, **options)
    for (chunk_bytes, chunk_records), label in zip(CHUNKINGS, CHUNKING_IDS, strict=True):
        if view is not None:
            got = read_in_chunks(view, chunk_bytes, chunk_records, batch_packets, **options)
            assert got == expected, f"plan_chunks, {label}"
        got = feed_in_chunks(raw, chunk_bytes, chunk_records, batch_packets, **options)
        assert got == expected, f"ChunkFeeder, {label}"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_every_bundled_capture_reads_the_same_in_chunks(path: Path) -> None:
    raw, view = _bytes_of(path)
    try:
        CaptureReader(io.BytesIO(raw), "x.pcap")
    except CaptureError as refused:  # no capture: both ways refuse it with the reader's one line
        with pytest.raises(CaptureError) as planned:
            next(plan_chunks(view or b"", 1, name="x.pcap"))
        with pytest.raises(CaptureError) as fed:
            ChunkFeeder(io.BytesIO(raw), 1, name="x.pcap")
        assert str(planned.value) == str(fed.value) == str(refused)
        return
    _assert_chunked_reads_equal(raw, view)


def test_every_reference_capture_reads_the_same_in_chunks(reference_dir: Path) -> None:
    paths = sorted(reference_dir.rglob("*.pcap*"))
    assert paths, f"no capture under {reference_dir}"
    for path in paths:
        _assert_chunked_reads_equal(*_bytes_of(path))


# --- the walk ----------------------------------------------------------------------------------


def _mixed_pcap(count: int = 40) -> bytes:
    packets = []
    for i in range(count):
        if i % 5 == 0:
            packets.append(ipv4(A, B, 17, udp(500, 500, isakmp(body=bytes(8 * i)))))
        else:
            packets.append(ipv4(A, B, 50, esp(seq=i, body=bytes(16 + i))))
    return ethernet_pcap(packets)


def test_chunks_cover_the_capture_record_by_record() -> None:
    capture = _mixed_pcap()
    chunks = list(plan_chunks(capture, 1))
    assert len(chunks) == 40
    assert [c.records_before for c in chunks] == list(range(40))
    assert [c.index for c in chunks] == list(range(40))
    assert chunks[0].start == 24 and chunks[-1].end == len(capture)
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    assert [c.last for c in chunks] == [False] * 39 + [True]
    assert {c.prefix for c in chunks} == {capture[:24]}


def test_chunks_end_at_the_first_record_boundary_past_a_multiple_of_the_size() -> None:
    capture = _mixed_pcap()
    chunks = list(plan_chunks(capture, 300))
    assert len(chunks) > 3
    boundaries = [c.start for c in list(plan_chunks(capture, 1))[1:]]
    grid = range(24 + 300, len(capture), 300)
    # every chunk start after the first is the first record at or past some multiple of 300
    expected = sorted({min((b for b in boundaries if b >= g), default=None) for g in grid} - {None})
    assert [c.start for c in chunks[1:]] == expected
    seven = list(plan_chunks(capture, 1 << 40, chunk_records=7))
    assert [c.records_before for c in seven] == [0, 7, 14, 21, 28, 35]


def test_the_feeder_cuts_a_gzip_stream_where_the_walk_cuts_the_file() -> None:
    capture = _mixed_pcap(400)
    planned = list(plan_chunks(capture, 1000))
    fed = list(ChunkFeeder(io.BytesIO(gzip.compress(capture)), 1000))
    assert [chunk for chunk, _data in fed] == planned
    assert all(data == capture[chunk.start : chunk.end] for chunk, data in fed)


def test_a_corrupt_record_length_ends_the_walk_in_the_last_chunk() -> None:
    capture = bytearray(_mixed_pcap(10))
    records = list(plan_chunks(bytes(capture), 1))
    corrupt_at = records[6].start
    capture[corrupt_at + 8 : corrupt_at + 12] = (1 << 30).to_bytes(4, "little")
    chunks = list(plan_chunks(bytes(capture), 1))
    assert len(chunks) == 6  # records 1-5 alone; 6 and the rest from the corrupt one on together
    assert (chunks[-1].start, chunks[-1].end, chunks[-1].last) == (records[5].start, len(capture), True)
    raw = bytes(capture)
    _assert_chunked_reads_equal(raw, raw)
    assert read_sequentially(raw)[1]["truncated"] == (
        f"corrupt record 7 at byte offset {corrupt_at}: captured length 1073741824 exceeds 16777216"
    )


@pytest.mark.parametrize("cut", [3, 16, 40])
def test_a_capture_cut_mid_record_reports_it_from_the_last_chunk(cut: int) -> None:
    capture = _mixed_pcap(12)
    raw = capture[: list(plan_chunks(capture, 1))[9].start + cut]
    _assert_chunked_reads_equal(raw, raw)
    assert "file ends inside record 10 at byte offset" in read_sequentially(raw)[1]["truncated"]


def test_a_cut_gzip_stream_reports_it_from_the_last_chunk() -> None:
    compressed = gzip.compress(_mixed_pcap(300))
    raw = compressed[: len(compressed) * 2 // 3]
    _assert_chunked_reads_equal(raw, None)
    assert "gzip decompression failed" in read_sequentially(raw)[1]["truncated"]


def test_a_header_only_capture_is_one_empty_chunk() -> None:
    capture = pcap([])
    assert [(c.start, c.end, c.records_before, c.last) for c in plan_chunks(capture, 1)] == [
        (24, 24, 0, True)
    ]
    _assert_chunked_reads_equal(capture, capture)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nanosecond", [False, True])
def test_pcap_byte_orders_and_resolutions(order: str, nanosecond: bool) -> None:
    frames = [(START_NS + i * 1_234_567, ethernet(ipv4(A, B, 50, esp(seq=i)))) for i in range(20)]
    capture = pcap(frames, order=order, nanosecond=nanosecond)
    assert len(list(plan_chunks(capture, 1))) == 20
    _assert_chunked_reads_equal(capture, capture)


# --- scans -------------------------------------------------------------------------------------


def test_a_scan_knows_every_records_time_and_its_summary_keeps_no_batch() -> None:
    capture = _mixed_pcap(30)
    reader = CaptureReader(io.BytesIO(capture), "x")
    expected = [record[1] for record in reader.records]
    times = []
    for scan, summary in scanned(capture, plan_chunks(capture, 500), batch_packets=3):
        times.extend(scan.times)
        assert scan.first_ns == scan.times[0] and scan.last_ns == scan.times[-1]
        assert scan.batches and not summary.batches
        runs = [item for item in summary.items if isinstance(item, EspRun)]
        assert [run.batch for run in runs] == list(range(len(scan.batches)))
    assert times == expected


def test_a_chunk_read_from_an_mmap_at_a_page_boundary(tmp_path: Path) -> None:
    capture = _mixed_pcap(3000)
    path = tmp_path / "big.pcap"
    path.write_bytes(capture)
    chunks = list(plan_chunks(capture, 50_000))
    assert len(chunks) > 3
    with open(path, "rb") as file:
        scans = []
        for chunk in chunks:
            page = chunk.start - chunk.start % mmap.ALLOCATIONGRANULARITY
            view = mmap.mmap(file.fileno(), chunk.end - page, offset=page, access=mmap.ACCESS_READ)
            scan = scan_chunk(view, chunk, at=chunk.start - page)
            scans.append((scan, scan.summary()))
            view.close()
    assert join_scans(scans) == read_sequentially(capture)


def test_chunks_joined_out_of_order_are_refused() -> None:
    capture = _mixed_pcap(10)
    scans = [summary for _scan, summary in scanned(capture, plan_chunks(capture, 1))]
    joiner = ChunkJoiner()
    list(joiner.join(scans[0]))
    with pytest.raises(ValueError, match="out of order"):
        list(joiner.join(scans[2]))


# --- IP fragments: reassembled once, in the main process ---------------------------------------

MESSAGE = isakmp(exchange=2, body=bytes(i % 251 for i in range(3000)))


def _esp_frame(seq: int) -> bytes:
    return ipv4(A, B, 50, esp(seq=seq))


def _fragment_capture(rounds: int = 1, burst: int = 0) -> bytes:
    """IKE, ESP and AH fragmented and interleaved with ESP, a set that times out, one that never
    completes, overlaps, malformed frames, and times that go backwards; ``rounds`` times, each
    followed by ``burst`` 1,000-byte ESP packets."""
    frames: list[tuple[int, bytes]] = []
    now = START_NS

    def add(packet: bytes, step_ns: int = 1_000_000) -> None:
        nonlocal now
        now += step_ns
        frames.append((now, ethernet(packet, 0x86DD if packet[0] >> 4 == 6 else 0x0800)))

    for round_ in range(rounds):
        ident = 16 * round_
        ike = ipv4_fragments(A, B, 17, udp(500, 500, MESSAGE), 1000, ident=ident + 1)
        esp_pieces = ipv4_fragments(A, B, 50, esp(body=bytes(range(200)) * 8), 800, ident=ident + 2)
        esp6 = ipv6_fragments(A6, B6, 50, esp(spi=7, body=bytes(600)), 304, ident=ident + 3)
        lost = ipv4_fragments(B, A, 17, udp(500, 500, MESSAGE), 1000, ident=ident + 4)[:2]
        overlapping = ipv4_fragments(A, B, 17, udp(4500, 4500, bytes(4) + MESSAGE), 1200, ident=ident + 5)
        overlapping.insert(
            1, ipv4(A, B, 17, bytes(1200), ident=ident + 5, more=True)
        )  # other data, same place
        for seq in range(5):
            add(_esp_frame(seq))
        for i, piece in enumerate(ike):
            add(piece)
            add(_esp_frame(100 + i))
        add(lost[0])
        add(b"\x45" + bytes(10))  # malformed: IPv4 header cut short
        for piece in esp_pieces:
            add(piece)
            add(_esp_frame(200))
        add(lost[1], step_ns=-5_000_000_000)  # time goes backwards
        for piece in reversed(esp6):
            add(piece)
        for piece in overlapping:
            add(piece)
        add(ipv4(A, B, 51, bytes(24)))  # AH
        add(_esp_frame(300), step_ns=40_000_000_000)  # past the fragment timeout: the lost set expires
        add(ipv4_fragments(A, B, 17, udp(500, 500, MESSAGE), 1000, ident=ident + 6)[0])  # never completed
        add(b"\x45" + bytes(10))
        for seq in range(5 + burst):
            add(ipv4(A, B, 50, esp(seq=400 + seq, body=bytes(1000 if seq >= 5 else 48))))
    return pcap(frames)


def test_ip_fragments_across_chunk_boundaries_read_the_same() -> None:
    capture = _fragment_capture()
    expected = read_sequentially(capture)
    stats = expected[1]
    assert stats["ip_fragments"] >= 15 and stats["malformed"] >= 4
    assert [reason for reason, _count in stats["malformed_reasons"]][:1] != []
    assert expected[2], "the overlapping fragments are noted as an anomaly"
    _assert_chunked_reads_equal(capture, capture)
    _assert_chunked_reads_equal(capture, capture, batch_packets=2)


def test_a_fragment_set_expires_in_the_chunk_where_its_timeout_passes() -> None:
    capture = _fragment_capture()
    expected = read_sequentially(capture)
    assert any("timed out" in text for _frame, text in expected[1]["malformed_frames"])
    for options in ({"fragment_timeout": 0.5}, {"fragment_timeout": 0.0}, {"max_fragment_buffers": 1}):
        assert read_in_chunks(capture, 1, **options) == read_sequentially(capture, **options)
        assert read_in_chunks(capture, 1 << 40, 7, **options) == read_sequentially(capture, **options)


def test_a_long_capture_with_fragments_reads_the_same_in_64_kib_chunks() -> None:
    capture = _fragment_capture(rounds=12, burst=90)
    assert len(list(plan_chunks(capture, 65536))) > 15
    _assert_chunked_reads_equal(capture, capture)
    for options in ({"batch_packets": 16}, {"max_fragment_buffers": 2}):
        assert read_in_chunks(capture, 65536, **options) == read_sequentially(capture, **options)
        assert read_in_chunks(capture, 3000, **options) == read_sequentially(capture, **options)


def test_fragments_with_reassembly_disabled_read_the_same() -> None:
    capture = _fragment_capture()
    assert read_in_chunks(capture, 1, max_fragment_buffers=0) == read_sequentially(
        capture, max_fragment_buffers=0
    )


# --- pcapng: sections, interfaces, block kinds ---------------------------------------------------


def _pcapng_sections() -> bytes:
    ike = ipv4(A, B, 17, udp(500, 500, isakmp()))
    esp4 = ethernet(_esp_frame(1))
    fragments = ipv4_fragments(A, B, 17, udp(500, 500, MESSAGE), 1000, ident=9)
    blocks = [shb(), idb(1), idb(101, tsresol=9)]
    for i in range(6):
        blocks.append(epb(0, 1_700_000_000_000_000 + i, esp4))
        blocks.append(epb(1, 1_700_000_000_000_000_500 + i, ike))
    blocks.append(spb(ethernet(ike)))  # takes the previous packet's time
    blocks.append(pcapng_block(0x0BAD, b"unknown block"))
    blocks.append(epb(5, 1_700_000_000_000_100, esp4))  # undefined interface
    blocks.append(ethernet(fragments[0]) and epb(0, 1_700_000_000_000_200, ethernet(fragments[0])))
    blocks.append(idb(228, tsresol=3))  # an interface defined mid-section (raw IPv4, milliseconds)
    blocks.append(epb(2, 1_700_000_000_300, fragments[1]))
    blocks.append(obsolete_pb(0, 1_700_000_000_000_400, esp4))
    # a big-endian section with its own interfaces; a packet time beyond 64 bits
    blocks += [shb(">"), idb(1, ">"), idb(1, ">", tsresol=0)]
    blocks.append(epb(0, 1_700_000_000_000_500, ethernet(fragments[2]), ">"))
    for i in range(4):
        blocks.append(epb(0, 1_700_000_000_000_600 + i, esp4, ">"))
    blocks.append(epb(1, 1 << 40, esp4, ">"))
    blocks.append(epb(0, 1_700_000_000_000_700, ethernet(ipv6(A6, B6, 50, esp())), ">"))
    return b"".join(blocks)


def test_pcapng_with_several_sections_and_interfaces_reads_the_same() -> None:
    capture = _pcapng_sections()
    chunks = list(plan_chunks(capture, 1))
    assert len(chunks) > 10
    assert any(chunk.prefix.count(b"\x0a\x0d\x0d\x0a") == 1 and len(chunk.prefix) > 100 for chunk in chunks)
    _assert_chunked_reads_equal(capture, capture)
    _assert_chunked_reads_equal(gzip.compress(capture), capture)


def test_pcapng_chunks_never_start_with_a_packet_that_borrows_a_time() -> None:
    capture = _pcapng_sections()
    for chunk in list(plan_chunks(capture, 1))[1:]:
        block_type = capture[chunk.start : chunk.start + 4]
        assert block_type in (b"\x06\x00\x00\x00", b"\x00\x00\x00\x06", b"\x02\x00\x00\x00")  # EPB, PB


@pytest.mark.parametrize("cut", [5, 30, 100])
def test_a_pcapng_cut_mid_block_reports_it_from_the_last_chunk(cut: int) -> None:
    capture = _pcapng_sections()
    raw = capture[: list(plan_chunks(capture, 1))[8].start + cut]
    _assert_chunked_reads_equal(raw, raw)
    assert read_sequentially(raw)[1]["truncated"]


def test_a_corrupt_pcapng_block_ends_the_walk_in_the_last_chunk() -> None:
    capture = bytearray(_pcapng_sections())
    at = list(plan_chunks(bytes(capture), 1))[5].start
    capture[at + 4 : at + 8] = (13).to_bytes(4, "little")  # not a multiple of 4
    raw = bytes(capture)
    assert "bad length (13)" in read_sequentially(raw)[1]["truncated"]
    _assert_chunked_reads_equal(raw, raw)


def test_kept_malformed_frames_and_icmp_notes_stop_at_the_same_place() -> None:
    unreachable = ipv4(B, A, 1, bytes([3, 3, 0, 0, 0, 0, 0, 0]) + ipv4(A, B, 17, udp(500, 500, b"")))
    packets = []
    for i in range(1050):
        packets.append(unreachable)
        if i % 8 == 0:
            packets.append(ipv4_fragments(A, B, 17, udp(500, 500, MESSAGE), 1000, ident=i)[0])
        if i % 7 == 0:
            packets.append(b"\x45" + bytes(10))  # malformed here, not in a fragment set
    capture = ethernet_pcap(packets)
    options = {"fragment_timeout": 0.0}
    expected = read_sequentially(capture, **options)
    stats = expected[1]
    assert stats["port_unreachable_count"] == 1050 and len(stats["port_unreachable"]) == 1000
    assert stats["malformed"] > 200 and len(stats["malformed_frames"]) == 100
    for chunk_bytes, chunk_records in CHUNKINGS:
        assert read_in_chunks(capture, chunk_bytes, chunk_records, **options) == expected


class _Pipe(io.RawIOBase):
    """A stream that cannot seek (a pipe, standard input)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._data.read(min(len(buffer), 700))  # short reads, as a pipe gives
        buffer[: len(data)] = data
        return len(data)


def test_the_feeder_reads_a_stream_that_cannot_seek() -> None:
    capture = _fragment_capture()
    expected = [chunk for chunk in plan_chunks(capture, 1000)]
    fed = list(ChunkFeeder(_Pipe(capture), 1000))  # type: ignore[arg-type]
    assert [chunk for chunk, _data in fed] == expected
    assert b"".join(data for _chunk, data in fed) == capture[expected[0].start :]


def test_summaries_cross_to_another_process_intact() -> None:
    capture = _fragment_capture(rounds=2, burst=10)
    expected = read_sequentially(capture)
    pickled = [
        (scan, pickle.loads(pickle.dumps(summary, pickle.HIGHEST_PROTOCOL)))
        for scan, summary in scanned(capture, plan_chunks(capture, 1 << 40, chunk_records=7))
    ]
    assert any(isinstance(item, DeferredFragment) for _scan, summary in pickled for item in summary.items)
    assert join_scans(pickled) == expected


@pytest.mark.parametrize(
    ("corrupt_record", "failure_known"),
    [(1900, True), (1000, False)],  # in the 1 MiB read that meets the gzip failure, or a read before
)
def test_a_corrupt_record_in_a_failing_gzip_stream_is_reported_as_a_sequential_read_does(
    corrupt_record: int, failure_known: bool
) -> None:
    rng = random.Random(5)  # incompressible: the cut stream decompresses to about as many bytes
    capture = bytearray(
        ethernet_pcap([ipv4(A, B, 50, esp(seq=i, body=rng.randbytes(1200))) for i in range(2400)])
    )
    at = list(plan_chunks(bytes(capture), 1))[corrupt_record].start
    capture[at + 8 : at + 12] = (1 << 30).to_bytes(4, "little")
    compressed = gzip.compress(bytes(capture))
    raw = compressed[: len(compressed) * 97 // 100]
    expected = read_sequentially(raw)
    assert expected[1]["truncated"].startswith(f"corrupt record {corrupt_record + 1} at byte offset {at}")
    assert ("gzip decompression failed" in expected[1]["truncated"]) is failure_known
    for chunk_bytes in (1 << 40, 100_000):
        assert feed_in_chunks(raw, chunk_bytes) == expected
