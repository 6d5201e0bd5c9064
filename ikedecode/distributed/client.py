"""``--dask``: the per-file work of a multi-file analysis as Dask tasks, merged into one exact Report.

The Report equals the one a local merged run (``ikedecode.capture.merge``) makes of the same files,
frame numbers included. How:

1. Stage 1, one task per file (``tasks.scan_file``): read the file; return its IKE and AH
   datagrams, its statistics and its record times. Only the times of files whose time spans
   overlap another file's are fetched (``order``): the others come whole in the merged order.
2. Here: the merged order as runs of records; every datagram renumbered to its merged frame; the
   IKE engine fed in merged order, exactly as the local pipeline feeds it. Each IPsec SA a quick
   mode creates is noted with the point of the merged order where it appeared, translated into
   each file's own frame numbers.
3. Stage 2, one task per file with ESP (``tasks.open_file_esp``): open its ESP packets with the
   SAs, each SA only for the packets that come after its creation in the merged order (as in a
   local run, where an SA exists from its quick mode on). Opening is stateless by design
   (``ikedecode.esp.opener``), so it gives the same outcome on any machine.
4. Here: every outcome accounted for in merged order with ``EspProcessor`` (counters, replay
   windows, SPIs without keys), AH processed in its place, and the Report built and diagnosed as
   ``pipeline.analyze`` builds it.

IP fragments are reassembled within each file. When fragments of different files could meet in a
local merged run (a fragmented datagram cut by a file rotation, two captures of the same traffic,
times that go backwards), the per-file results could differ from it, so the analysis is made here
in one local merged pass instead (exact), after a note saying why.

Keys: the IKE engine runs here; the workers receive only the IPsec SAs' keys (docs/scale.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from ikedecode import __version__
from ikedecode.analysis.report import Report
from ikedecode.analysis.session import Analysis, OpenedPacket
from ikedecode.capture.datagram import CaptureStats, Datagram, Kind
from ikedecode.capture.merge import open_captures
from ikedecode.capture.reader import open_capture
from ikedecode.capture.reassembly import INCOMPLETE
from ikedecode.capture.sources import CaptureSource, merged_name, merged_truncation
from ikedecode.capture.stats_merge import (
    add_counts,
    counter_in_order,
    entries_in_order,
    note_earliest,
    notes_in_order,
)
from ikedecode.distributed.chunk_tasks import DaskChunkWork, workers_of
from ikedecode.distributed.errors import DaskError
from ikedecode.distributed.order import Span, merged_runs, overlap_groups
from ikedecode.distributed.tasks import (
    EspPacket,
    FileScan,
    open_file_esp,
    packets_of,
    record_times,
    scan_file,
    scan_summary,
)
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sa_plan import PlannedSa
from ikedecode.keys.keyring import KeyRing
from ikedecode.parallel.chunk_work import ChunkSettings
from ikedecode.parallel.esp_work import available_cores, sa_spec
from ikedecode.pipeline import ChunkRun, Options, analyze, chunked_input, collector_tuned

DEFAULT_FRAGMENT_TIMEOUT = 30.0  # seconds, CaptureReader's default


# --- connecting ------------------------------------------------------------------------------------


@contextlib.contextmanager
def dask_client(address: str, *, workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``address`` (``tcp://host:8786``...) or, for ``local``, a
    ``LocalCluster`` of worker processes on this machine (one per core unless ``workers``)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise DaskError("--dask needs Dask: pip install 'ikedecode[dask]'") from None
    cluster = None
    try:
        if address == "local":
            logging.getLogger("distributed").setLevel(logging.ERROR)
            cluster = LocalCluster(
                n_workers=workers or available_cores(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout="15s")
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise DaskError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --- the analysis ----------------------------------------------------------------------------------


def analyze_on_dask(
    client: Any,
    paths: Sequence[str],
    keyring: KeyRing,
    options: Options | None = None,
    reader_options: dict[str, Any] | None = None,
    note: Callable[[str], None] | None = None,
) -> Report:
    """The Report of ``paths`` merged by time, with the per-file work run as tasks on ``client``.

    The workers read the files by absolute path: they must see the same files (shared storage).
    One file (not a pipe) is spread over the workers in chunks (``chunk_tasks``); several files are
    read one task per file and merged here.
    """
    options = options or Options()
    reader_options = dict(reader_options or {})
    names = [os.fsdecode(p) for p in paths]
    if len(names) == 1:
        report = analyze_chunks_on_dask(client, names[0], keyring, options, reader_options)
        if report is not None:
            return report
    absolute = [os.path.abspath(name) for name in names]
    scans_remote = [
        client.submit(scan_file, path, i, names[i], reader_options, pure=False)
        for i, path in enumerate(absolute)
    ]
    scans: list[FileScan] = client.gather([client.submit(scan_summary, f) for f in scans_remote])
    for scan in scans:
        if scan.version != __version__:
            raise DaskError(
                f"a Dask worker runs ikedecode {scan.version}, this client {__version__}: install the "
                "same version everywhere"
            )
    why_not = _not_exact_per_file(scans, reader_options)
    if why_not is not None:
        client.cancel(scans_remote)
        if note is not None:
            note(f"--dask: {why_not}; analysing the files in one merged pass here instead")
        return analyze(open_captures(names, **reader_options), keyring, options)

    spans = [Span(s.frames, s.min_ns, s.max_ns) for s in scans]
    groups = overlap_groups(spans)
    group_of = {i: number for number, group in enumerate(groups) for i in group}
    overlapping = [i for group in groups if len(group) > 1 for i in group]
    fetched = client.gather([client.submit(record_times, scans_remote[i]) for i in overlapping])
    times = dict(zip(overlapping, fetched, strict=True))
    client.cancel(scans_remote)

    def runs() -> Iterator[tuple[int, int, int, int, int]]:
        return merged_runs(spans, times.__getitem__)

    merger = _Merger(scans, options, keyring)
    merger.ike_pass(runs(), groups)
    futures: dict[int, Any] = {}
    for i, scan in enumerate(scans):
        if scan.stats.esp:
            plan = merger.plan_for(i, group_of[i], scan.frames)
            futures[i] = client.submit(open_file_esp, absolute[i], reader_options, plan, pure=False)
    try:
        merger.esp_pass(runs(), futures, scans)
    finally:
        client.cancel(list(futures.values()))
    return merger.report(runs())


def analyze_chunks_on_dask(
    client: Any, path: str, keyring: KeyRing, options: Options, reader_options: dict[str, Any]
) -> Report | None:
    """The Report of one capture file read in chunks by the cluster's workers (the same main side
    as ``--jobs``: ``pipeline.ChunkRun``, its chunks scanned and opened by ``DaskChunkWork``); None
    when the capture is not a file the chunk path reads (a pipe)."""
    reader = open_capture(path, **reader_options)
    try:
        # the chunk path whatever the number of local jobs and the file's size
        chunked = chunked_input(reader, replace(options, jobs=2, chunk_after=0))
        if chunked is None:
            return None
        where = os.path.abspath(path) if chunked.path is not None else None
        workers = workers_of(client)

        def work(chunks: Any, settings: ChunkSettings, planned: list[PlannedSa]) -> DaskChunkWork:
            return DaskChunkWork(client, chunks, settings, planned, path=where, workers=workers)

        with collector_tuned():  # as pipeline.analyze: many long-lived objects, few cycles
            return ChunkRun(reader, chunked, keyring, options, work=work).run()
    finally:
        reader.close()


def _not_exact_per_file(scans: list[FileScan], reader_options: dict[str, Any]) -> str | None:
    """Why reassembling IP fragments file by file could differ from a merged run; None if it cannot."""
    if reader_options.get("max_fragment_buffers", 1) == 0:
        return None  # no reassembly at all: every fragment is judged alone
    with_fragments = [s for s in scans if s.fragment_times]
    if not with_fragments:
        return None
    for scan in scans:
        if not scan.time_ordered:
            return f"{scan.name} has times that go backwards and the files hold IP fragments"
    for scan in with_fragments:
        if scan.stats.malformed_reasons.get(INCOMPLETE):
            return f"{scan.name} ends with or drops incomplete IP fragment sets (they may continue elsewhere)"
    timeout = float(reader_options.get("fragment_timeout", DEFAULT_FRAGMENT_TIMEOUT))
    timeout_ns = int(timeout * 1_000_000_000)
    entries = sorted((t, s.index) for s in with_fragments for t in s.fragment_times)
    for (t1, a), (t2, b) in zip(entries, entries[1:], strict=False):
        if a != b and t2 - t1 <= timeout_ns:
            return (
                f"{scans[a].name} and {scans[b].name} hold IP fragments less than {timeout:g} s apart "
                "(a datagram may be split between them)"
            )
    return None


class _Merger:
    """The client's half: the merged order, the IKE engine, ESP accounting, the Report."""

    def __init__(self, scans: list[FileScan], options: Options, keyring: KeyRing) -> None:
        self.scans = scans
        self.options = options
        self.keyring = keyring
        # the keyed IPsec SAs are installed in pass B, where they appeared in the merged order
        self.analysis = Analysis(
            keyring,
            max_ike_sas=options.max_ike_sas,
            max_phase2_per_sa=options.max_phase2_per_sa,
            install_keyed=False,
        )
        # (merged frame of the IKE datagram, its SAs, overlap group, {file: threshold} in the group)
        self.additions: list[tuple[int, list[IpsecSa], int, dict[int, int]]] = []
        self.mapping: list[dict[int, int]] = [{} for _ in scans]  # frame in file -> merged frame
        self.ah: list[list[tuple[int, Datagram]]] = [[] for _ in scans]  # (frame in file, renumbered)

    # -- pass A: merged frame numbers, IKE ------------------------------------------------------------

    def ike_pass(self, runs: Iterator[tuple[int, int, int, int, int]], groups: list[list[int]]) -> None:
        scans, mapping = self.scans, self.mapping
        needed: list[list[int]] = []
        for scan in scans:
            frames: set[int] = set()
            for datagram in scan.datagrams:
                frames.add(datagram.frame)
                frames.update(datagram.frames)
            frames.update(frame for frame, _ in scan.stats.malformed_frames)
            frames.update(scan.malformed_at)
            frames.update(scan.reasons_at.values())
            frames.update(scan.links_at.values())
            frames.update(note.frame for note in scan.stats.port_unreachable)
            needed.append(sorted(frames))
        next_needed = [0] * len(scans)
        next_datagram = [0] * len(scans)
        consumed = [0] * len(scans)
        analysis = self.analysis
        for i, lo, hi, base, group in runs:
            wanted, at = needed[i], next_needed[i]
            while at < len(wanted) and wanted[at] <= hi:
                mapping[i][wanted[at]] = base + wanted[at] - lo
                at += 1
            next_needed[i] = at
            datagrams, at = scans[i].datagrams, next_datagram[i]
            while at < len(datagrams) and datagrams[at].frame <= hi:
                datagram = datagrams[at]
                at += 1
                local = datagram.frame
                datagram.frame = mapping[i][local]
                datagram.frames = tuple(mapping[i][f] for f in datagram.frames)
                if datagram.kind is Kind.AH:
                    self.ah[i].append((local, datagram))
                    continue
                created = analysis.feed(datagram)
                if created:
                    thresholds = {j: consumed[j] for j in groups[group]}
                    thresholds[i] = local
                    self.additions.append((datagram.frame, created, group, thresholds))
            next_datagram[i] = at
            consumed[i] = hi

    def plan_for(self, index: int, group: int, frames: int) -> list[tuple[int, dict[str, Any]]]:
        """The SAs for stage 2 of file ``index``, in database order, each with the frame of the file
        after which it may open packets (-1: from the start; the file's length: never)."""
        plan = [(-1, sa_spec(sa)) for sa in self.keyring.ipsec_sas]
        for _frame, created, created_in, thresholds in self.additions:
            if created_in == group:
                threshold = thresholds[index]
            else:
                threshold = -1 if created_in < group else frames
            plan.extend((threshold, sa_spec(sa)) for sa in created)
        return plan

    # -- pass B: ESP and AH accounted for in merged order -------------------------------------------

    def esp_pass(
        self, runs: Iterator[tuple[int, int, int, int, int]], futures: dict[int, Any], scans: list[FileScan]
    ) -> None:
        analysis, additions = self.analysis, self.additions
        packets: dict[int, list[EspPacket]] = {}
        next_packet = [0] * len(scans)
        next_ah = [0] * len(scans)
        added = 0
        for i, lo, hi, base, _group in runs:
            if i in futures and i not in packets:
                packets[i] = packets_of(futures.pop(i).result())
            esp = packets.get(i, [])
            ah = self.ah[i]
            p, a = next_packet[i], next_ah[i]
            while True:
                esp_frame = esp[p][0] if p < len(esp) and esp[p][0] <= hi else None
                ah_frame = ah[a][0] if a < len(ah) and ah[a][0] <= hi else None
                if esp_frame is None and ah_frame is None:
                    break
                if ah_frame is None or (esp_frame is not None and esp_frame < ah_frame):
                    local = esp_frame
                else:
                    local = ah_frame
                merged = base + local - lo  # type: ignore[operator]
                while added < len(additions) and additions[added][0] < merged:
                    for sa in additions[added][1]:
                        analysis.install(sa)
                    added += 1
                if local == esp_frame:
                    _local, time_ns, size, outcome, extra = esp[p]
                    analysis.feed(OpenedPacket(merged, time_ns, size, outcome, extra))
                    p += 1
                else:
                    analysis.feed(ah[a][1])
                    a += 1
            next_packet[i], next_ah[i] = p, a
            if hi == scans[i].frames:
                packets.pop(i, None)  # the file is done: its outcomes can go
        for _frame, created, _group, _thresholds in additions[added:]:
            for sa in created:
                analysis.install(sa)

    # -- the Report -------------------------------------------------------------------------------------

    def report(self, runs: Iterator[tuple[int, int, int, int, int]]) -> Report:
        stats = self._stats(runs)
        names = [scan.name for scan in self.scans]
        sources = [
            CaptureSource(
                scan.name,
                scan.format,
                scan.compressed,
                scan.frames,
                None if scan.first_ns is None else scan.first_ns / 1e9,
                None if scan.last_ns is None else scan.last_ns / 1e9,
                scan.stats.truncated,
            )
            for scan in self.scans
        ]
        return self.analysis.finish(merged_name(names), stats, sources)

    def _stats(self, runs: Iterator[tuple[int, int, int, int, int]]) -> CaptureStats:
        """The files' statistics as one merged run would have counted them."""
        scans, mapping = self.scans, self.mapping
        stats = CaptureStats()
        for scan in scans:
            add_counts(stats, scan.stats)
        # Counters in the order their keys first appeared in the merged run
        for total, firsts in (("malformed_reasons", "reasons_at"), ("link_types", "links_at")):
            first_seen: dict[str, int] = {}
            for i, scan in enumerate(scans):
                note_earliest(
                    first_seen, {key: mapping[i][frame] for key, frame in getattr(scan, firsts).items()}
                )
            setattr(
                stats, total, counter_in_order((getattr(scan.stats, total) for scan in scans), first_seen)
            )
        stats.malformed_frames = entries_in_order(
            (mapping[i][at], mapping[i][frame], description)  # stable: one file's entries keep their order
            for i, scan in enumerate(scans)
            for (frame, description), at in zip(scan.stats.malformed_frames, scan.malformed_at, strict=True)
        )
        stats.port_unreachable = notes_in_order(  # ICMP port unreachable about IKE, merged frame numbers
            note._replace(frame=mapping[i][note.frame])
            for i, scan in enumerate(scans)
            for note in scan.stats.port_unreachable
        )
        stats.port_unreachable_count = sum(scan.stats.port_unreachable_count for scan in scans)
        stats.truncated = merged_truncation([(scan.name, scan.stats.truncated) for scan in scans])
        first = last = None
        for i, _lo, hi, _base, _group in runs:
            if first is None:
                first = scans[i].first_ns
            if hi == scans[i].frames:
                last = scans[i].last_ns
        stats.first_time = None if first is None else first / 1e9
        stats.last_time = None if last is None else last / 1e9
        return stats
