"""One capture spread over a Dask cluster: the two chunk stages as tasks (docs/scale.md).

The local chunk path (``parallel/chunk_work.py``) hands each chunk of one capture to a worker
process, which scans it (stage 1), keeps its ESP batches, and opens them once the main process's
IKE engine has read past the chunk (stage 2). Here the same two stages are Dask tasks, and
``DaskChunkWork`` has ``ChunkWork``'s interface, so the same main side (``pipeline.ChunkRun``: the
walk, the IKE engine, accounting in capture order) drives either; the report is the same.

Per chunk, three tasks:

* ``scan_chunk_task``: reads the chunk's byte range of the capture by path (workers share
  storage with the client) or takes its bytes (gzip: read once by the client), and scans it with
  the local workers' own code (``chunk_work._Stages``). Its result, the ``ChunkScan`` *with* its
  ESP batches, stays on the worker as a future;
* ``scan_summary_task``: the scan without its batches (what the client gathers: IKE and AH
  datagrams, ESP runs, the chunk's accounting), the worker's ikedecode version, and whether
  batches were kept. It runs where the scan is;
* ``open_chunk_task``: takes the scan (so it runs where the scan is: the batches never travel) and
  the SA plan as it stood when the engine had read past the chunk (``esp/sa_plan.py``), opens the
  batches and returns their residues (``esp/chunk_open.py``: only the packets the client needs).

Only summaries, the plan and residues cross the network. The plan is scattered in pieces (the SAs
keyed since the last open, merged with the earlier pieces under twice its size: at most
log2(SAs) + 1 per task), and each worker thread builds a piece's SAs once. The batches are freed
when the chunk's residues are taken.
"""

from __future__ import annotations

import errno
import os
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ikedecode import __version__
from ikedecode.capture.chunk_scan import ChunkScan
from ikedecode.capture.chunks import Chunk
from ikedecode.capture.errors import CaptureError
from ikedecode.distributed.errors import DaskError
from ikedecode.esp.chunk_open import Residue, open_batches
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sa_plan import BuiltSa, PlannedSa, SaPlan
from ikedecode.esp.sadb import SaDatabase
from ikedecode.parallel.chunk_work import LIVE_PER_WORKER, ChunkSettings, _Stages

# a chunk: ~70 ms of a worker's time (ESP at ~240 MB/s), against ~10 ms of the client's per chunk
DEFAULT_DASK_CHUNK_BYTES = 16 << 20

# --- the tasks (plain functions: no Dask inside) ----------------------------------------------------


def scan_chunk_task(
    settings: ChunkSettings, chunk: Chunk, data: bytes | None, end_error: str | None
) -> ChunkScan:
    """Stage 1: the chunk's scan with its ESP batches (kept on the worker as the task's result).
    ``data``: the chunk's bytes (a stream read by the client); None: read ``settings.path``."""
    try:
        stages = _Stages(settings, [], None)
    except OSError as exc:
        raise CaptureError(_unreadable(settings.path, exc)) from None
    try:
        summary = stages.scan(chunk, data, end_error)
        return replace(summary, batches=stages.take_batches(chunk.index))
    finally:
        stages.close()


def scan_summary_task(scan: ChunkScan) -> tuple[str, ChunkScan, bool]:
    """What the client gathers of a scan: (this worker's ikedecode version, the scan without its
    batches, whether it has batches to open)."""
    return __version__, scan.summary(), bool(scan.batches)


def open_chunk_task(
    scan: ChunkScan,
    pieces: list[list[PlannedSa]],
    names: list[str],
    want_plaintext: bool,
    check_padding: bool,
) -> list[list[Residue]]:
    """Stage 2: the scan's batches opened with the SAs of the plan (each from its threshold frame
    on), per batch its spans' residues. The plan comes in ``pieces`` (consecutive runs of it,
    ``names`` their keys): the SAs of a piece are built once per worker and reused by the next
    chunks' tasks (with their keyed cipher state)."""
    opener = EspOpener(SaDatabase(), check_padding=check_padding, want_plaintext=want_plaintext)
    planned = [entry for piece, name in zip(pieces, names, strict=True) for entry in _built(piece, name)]
    return open_batches(SaPlan(opener, planned), scan.batches)


# per worker thread (an SA's keyed cipher state is not shared between the threads of a worker
# started with --nthreads above 1), the SAs of each plan piece it has used
_BUILT: dict[int, OrderedDict[str, list[BuiltSa]]] = {}
_BUILT_LOCK = threading.Lock()
MAX_BUILT_PIECES = 256  # a run holds about log2(SAs) pieces at a time


def _built(piece: list[PlannedSa], name: str) -> list[BuiltSa]:
    with _BUILT_LOCK:
        cache = _BUILT.setdefault(threading.get_ident(), OrderedDict())
    built = cache.get(name)
    if built is None:
        built = cache[name] = [(threshold, IpsecSa(**spec)) for threshold, spec in piece]
        while len(cache) > MAX_BUILT_PIECES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(name)
    return built


def forget_built_sas() -> int:
    """Drop every SA this worker built (their keys leave its memory with them); how many pieces.
    The client runs it on every worker at the end of a run."""
    with _BUILT_LOCK:
        pieces = sum(len(cache) for cache in _BUILT.values())
        _BUILT.clear()
    return pieces


def _unreadable(path: str | None, exc: OSError) -> str:
    where = "on a Dask worker (the workers read the capture by path: docs/scale.md)"
    if exc.errno == errno.ENOENT:
        return f"{path}: no such file {where}"
    return f"{path}: cannot read {where}: {exc.strerror or exc}"


def _scan_bytes(scan: ChunkScan) -> int:
    """What a scan holds, for Dask's placement: without it, a scan looks tiny and the scheduler
    would move it (batches and all) to run its summary or open task on another worker."""
    return 1024 + sum(len(batch.blob) + 8 * len(batch.meta) for batch in scan.batches)


try:  # the workers import this module to run its tasks: they learn the scans' sizes
    from dask.sizeof import sizeof as _sizeof

    _sizeof.register(ChunkScan)(_scan_bytes)
except ImportError:  # pragma: no cover - Dask is optional; without it nothing here runs
    pass


# --- the client's side ---------------------------------------------------------------------------


class DaskChunkWork:
    """The chunks of one capture scanned and opened as tasks on ``client``'s workers.

    ``ChunkWork``'s interface (``next_scan``, ``ready_to_scan``, ``plan``, ``open``, ``take``,
    ``close``, a context manager) and its first three arguments; ``path``: the capture as the
    workers open it (absolute), or None when the chunks come with their bytes. At most
    ``max_live`` chunks are between their scan's submission and their residues taken: the
    cluster stays busy and the workers' memory bounded."""

    def __init__(
        self,
        client: Any,
        chunks: Iterator[tuple[Chunk, bytes | None, str | None]],
        settings: ChunkSettings,
        planned: list[PlannedSa],
        *,
        path: str | None,
        workers: int,
        max_live: int | None = None,
    ) -> None:
        self.client = client
        self._chunks = chunks
        self.settings = replace(settings, path=path if settings.path is not None else None)
        self.max_live = max_live or max(2, LIVE_PER_WORKER * max(workers, 1))
        self._plan: list[PlannedSa] = list(planned)
        # the plan as sent: consecutive pieces (start, end, future), each at most half the size
        # of the one before it, so a task names at most log2(SAs) + 1 of them; an SA is sent again
        # only when its piece grows by half or more: O(log SAs) times in all, not once per chunk
        self._pieces: list[tuple[int, int, Any]] = []
        self._sent_plan = False
        self._scans: dict[int, Any] = {}  # chunk -> its scan's future (batches on a worker)
        self._summaries: dict[int, Any] = {}  # chunk -> its summary's future
        self._opened: dict[int, Any] = {}  # chunk -> its residues' future, or [] (nothing to open)
        self._kept: dict[int, bool] = {}  # chunk -> whether its scan kept batches
        self._live: deque[int] = deque()
        self._handed = 0
        self._next = 0
        self._exhausted = False
        self._run = uuid.uuid4().hex  # in the tasks' keys (the dashboard shows them)

    # --- stage 1 -----------------------------------------------------------------------------------

    def next_scan(self) -> ChunkScan | None:
        index = self._next
        self._hand_out()
        if index >= self._handed:
            return None
        version, scan, kept = _result(self._summaries.pop(index), self.settings.path is None)
        if version != __version__:
            raise DaskError(
                f"a Dask worker runs ikedecode {version}, this client {__version__}: install the "
                "same version everywhere"
            )
        self._kept[index] = kept
        if not kept:
            self._scans.pop(index).release()  # nothing to open: the worker can forget it
        self._next += 1
        return scan

    def ready_to_scan(self) -> bool:
        return self._exhausted or self._next < self._handed or len(self._live) < self.max_live

    # --- stage 2 -----------------------------------------------------------------------------------

    def plan(self, planned: list[PlannedSa]) -> None:
        self._plan.extend(planned)

    def open(self, index: int) -> None:
        if not self._kept.pop(index):
            self._opened[index] = []
            return
        self._send_plan()
        scan = self._scans.pop(index)
        pieces = [future for _start, _end, future in self._pieces]
        self._opened[index] = self.client.submit(
            open_chunk_task,
            scan,
            pieces,
            [future.key for future in pieces],
            self.settings.want_plaintext,
            self.settings.check_padding,
            key=f"ikedecode-open-{self._run}-{index}",
        )
        scan.release()  # the open task holds it until it ran; then the batches go

    def take(self, index: int, *, block: bool = True) -> list[list[Residue]] | None:
        opened = self._opened[index]
        if isinstance(opened, list):
            residues = opened
        else:
            if not block and not opened.done():
                return None
            residues = _result(opened, self.settings.path is None)
        del self._opened[index]
        if self._live[0] == index:
            self._live.popleft()
        else:
            self._live.remove(index)
        self._hand_out()
        return residues

    # --- life ----------------------------------------------------------------------------------------

    def close(self) -> None:
        futures = [
            *self._scans.values(),
            *self._summaries.values(),
            *(f for f in self._opened.values() if not isinstance(f, list)),
            *(future for _start, _end, future in self._pieces),
        ]
        try:
            if futures:
                self.client.cancel(futures)
            if self._sent_plan:  # the SAs' keys do not outlive the run in the workers' memory
                self.client.run(forget_built_sas)
        except Exception:  # noqa: BLE001, S110 - the client or a worker is gone: nothing to free there
            pass
        self._scans, self._summaries, self._opened, self._pieces = {}, {}, {}, []
        self._sent_plan = False

    def __enter__(self) -> DaskChunkWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------------------

    def _hand_out(self) -> None:
        client, settings = self.client, self.settings
        while not self._exhausted and len(self._live) < self.max_live:
            item = next(self._chunks, None)
            if item is None:
                self._exhausted = True
                return
            chunk, data, end_error = item
            where: Any = None
            if data is not None:  # read here from a stream: straight to a worker, not in the graph
                where = self._scatter(bytes(data))
            named = f"{self._run}-{chunk.index}"  # the tasks' keys: ikedecode-scan-RUN-CHUNK...
            scan = client.submit(
                scan_chunk_task, settings, chunk, where, end_error, key=f"ikedecode-scan-{named}"
            )
            self._scans[chunk.index] = scan
            self._summaries[chunk.index] = client.submit(
                scan_summary_task, scan, key=f"ikedecode-summary-{named}"
            )
            self._live.append(chunk.index)
            self._handed += 1

    def _send_plan(self) -> None:
        """The SAs planned since the last open, sent as a new piece, merged with the pieces before
        it that are less than twice its size (as a binary counter carries)."""
        pieces = self._pieces
        start, end = (pieces[-1][1] if pieces else 0), len(self._plan)
        if start == end:
            return
        while pieces and pieces[-1][1] - pieces[-1][0] < 2 * (end - start):
            start = pieces.pop()[0]  # the tasks already given it keep it until they ran
        pieces.append((start, end, self._scatter(self._plan[start:end])))
        self._sent_plan = True

    def _scatter(self, value: object) -> Any:
        """``value`` sent to a worker (one future for it: a list would be scattered element-wise)."""
        try:
            [future] = self.client.scatter([value], hash=False)
        except Exception as exc:  # noqa: BLE001 - a worker lost while sending to it: one line
            raise DaskError(f"cannot send data to a Dask worker ({type(exc).__name__}: {exc})") from None
        return future


def _result(future: Any, streamed: bool) -> Any:
    """A task's result; a task that failed for a reason the user can act on (a capture a worker
    cannot read, a version mismatch) keeps its one-line error, any other becomes one."""
    try:
        return future.result()
    except (CaptureError, DaskError):
        raise
    except Exception as exc:  # noqa: BLE001 - a worker lost, a task that raised: one line
        why = f"a Dask chunk task failed ({type(exc).__name__}: {exc})"
        if streamed:  # scattered chunk bytes cannot be recomputed (a file's chunks can: read again)
            why += (
                "; the chunks of a gzip capture exist only on the worker they were sent to, so a lost "
                "worker ends the run: gunzip the capture on the shared storage to let Dask redo them"
            )
        raise DaskError(why) from None


def workers_of(client: Any) -> int:
    """How many worker processes (threads, each a task at a time) the cluster has now."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 - an old or odd client: assume a small cluster
        return os.cpu_count() or 2
