"""One capture on every core: worker processes scan and open their own chunks of it.

The capture is cut into chunks (byte ranges at record boundaries, ``capture/chunks.py``): the
main process walks the record headers (pcapng, gzip), or, for a pcap file, the workers walk its
parts first ("walk", answered before the scans queued) and the main process checks where each
part's walk started (``capture/chunk_walk.py``). Each chunk is handed to a worker, which

1. reads the chunk's bytes itself (a mapping of its pages of a regular file; for gzip the main
   process reads the stream once and copies each chunk into a shared-memory slot), scans it
   (``capture/chunk_scan.py`` ``scan_chunk``: IKE and AH datagrams, the frame accounting, the ESP
   batches), keeps the batches and answers the scan without them (stage 1);
2. later, once the main process's IKE engine has read past the chunk, receives the SAs keyed so
   far (each with its threshold frame, ``esp/sa_plan.py``) and "open chunk k" on the same pipe,
   opens the kept batches and answers their residues (``esp/chunk_open.py``), then forgets the
   chunk (stage 2).

``ChunkWork`` is the main process's side: it hands out scans ahead (at most ``max_live`` chunks
between the hand-out and the main process taking their residues, so every core stays busy and
memory stays flat), returns the scans in chunk order, and the residues of a chunk when asked. A
worker answers in the order it received its commands; answers are tagged with their chunk, so the
main process may read whichever comes first. Each worker receives on a thread of its own: a large
message to a worker busy writing a large answer cannot block both sides.

With ``workers=0`` the same two stages run in this process (tests, small captures). Workers are
forked where the system can (before any thread starts, as ``parallel/esp_work.py`` explains),
spawned elsewhere; either way they read the file themselves.
"""

from __future__ import annotations

import itertools
import mmap
import os
import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for
from typing import Any, cast

from ikedecode.capture.batch import EspBatch
from ikedecode.capture.chunk_scan import ChunkScan, scan_chunk
from ikedecode.capture.chunk_walk import PartPlan, PcapLayout, Walked, walk_part
from ikedecode.capture.chunks import Chunk
from ikedecode.esp.chunk_open import Residue, open_batches
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.sa_plan import PlannedSa, SaPlan
from ikedecode.esp.sadb import SaDatabase
from ikedecode.parallel.esp_work import DIED, WorkerFailed, stop_workers, worker_context

LIVE_PER_WORKER = 3  # chunks per worker between hand-out and residues taken (one scanning, one
# waiting for the engine, one being opened)
SCAN, PLAN, OPEN, SCANNED, OPENED, FAILED = "scan", "plan", "open", "scanned", "opened", "failed"
WALK, WALKED = "walk", "walked"
WALKS_PER_WORKER = 2  # parts of a pcap file being walked ahead, per worker

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


class _Stages:
    """Both stages on one process's kept chunks: what a worker runs, and ``workers=0`` here."""

    def __init__(self, settings: ChunkSettings, planned: list[PlannedSa], shared: mmap.mmap | None) -> None:
        self.settings = settings
        opener = EspOpener(
            SaDatabase(), check_padding=settings.check_padding, want_plaintext=settings.want_plaintext
        )
        self.plan = SaPlan(opener, planned)
        self.kept: dict[int, list[EspBatch]] = {}
        self.shared = shared
        self.fd = os.open(settings.path, os.O_RDONLY) if settings.path is not None else -1
        self.file_view: mmap.mmap | None = None  # the whole file, for walking its parts

    def walk(self, part: tuple[int, int], chunk_bytes: int, layout: PcapLayout, size: int) -> Walked | None:
        """Walk a part of the file's first ``size`` bytes (what the main process mapped:
        ``capture/chunk_walk.py``); None if the file has shrunk below them (the main process walks
        the part itself)."""
        if self.file_view is None:
            if os.fstat(self.fd).st_size < size or not size:
                return None
            self.file_view = mmap.mmap(self.fd, size, access=mmap.ACCESS_READ)
        view = self.file_view
        if len(view) != size:
            return None
        start, end = part
        walked = walk_part(view, layout, start, end, chunk_bytes)
        # give the pages back (the walk read headers in every page of the part): RSS stays flat
        low = start - start % mmap.PAGESIZE
        high = min(size, max(end, walked.end) + (64 << 10))
        if high > low:
            view.madvise(mmap.MADV_DONTNEED, low, high - low)
        return walked

    def scan(self, chunk: Chunk, where: Where, end_error: str | None) -> ChunkScan:
        if where is None:
            return self._scan_file(chunk, end_error)
        if isinstance(where, tuple):
            assert self.shared is not None
            offset = where[1]
            data = self.shared[offset : offset + chunk.end - chunk.start]
        else:
            data = where
        return self._kept(scan_chunk(data, chunk, end_error=end_error, **self.settings.scan_options))

    def _scan_file(self, chunk: Chunk, end_error: str | None) -> ChunkScan:
        """Scan the chunk from a mapping of its pages of the file (cheaper than a copy: 0.48 against
        0.74 s for 300,000 records), unmapped after; read with pread if the file has shrunk."""
        if chunk.end <= chunk.start or os.fstat(self.fd).st_size < chunk.end:  # (a 0-length map: the file)
            data = _read(self.fd, chunk.start, chunk.end - chunk.start)
            return self._kept(scan_chunk(data, chunk, end_error=end_error, **self.settings.scan_options))
        aligned = chunk.start - chunk.start % mmap.ALLOCATIONGRANULARITY
        view = mmap.mmap(self.fd, chunk.end - aligned, access=mmap.ACCESS_READ, offset=aligned)
        try:
            scan = scan_chunk(
                view,
                chunk,
                at=chunk.start - aligned,
                end_error=end_error,
                **self.settings.scan_options,
            )
        finally:
            try:
                view.close()
            except BufferError:  # a view of it still referenced: unmapped when that goes
                pass
        return self._kept(scan)

    def _kept(self, scan: ChunkScan) -> ChunkScan:
        if scan.batches:
            self.kept[scan.chunk.index] = scan.batches
        return scan.summary()

    def open(self, index: int) -> list[list[Residue]]:
        return open_batches(self.plan, self.kept.pop(index, ()))

    def close(self) -> None:
        if self.file_view is not None:
            self.file_view.close()
            self.file_view = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


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
    # walks first: the main process waits on them to hand out the next scans (a walk has no
    # order to keep with the other commands); then the rest in the order sent
    inbox: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
    received = itertools.count()

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
            urgent = message is not None and message[0] == WALK
            inbox.put((0 if urgent else 1, next(received), message))
            if message is None:
                return

    threading.Thread(target=receive, daemon=True, name="ikedecode-chunk-inbox").start()
    try:
        while True:
            message = inbox.get()[2]
            if message is None:
                return
            kind = message[0]
            if kind == WALK:
                _, number, part, chunk_bytes, layout, size = message
                connection.send((WALKED, number, stages.walk(part, chunk_bytes, layout, size)))
            elif kind == PLAN:
                stages.plan.extend(message[1])
            elif kind == SCAN:
                _, chunk, where, end_error = message
                scan = stages.scan(chunk, where, end_error)
                connection.send((SCANNED, chunk.index, (scan, chunk.index in stages.kept)))
            else:
                connection.send((OPENED, message[1], stages.open(message[1])))
    except Exception as exc:  # noqa: BLE001 - said to the main process, which stops with one line
        try:
            connection.send((FAILED, -1, f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        stages.close()


class ChunkWork:
    """The chunks of one capture scanned and opened by ``workers`` processes (0: in this one).

    ``chunks`` yields each chunk with where its bytes are (None: the workers read ``settings.path``;
    bytes: the chunk's bytes, read here from a stream) and, for the last chunk of a stream, why the
    stream ended early (``ChunkFeeder.end_error``). With ``parts`` (a pcap file, ``settings.path``)
    the workers walk its parts first and the chunks are ``parts``' (``chunks`` is not read).
    ``planned`` are the SAs of the key file (threshold -1). Use as a context manager (or call
    ``close``) so the workers always stop.

    Order of calls for chunk k: ``next_scan`` (stage 1's summary, chunks in order), then ``plan``
    with every SA keyed up to the end of chunk k (in the SA database's order), ``open(k)``, and
    ``take(k)`` for its residues."""

    def __init__(
        self,
        chunks: Iterator[tuple[Chunk, bytes | None, str | None]],
        settings: ChunkSettings,
        planned: list[PlannedSa],
        *,
        workers: int,
        max_live: int | None = None,
        slot_bytes: int = 0,
        parts: PartPlan | None = None,
    ) -> None:
        self._chunks = chunks
        # a pcap file walked in parts by the workers (``chunks`` is then not read): the parts'
        # walks handed out ahead, their answers, the chunks ``parts`` accepted, not handed out yet
        self._parts = parts
        self._walk_ahead = max(2, WALKS_PER_WORKER * workers)
        self._part_out = 0  # the next part to hand out for walking
        self._walked: dict[int, Walked | None] = {}
        self._accepted: deque[Chunk] = deque()
        self.settings = settings
        self.workers = workers
        self.max_live = max_live or max(2, LIVE_PER_WORKER * workers)
        self._local: _Stages | None = None
        self._processes: list[Any] = []
        self._connections: list[Any] = []
        self._owner: dict[int, int] = {}  # chunk -> worker that scanned it
        self._load: list[int] = []  # per worker: answers still to come
        self._scans: dict[int, ChunkScan] = {}  # answered, not yet handed back
        self._residues: dict[int, list[list[Residue]]] = {}
        self._handed = 0  # chunks handed out (scanned or being scanned)
        self._next = 0  # the next chunk next_scan returns
        self._live: deque[int] = deque()  # chunks handed out whose residues were not taken yet
        self._exhausted = False
        self._shared: mmap.mmap | None = None
        self._slot_bytes = slot_bytes
        self._free_slots: list[int] = []
        self._slot_of: dict[int, int] = {}  # chunk -> its slot, until scanned
        if workers == 0:
            self._local = _Stages(settings, planned, None)
        else:
            self._start(planned)

    # --- stage 1 -----------------------------------------------------------------------------------

    def next_scan(self) -> ChunkScan | None:
        """The next chunk's scan (without its batches), in chunk order; None after the last.
        ``ready_to_scan`` must be true, or the chunk may never be handed out."""
        index = self._next
        self._hand_out()
        if index >= self._handed:
            return None
        while index not in self._scans:
            self._receive(block=True)
            self._hand_out()
        self._next += 1
        return self._scans.pop(index)

    def ready_to_scan(self) -> bool:
        """Whether the next chunk is (or can be) handed out; if not, take the residues of the
        oldest chunk first."""
        return self._exhausted or self._next < self._handed or len(self._live) < self.max_live

    # --- stage 2 -----------------------------------------------------------------------------------

    def plan(self, planned: list[PlannedSa]) -> None:
        """SAs keyed since the last call, in database order (thresholds never decrease)."""
        if not planned:
            return
        if self._local is not None:
            self._local.plan.extend(planned)
            return
        for worker in range(len(self._connections)):
            self._send(worker, (PLAN, planned))

    def open(self, index: int) -> None:
        """Have chunk ``index`` opened with the SAs planned so far."""
        if self._local is not None:
            self._residues[index] = self._local.open(index)
            return
        worker = self._owner.pop(index)
        if worker < 0:  # nothing kept: no ESP in the chunk
            self._residues[index] = []
            return
        self._load[worker] += 1
        self._send(worker, (OPEN, index))

    def take(self, index: int, *, block: bool = True) -> list[list[Residue]] | None:
        """Chunk ``index``'s residues, per batch of its scan (``open`` it first); None when they
        are not there yet and ``block`` is false."""
        if index not in self._residues:
            self._receive(block=False)
            while block and index not in self._residues:
                if not self._receive(block=True):
                    raise RuntimeError(f"chunk {index} was not opened")
            if index not in self._residues:
                return None
        if self._live[0] == index:
            self._live.popleft()
        else:
            self._live.remove(index)
        residues = self._residues.pop(index)
        self._hand_out()
        return residues

    # --- life ----------------------------------------------------------------------------------------

    def close(self) -> None:
        stop_workers(self._connections, self._processes)
        self._processes, self._connections = [], []
        if self._local is not None:
            self._local.close()
            self._local = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def __enter__(self) -> ChunkWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------------------

    def _start(self, planned: list[PlannedSa]) -> None:
        context, fork = worker_context()
        if fork and self.settings.path is None and self._slot_bytes:
            # chunks read here from a stream: copied into slots of a mapping the children share
            self._shared = mmap.mmap(-1, self.max_live * self._slot_bytes)
            self._free_slots = list(range(self.max_live))
        for _ in range(self.workers):
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(
                target=_worker,
                args=(theirs, self.settings, planned, self._shared),
                daemon=True,
                name="ikedecode-chunk",
            )
            process.start()
            theirs.close()
            self._connections.append(ours)
            self._processes.append(process)
            self._load.append(0)

    def _hand_out(self) -> None:
        """Hand out scans while fewer than ``max_live`` chunks are live."""
        while not self._exhausted and len(self._live) < self.max_live:
            item = next(self._chunks, None) if self._parts is None else self._next_part_chunk()
            if item is None:
                self._exhausted = True
                return
            chunk, data, end_error = item
            self._live.append(chunk.index)
            self._handed += 1
            if self._local is not None:
                self._scans[chunk.index] = self._local.scan(chunk, data, end_error)
                continue
            worker = self._load.index(min(self._load))
            self._owner[chunk.index] = worker
            self._load[worker] += 1
            self._send(worker, (SCAN, chunk, self._where(chunk, data), end_error))

    def _next_part_chunk(self) -> tuple[Chunk, None, None] | None:
        """The next chunk of the file walked in parts: the parts' walks handed out ahead, each
        accepted in order (``PartPlan.accept``: a wrong guess is walked again here)."""
        parts = self._parts
        assert parts is not None
        while not self._accepted:
            number = parts.next_part
            if parts.done or number >= parts.parts:
                return None
            self._walk_ahead_of(number)
            walked = None
            if parts.needed(number):
                if self._local is not None:
                    start, end = parts.part(number)
                    walked = walk_part(parts.view, parts.layout, start, end, parts.chunk_bytes)
                else:
                    while number not in self._walked:
                        self._receive(block=True)
                    walked = self._walked.pop(number)
            else:
                self._walked.pop(number, None)
            self._accepted.extend(parts.accept(number, walked))
        return self._accepted.popleft(), None, None

    def _walk_ahead_of(self, number: int) -> None:
        """Hand out the walks of the parts from ``number`` on that may still hold a chunk."""
        parts = self._parts
        assert parts is not None
        if self._local is not None:
            return
        self._part_out = max(self._part_out, number)
        while self._part_out < min(parts.parts, number + self._walk_ahead):
            out = self._part_out
            self._part_out += 1
            if not parts.needed(out):
                continue
            worker = self._load.index(min(self._load))
            self._load[worker] += 1
            self._send(worker, (WALK, out, parts.part(out), parts.chunk_bytes, parts.layout, parts.size))

    def _where(self, chunk: Chunk, data: bytes | None) -> Where:
        if data is None:
            return None
        if self._shared is not None and self._free_slots and len(data) <= self._slot_bytes:
            slot = self._free_slots.pop()
            offset = slot * self._slot_bytes
            self._shared[offset : offset + len(data)] = data
            self._slot_of[chunk.index] = slot
            return ("slot", offset)
        return bytes(data)

    def _send(self, worker: int, message: object) -> None:
        try:
            self._connections[worker].send(message)
        except OSError:
            raise WorkerFailed(DIED) from None

    def _receive(self, *, block: bool) -> bool:
        """Read the answers that are there (waiting for one with ``block``); False if none came."""
        if self._local is not None:
            return False
        busy = [c for c, load in zip(self._connections, self._load, strict=True) if load]
        if not busy:
            return False
        ready = cast(list[Any], wait_for(busy, timeout=1.0 if block else 0))
        while block and not ready:
            for process, load in zip(self._processes, self._load, strict=True):
                if load and not process.is_alive():
                    raise WorkerFailed(DIED)
            ready = cast(list[Any], wait_for(busy, timeout=1.0))
        for connection in ready:
            worker = self._connections.index(connection)
            try:
                kind, index, answer = connection.recv()
            except (EOFError, OSError):
                raise WorkerFailed(DIED) from None
            if kind == FAILED:
                raise WorkerFailed(
                    f"a chunk worker failed ({answer}); --jobs 1 reads the capture in one process"
                )
            self._load[worker] -= 1
            if kind == WALKED:
                self._walked[index] = answer
            elif kind == SCANNED:
                self._scans[index], kept = answer
                if not kept:
                    self._owner[index] = -1
                slot = self._slot_of.pop(index, None)
                if slot is not None:
                    self._free_slots.append(slot)
            else:
                self._residues[index] = answer
        return bool(ready)
