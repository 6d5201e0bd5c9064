"""A pcap file's chunks found by walking its parts in parallel (issue 19, "parallel walk").

``plan_chunks`` walks every record header of a capture in one process: about 0.3 us per record,
half of what the main process spends per record when workers read the chunks. For a regular,
uncompressed pcap file the walk is split instead: the file is cut into *parts* of about
``part_bytes`` (a multiple of ``chunk_bytes`` from the first record, so a part's chunk cuts are
those of ``plan_chunks``, whose cuts lie on the same grid: ``chunks.next_cut``) and each part is
walked by a worker (``walk_part``, pure functions over the file's bytes):

* the first part starts at the first record (exact); another finds the first offset at or past
  its start that looks like a record boundary: a record header with a plausible captured length
  (1 to ``MAX_RECORD_BYTES``, <= the original length) and sub-second field (< 10^6 us or 10^9
  ns), followed by ``CHAIN_RECORDS`` more plausible headers (or the end of the data), each at
  most ``CHAIN_SECONDS`` from the one before (a guess landing in a packet jumps in time when it
  rejoins the records), and not four bytes into another such chain (``find_boundary``). A
  regular expression finds the offsets whose bytes can hold such a header (runs of zero bytes
  are passed over), so the search runs in C up to the first record (about one record's bytes);
  after ``MAX_GUESSES`` candidates the worker gives up and the main process walks the part;
* from there it walks the headers with ``plan_chunks``' own checks and cuts, to the first whole
  record at or past the part's end (the next part's true start), or to where the records stop
  (the end of the data, a truncated record, a corrupt length).

``PartPlan`` (the main process's side, sans-IO) takes the parts' answers in order and accepts a
part's walk only if it started where the part before it ended: the first part's start is exact,
so by induction every accepted walk is exactly ``plan_chunks``' walk. A part that guessed wrong
(the heuristic fooled, say by a payload holding a pcap file) is walked again here from the
verified end. The chunks are therefore always ``plan_chunks``'; the heuristic only decides how
much of the walk the main process does itself.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import NamedTuple, cast

from .chunks import CaptureBytes, Chunk, _head, next_cut
from .pcap import PCAP_MAGICS, RECORD_HEADER_LEN
from .records import MAX_RECORD_BYTES

CHAIN_RECORDS = 8  # plausible headers after a candidate boundary before a part's walk starts there
CHAIN_SECONDS = 86_400  # at most this far apart in time, one header to the next

MAX_GUESSES = 4096  # candidates checked in one part before its worker gives up (the main walks it)

# Offsets whose 12 bytes can start a plausible record header: the sub-second field's high bytes
# (< 2^20 for microseconds, < 0x3C000000 for nanoseconds) and the captured length (not 0; its top
# byte <= 1: at most MAX_RECORD_BYTES = 2^24), so that runs of zero bytes are passed over in C.
# Keyed by (byte order, nanosecond resolution).
_CAPLEN_LE = rb"(?!\x00{4})...[\x00\x01]"
_CAPLEN_BE = rb"(?!\x00{4})[\x00\x01]..."
_CANDIDATES = {
    ("<", False): re.compile(rb"(?s).{6}[\x00-\x0f]\x00" + _CAPLEN_LE),
    ("<", True): re.compile(rb"(?s).{7}[\x00-\x3b]" + _CAPLEN_LE),
    (">", False): re.compile(rb"(?s).{4}\x00[\x00-\x0f].{2}" + _CAPLEN_BE),
    (">", True): re.compile(rb"(?s).{4}[\x00-\x3b].{3}" + _CAPLEN_BE),
}
assert MAX_RECORD_BYTES <= 2 << 24  # what the patterns' captured-length byte allows


class PcapLayout(NamedTuple):
    """What a part's walk needs to know of the file: from its 24-byte header."""

    first: int  # offset of the first record (the file header's length)
    order: str  # struct byte order
    fraction_limit: int  # the sub-second field is below this (10^6 us, 10^9 ns)


def pcap_layout(head: bytes) -> PcapLayout | None:
    """The layout of a pcap file whose header is ``head``; None for another format (pcapng)."""
    magic = PCAP_MAGICS.get(bytes(head[:4]))
    if magic is None:
        return None
    order, fraction_ns = magic
    return PcapLayout(len(head), order, 1_000_000_000 // fraction_ns)


class Walked(NamedTuple):
    """A walk of one part's records."""

    start: int  # where the walk began (-1: no plausible record boundary in the part)
    cuts: list[tuple[int, int]]  # chunk starts after ``start`` and before ``end``, each with the
    # records walked before it
    end: int  # where the walk stopped: see ``whole``
    records: int  # records from ``start`` to ``end``
    whole: bool  # ``end`` starts a whole record (the next part's first chunk); False: the records
    # stop before the part's end (end of the data, a truncated record or a corrupt length)


def walk_records(
    buf: CaptureBytes, layout: PcapLayout, start: int, part_end: int, chunk_bytes: int
) -> Walked:
    """Walk the record headers from ``start`` (a record boundary) as ``plan_chunks`` does, noting
    each chunk cut (``next_cut``), up to the first whole record at or past ``part_end``."""
    caplen_at = struct.Struct(layout.order + "I").unpack_from
    size = len(buf)
    first = layout.first
    at, records = start, 0
    cut_at = next_cut(start, first, chunk_bytes)
    cuts: list[tuple[int, int]] = []
    while at + RECORD_HEADER_LEN <= size:
        caplen = caplen_at(buf, at + 8)[0]
        if caplen > MAX_RECORD_BYTES:
            break  # corrupt: the walk stops (the last chunk's reader reports it)
        record_end = at + RECORD_HEADER_LEN + caplen
        if record_end > size:
            break  # truncated
        if at >= cut_at:
            if at >= part_end:
                return Walked(start, cuts, at, records, True)
            cuts.append((at, records))
            cut_at = next_cut(at, first, chunk_bytes)
        records += 1
        at = record_end
    return Walked(start, cuts, at, records, False)


def plausible_chain(buf: CaptureBytes, at: int, layout: PcapLayout, records: int = CHAIN_RECORDS) -> bool:
    """Whether ``at`` and the ``records`` record headers after it look like pcap record headers
    (a chain ending exactly at the end of the data counts as plausible; one running past it does
    not: a truncated last record is missed, and walked by the main process)."""
    unpack = struct.Struct(layout.order + "IIII").unpack_from
    size, fraction_limit = len(buf), layout.fraction_limit
    last_seconds = -1
    for _ in range(records + 1):
        if at + RECORD_HEADER_LEN > size:
            return at == size
        seconds, fraction, caplen, orig_len = unpack(buf, at)
        if (
            fraction >= fraction_limit
            or not 0 < caplen <= orig_len
            or caplen > MAX_RECORD_BYTES
            or (last_seconds >= 0 and abs(seconds - last_seconds) > CHAIN_SECONDS)
        ):
            return False
        last_seconds = seconds
        at += RECORD_HEADER_LEN + caplen
    return at <= size


def find_boundary(
    buf: CaptureBytes, layout: PcapLayout, part_start: int, part_end: int, records: int = CHAIN_RECORDS
) -> int:
    """The first offset in ``part_start .. part_end`` that looks like a record boundary
    (``plausible_chain``); -1 if none does, or none of the first ``MAX_GUESSES`` candidates. A
    guess: ``PartPlan`` checks it."""
    search = _CANDIDATES[layout.order, layout.fraction_limit > 1_000_000].search
    end = min(len(buf), part_end + 11)  # a candidate's 12 bytes may run past the part
    at = part_start
    for _ in range(MAX_GUESSES):
        match = search(cast(bytes, buf), at, end)
        if match is None:
            return -1
        at = match.start()
        # four bytes into a record whose captured and original lengths are equal, the original
        # length, the data and so on read as a chain of plausible headers too: the record itself
        # (four bytes before) then looks plausible as well
        if plausible_chain(buf, at, layout, records) and not (
            at >= 4 and plausible_chain(buf, at - 4, layout, records)
        ):
            return at
        at += 1
    return -1


def walk_part(
    buf: CaptureBytes, layout: PcapLayout, part_start: int, part_end: int, chunk_bytes: int
) -> Walked:
    """A worker's walk of the part ``part_start .. part_end`` of the whole file ``buf``: from the
    first record (the first part) or the first plausible boundary, to the next part's start."""
    start = part_start if part_start == layout.first else find_boundary(buf, layout, part_start, part_end)
    if start < 0:
        return Walked(-1, [], -1, 0, False)
    return walk_records(buf, layout, start, part_end, chunk_bytes)


class PartPlan:
    """The main process's side of the parallel walk of a pcap file held in ``view`` (an mmap):
    the parts to hand out (``part``; ``needed`` says whether one can still hold a chunk start),
    and ``accept`` taking their walks in part order and giving the chunks, exactly
    ``plan_chunks(view, chunk_bytes)``'s. A walk that did not start where the part before it ended
    is redone here (``misses`` counts them, ``walked_here`` the records walked here)."""

    def __init__(
        self, view: CaptureBytes, chunk_bytes: int, *, part_bytes: int | None = None, name: str = "<capture>"
    ) -> None:
        if chunk_bytes < 1:
            raise ValueError("chunk_bytes must be at least 1")
        head, first = _head(view, name)  # the reader's CaptureError for what is no capture
        layout = pcap_layout(head)
        if layout is None:
            raise ValueError("the parallel walk reads pcap files only")
        self.view, self.layout, self.prefix, self.chunk_bytes = view, layout, head, chunk_bytes
        self.size = len(view)
        self.part_bytes = -(-max(part_bytes or chunk_bytes, chunk_bytes) // chunk_bytes) * chunk_bytes
        self.parts = max(1, -(-(self.size - first) // self.part_bytes))
        self.pos = first  # the verified start of the next chunk
        self.records_before = 0
        self.index = 0  # the next chunk's
        self.next_part = 0  # the next part accept takes
        self.done = False  # the last chunk was given
        self.misses = 0
        self.walked_here = 0

    def part(self, number: int) -> tuple[int, int]:
        """The byte range of part ``number``."""
        start = self.layout.first + number * self.part_bytes
        return start, start + self.part_bytes

    def needed(self, number: int) -> bool:
        """Whether part ``number`` may still hold a chunk start (else its walk is not needed)."""
        return not self.done and self.part(number)[1] > self.pos

    def accept(self, number: int, walked: Walked | None) -> list[Chunk]:
        """The chunks part ``number`` verifiably starts (parts in order, each once); ``walked``:
        its worker's walk, or None to walk it here."""
        if number != self.next_part:
            raise ValueError(f"part {number} accepted out of order (expected {self.next_part})")
        self.next_part += 1
        part_end = self.part(number)[1]
        if self.done or self.pos >= part_end:
            return []  # a record spans the part (or the records stopped before it)
        if walked is None or walked.start != self.pos:
            self.misses += walked is not None
            walked = walk_records(self.view, self.layout, self.pos, part_end, self.chunk_bytes)
            self.walked_here += walked.records
        chunks = []
        start, before = self.pos, 0
        for at, records in walked.cuts:
            chunks.append(self._chunk(start, at, False))
            self.records_before += records - before
            start, before = at, records
        if walked.whole:
            chunks.append(self._chunk(start, walked.end, False))
            self.records_before += walked.records - before
            self.pos = walked.end
        else:
            chunks.append(self._chunk(start, max(self.size, start), True))
            self.done = True
        return chunks

    def _chunk(self, start: int, end: int, last: bool) -> Chunk:
        chunk = Chunk(self.index, start, end, self.records_before, last, self.prefix)
        self.index += 1
        return chunk

    def walk_here(self) -> Iterator[Chunk]:
        """Every chunk, each part walked in this process as a worker would (tests; ``workers=0``)."""
        for number in range(self.parts):
            if self.done:
                return
            walked = None
            if self.needed(number):
                start, end = self.part(number)
                walked = walk_part(self.view, self.layout, start, end, self.chunk_bytes)
            yield from self.accept(number, walked)


__all__ = [
    "CHAIN_RECORDS",
    "PartPlan",
    "PcapLayout",
    "Walked",
    "find_boundary",
    "pcap_layout",
    "plausible_chain",
    "walk_part",
    "walk_records",
]
