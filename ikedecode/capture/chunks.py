"""One capture cut into chunks at record boundaries, for reading in parallel (stage 1 of issue 19).

``plan_chunks(view, chunk_bytes)`` walks the record headers of a whole capture held in memory (an
mmap of the file, or the bytes of a decompressed one) and yields each ``Chunk`` as soon as its end
is known: a byte range holding whole records, numbered, with the ``prefix`` a format reader needs
to start reading there. ``ChunkFeeder`` does the same for a stream (gzip, a pipe), read once,
handing on each chunk's bytes. ``capture/chunk_scan.py`` reads one chunk; ``capture/chunk_join.py``
puts the chunks' results back together, equal to one sequential read.

The walk reads no packet data: pcap (draft-ietf-opsawg-pcap) records are a 16-byte header and
the captured bytes; pcapng (draft-ietf-opsawg-pcapng) blocks are ``type, total length, body,
total length``. It checks every length the sequential readers check, so a chunk ends only where
they would read on cleanly. At a corrupt length or a truncated tail the walk stops: everything
from there on belongs to the last chunk, whose reading reports it exactly as a sequential read
does (same record number and byte offset).

pcapng: a chunk starts only before an enhanced (or obsolete) packet block on a defined interface.
Its ``prefix`` is the section header and interface descriptions in force there, re-read by the
chunk's reader (no frame counted). A simple packet block, or a packet on an undefined interface,
takes its time from the packet before it, so a chunk never starts with one.

Cost of the walk (``python -m tests.capture.bench_chunks``, CPU time): about 0.3 us per record for
pcap and 0.45 us per block for pcapng (CPython 3.11.7, one core of the project's shared 2-core AMD
EPYC VM), i.e. about 0.2 s of the main process for 1 GB of 1,400-byte records (720,000 records),
against about 1 us per record for a sequential read of the same records.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from .errors import CaptureError
from .formats import open_format
from .pcap import FILE_HEADER_LEN, PCAP_MAGICS, RECORD_HEADER_LEN, PcapReader
from .pcapng import (
    BLOCK_HEADER_LEN,
    BLOCK_NAMES,
    BYTE_ORDER_MAGICS,
    EPB_MIN_LEN,
    EPB_TYPE,
    IDB_TYPE,
    SHB_MIN_LEN,
    SHB_TYPE,
    SPB_TYPE,
)
from .records import MAX_RECORD_BYTES
from .source import CHUNK_SIZE, ByteSource

IDB_MIN_LEN = 20  # shorter interface descriptions define no interface (PcapngReader)
SPB_MIN_LEN = 16  # shorter simple packet blocks carry no record


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole records of a capture, ``start`` to ``end`` (offsets in the decompressed capture)."""

    index: int  # 0, 1, 2, ... in file order
    start: int  # offset of the chunk's first record (pcapng: block)
    end: int  # offset just past its last (== the next chunk's start); the last chunk: end of data
    records_before: int  # records before the chunk: its first frame is records_before + 1
    last: bool  # the final chunk: reads to the end and reports a truncation or corruption
    prefix: bytes  # what a format reader needs before ``start``: pcap, the file header; pcapng,
    # the section header and interface descriptions in force at ``start``


class _Walk:
    """The state of a header walk, fed the capture's bytes in one piece or window by window.

    ``advance(buf, base)`` walks ``buf`` (its first byte at capture offset ``base``) from
    ``pos`` as far as it holds whole records and yields every chunk whose end it found; ``last``
    then gives the chunk that runs to the end of the data.
    """

    def __init__(self, head: bytes, first: int, chunk_bytes: int, chunk_records: int | None) -> None:
        if chunk_bytes < 1:
            raise ValueError("chunk_bytes must be at least 1")
        if chunk_records is not None and chunk_records < 1:
            raise ValueError("chunk_records must be at least 1")
        self.chunk_bytes = chunk_bytes
        self.chunk_records = chunk_records or 1 << 62
        self.first = first
        self.cut_at = first + chunk_bytes  # the current chunk ends before the first record here or past
        self.pcapng = head[:4] not in PCAP_MAGICS
        self.index = 0
        self.start = self.pos = first  # the current chunk's start; the next record's offset
        self.records_before = 0
        self.in_chunk = 0  # records in the current chunk so far
        self.stopped = False  # a corrupt length: the rest is the last chunk's
        self.prefix = head  # pcap: the file header; pcapng: the current section's SHB and IDBs
        self.prefix_blocks = [head]
        self.start_prefix = head  # the current chunk's prefix
        self._section(PCAP_MAGICS[head[:4]][0] if not self.pcapng else BYTE_ORDER_MAGICS[head[8:12]])

    def _joined_prefix(self) -> bytes:
        if not self.prefix:
            self.prefix = b"".join(self.prefix_blocks)
        return self.prefix

    def _cut(self, at: int) -> Chunk:
        chunk = Chunk(self.index, self.start, at, self.records_before, False, self.start_prefix)
        self.start_prefix = self._joined_prefix()  # the next chunk's: in force at ``at``
        self.index += 1
        self.records_before += self.in_chunk
        self.start, self.in_chunk = at, 0
        self.cut_at = next_cut(at, self.first, self.chunk_bytes)
        return chunk

    def last(self, end: int) -> Chunk:
        return Chunk(
            self.index, self.start, max(end, self.start), self.records_before, True, self.start_prefix
        )

    def advance(self, buf: bytes, base: int) -> Iterator[Chunk]:
        if self.stopped:
            return
        if self.pcapng:
            yield from self._advance_pcapng(buf, base)
        else:
            yield from self._advance_pcap(buf, base)

    def _advance_pcap(self, buf: bytes, base: int) -> Iterator[Chunk]:
        caplen_at = struct.Struct(self.order + "I").unpack_from
        size = len(buf)
        at, in_chunk = self.pos - base, self.in_chunk  # ``at``: the next record's place in ``buf``
        # a chunk ends before the first record at or past cut_at, or after cut_records records (its
        # first record never ends it: cut_at is past its start)
        cut_at, cut_records = self.cut_at - base, self.chunk_records
        while at + RECORD_HEADER_LEN <= size:
            caplen = caplen_at(buf, at + 8)[0]
            if caplen > MAX_RECORD_BYTES:
                self.stopped = True
                break
            record_end = at + RECORD_HEADER_LEN + caplen
            if record_end > size:
                break
            if at >= cut_at or in_chunk >= cut_records:
                self.in_chunk = in_chunk
                yield self._cut(at + base)
                cut_at, in_chunk = self.cut_at - base, 0
            in_chunk += 1
            at = record_end
        self.pos, self.in_chunk = at + base, in_chunk

    def _advance_pcapng(self, buf: bytes, base: int) -> Iterator[Chunk]:
        end = base + len(buf)
        pos = self.pos
        while pos + BLOCK_HEADER_LEN <= end:
            # enhanced packet blocks of the current section, the bulk of a file, take the short way
            at = pos - base
            header, u32 = self._header, self._u32
            block_type, block_len = header(buf, at)
            if (
                block_type == EPB_TYPE
                and EPB_MIN_LEN <= block_len <= MAX_RECORD_BYTES
                and not block_len & 3
                and pos + block_len <= end
                and u32(buf, at + block_len - 4)[0] == block_len
            ):
                in_chunk = self.in_chunk
                if (
                    in_chunk
                    and (pos >= self.cut_at or in_chunk >= self.chunk_records)
                    and u32(buf, at + 8)[0] < self.interfaces
                ):
                    self.pos = pos
                    yield self._cut(pos)
                self.in_chunk += 1
                pos += block_len
                continue
            self.pos = pos
            cut = self._other_block(buf, base, end)
            if cut is not None:
                yield cut
            if self.stopped or self.pos == pos:
                break
            pos = self.pos
        self.pos = pos

    def _other_block(self, buf: bytes, base: int, end: int) -> Chunk | None:  # noqa: C901 - the reader's checks, in order
        """The block at ``pos`` as ``PcapngReader._next_block`` reads it: ``pos`` moves past it when
        it is whole and sound, ``stopped`` is set at a corrupt one; a chunk ending before it, if any."""
        pos = self.pos
        at = pos - base
        order = self.order
        if buf[at : at + 4] == b"\x0a\x0d\x0d\x0a":  # SHB: its own byte order
            if pos + 12 > end:
                return None
            section_order = BYTE_ORDER_MAGICS.get(bytes(buf[at + 8 : at + 12]))
            if section_order is None:
                self.stopped = True
                return None
            order = section_order
        block_type, block_len = struct.unpack_from(order + "II", buf, at)
        if block_len < 12 or block_len % 4 or block_len > MAX_RECORD_BYTES:
            self.stopped = True
            return None
        if pos + block_len > end:
            return None
        cut = None
        if block_type not in BLOCK_NAMES:
            pass  # skipped by the reader, trailing length unchecked
        elif block_type == SHB_TYPE:
            if (
                block_len < SHB_MIN_LEN
                or struct.unpack_from(order + "H", buf, at + 12)[0] != 1
                or struct.unpack_from(order + "I", buf, at + block_len - 4)[0] != block_len
            ):
                self.stopped = True
                return None
            self._section(order)
            self.prefix_blocks = [bytes(buf[at : at + block_len])]
            self.prefix = self.prefix_blocks[0]
        elif struct.unpack_from(order + "I", buf, at + block_len - 4)[0] != block_len:
            self.stopped = True
            return None
        elif block_type == IDB_TYPE:
            if block_len >= IDB_MIN_LEN:
                self.interfaces += 1
                self.prefix_blocks.append(bytes(buf[at : at + block_len]))
                self.prefix = b""  # joined when a chunk starts
        elif block_type == SPB_TYPE:
            self.in_chunk += block_len >= SPB_MIN_LEN
        elif block_len >= EPB_MIN_LEN:  # an EPB or PB the short way did not take: a record
            if self.in_chunk and (pos >= self.cut_at or self.in_chunk >= self.chunk_records):
                field = "I" if block_type == EPB_TYPE else "H"  # PB: 16-bit interface id
                if struct.unpack_from(order + field, buf, at + 8)[0] < self.interfaces:
                    cut = self._cut(pos)
            self.in_chunk += 1
        self.pos = pos + block_len
        return cut

    def _section(self, order: str) -> None:
        self.order = order
        self._header = struct.Struct(order + "II").unpack_from
        self._u32 = struct.Struct(order + "I").unpack_from
        self.interfaces = 0


CaptureBytes = bytes | mmap.mmap  # slicing gives bytes


def next_cut(start: int, first: int, chunk_bytes: int) -> int:
    """Where the chunk starting at ``start`` ends: before the first record at or past this, the
    next multiple of ``chunk_bytes`` from the first record (a grid, so that where chunks start does
    not depend on where earlier ones did: ``capture/chunk_walk.py`` walks parts in parallel)."""
    return first + ((start - first) // chunk_bytes + 1) * chunk_bytes


def _head(view: CaptureBytes, name: str) -> tuple[bytes, int]:
    """The capture's header (pcap file header or first SHB) and where the records start; the
    reader's ``CaptureError`` for anything that is no capture."""
    source = ByteSource.in_memory(cast(bytes, view), name)
    records = open_format(source, name)
    first = FILE_HEADER_LEN if isinstance(records, PcapReader) else source.pos
    return bytes(view[:first]), first


def plan_chunks(
    view: CaptureBytes, chunk_bytes: int, *, chunk_records: int | None = None, name: str = "<capture>"
) -> Iterator[Chunk]:
    """The chunks of the capture ``view`` (bytes, or an mmap: the whole decompressed capture):
    each ends at the first record boundary at or past the next multiple of ``chunk_bytes`` from
    the first record (``next_cut``; or after ``chunk_records`` records), holds at least one record,
    and is yielded as soon as its end is known. The last runs to the end of ``view``.
    ``CaptureError`` (the reader's one line) when ``view`` is no capture."""
    head, first = _head(view, name)
    walk = _Walk(head, first, chunk_bytes, chunk_records)
    yield from walk.advance(cast(bytes, view), 0)
    yield walk.last(len(view))


class ChunkFeeder:
    """A capture stream (gzip or not, a pipe) read once and cut as ``plan_chunks`` cuts it:
    iterating yields ``(Chunk, bytes of the chunk)``. Holds one chunk and one read-ahead window.

    After a corrupt length the stream is not read further (nor is it by the sequential reader):
    the last chunk then ends where reading stopped. ``end_error`` is why the stream stopped being
    readable (gzip), for the last chunk's ``scan_chunk``.
    """

    def __init__(
        self,
        stream: BinaryIO,
        chunk_bytes: int,
        *,
        chunk_records: int | None = None,
        name: str = "<stream>",
    ) -> None:
        self._source = ByteSource(stream, name)
        self.compressed = self._source.compressed
        records = open_format(self._source, name)
        self.format = records.format_name
        first = self._source.offset()
        source = self._source
        head = bytes(source.buf[source.pos - first : source.pos])
        self._walk = _Walk(head, first, chunk_bytes, chunk_records)
        self.end_error: str | None = None

    def __iter__(self) -> Iterator[tuple[Chunk, bytes]]:
        source, walk = self._source, self._walk
        source.pos = walk.start - source.base
        while True:
            buf, base = source.buf, source.base
            for chunk in walk.advance(buf, base):
                yield chunk, buf[chunk.start - base : chunk.end - base]
                source.pos = chunk.end - source.base
            # read on, at least as much as is held (one chunk grows by doubling, not by appending
            # one window at a time to an ever larger buffer)
            if walk.stopped or not source.fill(2 * source.available()):
                break
        if walk.stopped and not walk.pcapng:
            # a corrupt record: read on as far as a sequential read would have (whole CHUNK_SIZE
            # reads from offset 0), to know whether it would have met the stream's failure
            read_to = -(-(walk.pos + RECORD_HEADER_LEN) // CHUNK_SIZE) * CHUNK_SIZE
            source.ensure(read_to - source.offset())
        self.end_error = source.error
        chunk = walk.last(source.base + len(source.buf))
        yield chunk, source.buf[chunk.start - source.base :]


__all__ = ["Chunk", "ChunkFeeder", "CaptureError", "plan_chunks"]
