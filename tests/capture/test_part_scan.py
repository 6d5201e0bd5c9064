"""A pcap part walked and scanned at once (capture/part_scan.py): the accepted walks give exactly
plan_chunks' chunks, and each chunk scan taken from a part, renumbered by the records before it,
equals the scan of that chunk read from its absolute first frame (capture/chunk_scan.py), for any
chunk and part size, where the guess is fooled, and on truncated or corrupt files (whose broken
chunk is never taken from the part)."""

from __future__ import annotations

import struct
from pathlib import Path

from ikedecode.capture.batch import FRAME, META_FIELDS
from ikedecode.capture.chunk_scan import ChunkScan, EspRun, scan_chunk
from ikedecode.capture.chunk_walk import PartPlan
from ikedecode.capture.chunks import Chunk, plan_chunks
from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.capture.part_scan import renumbered, scan_part, usable
from ikedecode.capture.source import ByteSource

from .builders import ethernet_pcap, ipv4, udp
from .test_parallel_walk import BUNDLED, SIZES, _esp_capture, _pcap_bytes, _record

A, B = "192.0.2.1", "192.0.2.2"


class Fused:
    """The main process's side of scanning parts, in this process: what ``ChunkWork`` does with
    the parts' answers."""

    def __init__(self, data: bytes, chunk_bytes: int, part_bytes: int | None) -> None:
        self.data = data
        self.plan = PartPlan(data, chunk_bytes, part_bytes=part_bytes)
        self.taken: list[tuple[Chunk, ChunkScan, int]] = []  # (chunk, its part's scan renumbered, shift)
        self.read_again: list[Chunk] = []
        self.chunks: list[Chunk] = []
        plan = self.plan
        for number in range(plan.parts):
            if plan.done:
                break
            answer = None
            if plan.needed(number):
                answer = scan_part(
                    data, plan.layout, plan.part(number), plan.chunk_bytes, scan=self._scan, read=self._read
                )
            verified = plan.pos
            chunks = plan.accept(number, None if answer is None else answer.walked)
            scans = answer.scans if answer is not None and answer.walked.start == verified else []
            for k, chunk in enumerate(chunks):
                self.chunks.append(chunk)
                if k < len(scans) and usable(scans[k], chunk):
                    shift = chunk.records_before - scans[k].chunk.records_before
                    self.taken.append((chunk, renumbered(scans[k], chunk), shift))
                else:
                    self.read_again.append(chunk)

    def _read(self, offset: int, size: int) -> bytes:
        return self.data[offset : offset + size]

    def _scan(self, chunk: Chunk, source: ByteSource) -> tuple[ChunkScan, bool]:
        scan = scan_chunk(self.data[chunk.start : chunk.end], chunk, source=source)
        return scan, bool(scan.batches)


def assert_parts_scan_as_planned(data: bytes, chunk_bytes: int, part_bytes: int | None) -> Fused:
    fused = Fused(data, chunk_bytes, part_bytes)
    assert fused.chunks == list(plan_chunks(data, chunk_bytes)), (chunk_bytes, part_bytes)
    for chunk, scan, shift in fused.taken:
        alone = scan_chunk(data[chunk.start : chunk.end], chunk)
        assert scan.summary() == alone.summary(), (chunk, chunk_bytes, part_bytes)
        # the batches stay where they were read, numbered from the part's first record
        assert [b.blob for b in scan.batches] == [b.blob for b in alone.batches]
        for ours, theirs in zip(scan.batches, alone.batches, strict=True):
            moved = list(ours.meta)
            moved[FRAME::META_FIELDS] = [frame + shift for frame in moved[FRAME::META_FIELDS]]
            assert moved == theirs.meta
    return fused


def test_every_bundled_pcap_scans_in_parts_like_its_planned_chunks() -> None:
    scanned = taken = 0
    for path in BUNDLED:
        data = _pcap_bytes(path)
        if data is None:
            continue
        for chunk_bytes, part_bytes in SIZES:
            taken += len(assert_parts_scan_as_planned(data, chunk_bytes, part_bytes).taken)
        scanned += 1
    assert scanned > 40 and taken > 1000


def test_ike_datagrams_in_later_parts_are_renumbered_by_the_records_before_them() -> None:
    data = _esp_capture(3000, 21)  # an IKE datagram every 50 records
    fused = assert_parts_scan_as_planned(data, 4096, 16384)
    assert not fused.read_again and fused.plan.misses == 0  # every part guessed right
    ike = [
        (item, shift)
        for _, scan, shift in fused.taken
        for item in scan.items
        if isinstance(item, Datagram) and item.kind is Kind.IKE
    ]
    assert len(ike) == 60 and sum(shift > 0 for _, shift in ike) > 40
    assert [item.frame for item, _ in ike] == [i * 50 + 1 for i in range(60)]  # absolute frames
    runs = [item for _, scan, _ in fused.taken for item in scan.items if isinstance(item, EspRun)]
    assert runs[-1].last_frame == 3000


def test_a_part_that_guessed_wrong_is_read_again_from_its_absolute_first_frame() -> None:
    inner = b"".join(_record(1_000_000 + i, bytes([i]) * 20) for i in range(40))  # pcap records
    packets = [ipv4(A, B, 17, udp(4000, 4000, inner if i % 2 else bytes(range(256)))) for i in range(60)]
    data = ethernet_pcap(packets)
    misses = read_again = 0
    for chunk_bytes, part_bytes in [(1, 97), (200, None), (300, 900), (1000, None)]:
        fused = assert_parts_scan_as_planned(data, chunk_bytes, part_bytes)
        misses += fused.plan.misses
        read_again += len(fused.read_again)
        assert fused.taken
    assert misses > 0 and read_again >= misses  # fooled, and the report's chunks are still right


def test_truncated_files_never_take_the_broken_chunk_from_a_part() -> None:
    data = _esp_capture(30, 3)
    for cut in (24, 25, 39, 40, 500, 1001, len(data) - 1, len(data)):
        for chunk_bytes, part_bytes in [(1, None), (300, None), (300, 1000), (4096, None)]:
            fused = assert_parts_scan_as_planned(data[:cut], chunk_bytes, part_bytes)
            if cut < len(data) and fused.chunks:
                assert fused.chunks[-1] in fused.read_again  # its reading reports the truncation


def test_a_corrupt_record_length_is_read_again_from_its_absolute_first_frame() -> None:
    data = _esp_capture(40, 4)
    starts = [chunk.start for chunk in plan_chunks(data, 1)]
    for record in (0, 1, 17, 39):
        corrupt = bytearray(data)
        struct.pack_into("<I", corrupt, starts[record] + 8, 0x7FFFFFFF)
        for chunk_bytes, part_bytes in [(1, None), (300, None), (300, 1000), (65536, None)]:
            fused = assert_parts_scan_as_planned(bytes(corrupt), chunk_bytes, part_bytes)
            assert fused.chunks[-1].last and fused.chunks[-1] in fused.read_again


def test_a_record_larger_than_the_parts_leaves_parts_without_chunks() -> None:
    from .builders import pcap

    data = pcap([(i * 1000, bytes([i]) * (5000 if i == 3 else 60)) for i in range(10)])
    fused = assert_parts_scan_as_planned(data, 100, None)
    assert fused.plan.parts > len(fused.chunks) and fused.taken


def test_an_empty_capture_is_one_last_chunk_read_again() -> None:
    from .builders import pcap

    fused = assert_parts_scan_as_planned(pcap([]), 300, None)
    assert len(fused.chunks) == 1 and fused.read_again == fused.chunks


def test_the_bundled_captures_exist() -> None:
    assert any(Path(path).suffix == ".pcap" for path in BUNDLED)
