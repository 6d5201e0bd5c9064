"""A part of a pcap file walked and scanned at once, by one worker (issue 19, "fused walk").

The parallel walk (capture/chunk_walk.py) had a worker walk a part's record headers to find its
chunks, and then a worker scan each chunk (capture/chunk_scan.py), reading every header again.
``scan_part`` does both in one reading: from the part's first record (exact for the first part,
``find_boundary``'s guess for another) it scans chunk after chunk with the sequential reader's own
code, each chunk's bytes ending at its cut (``next_cut``: the grid ``plan_chunks`` cuts on). A
record that runs past the cut is read on (``_CutSource.fill``: one record at a time from the
file) and the chunk ends before the first whole record at or past the cut, exactly where
``plan_chunks`` ends it, so the reading itself is the walk. Frames are counted from the part's
first record: the worker does not know how many records come before its part.

The answer (``PartScan``) holds the walk as ``walk_part`` would give it (``Walked``) and the chunks'
scans. The main process hands the walk to ``PartPlan.accept`` as it did the parallel walk's, which
takes it only if it started where the part before it ended (by induction, every accepted walk is
``plan_chunks``' walk); each accepted chunk whose scan read exactly its bytes cleanly is then
``renumbered`` by the frames before it and used as is. Any other chunk (a wrong guess, a record
cut short or corrupt in the part, a file that changed) is read again the old way: walked by the
main process and scanned from its absolute first frame, so the reports are the same either way.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple, cast

from .accounting import DeferredFragment
from .chunk_scan import ChunkScan, EspRun
from .chunk_walk import PcapLayout, Walked, find_boundary
from .chunks import CaptureBytes, Chunk, next_cut
from .pcap import RECORD_HEADER_LEN
from .records import MAX_RECORD_BYTES
from .source import ByteSource

# how a chunk's reading stopped (``_CutSource.stop``)
READING, AT_CUT, AT_END, BROKEN = 0, 1, 2, 3  # AT_CUT: before a whole record at or past the cut;
# AT_END: exactly at the end of the data; BROKEN: at a record cut short or with a corrupt length


class _CutSource(ByteSource):
    """A chunk's bytes up to its cut, and on past it one whole record at a time (``read``: bytes of
    the file) until the next record starts at or past the cut."""

    __slots__ = ("_read", "_cut", "_size", "_caplen", "stop")
    _read: Callable[[int, int], bytes]
    _cut: int
    _size: int
    _caplen: Callable[[bytes, int], tuple[int]]
    stop: int

    @classmethod
    def over(
        cls, prefix: bytes, name: str, read: Callable[[int, int], bytes], cut: int, size: int, order: str
    ) -> _CutSource:
        source = cast(_CutSource, cls.in_memory(prefix, name))
        source._read, source._cut, source._size = read, cut, size
        source._caplen = cast(Callable[[bytes, int], tuple[int]], struct.Struct(order + "I").unpack_from)
        source.stop = READING
        return source

    def fill(self, want: int = 0) -> bool:
        at = self.base + self.pos  # the next record's offset
        size = self._size
        if at == size:
            self.stop = AT_END
            return False
        header = self._read(at, RECORD_HEADER_LEN) if at + RECORD_HEADER_LEN <= size else b""
        record_end = -1
        if len(header) == RECORD_HEADER_LEN:
            caplen = self._caplen(header, 8)[0]
            if caplen <= MAX_RECORD_BYTES and at + RECORD_HEADER_LEN + caplen <= size:
                record_end = at + RECORD_HEADER_LEN + caplen
        if record_end < 0:  # the records stop here (the last chunk's reading reports it)
            self.stop = BROKEN
            return False
        if at >= self._cut:
            self.stop = AT_CUT
            return False
        record = self._read(at, record_end - at)
        if len(record) != record_end - at:  # the file changed under us
            self.stop = BROKEN
            return False
        self.buf, self.base, self.pos = record, at, 0
        return True


class PartScan(NamedTuple):
    """A worker's answer for one part: its walk and its chunks' scans (summaries, frames counted
    from the walk's start; ``scan.chunk.end``: where that chunk's reading stopped)."""

    walked: Walked
    scans: list[ChunkScan]
    kept: list[bool]  # per scan: the worker kept ESP batches of it


# scan(chunk, source): the chunk read from its bytes (``chunk.start`` to ``chunk.end``) with
# ``source`` (``scan_chunk``'s), its batches kept where it was read and its summary returned
ScanFunction = Callable[[Chunk, ByteSource], tuple[ChunkScan, bool]]


def scan_part(
    view: CaptureBytes,
    layout: PcapLayout,
    part: tuple[int, int],
    chunk_bytes: int,
    *,
    scan: ScanFunction,
    read: Callable[[int, int], bytes],
    name: str = "<capture>",
) -> PartScan:
    """Walk and scan the part ``part`` of the file ``view`` (the first ``len(view)`` bytes of it):
    from its first record (guessed where the part is not the first), chunk after chunk, to the
    first whole record at or past the part's end or to where the records stop."""
    part_start, part_end = part
    size = len(view)
    start = part_start if part_start == layout.first else find_boundary(view, layout, part_start, part_end)
    if start < 0:
        return PartScan(Walked(-1, [], -1, 0, False), [], [])
    prefix = bytes(view[: layout.first])
    scans: list[ChunkScan] = []
    kept: list[bool] = []
    cuts: list[tuple[int, int]] = []
    at, records, whole = start, 0, False
    while at < size:
        cut = next_cut(at, layout.first, chunk_bytes)
        chunk = Chunk(len(scans), at, min(cut, size), records, False, prefix)
        source = _CutSource.over(prefix, name, read, cut, size, layout.order)
        chunk_scan, batches_kept = scan(chunk, source)
        if not chunk_scan.frames:  # the records stop at ``at``: no chunk starts there
            break
        end = source.offset()
        chunk_scan.chunk = replace(chunk, end=end if source.stop in (AT_CUT, AT_END) else -1)
        if scans:
            cuts.append((at, records))
        scans.append(chunk_scan)
        kept.append(batches_kept)
        records += chunk_scan.frames
        if source.stop != AT_CUT:
            break
        at = end
        if at >= part_end:
            whole = True
            break
    return PartScan(Walked(start, cuts, at, records, whole), scans, kept)


def usable(scan: ChunkScan, chunk: Chunk) -> bool:
    """Whether a part's scan read exactly the accepted ``chunk`` (the same bytes, to a clean end)."""
    read = scan.chunk
    return read.start == chunk.start and read.end == chunk.end and not scan.stats.truncated


def renumbered(scan: ChunkScan, chunk: Chunk) -> ChunkScan:
    """``scan`` (frames counted from its part's first record) as the scan of ``chunk`` (frames
    counted from the capture's first): every frame number it holds moved by the records between."""
    shift = chunk.records_before - scan.chunk.records_before
    scan.chunk = chunk
    if not shift:
        return scan
    items = scan.items
    for position, item in enumerate(items):
        if isinstance(item, EspRun):
            items[position] = EspRun(item.batch, item.first_frame + shift, item.last_frame + shift)
        elif isinstance(item, DeferredFragment):
            items[position] = item._replace(frame=item.frame + shift)
        else:  # a Datagram (a dataclass of this scan's own)
            item.frame += shift
            item.frames = tuple(frame + shift for frame in item.frames)
    scan.reasons_at = {reason: frame + shift for reason, frame in scan.reasons_at.items()}
    stats = scan.stats
    stats.malformed_frames = [(frame + shift, text) for frame, text in stats.malformed_frames]
    stats.port_unreachable = [note._replace(frame=note.frame + shift) for note in stats.port_unreachable]
    return scan


__all__ = ["PartScan", "renumbered", "scan_part", "usable"]
