"""The worker side of one capture on every core (``parallel/chunk_work.py``): the two stages on
a process's own chunks, and the loop of a worker process that runs them on the main process's
commands.

A worker reads its chunks from the file itself (a mapping of their pages), or from a shared-memory
slot or its pipe (a gzip stream the main process reads once); it walks and scans a pcap file's
parts at once (``capture/part_scan.py``), keeps each chunk's ESP batches until the main process
has it opened (``esp/chunk_open.py``) with the SAs planned so far (``esp/sa_plan.py``).
"""

from __future__ import annotations

import mmap
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from ikedecode.capture.batch import EspBatch
from ikedecode.capture.chunk_scan import ChunkItem, ChunkScan, EspRun, scan_chunk
from ikedecode.capture.chunk_walk import PcapLayout
from ikedecode.capture.chunks import Chunk
from ikedecode.capture.datagram import Kind
from ikedecode.capture.errors import CaptureError
from ikedecode.capture.part_scan import PartScan, scan_part
from ikedecode.capture.source import ByteSource
from ikedecode.esp.chunk_open import Residue, open_batches
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sa_plan import PlannedSa, SaPlan
from ikedecode.esp.sadb import SaDatabase

LIVE_PER_WORKER = 3  # chunks per worker between hand-out and residues taken (one scanning, one
# waiting for the engine, one being opened)
SCAN, PLAN, OPEN, SCANNED, OPENED, FAILED = "scan", "plan", "open", "scanned", "opened", "failed"
PART, PARTED, DROP = "part", "parted", "drop"  # a pcap file's part walked and scanned at once

# What a worker keeps a chunk's batches under: the chunk's index (scanned by itself), or
# (part number, chunk of the part) for a part walked and scanned at once (its chunks' indexes
# are known only once the main process accepts the part's walk)
Key = int | tuple[int, int]

Residues = list[list[Residue]]  # a chunk's: per batch, per span
PartAnswer = tuple[PartScan | None, list[Residues | None]]  # per chunk of the part, its eager residues

# A chunk's bytes as the main process hands them over: None (the worker reads the file), a
# shared-memory slot, or the bytes themselves (through the pipe)
Where = tuple[str, int] | bytes | None


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    """What every worker needs to scan and open chunks the same way."""

    path: str | None  # a regular, uncompressed capture file the workers read; None: bytes handed over
    scan_options: dict[str, Any] = field(default_factory=dict)  # scan_chunk's keyword arguments
    want_plaintext: bool = False  # --write-decrypted: every opened packet's plaintext comes back
    check_padding: bool = True


class _ReadAgain(NamedTuple):
    """A chunk whose batches were opened at once and let go: read again if they are needed."""

    chunk: Chunk  # as it was read (a part's: frames counted from the part's first record)
    batches: int  # what that reading gave
    packets: int


class _Stages:
    """Both stages on one process's kept chunks: what a worker runs, and ``workers=0`` here."""

    def __init__(self, settings: ChunkSettings, planned: list[PlannedSa], shared: mmap.mmap | None) -> None:
        self.settings = settings
        self.plan = SaPlan(self._opener())
        # opens a chunk's batches right after its scan, while they are in the cache ("eager"),
        # with every SA planned so far: the main process takes the residues where that is the SA
        # database the chunk's packets meet in a sequential run, else has the chunk opened again
        # in frame order (``plan``, by threshold)
        self.eager = SaPlan(self._opener())
        # per chunk: its batches, or, where they were opened at once and the chunk can be read
        # again from the file, the chunk with its count of batches and packets (RSS stays low,
        # and the memory of one chunk's batches is reused for the next's)
        self.kept: dict[Key, list[EspBatch] | _ReadAgain] = {}
        self.opened: dict[Key, list[list[Residue]]] = {}  # eager residues, until answered
        self.add_planned(planned)
        self.shared = shared
        self.fd = os.open(settings.path, os.O_RDONLY) if settings.path is not None else -1
        self.file_view: mmap.mmap | None = None  # the whole file, for guessing where parts start

    def _opener(self) -> EspOpener:
        settings = self.settings
        database = SaDatabase()
        return EspOpener(
            database, check_padding=settings.check_padding, want_plaintext=settings.want_plaintext
        )

    def add_planned(self, planned: list[PlannedSa]) -> None:
        """SAs keyed since, in database order, each with its threshold frame."""
        built = [(threshold, IpsecSa(**spec)) for threshold, spec in planned]
        self.plan.extend(built)
        self.eager.opener.add_sas([sa for _, sa in built])

    def scan_part(
        self,
        number: int,
        part: tuple[int, int],
        chunk_bytes: int,
        layout: PcapLayout,
        size: int,
        eager: bool = False,
    ) -> PartScan | None:
        """Walk and scan part ``number`` of the file's first ``size`` bytes (what the main process
        mapped: ``capture/part_scan.py``), keeping its chunks' batches under ``(number, k)`` (and
        with ``eager`` their residues in ``opened``); None if the file has shrunk below them (the
        main process walks the part and has it scanned)."""
        if self.file_view is None:
            if os.fstat(self.fd).st_size < size or not size:
                return None
            self.file_view = mmap.mmap(self.fd, size, access=mmap.ACCESS_READ)
        view = self.file_view
        if len(view) != size:
            return None
        fd, options = self.fd, self.settings.scan_options

        open_at_once = [eager]  # until a chunk of the part may key an SA

        def scan(chunk: Chunk, source: ByteSource) -> tuple[ChunkScan, bool]:
            key = (number, chunk.index)
            chunk_scan = self._scan_file(chunk, None, source, key, open_at_once[0])
            again = self.kept.get(key)
            if isinstance(again, _ReadAgain):  # to be read again to where the reading stopped
                self.kept[key] = again._replace(chunk=replace(chunk, end=source.offset()))
            if open_at_once[0] and keys_sas(chunk_scan.items):
                open_at_once[0] = False
            return chunk_scan, (number, chunk.index) in self.kept

        def read(offset: int, length: int) -> bytes:
            return _read(fd, offset, length)

        scanned = scan_part(
            view, layout, part, chunk_bytes, scan=scan, read=read, name=options.get("name", "<capture>")
        )
        # give back the pages the guess read (a few records at the part's start): RSS stays flat
        low = part[0] - part[0] % mmap.PAGESIZE
        high = min(size, max(part[0], scanned.walked.start) + (256 << 10))
        if high > low:
            view.madvise(mmap.MADV_DONTNEED, low, high - low)
        return scanned

    def part_answer(self, number: int, *part: Any) -> PartAnswer:
        """``scan_part``'s answer and the eager residues of each of its chunks (None: not opened)."""
        scanned = self.scan_part(number, *part)
        count = len(scanned.scans) if scanned is not None else 0
        opened = self.opened
        return scanned, [opened.pop((number, k)) if (number, k) in opened else None for k in range(count)]

    def drop(self, keys: list[Key]) -> None:
        """Forget kept batches (a part's chunks scanned again elsewhere, or opened at once)."""
        for key in keys:
            self.kept.pop(key, None)
            self.opened.pop(key, None)

    def scan(self, chunk: Chunk, where: Where, end_error: str | None, eager: bool = False) -> ChunkScan:
        if where is None:
            return self._scan_file(chunk, end_error, None, chunk.index, eager)
        if isinstance(where, tuple):
            assert self.shared is not None
            offset = where[1]
            data = self.shared[offset : offset + chunk.end - chunk.start]
        else:
            data = where
        scan = scan_chunk(
            data, chunk, end_error=end_error, open_batch=self._open_now(eager), **self.settings.scan_options
        )
        return self._kept(scan, chunk.index)

    def _scan_file(
        self, chunk: Chunk, end_error: str | None, source: ByteSource | None, key: Key, eager: bool
    ) -> ChunkScan:
        """Scan the chunk, read from the file; ``source``: scan_chunk's (a part's chunk, read on
        past its end)."""
        options = dict(self.settings.scan_options, end_error=end_error, source=source)
        options["open_batch"] = self._open_now(eager)
        scan = self._read_file(chunk, options)
        return self._kept(scan, key, scan.opened is not None)

    def _read_file(self, chunk: Chunk, options: dict[str, Any]) -> ChunkScan:
        """The chunk's bytes read with pread, and scanned: reading from a mapping of the file's
        pages instead cost 0.48-0.51 s of CPU for the 300,000 records of docs/performance.md
        against 0.30-0.36 (the mapping's page faults, and the reader's every slice and unpack on
        an mmap rather than bytes), and the sequential read takes 0.25-0.39. If the file has
        shrunk, the scan reports the cut as truncation."""
        return scan_chunk(_read(self.fd, chunk.start, chunk.end - chunk.start), chunk, **options)

    def _open_now(self, eager: bool) -> Callable[[EspBatch], list[Residue]] | None:
        """``scan_chunk``'s ``open_batch`` for an eager scan: each batch opened with every SA
        planned so far, as soon as it is read."""
        if not eager:
            return None
        plan = self.eager

        def open_batch(batch: EspBatch) -> list[Residue]:
            return open_batches(plan, (batch,))[0]

        return open_batch

    def _kept(self, scan: ChunkScan, key: Key, from_file: bool = False) -> ChunkScan:
        batches = scan.batches
        if batches:
            self.kept[key] = batches
            if scan.opened is not None:
                self.opened[key] = scan.opened
                if from_file:
                    packets = sum(batch.count for batch in batches)
                    self.kept[key] = _ReadAgain(scan.chunk, len(batches), packets)
        return scan.summary()

    def take_batches(self, key: Key) -> list[EspBatch]:
        """The batches kept under ``key`` (read again if they were let go), forgotten here."""
        kept = self.kept.pop(key, [])
        return self._batches_again(kept) if isinstance(kept, _ReadAgain) else kept

    def open(self, key: Key, base: int) -> list[list[Residue]]:
        """Open the batches kept under ``key``, their frames ``base`` short of the capture's."""
        return open_batches(self.plan, self.take_batches(key), base)

    def _batches_again(self, again: _ReadAgain) -> list[EspBatch]:
        """The batches of a chunk read again from the file (the same bytes: the same batches)."""
        batches = self._read_file(again.chunk, dict(self.settings.scan_options)).batches
        if (len(batches), sum(batch.count for batch in batches)) != (again.batches, again.packets):
            raise CaptureError(f"{self.settings.path}: the capture file changed while it was read")
        return batches

    def close(self) -> None:
        if self.file_view is not None:
            self.file_view.close()
            self.file_view = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def keys_sas(items: list[ChunkItem]) -> bool:
    """Whether a chunk holds what may key an SA (an IKE datagram, or an IP fragment that may
    complete one): its ESP is not worth opening before the engine has read it."""
    return any(not isinstance(item, EspRun) and item.kind is not Kind.AH for item in items)


def _read(fd: int, offset: int, size: int) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) == size:
        return data
    parts = [data]
    while size > len(data):
        more = os.pread(fd, size - len(data), offset + len(data))
        if not more:
            break  # the file shrank since it was walked: the scan reports the cut as truncation
        parts.append(more)
        data = b"".join(parts)
        parts = [data]
    return data


def _worker(
    connection: Any, settings: ChunkSettings, planned: list[PlannedSa], shared: mmap.mmap | None
) -> None:
    stages = _Stages(settings, planned, shared)
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()  # the commands, in the order sent
    parent = os.getppid()

    def receive() -> None:  # keeps the pipe drained while this process works
        while True:
            try:
                while not connection.poll(1.0):
                    if os.getppid() != parent:  # the main process is gone (killed): so are we
                        raise EOFError
                message = connection.recv()
            except (EOFError, OSError):
                message = None
            inbox.put(message)
            if message is None:
                return

    threading.Thread(target=receive, daemon=True, name="ikedecode-chunk-inbox").start()
    try:
        while True:
            message = inbox.get()
            if message is None:
                return
            kind = message[0]
            if kind == PART:
                connection.send((PARTED, message[1], stages.part_answer(*message[1:])))
            elif kind == PLAN:
                stages.add_planned(message[1])
            elif kind == SCAN:
                _, chunk, where, end_error, eager = message
                scan = stages.scan(chunk, where, end_error, eager)
                opened = stages.opened.pop(chunk.index, None)
                connection.send((SCANNED, chunk.index, (scan, chunk.index in stages.kept, opened)))
            elif kind == DROP:
                stages.drop(message[1])
            else:
                _, index, key, base = message
                connection.send((OPENED, index, stages.open(key, base)))
    except Exception as exc:  # noqa: BLE001 - said to the main process, which stops with one line
        try:
            connection.send((FAILED, -1, f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        stages.close()
