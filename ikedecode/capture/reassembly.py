"""IP fragment reassembly for IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5), bounded.

Fragments are grouped by a key the caller chooses (source, destination, identification, protocol).
Overlapping data is resolved in favour of the fragment that arrived first (the bytes already held
are kept) and the overlap is reported. Limits: ``max_buffers`` datagrams under reassembly at once
(the oldest is dropped beyond that), ``MAX_DATAGRAM_BYTES`` per datagram, ``MAX_FRAGMENTS`` frames
per datagram and ``timeout_ns`` of capture time from the first fragment. Whatever is dropped is
appended to ``dropped`` as ``(frames, Malformed)`` for the caller to account.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from .malformed import Malformed

MAX_DATAGRAM_BYTES = 65535  # largest fragment offset + length accepted (13-bit offset x 8 + data)
MAX_FRAGMENTS = 256  # frames per datagram, duplicates included; a 64 KiB datagram at 576 bytes MTU needs 120
FRAGMENT_UNIT = 8  # every fragment but the last carries a multiple of 8 bytes

INCOMPLETE = "incomplete IP fragment set"
INCONSISTENT = "inconsistent IP fragment set"


@dataclass(slots=True)
class _Pending:
    ident: int
    started_ns: int
    frames: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # sorted start offsets of ``pieces``
    pieces: list[tuple[int, int, bytes]] = field(default_factory=list)  # disjoint (start, end, data)
    covered: int = 0  # bytes held, i.e. the summed lengths of ``pieces``
    total: int | None = None  # datagram length, known once the last fragment (MF=0) arrived
    first: Any = None  # the caller's header information from the fragment at offset 0
    overlapping: bool = False  # some fragment overlapped held bytes with different data
    duplicated: bool = False  # some fragment repeated held bytes exactly

    def describe(self, why: str) -> str:
        total = "?" if self.total is None else str(self.total)
        return f"id 0x{self.ident:x}, {len(self.frames)} fragments, {self.covered} of {total} bytes, {why}"


@dataclass(slots=True, frozen=True)
class Reassembled:
    frames: tuple[int, ...]
    first: Any  # the header information passed with the offset-0 fragment
    payload: bytes
    overlapping: bool
    duplicated: bool


class Reassembler:
    def __init__(self, max_buffers: int = 1024, timeout_ns: int = 30_000_000_000) -> None:
        self.max_buffers = max_buffers
        self.timeout_ns = timeout_ns
        self.pending: dict[Any, _Pending] = {}  # datagrams under reassembly; insertion order = age
        self.dropped: list[tuple[list[int], Malformed]] = []
        self.evicted = 0  # datagrams dropped because ``max_buffers`` were under reassembly

    def add(
        self,
        key: Any,
        ident: int,
        frame: int,
        time_ns: int,
        offset: int,
        more: bool,
        data: bytes,
        first: Any = None,
    ) -> Reassembled | None:
        """Add one fragment; returns the datagram when this fragment completes it.

        Raises ``Malformed`` when this fragment alone is unusable (it is then not kept).
        """
        end = offset + len(data)
        if end > MAX_DATAGRAM_BYTES:
            raise Malformed("IP fragment beyond the largest datagram", f"offset {offset}, {len(data)} bytes")
        if more and len(data) % FRAGMENT_UNIT:
            raise Malformed("IP fragment length not a multiple of 8", f"{len(data)} bytes")
        self.expire(time_ns)
        pending = self.pending.get(key)
        if pending is None:
            if self.max_buffers <= 0:
                self.dropped.append(([frame], Malformed(INCOMPLETE, f"id 0x{ident:x}, reassembly disabled")))
                return None
            while len(self.pending) >= self.max_buffers:
                self.evicted += 1
                self._drop(
                    next(iter(self.pending)),
                    INCOMPLETE,
                    f"dropped, more than {self.max_buffers} datagrams under reassembly",
                )
            pending = self.pending[key] = _Pending(ident, time_ns)
        pending.frames.append(frame)
        if len(pending.frames) > MAX_FRAGMENTS:
            self._drop(key, INCONSISTENT, f"more than {MAX_FRAGMENTS} fragments")
            return None
        if not more:
            if pending.total is not None and pending.total != end:
                self._drop(key, INCONSISTENT, f"two last fragments ending at {pending.total} and {end}")
                return None
            pending.total = end
        held_end = pending.pieces[-1][1] if pending.pieces else 0
        if pending.total is not None and max(end, held_end) > pending.total:
            self._drop(key, INCONSISTENT, f"data beyond the last fragment's end {pending.total}")
            return None
        if offset == 0 and pending.first is None:
            pending.first = first
        self._insert(pending, offset, end, data)
        if pending.total is None or pending.covered != pending.total or pending.first is None:
            return None
        del self.pending[key]
        payload = b"".join(piece for _start, _end, piece in pending.pieces)
        return Reassembled(
            tuple(pending.frames), pending.first, payload, pending.overlapping, pending.duplicated
        )

    @staticmethod
    def _insert(pending: _Pending, start: int, end: int, data: bytes) -> None:
        """Store the parts of [start, end) not held yet; bytes already held win (first arrival)."""
        pieces, starts = pending.pieces, pending.starts
        index = max(bisect_right(starts, start) - 1, 0)
        cursor = start
        new: list[tuple[int, int, bytes]] = []
        while index < len(pieces) and cursor < end:
            held_start, held_end, held = pieces[index]
            index += 1
            if held_end <= cursor:
                continue
            if held_start >= end:
                break
            if held_start > cursor:
                new.append((cursor, held_start, data[cursor - start : held_start - start]))
            overlap_start, overlap_end = max(held_start, cursor), min(held_end, end)
            if (
                held[overlap_start - held_start : overlap_end - held_start]
                == data[overlap_start - start : overlap_end - start]
            ):
                pending.duplicated = True
            else:
                pending.overlapping = True
            cursor = overlap_end
        if cursor < end:
            new.append((cursor, end, data[cursor - start :]))
        for piece in new:
            if piece[1] > piece[0]:
                position = bisect_right(starts, piece[0])
                starts.insert(position, piece[0])
                pieces.insert(position, piece)
                pending.covered += piece[1] - piece[0]

    def expire(self, now_ns: int) -> None:
        """Drop datagrams whose first fragment is older than the timeout (capture time)."""
        pending = self.pending
        while pending:
            key = next(iter(pending))
            if now_ns - pending[key].started_ns <= self.timeout_ns:
                return
            self._drop(key, INCOMPLETE, f"timed out after {self.timeout_ns / 1e9:g} s")

    def flush(self) -> None:
        """End of capture: everything still pending is incomplete."""
        for key in list(self.pending):
            self._drop(key, INCOMPLETE, "capture ended")

    def _drop(self, key: Any, reason: str, why: str) -> None:
        pending = self.pending.pop(key)
        self.dropped.append((pending.frames, Malformed(reason, pending.describe(why))))
