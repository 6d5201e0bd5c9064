"""The local run: a capture reader in front, the analysis in the middle, a Report out.

``cli.py`` wires options to it and hands the Report to a renderer. What is done with the datagrams
is ``ikedecode.analysis.session.Analysis`` (the Dask merger drives the same one); this module
keeps what touches processes and files: the reader, ``EspWork`` opening ESP batches (in this
process or on every core, ``--jobs``) whose results are fed back in capture order, so the report is
the same whatever the number of jobs, the DH pool reading ahead, and the decrypted-pcap writer.

One capture file big enough (``chunk_after``), with ``jobs`` > 1, takes the chunk path instead
(``ChunkRun``): worker processes read, scan and open their own chunks of the file
(``parallel/chunk_work.py``; a pcap file's chunk boundaries are walked by them too) while this
process checks (or walks) the chunk boundaries, joins the scans in
order, runs the engine ahead and accounts behind it (docs/performance.md, "Using every core").
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import stat
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

from ikedecode.analysis.report import Report
from ikedecode.analysis.session import Analysis, OpenedBatch
from ikedecode.capture import CaptureReader
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.chunk_join import ChunkJoiner
from ikedecode.capture.chunk_scan import EspRun
from ikedecode.capture.chunk_walk import PartPlan
from ikedecode.capture.chunks import Chunk, ChunkFeeder, plan_chunks
from ikedecode.capture.datagram import Kind
from ikedecode.capture.reader import DEFAULT_BATCH_PACKETS
from ikedecode.capture.sources import CaptureSource, sources_of
from ikedecode.esp.batch_summary import BatchSummary, summarize_batch
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.processor import EspResult
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sa_plan import PlannedSa
from ikedecode.ike.engine import DEFAULT_MAX_PHASE2_PER_SA, DEFAULT_MAX_SAS
from ikedecode.keys.keyring import KeyRing
from ikedecode.parallel.dh_pool import compute_dh_ahead
from ikedecode.parallel.esp_work import DEFAULT_START_AFTER, EspWork, sa_spec
from ikedecode.render.pcap_writer import DecryptedPcapWriter

DEFAULT_CHUNK_BYTES = 4 << 20  # a chunk: a few thousand records, a few ms of a worker's time
DEFAULT_CHUNK_AFTER = 32 << 20  # smaller captures are read in one pass (starting workers costs more)
DEFAULT_PART_BYTES = 1 << 20  # a pcap file's chunks are found by workers walking parts of at least
# this (and at least a chunk): capture/chunk_walk.py
SLOT_MARGIN = 256 << 10  # a gzip chunk's shared-memory slot: --chunk-size plus this (a larger chunk
# goes through the pipe)


@dataclass(slots=True)
class Options:
    max_ike_sas: int = DEFAULT_MAX_SAS  # docs/limits.md
    max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA  # docs/limits.md
    progress: Callable[[int], None] | None = None  # called with frames read so far
    decrypted_output: BinaryIO | None = None  # --write-decrypted
    jobs: int = 1  # processes opening ESP (--jobs); the output does not depend on it
    parallel_after: int = DEFAULT_START_AFTER  # ESP packets before worker processes are worth starting
    batch_packets: int = DEFAULT_BATCH_PACKETS  # ESP datagrams per batch (the unit of parallel work)
    # One capture file of at least ``chunk_after`` bytes, with jobs > 1: read in chunks of about
    # ``chunk_bytes`` by worker processes (``parallel/chunk_work.py``); the output does not depend on it
    chunk_bytes: int = DEFAULT_CHUNK_BYTES  # --chunk-size
    chunk_after: int = DEFAULT_CHUNK_AFTER
    chunk_processes: int | None = None  # processes reading chunks (None: jobs; 0: this one, for tests)
    part_bytes: int = DEFAULT_PART_BYTES  # the parallel walk's parts (a pcap file); 0: this process
    # walks the whole file (plan_chunks)
    extra: dict[str, object] = field(default_factory=dict)


# The cyclic collector's thresholds while a capture is analysed. The analysis makes many
# long-lived objects (messages, payloads, SAs: the report) and few cycles. CPython's defaults
# (700, 10, 10) re-scan the older generations every 7,000 and 70,000 allocations: about a third of
# the time of 10,000 IKE SAs. Generation 1 is collected here every 5,000,000 allocations (as with
# the (100,000, 50) of before), but generation 0 every 2,000: each new object is scanned once
# while it is still in the CPU cache. A young collection of 100,000 objects cost 3-4 times as much
# per object (10,000 IKEv1 SAs: 0.28 -> 0.11 s in the collector; docs/performance.md).
ANALYSIS_GC_THRESHOLDS = (2_000, 2_500, 100)


@contextlib.contextmanager
def collector_tuned() -> Iterator[None]:
    """The collector at ``ANALYSIS_GC_THRESHOLDS`` for the block (unless the caller's are higher);
    the caller's thresholds after it."""
    thresholds = gc.get_threshold()
    gc.set_threshold(
        *(max(mine, theirs) for mine, theirs in zip(ANALYSIS_GC_THRESHOLDS, thresholds, strict=True))
    )
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def analyze(reader: CaptureReader, keyring: KeyRing, options: Options | None = None) -> Report:
    with collector_tuned():
        return _analyze(reader, keyring, options or Options())


def _analyze(reader: CaptureReader, keyring: KeyRing, options: Options) -> Report:
    chunked = chunked_input(reader, options)
    if chunked is not None:
        return _analyze_chunks(reader, chunked, keyring, options)
    decrypted = _Decrypted(options)
    analysis = decrypted.analysis(keyring, options)
    engine = analysis.engine

    def account(opened: list[tuple[EspBatch, BatchSummary]]) -> None:
        for batch, summary in opened:
            analysis.feed(OpenedBatch(batch, summary))

    work = EspWork(
        analysis.sadb,
        jobs=options.jobs,
        want_plaintext=decrypted.writer is not None,
        start_after=options.parallel_after,
    )
    with work:
        if options.jobs != 1 and engine.computes_dh:
            work.start()  # fork the ESP workers before the DH pool starts its thread
        # DH from --dh-private on the other cores, ahead of the engine (parallel/dh_pool.py)
        items = compute_dh_ahead(engine, reader.items(options.batch_packets), options.jobs)
        receive_ike, progress = analysis.receive_ike, options.progress
        ike, ah = Kind.IKE, Kind.AH  # an enum member is looked up in 0.15 us, a local in 0.02
        for n, item in enumerate(items, 1):
            if isinstance(item, EspBatch):
                account(work.submit(item))
            elif item.kind is ike:
                keyed = receive_ike(item)
                if keyed:
                    work.sas_added(keyed)  # keyed SAs open the ESP that follows them
            elif item.kind is ah:
                account(work.drain())  # AH may carry ESP (bundles): ESP before it is counted first
                analysis.feed(item)
            if progress is not None and n % 16 == 0:
                progress(reader.frames_read())
        account(work.finish())
    # one per input file (capture/merge.py reads several as one)
    return analysis.finish(reader.name, reader.stats, sources_of(reader), decrypted.count())


class _Decrypted:
    """--write-decrypted: the writer and how many packets went into it."""

    def __init__(self, options: Options) -> None:
        output = options.decrypted_output
        self.writer = DecryptedPcapWriter(output) if output is not None else None
        self.written = 0

    def analysis(self, keyring: KeyRing, options: Options, *, install_keyed: bool = True) -> Analysis:
        """The run's Analysis, its decrypted packets going to the writer."""
        return Analysis(
            keyring,
            max_ike_sas=options.max_ike_sas,
            max_phase2_per_sa=options.max_phase2_per_sa,
            install_keyed=install_keyed,
            on_layers=self.write if self.writer is not None else None,
            on_tunnel_packet=self.write_tunnel if self.writer is not None else None,
        )

    def write(self, layers: list[EspResult]) -> None:
        if self.writer is not None and self.writer.write_layers(layers):
            self.written += 1

    def write_tunnel(self, time_ns: int, inner_packet: bytes) -> None:
        self.writer.write_tunnel_packet(time_ns, inner_packet)  # type: ignore[union-attr]
        self.written += 1

    def count(self) -> int | None:
        return self.written if self.writer is not None else None


# --- one capture in chunks, on every core (parallel/chunk_work.py) ---------------------------------


@dataclass(slots=True)
class ChunkInput:
    """How the chunk path reads the capture: the workers read ``path`` themselves, or this process
    reads ``stream`` (gzip) from the start and hands each chunk's bytes over."""

    path: str | None
    stream: BinaryIO | None
    # the reader's own file: its position is moved to the end of each chunk accounted, so the
    # progress bar (terminal/progress.py, which reads ``reader.bytes_read()``) follows the analysis
    file: BinaryIO


def chunked_input(reader: CaptureReader, options: Options) -> ChunkInput | None:
    """How to read ``reader``'s capture in chunks; None where today's path reads it: --jobs 1, merged
    files (capture/merge.py), a stream that is not a file, or a file under ``chunk_after`` bytes."""
    if options.jobs == 1 or type(reader) is not CaptureReader:
        return None
    stream = reader.owned_file  # a file open_capture opened (not a caller's stream)
    if stream is None:
        return None
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(status.st_mode) or status.st_size < max(options.chunk_after, 1):
        return None
    if reader.compressed:
        return ChunkInput(None, stream, stream)
    return ChunkInput(reader.name, None, stream)


class ChunkEnd(NamedTuple):
    """The walk's mark after a chunk's items: every IKE datagram of the chunk went before it."""

    chunk: int  # its index
    end: int  # its end offset in the capture
    frames: int  # records up to the end of the chunk


class ChunkRun:
    """The main process's side of the chunk path: the walk, the engine, accounting in order.

    The engine reads the IKE datagrams of chunk k as soon as its scan is joined (and the DH pool
    reads ahead of it); the SAs it keys are noted with the frame of the IKE datagram (their
    threshold), planned on the workers, and chunk k is opened there. Accounting follows behind, in
    capture order: before each AH datagram, reassembled ESP datagram or span of ESP residues, the
    SAs keyed by an IKE datagram before it are installed, so every packet meets the SA database as
    it stood at its frame in a sequential run."""

    def __init__(
        self,
        reader: CaptureReader,
        chunked: ChunkInput,
        keyring: KeyRing,
        options: Options,
        work: Callable[..., Any] | None = None,
    ):
        # ``work(chunks, settings, planned)``: makes the object that scans and opens the chunks
        # (ChunkWork's interface and arguments, less its keywords); None: ChunkWork's processes here
        # (the Dask client passes distributed/chunk_tasks.py's DaskChunkWork)
        self.make_work = work
        self.reader = reader
        self.chunked = chunked
        self.options = options
        self.decrypted = _Decrypted(options)
        self.analysis = self.decrypted.analysis(keyring, options, install_keyed=False)
        self.keyed: list[tuple[int, list[IpsecSa]]] = []  # (frame of the IKE datagram, its SAs)
        self.installed = 0  # entries of ``keyed`` installed in the SA database
        self.planned: list[PlannedSa] = []  # keyed, not yet planned on the workers
        # chunks the engine has read, not yet accounted: (index, end offset, records up to its end,
        # its AH, reassembled ESP and ESP runs)
        self.waiting: deque[tuple[int, int, int, list[Any]]] = deque()
        self.opener = EspOpener(self.analysis.sadb, want_plaintext=self.decrypted.writer is not None)
        self.joiner = ChunkJoiner(**reader.read_options())
        self.part_view: mmap.mmap | None = None  # the file, when it is walked in parts

    def run(self) -> Report:
        # the chunk processes' side (multiprocessing.connection, ~10 ms): imported on this path only
        from ikedecode.parallel.chunk_work import ChunkSettings, ChunkWork

        options, analysis = self.options, self.analysis
        want_plaintext = self.decrypted.writer is not None
        settings = ChunkSettings(self.chunked.path, _scan_options(self.reader, options), want_plaintext)
        workers = options.jobs if options.chunk_processes is None else options.chunk_processes
        parts = self._part_plan()
        chunks = self._chunks() if parts is None else iter(())
        initial = [(-1, sa_spec(sa)) for sa in analysis.sadb]
        slot_bytes = options.chunk_bytes + SLOT_MARGIN  # a chunk ends at the first record boundary past it
        if self.make_work is not None:
            made = self.make_work(chunks, settings, initial)
        else:
            made = ChunkWork(chunks, settings, initial, workers=workers, slot_bytes=slot_bytes, parts=parts)
        with made as work, contextlib.ExitStack() as closing:
            if self.part_view is not None:
                closing.callback(self.part_view.close)
            self.work = work
            accounting: list[Any] = []  # the AH, reassembled ESP and ESP runs of the chunk walked
            # workers forked (above) before the DH pool starts its thread
            for item in compute_dh_ahead(analysis.engine, self._walk(), options.jobs):
                kind = type(item)
                if kind is ChunkEnd:
                    self.waiting.append((item.chunk, item.end, item.frames, accounting))
                    accounting = []
                    work.plan(self.planned)
                    self.planned = []
                    work.open(item.chunk)
                    self._account(block=False)
                elif kind is EspRun or item.kind is not Kind.IKE:
                    accounting.append(item)
                else:
                    keyed = analysis.feed(item)
                    if keyed:
                        self.keyed.append((item.frame, keyed))
                        self.planned.extend((item.frame, sa_spec(sa)) for sa in keyed)
            self._account(block=True)
        for _frame, sas in self.keyed[self.installed :]:
            for sa in sas:
                analysis.install(sa)
        self.reader.close()
        stats = self.joiner.stats()
        source = CaptureSource(
            self.reader.name,
            self.reader.format,
            bool(self.reader.compressed),
            stats.packets,
            stats.first_time,
            stats.last_time,
            stats.truncated,
        )
        return analysis.finish(self.reader.name, stats, [source], self.decrypted.count())

    def _part_plan(self) -> PartPlan | None:
        """A pcap file the workers read themselves is walked in parts by them too (the main
        process only checks where each part's walk started: capture/chunk_walk.py); None where
        this process walks the capture (``_chunks``): a gzip stream, pcapng, the Dask client."""
        part_bytes = self.options.part_bytes
        if (
            self.make_work is not None
            or self.chunked.path is None
            or self.reader.format != "pcap"
            or part_bytes < 1
        ):
            return None
        with open(self.reader.name, "rb") as file:
            view = self.part_view = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        chunk_bytes = max(self.options.chunk_bytes, 1)
        return PartPlan(view, chunk_bytes, part_bytes=max(part_bytes, chunk_bytes), name=self.reader.name)

    def _chunks(self) -> Iterator[tuple[Chunk, bytes | None, str | None]]:
        """The capture's chunks, with their bytes when this process reads them (a gzip stream)."""
        chunk_bytes = max(self.options.chunk_bytes, 1)
        stream = self.chunked.stream
        if stream is not None:
            stream.seek(0)
            feeder = ChunkFeeder(stream, chunk_bytes, name=self.reader.name)
            for chunk, data in feeder:  # why a gzip stream ended early: known at the last chunk
                yield chunk, data, feeder.end_error if chunk.last else None
            return
        with (
            open(self.reader.name, "rb") as file,
            mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view,
        ):
            done = 0  # bytes of the walk behind us, given back (RSS stays flat over GBs)
            for chunk in plan_chunks(view, chunk_bytes, name=self.reader.name):
                yield chunk, None, None
                behind = chunk.end - chunk.end % mmap.PAGESIZE
                if behind - done >= 64 * mmap.PAGESIZE:
                    view.madvise(mmap.MADV_DONTNEED, done, behind - done)
                    done = behind

    def _walk(self) -> Iterator[Any]:
        """The joined items of every chunk in capture order, a ``ChunkEnd`` after each chunk's."""
        work, joiner = self.work, self.joiner
        while True:
            while not work.ready_to_scan() and self.waiting:  # the oldest chunks first: memory stays flat
                self._account(block=True, one=True)
            scan = work.next_scan()
            if scan is None:
                break
            yield from joiner.join(scan)
            chunk = scan.chunk
            yield ChunkEnd(chunk.index, chunk.end, chunk.records_before + scan.frames)

    def _install_before(self, frame: int) -> None:
        keyed, analysis = self.keyed, self.analysis
        while self.installed < len(keyed) and keyed[self.installed][0] < frame:
            for sa in keyed[self.installed][1]:
                analysis.install(sa)
            self.installed += 1

    def _account(self, *, block: bool, one: bool = False) -> None:
        """Account the chunks the engine has read, oldest first, as their residues come (only the
        oldest with ``one``); with ``block``, waiting for them."""
        analysis, install_before = self.analysis, self._install_before
        progress = self.options.progress
        while self.waiting:
            index, end, frames, items = self.waiting[0]
            residues = self.work.take(index, block=block)
            if residues is None:
                return
            self.waiting.popleft()
            for item in items:
                if type(item) is EspRun:
                    for residue, summary in residues[item.batch]:
                        install_before(residue.meta[0])
                        analysis.feed(OpenedBatch(residue, summary))
                    continue
                install_before(item.frame)
                if item.kind is Kind.ESP:  # reassembled here: opened here, as in a batch of its own
                    batch = EspBatch()
                    batch.add_datagram(item)
                    batch.seal()
                    analysis.feed(OpenedBatch(batch, summarize_batch(self.opener, batch.blob, batch.meta)))
                else:
                    analysis.feed(item)  # AH
            if progress is not None:
                if self.chunked.path is not None:
                    self.chunked.file.seek(end)
                progress(frames)
            if one:
                return


def _scan_options(reader: CaptureReader, options: Options) -> dict[str, Any]:
    return {**reader.read_options(), "batch_packets": options.batch_packets, "name": reader.name}


def _analyze_chunks(reader: CaptureReader, chunked: ChunkInput, keyring: KeyRing, options: Options) -> Report:
    return ChunkRun(reader, chunked, keyring, options).run()
