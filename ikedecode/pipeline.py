"""The local run: a capture reader in front, the analysis in the middle, a Report out.

``cli.py`` wires options to it and hands the Report to a renderer. What is done with the datagrams
is ``ikedecode.analysis.session.Analysis`` (the Dask merger drives the same one); this module
keeps what touches processes and files: the reader, ``EspWork`` opening ESP batches (in this
process or on every core, ``--jobs``) whose results are fed back in capture order, so the report is
the same whatever the number of jobs, the DH pool reading ahead, and the decrypted-pcap writer.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from ikedecode.analysis.report import Report
from ikedecode.analysis.session import Analysis, OpenedBatch
from ikedecode.capture import CaptureReader
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.datagram import Kind
from ikedecode.capture.reader import DEFAULT_BATCH_PACKETS
from ikedecode.capture.sources import sources_of
from ikedecode.esp.lanes import BatchSummary
from ikedecode.esp.processor import EspResult
from ikedecode.ike.engine import DEFAULT_MAX_PHASE2_PER_SA, DEFAULT_MAX_SAS
from ikedecode.keys.keyring import KeyRing
from ikedecode.parallel.dh_pool import compute_dh_ahead
from ikedecode.parallel.esp_work import DEFAULT_START_AFTER, EspWork
from ikedecode.render.pcap_writer import DecryptedPcapWriter


@dataclass(slots=True)
class Options:
    max_ike_sas: int = DEFAULT_MAX_SAS  # docs/limits.md
    max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA  # docs/limits.md
    progress: Callable[[int], None] | None = None  # called with frames read so far
    decrypted_output: BinaryIO | None = None  # --write-decrypted
    jobs: int = 1  # processes opening ESP (--jobs); the output does not depend on it
    parallel_after: int = DEFAULT_START_AFTER  # ESP packets before worker processes are worth starting
    batch_packets: int = DEFAULT_BATCH_PACKETS  # ESP datagrams per batch (the unit of parallel work)
    extra: dict[str, object] = field(default_factory=dict)


def analyze(reader: CaptureReader, keyring: KeyRing, options: Options | None = None) -> Report:
    # The analysis makes many long-lived objects (messages, SAs) and few cycles: the default
    # collector thresholds spent about a third of the time of 10,000 IKE SAs re-scanning them.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 100_000), 50, 100)
    try:
        return _analyze(reader, keyring, options or Options())
    finally:
        gc.set_threshold(*thresholds)


def _analyze(reader: CaptureReader, keyring: KeyRing, options: Options) -> Report:
    writer = DecryptedPcapWriter(options.decrypted_output) if options.decrypted_output is not None else None
    written = 0

    def write(layers: list[EspResult]) -> None:
        nonlocal written
        if writer is not None and writer.write_layers(layers):
            written += 1

    def write_tunnel(time_ns: int, inner_packet: bytes) -> None:
        nonlocal written
        writer.write_tunnel_packet(time_ns, inner_packet)  # type: ignore[union-attr]
        written += 1

    analysis = Analysis(
        keyring,
        max_ike_sas=options.max_ike_sas,
        max_phase2_per_sa=options.max_phase2_per_sa,
        on_layers=write if writer is not None else None,
        on_tunnel_packet=write_tunnel if writer is not None else None,
    )
    engine = analysis.engine

    def account(opened: list[tuple[EspBatch, BatchSummary]]) -> None:
        for batch, summary in opened:
            analysis.feed(OpenedBatch(batch, summary))

    work = EspWork(
        analysis.sadb,
        jobs=options.jobs,
        want_plaintext=writer is not None,
        start_after=options.parallel_after,
    )
    with work:
        if options.jobs != 1 and engine.computes_dh:
            work.start()  # fork the ESP workers before the DH pool starts its thread
        # DH from --dh-private on the other cores, ahead of the engine (parallel/dh_pool.py)
        for n, item in enumerate(
            compute_dh_ahead(engine, reader.items(options.batch_packets), options.jobs), 1
        ):
            if isinstance(item, EspBatch):
                account(work.submit(item))
            elif item.kind is Kind.AH:
                account(work.drain())  # AH may carry ESP (bundles): ESP before it is counted first
                analysis.feed(item)
            elif item.kind is Kind.IKE:
                work.sas_added(analysis.feed(item))  # keyed SAs open the ESP that follows them
            if options.progress is not None and n % 16 == 0:
                options.progress(reader.frames_read())
        account(work.finish())
    # one per input file (capture/merge.py reads several as one)
    return analysis.finish(
        reader.name, reader.stats, sources_of(reader), written if writer is not None else None
    )
