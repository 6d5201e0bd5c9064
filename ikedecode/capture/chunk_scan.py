"""Stage 1 of a capture read in parallel chunks: one chunk's bytes in, its items and accounting out.

``scan_chunk`` is a pure function (no I/O): it reads one ``Chunk`` (capture/chunks.py) with the same
readers as a sequential read (the fast scans, ``PcapReader.esp_batches`` and
``PcapngReader.esp_batches``, included), numbering frames from the chunk's ``records_before``, and
returns a ``ChunkScan``: the chunk's IKE and AH ``Datagram``s and ESP batches in capture order, its
statistics and every record's time. What needs the capture before the chunk is left to the main
process (``ChunkJoiner``): IP fragments of the protocols the classifier wants come out as
``DeferredFragment``s, counted as the sequential reader counts them before reassembly (packets, link
type, ``ip_fragments``); a fragment the classifier does not want is "other" and a snaplen-truncated
one malformed, here as there.
"""

from __future__ import annotations

import mmap
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, cast

from .accounting import DEFAULT_FRAGMENT_BUFFERS, DeferredFragment
from .batch import FRAME, META_FIELDS, TIME_NS, EspBatch
from .chunks import Chunk
from .datagram import CaptureStats, Datagram, Kind
from .formats import open_format
from .malformed import Malformed
from .pcap import RECORD_HEADER_LEN, PcapReader
from .pcapng import PcapngReader
from .reader import DEFAULT_BATCH_PACKETS, CaptureReader
from .records import RecordSource
from .source import CHUNK_SIZE, ByteSource


class EspRun(NamedTuple):
    """Stands, in a chunk's items, for its ESP batch number ``batch`` (frames first to last)."""

    batch: int
    first_frame: int
    last_frame: int


ChunkItem = Datagram | DeferredFragment | EspRun


@dataclass(slots=True)
class ChunkScan:
    """What reading one chunk gave; frames are the capture's (absolute) frame numbers.

    Only chunks count link types and ICMP notes, so their order over the chunks is the capture's;
    malformed reasons are also counted by the joiner (fragment sets), hence ``reasons_at``.
    """

    chunk: Chunk
    frames: int = 0  # records in the chunk
    items: list[ChunkItem] = field(default_factory=list)  # IKE/AH datagrams, ESP runs, fragments
    batches: list[EspBatch] = field(default_factory=list)  # the ESP runs' batches (not in summaries)
    stats: CaptureStats = field(default_factory=CaptureStats)  # the chunk's own accounting
    reasons_at: dict[str, int] = field(default_factory=dict)  # malformed reason -> first frame
    times: Any = None  # time_ns of every record (array('q'); a list when a time exceeds 64 bits)
    first_ns: int | None = None  # time of the chunk's first and last record
    last_ns: int | None = None
    opened: list[Any] | None = None  # per batch, what ``scan_chunk``'s ``open_batch`` made of it

    def summary(self) -> ChunkScan:
        """The scan without its batches: what the main process needs (``ChunkJoiner``)."""
        return replace(self, batches=[], opened=None)

    without_batches = summary


class _ChunkReader(CaptureReader):
    """A ``CaptureReader`` over one chunk: fragments handed on, not reassembled; each general-path
    frame's time and each malformed reason's first frame noted."""

    def _start(self, source: ByteSource, records: RecordSource) -> None:
        super()._start(source, records)
        self.reasons_at: dict[str, int] = {}
        self.general_times: list[tuple[int, int]] = []  # (frame, time_ns) of the frames no batch holds

    def _pass_fragment(self, fragment: DeferredFragment) -> Datagram | None:
        # It travels the reader's loops as a datagram that is not ESP would: it ends the ESP
        # batch being filled and comes out in its place among the items (scan_chunk takes it).
        return cast(Datagram, fragment)

    def _general_frame(
        self, frame: int, time_ns: int, linktype: int, data: bytes, orig_len: int
    ) -> Datagram | None:
        datagram = super()._general_frame(frame, time_ns, linktype, data, orig_len)
        if datagram is None or datagram.kind is not Kind.ESP:  # an ESP datagram's time: in its batch
            self.general_times.append((frame, time_ns))
        return datagram

    def ike_frame(
        self, frame: int, time_ns: int, buf: bytes, ip: int, start: int, end: int, link_name: str
    ) -> Datagram:
        self.general_times.append((frame, time_ns))
        return super().ike_frame(frame, time_ns, buf, ip, start, end, link_name)

    def _malformed(self, frames: Iterable[int], problem: Malformed) -> None:
        frames = tuple(frames)
        self.reasons_at.setdefault(problem.reason, frames[0])
        super()._malformed(frames, problem)


def scan_chunk(
    data: bytes | mmap.mmap | memoryview,
    chunk: Chunk,
    *,
    at: int = 0,
    batch_packets: int = DEFAULT_BATCH_PACKETS,
    ike_ports: Iterable[int] = (500, 4500),
    max_fragment_buffers: int = DEFAULT_FRAGMENT_BUFFERS,
    fragment_timeout: float = 30.0,
    end_error: str | None = None,
    name: str = "<capture>",
    source: ByteSource | None = None,
    open_batch: Callable[[EspBatch], Any] | None = None,
) -> ChunkScan:
    """Read ``chunk`` from ``data[at:]`` (exactly its bytes, ``chunk.start`` to ``chunk.end``:
    bytes, or an mmap mapped to end there; a memoryview is copied once). ``end_error``: why the
    stream stopped being readable (``ChunkFeeder.end_error``), for the last chunk's message: added
    where a sequential read adds it (a pcapng record found corrupt in a failing gzip stream is
    reported without it). ``source``: a ``ByteSource.in_memory`` over ``chunk.prefix`` of a kind
    that reads on past ``data`` (capture/part_scan.py: a chunk whose end is found as it is read).
    ``open_batch``: called with each ESP batch as soon as it is read (while it is in the cache),
    its results kept in ``opened``, until an item that is neither ESP nor AH comes (an IKE
    datagram, an IP fragment: what may key an SA before the ESP after it): then ``opened`` is
    None."""
    if isinstance(data, memoryview):
        data = data.tobytes()
    if source is None:
        source = ByteSource.in_memory(chunk.prefix, name)
    records = open_format(source, name)
    if isinstance(records, PcapngReader):
        records.read_prefix()
    source.continue_with(cast(bytes, data), at, chunk.start, end_error if chunk.last else None)
    records.records_read = chunk.records_before
    reader = _ChunkReader.over_records(
        source,
        records,
        name,
        frames_before=chunk.records_before,
        ike_ports=ike_ports,
        max_fragment_buffers=max_fragment_buffers,
        fragment_timeout=fragment_timeout,
    )
    scan = ChunkScan(chunk)
    items, batches = scan.items, scan.batches
    opened: list[Any] | None = [] if open_batch is not None else None
    with reader:
        for item in reader.items(batch_packets):
            if type(item) is EspBatch:
                meta = item.meta
                items.append(EspRun(len(batches), meta[FRAME], meta[-META_FIELDS + FRAME]))
                batches.append(item)
                if opened is not None:
                    opened.append(cast(Callable[[EspBatch], Any], open_batch)(item))
            else:
                chunk_item = cast(Datagram | DeferredFragment, item)
                items.append(chunk_item)
                if opened is not None and chunk_item.kind is not Kind.AH:
                    opened = None
    scan.opened = opened
    scan.frames = records.records_read - chunk.records_before
    scan.stats = reader.stats
    if end_error and chunk.last and source.error is None and scan.stats.truncated:
        scan.stats.truncated = _with_stream_error(records, source.offset(), chunk.end, end_error)
    scan.reasons_at = reader.reasons_at
    scan.times = _times(scan.frames, chunk.records_before, batches, reader.general_times)
    if scan.frames:
        scan.first_ns, scan.last_ns = scan.times[0], scan.times[-1]
    return scan


def _with_stream_error(records: RecordSource, stopped_at: int, data_end: int, end_error: str) -> str:
    """A corrupt record's message, with the stream's failure when a sequential read of classic
    pcap would have met it already: its source reads ``CHUNK_SIZE`` bytes at a time from offset 0,
    so it knows of a failure within the read that brought the corrupt record's header in."""
    message = cast(str, records.truncated)
    if isinstance(records, PcapReader):
        read_to = -(-(stopped_at + RECORD_HEADER_LEN) // CHUNK_SIZE) * CHUNK_SIZE
        if data_end < read_to:
            return f"{message} ({end_error})"
    return message


def _times(count: int, before: int, batches: list[EspBatch], general: list[tuple[int, int]]) -> Any:
    """Every record's time, from the batches (the ESP frames, a run of consecutive frames at a
    time) and the frames of the general path that no batch holds: every record is in one of the two."""
    times: list[int] = [0] * count
    others = [frame for frame, _time_ns in general]
    others.append(1 << 62)  # a sentinel past every frame
    at = 0  # the first general frame not before the current batch
    for batch in batches:
        meta = batch.meta
        batch_times = meta[TIME_NS::META_FIELDS]
        low, high = meta[FRAME], meta[-META_FIELDS + FRAME]
        while others[at] < low:
            at += 1
        if others[at] > high and high - low + 1 == len(batch_times):  # no gap: one slice
            times[low - before - 1 : high - before] = batch_times
            continue
        frames = meta[FRAME::META_FIELDS]
        gaps = others[at : bisect_left(others, high, at)]
        if len(frames) + len(gaps) != high - low + 1:  # not expected: place them one by one
            for frame, time_ns in zip(frames, batch_times, strict=True):
                times[frame - before - 1] = time_ns
            continue
        slot, taken = low, 0  # the batch fills [low, high] but for the gaps
        for gap in (*gaps, high + 1):
            run = gap - slot
            times[slot - before - 1 : gap - before - 1] = batch_times[taken : taken + run]
            slot, taken = gap + 1, taken + run
    for frame, time_ns in general:
        times[frame - before - 1] = time_ns
    try:
        return array("q", times)
    except OverflowError:  # a pcapng time beyond 64 bits
        return times
