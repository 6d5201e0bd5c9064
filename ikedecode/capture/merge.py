"""Several capture files read as one, merged by time exactly as ``mergecap`` merges them.

``open_captures(paths)`` returns one ``CaptureReader`` over all the files: its records come from
every file in capture-time order, so the pipeline runs unchanged and ties SAs across files (IKE
in one file and its ESP in the next, an exchange split over two rotated files). Frames are
numbered in merged order: frame N here is frame N of ``mergecap -w out.pcapng FILES...`` (same
file order), whatever the files' formats, interfaces and compression.

The order is mergecap's (wiretap ``merge_read_packet``): each step takes the earliest of the
files' next records; on equal times the file given *last* wins (mergecap's comparison keeps the
later file on ties); records of one file keep their order even when its times go backwards.

Memory stays flat: one record is buffered per file, and a file is opened only when its first
record comes up and closed when it is exhausted, so a directory of rotated captures holds one
file open at a time (files whose times overlap are open together).
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator, Sequence
from typing import Any

from .reader import CaptureReader, open_capture
from .records import Record, RecordIterator
from .sources import CaptureSource, merged_name, merged_truncation


class _Member:
    """One input file of a merge: where it is, what it is, and what was read from it."""

    __slots__ = (
        "path",
        "name",
        "format",
        "compressed",
        "size",
        "head",
        "records",
        "stream",
        "frames",
        "first_ns",
        "last_ns",
        "truncated",
        "done",
    )

    def __init__(self, path: str, reader: CaptureReader, head: Record | None) -> None:
        self.path = path
        self.name = reader.name
        self.format = reader.format
        self.compressed = bool(reader.compressed)
        try:
            self.size = os.path.getsize(path)
        except OSError:
            self.size = 0
        self.head = head  # the first record, read when the file was probed
        self.records: Any = None  # the format reader while the file is open
        self.stream: Any = None
        self.frames = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        # a file without a single record is never reopened: keep why it ended now
        self.truncated: str | None = reader.records.truncated if head is None else None
        self.done = head is None

    def source(self) -> CaptureSource:
        truncated = self.truncated
        if truncated is None and self.records is not None:
            truncated = self.records.truncated
        return CaptureSource(
            self.name,
            self.format,
            self.compressed,
            self.frames,
            None if self.first_ns is None else self.first_ns / 1e9,
            None if self.last_ns is None else self.last_ns / 1e9,
            truncated,
        )


class MergedRecords:
    """The record source of a merged reader: ``(linktype, time_ns, data, orig_len)`` in merged order."""

    def __init__(self, members: list[_Member], reader_options: dict[str, Any]) -> None:
        self._members = members
        self._options = reader_options
        formats = sorted({m.format for m in members})
        self.format_name = formats[0] if len(formats) == 1 else "+".join(formats)

    @property
    def truncated(self) -> str | None:
        return merged_truncation([(m.name, m.source().truncated) for m in self._members])

    def bytes_read(self) -> int:
        """Bytes of all files consumed so far (compressed bytes for gzip), for progress reports."""
        total = 0
        for member in self._members:
            if member.done:
                total += member.size
            elif member.stream is not None:
                try:
                    total += member.stream.tell()
                except (OSError, ValueError):
                    pass
        return total

    def close(self) -> None:
        for member in self._members:
            self._close(member)

    def __iter__(self) -> RecordIterator:
        return self._merge()

    # -- internals --------------------------------------------------------------------------------

    def _open(self, member: _Member) -> Iterator[Record]:
        reader = open_capture(member.path, **self._options)
        member.records = reader.records
        member.stream = reader.detach_stream()  # closed here, when the file is exhausted
        return iter(member.records)

    def _close(self, member: _Member) -> None:
        if member.records is not None and member.truncated is None:
            member.truncated = member.records.truncated
        member.records = None  # drops the file's read buffer
        if member.stream is not None:
            member.stream.close()
            member.stream = None

    def _merge(self) -> Iterator[Record]:  # noqa: C901 - one loop, kept flat for speed
        members = self._members
        iterators: list[Iterator[Record] | None] = [None] * len(members)
        # Heap entries (time_ns, -index, record): the earliest time first and, on equal times, the
        # file given last (mergecap). (time, -index) is unique, so records are never compared.
        heap = [(m.head[1], -index, m.head) for index, m in enumerate(members) if m.head is not None]
        heapq.heapify(heap)
        pop, push = heapq.heappop, heapq.heappush
        try:
            while heap:
                time_ns, key, record = pop(heap)
                index = -key
                member = members[index]
                iterator = iterators[index]
                if iterator is None:
                    # First record of a file not opened yet: open it and read that record again.
                    iterator = iterators[index] = self._open(member)
                    member.head = None
                    first_record = next(iterator, None)
                    if first_record is None:
                        member.done = True
                        self._close(member)
                        continue
                    record = first_record
                    if record[1] != time_ns:  # the file changed since it was probed
                        push(heap, (record[1], key, record))
                        continue
                    member.first_ns = time_ns
                member.frames += 1
                member.last_ns = time_ns
                yield record
                # Go on in this file while its next record still comes first.
                if heap:
                    limit, other = heap[0][0], heap[0][1]
                    for record in iterator:
                        time_ns = record[1]
                        if time_ns < limit or (time_ns == limit and key < other):
                            member.frames += 1
                            member.last_ns = time_ns
                            yield record
                        else:
                            push(heap, (time_ns, key, record))
                            break
                    else:
                        member.done = True
                        self._close(member)
                else:
                    for record in iterator:
                        member.frames += 1
                        member.last_ns = record[1]
                        yield record
                    member.done = True
                    self._close(member)
        finally:
            self.close()


class _Streams:
    """Stands in for the merged reader's owned stream: ``tell`` sums the files, ``close`` closes them."""

    def __init__(self, records: MergedRecords) -> None:
        self._records = records

    def tell(self) -> int:
        return self._records.bytes_read()

    def close(self) -> None:
        self._records.close()


class MergedCaptureReader(CaptureReader):
    """A ``CaptureReader`` over several files; ``sources`` describes each (name, format, frames...).

    Everything after the record source (link layers, IP reassembly, classification, accounting,
    frame numbering) is ``CaptureReader``'s own code, run once over the merged records.
    """

    def __init__(
        self,
        template: CaptureReader,
        members: list[_Member],
        options: dict[str, Any],
        name: str | None = None,
    ) -> None:
        # Adopt the state a CaptureReader builds in __init__ (classifier, reassembler, counters) from
        # a reader opened with the same options, and read records from the merge instead of one file.
        self.__dict__.update(template.__dict__)
        self._merged = MergedRecords(members, options)
        self._records = self._merged
        self._owned_stream = _Streams(self._merged)  # type: ignore[assignment]
        self.name = name or merged_name([m.name for m in members])
        self.format = self._merged.format_name
        self.compressed = any(m.compressed for m in members)
        self._members = members

    @property
    def sources(self) -> list[CaptureSource]:
        return [m.source() for m in self._members]


def open_captures(
    paths: Sequence[str | os.PathLike[str]], *, name: str | None = None, **kwargs: Any
) -> CaptureReader:
    """One reader over every capture in ``paths`` (merged by time); ``kwargs`` go to ``CaptureReader``.

    One path gives exactly ``open_capture(path)``. Every file is checked up front (it exists and
    is a capture: ``CaptureError`` with a one-line message otherwise) and its first record read;
    the files are then reopened one by one as the merge reaches them.
    """
    if not paths:
        raise ValueError("no capture files given")
    if len(paths) == 1:
        return open_capture(paths[0], **kwargs)
    members: list[_Member] = []
    template: CaptureReader | None = None
    for path in paths:
        probe = open_capture(path, **kwargs)
        try:
            head = next(iter(probe.records), None)
            members.append(_Member(os.fsdecode(path), probe, head))
        finally:
            stream = probe.detach_stream()
            if stream is not None:
                stream.close()
        if template is None:
            template = probe  # never iterated: its fresh state is what the merged reader adopts
    assert template is not None
    return MergedCaptureReader(template, members, dict(kwargs), name)
