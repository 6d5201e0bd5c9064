"""One capture on every core: worker processes scan and open their own chunks of it.

The capture is cut into chunks (byte ranges at record boundaries, ``capture/chunks.py``): the
main process walks the record headers (pcapng, gzip) and hands each chunk to a worker, or, for a
pcap file, hands out its *parts*: a worker walks and scans a part at once (``capture/part_scan.py``,
frames counted from the part's guessed first record) and the main process accepts the part's
walk where it started where the part before it ended (``capture/chunk_walk.py`` ``PartPlan``),
renumbering the part's chunk scans by the records before it; a chunk of a wrong guess is walked
here and handed out as any other. A worker (``parallel/chunk_stages.py``)

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

import mmap
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import wait as wait_for
from typing import Any, NamedTuple, cast

from ikedecode.capture.batch import FRAME, META_FIELDS
from ikedecode.capture.chunk_scan import ChunkScan
from ikedecode.capture.chunk_walk import PartPlan
from ikedecode.capture.chunks import Chunk
from ikedecode.capture.part_scan import PartScan, renumbered, usable
from ikedecode.esp.chunk_open import Residue
from ikedecode.esp.sa_plan import PlannedSa
from ikedecode.parallel.chunk_stages import (
    DROP,
    FAILED,
    LIVE_PER_WORKER,
    OPEN,
    PART,
    PARTED,
    PLAN,
    SCAN,
    SCANNED,
    ChunkSettings,
    Key,
    PartAnswer,
    Residues,
    Where,
    _Stages,
    _worker,
)
from ikedecode.parallel.esp_work import DIED, WorkerFailed, stop_workers, worker_context


class _Kept(NamedTuple):
    """A chunk's batches kept where they were scanned, until it is opened."""

    worker: int  # -1: this process
    key: Key  # what they are kept under there
    base: int  # their frames are numbered that many short of the capture's
    sas: int  # the SAs planned when the chunk was handed out (its eager residues': all of them)
    opened: list[list[Residue]] | None  # its residues, opened right after the scan (eager)
    first: int  # the chunk's first and last frame
    last: int


def _moved(opened: list[list[Residue]], base: int) -> list[list[Residue]]:
    """Residues whose frames were numbered ``base`` short of the capture's, renumbered."""
    if base:
        for residues in opened:
            for batch, _summary in residues:
                meta = batch.meta
                meta[FRAME::META_FIELDS] = [frame + base for frame in meta[FRAME::META_FIELDS]]
    return opened


class ChunkWork:
    """The chunks of one capture scanned and opened by ``workers`` processes (0: in this one).

    ``chunks`` yields each chunk with where its bytes are (None: the workers read ``settings.path``;
    bytes: the chunk's bytes, read here from a stream) and, for the last chunk of a stream, why the
    stream ended early (``ChunkFeeder.end_error``). With ``parts`` (a pcap file, ``settings.path``)
    the workers walk and scan its parts at once (``capture/part_scan.py``; ``chunks`` is not read)
    and the chunks are those ``parts`` accepts. ``planned`` are the SAs of the key file (threshold
    -1). Use as a context manager (or call ``close``) so the workers always stop.

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
        # a pcap file walked and scanned in parts by the workers (``chunks`` is then not read): the
        # parts handed out and not yet accepted (each holds a place among the live chunks until
        # then), their answers
        self._parts = parts
        self._part_out = 0  # the next part to hand out
        self._parts_out: dict[int, int] = {}  # part -> the worker scanning it (-1: in this process)
        self._parted: dict[int, PartAnswer] = {}
        self.settings = settings
        self.workers = workers
        self.max_live = max_live or max(2, LIVE_PER_WORKER * workers)
        self._local: _Stages | None = None
        self._processes: list[Any] = []
        self._connections: list[Any] = []
        # chunk -> where its batches are kept, and its eager residues; None: nothing kept (no ESP)
        self._owner: dict[int, _Kept | None] = {}
        self._part_sas: dict[int, int] = {}  # part handed out -> SAs planned before it
        # every SA planned, by threshold; chunks the engine has read since it last keyed an SA
        # (after ``max_live`` of them, a worker opens each chunk's ESP as it reads it: "eager")
        self._thresholds = [threshold for threshold, _ in planned]
        self._calm = self.max_live
        self.eager_taken = self.eager_missed = 0  # chunks whose eager residues were taken, or not
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
        while index not in self._scans:
            if index < self._handed:  # being scanned
                self._receive(block=True)
            elif self._parts is None or not self._accept_part():
                return None
            self._hand_out()
        self._next += 1
        return self._scans.pop(index)

    def ready_to_scan(self) -> bool:
        """Whether the next chunk is (or can be) handed out; if not, take the residues of the
        oldest chunk first."""
        return (
            self._exhausted
            or self._next < self._handed
            or bool(self._parts_out)
            or len(self._live) < self.max_live
        )

    # --- stage 2 -----------------------------------------------------------------------------------

    def plan(self, planned: list[PlannedSa]) -> None:
        """SAs keyed since the last call (once per chunk the engine has read), in database order
        (thresholds never decrease)."""
        self._calm = 0 if planned else self._calm + 1
        if not planned:
            return
        self._thresholds.extend(threshold for threshold, _ in planned)
        if self._local is not None:
            self._local.add_planned(planned)
            return
        for worker in range(len(self._connections)):
            self._send(worker, (PLAN, planned))

    def open(self, index: int) -> None:
        """Have chunk ``index`` opened with the SAs planned so far."""
        owner = self._owner.pop(index)
        if owner is None:  # nothing kept: no ESP in the chunk
            self._residues[index] = []
            return
        worker, key, base = owner.worker, owner.key, owner.base
        if owner.opened is not None:
            if self._eager_holds(owner):
                self.eager_taken += 1
                self._residues[index] = _moved(owner.opened, base)
                self._drop(worker, [key])
                return
            self.eager_missed += 1
        if self._local is not None:
            self._residues[index] = self._local.open(key, base)
            return
        self._load[worker] += 1
        self._send(worker, (OPEN, index, key, base))

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
        """Hand out scans (a pcap file's: parts) while fewer than ``max_live`` chunks are live."""
        if self._parts is not None:
            while len(self._live) + len(self._parts_out) < self.max_live and self._hand_out_part():
                pass
            return
        while not self._exhausted and len(self._live) < self.max_live:
            item = next(self._chunks, None)
            if item is None:
                self._exhausted = True
                return
            self._scan(*item)

    def _eager_holds(self, kept: _Kept) -> bool:
        """Whether the SAs a chunk was opened with at once (the first ``kept.sas`` planned) are
        exactly those each of its packets meets in a sequential run: an SA opens the packets past
        its threshold frame (``esp/sa_plan.py``). Every SA keyed before the chunk's end is
        planned by now (the engine has read the chunk)."""
        thresholds, sas = self._thresholds, kept.sas
        return (sas == 0 or thresholds[sas - 1] < kept.first) and (
            sas == len(thresholds) or thresholds[sas] >= kept.last
        )

    def _drop(self, worker: int, keys: list[Key]) -> None:
        if self._local is not None:
            self._local.drop(keys)
        else:
            self._send(worker, (DROP, keys))

    def _scan(self, chunk: Chunk, data: bytes | None, end_error: str | None) -> None:
        """Hand chunk ``chunk`` out for scanning."""
        self._live.append(chunk.index)
        self._handed += 1
        eager = self._calm >= self.max_live
        sas = len(self._thresholds)
        if self._local is not None:
            local = self._local
            scan = self._scans[chunk.index] = local.scan(chunk, data, end_error, eager)
            opened = local.opened.pop(chunk.index, None)
            kept = _Kept(-1, chunk.index, 0, sas, opened, 0, 0) if chunk.index in local.kept else None
            self._keep(scan, kept)
            return
        worker = self._load.index(min(self._load))
        self._owner[chunk.index] = _Kept(worker, chunk.index, 0, sas, None, 0, 0)
        self._load[worker] += 1
        self._send(worker, (SCAN, chunk, self._where(chunk, data), end_error, eager))

    def _keep(self, scan: ChunkScan, kept: _Kept | None) -> None:
        """Note what the worker keeps of chunk ``scan.chunk`` (its scan, in the capture's frames)."""
        chunk = scan.chunk
        if kept is not None:
            kept = kept._replace(first=chunk.records_before + 1, last=chunk.records_before + scan.frames)
        self._owner[chunk.index] = kept

    def _hand_out_part(self) -> bool:
        """Hand out the next part that may still hold a chunk; False if there is none."""
        parts = self._parts
        assert parts is not None
        while self._part_out < parts.parts:
            number = self._part_out
            self._part_out += 1
            if not parts.needed(number):
                continue
            eager = self._calm >= self.max_live
            message = (number, parts.part(number), parts.chunk_bytes, parts.layout, parts.size, eager)
            self._part_sas[number] = len(self._thresholds)
            if self._local is not None:
                self._parted[number] = self._local.part_answer(*message)
                self._parts_out[number] = -1
                return True
            worker = self._load.index(min(self._load))
            self._load[worker] += 1
            self._parts_out[number] = worker
            self._send(worker, (PART, *message))
            return True
        return False

    def _accept_part(self) -> bool:
        """Accept the next part's walk (``PartPlan.accept``: a wrong guess is walked again here);
        its chunks that the part's scan read exactly are ready, the others handed out for
        scanning. False when the parts are done."""
        parts = self._parts
        assert parts is not None
        number = parts.next_part
        if parts.done or number >= parts.parts:
            self._exhausted = True
            return False
        if number not in self._parts_out and parts.needed(number):
            self._part_out = max(self._part_out, number)  # not handed out yet: now
            self._hand_out_part()
        worker = self._parts_out.pop(number, None)
        answer: PartScan | None = None
        opened: list[Residues | None] = []
        if worker is not None:
            while number not in self._parted:
                self._receive(block=True)
            answer, opened = self._parted.pop(number)
        sas = self._part_sas.pop(number, 0)
        verified = parts.pos  # where the part's first chunk starts
        chunks = parts.accept(number, None if answer is None else answer.walked)
        scans = answer.scans if answer is not None and answer.walked.start == verified else []
        used: set[Key] = set()
        for k, chunk in enumerate(chunks):
            if k >= len(scans) or not usable(scans[k], chunk):
                self._scan(chunk, None, None)  # read again, from its absolute first frame
                continue
            scan = scans[k]
            self._live.append(chunk.index)
            self._handed += 1
            kept = None
            if answer is not None and answer.kept[k]:
                used.add((number, k))
                base = chunk.records_before - scan.chunk.records_before
                kept = _Kept(-1 if worker is None else worker, (number, k), base, sas, opened[k], 0, 0)
            self._scans[chunk.index] = scan = renumbered(scan, chunk)
            self._keep(scan, kept)
        if answer is not None and worker is not None:
            unused: list[Key] = [(number, k) for k, kept_k in enumerate(answer.kept) if kept_k]
            unused = [key for key in unused if key not in used]
            if unused:
                self._drop(worker, unused)
        return True

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
            if kind == PARTED:
                self._parted[index] = answer
            elif kind == SCANNED:
                scan, kept, opened = answer
                self._scans[index] = scan
                owner = self._owner[index]
                self._keep(scan, owner._replace(opened=opened) if kept and owner is not None else None)
                slot = self._slot_of.pop(index, None)
                if slot is not None:
                    self._free_slots.append(slot)
            else:
                self._residues[index] = answer
        return bool(ready)
