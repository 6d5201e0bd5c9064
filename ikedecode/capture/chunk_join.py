"""The main process's side of a capture read in parallel chunks: the chunks' scans put back in order.

``ChunkJoiner.join(scan)`` is fed each chunk's ``ChunkScan`` summary (capture/chunk_scan.py) in
chunk order and yields the chunk's items in capture order: IKE and AH ``Datagram``s, ``EspRun``
placeholders for the ESP batches kept where the chunk was scanned, and in place of the
``DeferredFragment``s whatever the one reassembler completes with them (an IKE, AH or ESP
``Datagram``; an ESP one comes alone, for the main process to open). Between items the joiner
calls the reassembler's expiry with every record's time while fragments are pending, as the
sequential reader does before each frame. ``stats()`` at the end equals the ``CaptureStats`` of a
sequential read of the whole capture, field by field (sans-IO: no file, no process here).

Where in the sequential read a count was made, for ordering Counter keys and kept malformed
frames: ``(frame, phase)``, phase 0 for the expiry before frame ``frame``, 1 for the frame itself
(its own malformation in a chunk, or its fragment here: never both), 2 for the end of the capture.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from .accounting import DEFAULT_FRAGMENT_BUFFERS, MAX_MALFORMED_FRAMES_KEPT, DeferredFragment, FrameAccounting
from .chunk_scan import ChunkScan, EspRun
from .datagram import CaptureStats, Datagram
from .icmp import MAX_KEPT as MAX_ICMP_KEPT
from .stats_merge import add_counts, counter_in_order, entries_in_order

EXPIRY, FRAME_ITSELF, CAPTURE_END = 0, 1, 2  # phases of a frame, in the sequential reader's order


class ChunkJoiner:
    """Joins chunk scans in order; the reader options must be those the chunks were scanned with."""

    def __init__(
        self,
        *,
        ike_ports: Iterable[int] = (500, 4500),
        max_fragment_buffers: int = DEFAULT_FRAGMENT_BUFFERS,
        fragment_timeout: float = 30.0,
    ) -> None:
        self._main = FrameAccounting(ike_ports, max_fragment_buffers, fragment_timeout)
        self._pending = self._main._reassembler.pending
        self.frames = 0  # frames of the chunks joined so far
        self._chunks = 0
        self._expired_to = 0  # the last frame whose expiry step is done
        self._times: Any = ()  # the current chunk's record times
        self._base = 0  # its records_before
        self._total = CaptureStats()  # the chunks' summed counts, link types, kept notes
        self._reasons: Counter[str] = Counter()  # the chunks' malformed reasons, summed
        self._first_seen: dict[str, tuple[int, int, int]] = {}  # reason -> (frame, phase, order)
        self._entries: list[tuple[tuple[int, int], int, str]] = []  # this chunk's, until merged
        self._main_kept = 0  # main-side malformed entries and reasons already placed
        self._main_reasons = 0
        self._first_ns: int | None = None
        self._last_ns: int | None = None
        self._finished = False

    @property
    def anomalies(self) -> Counter[str]:
        """Overlapping or duplicate IP fragments (only reassembly finds them: here)."""
        return self._main.anomalies

    @property
    def anomaly_frames(self) -> list[tuple[int, str]]:
        return self._main.anomaly_frames

    def join(self, scan: ChunkScan) -> Iterator[Datagram | EspRun]:
        """The items of the next chunk's scan (``summary()`` will do), in capture order."""
        chunk = scan.chunk
        if chunk.index != self._chunks or chunk.records_before != self.frames or self._finished:
            raise ValueError(f"chunk {chunk.index} joined out of order (expected chunk {self._chunks})")
        self._chunks += 1
        self._times, self._base = scan.times, chunk.records_before
        self._take_counts(scan)
        main = self._main
        for item in scan.items:
            if isinstance(item, EspRun):
                self._expire_to(item.last_frame)
                yield item
            elif isinstance(item, DeferredFragment):
                self._expire_to(item.frame)
                datagram = main.take_fragment(item)
                self._place_main(item.frame, FRAME_ITSELF)
                if datagram is not None:
                    yield datagram
            else:
                self._expire_to(item.frame)
                yield item
        self.frames += scan.frames
        self._expire_to(self.frames)
        self._merge_entries()
        if scan.frames:
            if self._first_ns is None:
                self._first_ns = scan.first_ns
            self._last_ns = scan.last_ns
        if chunk.last:
            self._total.truncated = scan.stats.truncated

    def _take_counts(self, scan: ChunkScan) -> None:
        total, stats = self._total, scan.stats
        add_counts(total, stats)
        total.link_types.update(stats.link_types)  # only chunks count link types: in chunk order
        self._reasons.update(stats.malformed_reasons)
        for reason, frame in scan.reasons_at.items():
            self._seen(reason, (frame, FRAME_ITSELF, 0))
        self._entries.extend(((frame, FRAME_ITSELF), frame, text) for frame, text in stats.malformed_frames)
        room = MAX_ICMP_KEPT - len(total.port_unreachable)
        if room > 0:
            total.port_unreachable.extend(stats.port_unreachable[:room])
        total.port_unreachable_count += stats.port_unreachable_count

    def _expire_to(self, frame: int) -> None:
        """The sequential reader's expiry step for every frame up to ``frame`` (while pending)."""
        pending = self._pending
        if pending:
            main, times, base = self._main, self._times, self._base
            at = self._expired_to
            while at < frame and pending:
                at += 1
                main.expire_at(times[at - base - 1])
                self._place_main(at, EXPIRY)
        if frame > self._expired_to:
            self._expired_to = frame

    def _place_main(self, frame: int, phase: int) -> None:
        """Note where the main side's new malformed entries and reasons were counted."""
        stats = self._main.stats
        kept = stats.malformed_frames
        if len(kept) > self._main_kept:
            self._entries.extend(((frame, phase), f, text) for f, text in kept[self._main_kept :])
            self._main_kept = len(kept)
        reasons = stats.malformed_reasons
        if len(reasons) > self._main_reasons:
            for order, reason in enumerate(list(reasons)[self._main_reasons :], self._main_reasons):
                self._seen(reason, (frame, phase, order))
            self._main_reasons = len(reasons)

    def _seen(self, reason: str, place: tuple[int, int, int]) -> None:
        first = self._first_seen.get(reason)
        if first is None or place < first:
            self._first_seen[reason] = place

    def _merge_entries(self) -> None:
        """This chunk's kept malformed frames (its own and the main side's) after the earlier ones."""
        kept = self._total.malformed_frames
        if self._entries and len(kept) < MAX_MALFORMED_FRAMES_KEPT:
            kept.extend(entries_in_order(self._entries)[: MAX_MALFORMED_FRAMES_KEPT - len(kept)])
        self._entries = []

    def finish(self) -> None:
        """The capture ended: fragment sets still pending are incomplete (malformed)."""
        if self._finished:
            return
        self._finished = True
        self._main.flush_fragments()
        self._place_main(self.frames, CAPTURE_END)
        self._merge_entries()

    def stats(self) -> CaptureStats:
        """The whole capture's statistics (ends the join: ``finish``)."""
        self.finish()
        total, main = self._total, self._main.stats
        stats = CaptureStats()
        add_counts(stats, total)
        add_counts(stats, main)
        stats.malformed_reasons = counter_in_order([self._reasons, main.malformed_reasons], self._first_seen)
        stats.malformed_frames = list(total.malformed_frames)
        stats.link_types = Counter(total.link_types)
        stats.truncated = total.truncated
        stats.first_time = None if self._first_ns is None else self._first_ns / 1e9
        stats.last_time = None if self._last_ns is None else self._last_ns / 1e9
        stats.port_unreachable = list(total.port_unreachable)
        stats.port_unreachable_count = total.port_unreachable_count
        return stats
