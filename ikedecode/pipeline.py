"""Glue: a capture reader in front, the protocol engines in the middle, a Report out.

This is the only place the layers meet; ``cli.py`` wires options to it and hands the Report
to a renderer. IKE datagrams go to the IKE engine; every IPsec SA a quick mode keys goes into
the SA database before the next datagram, so the ESP that follows it decrypts in one pass.
ESP comes in batches: opened by ``EspWork`` (in this process or on every core, ``--jobs``) and
accounted for here in capture order, so the report is the same whatever the number of jobs.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from ikedecode.analysis.diagnose import diagnose
from ikedecode.analysis.key_use import unmatched_keys
from ikedecode.analysis.keying import ipsec_sa_from_child
from ikedecode.analysis.report import Report, capture_findings
from ikedecode.capture import CaptureReader
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.datagram import Kind
from ikedecode.capture.reader import DEFAULT_BATCH_PACKETS
from ikedecode.capture.sources import sources_of
from ikedecode.esp.lanes import BatchSummary
from ikedecode.esp.processor import EspProcessor, EspResult
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import SaDatabase
from ikedecode.findings import Finding, finding
from ikedecode.ike.v1.child_sa import ChildSaKeys
from ikedecode.ike.v1.engine import DEFAULT_MAX_PHASE2_PER_SA, IkeEngine
from ikedecode.keys.keyring import KeyRing
from ikedecode.parallel.dh_pool import compute_dh_ahead
from ikedecode.parallel.esp_work import DEFAULT_START_AFTER, EspWork
from ikedecode.render.pcap_writer import DecryptedPcapWriter


@dataclass(slots=True)
class Options:
    max_ike_sas: int = 100_000
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
    engine = IkeEngine(keyring, max_sas=options.max_ike_sas, max_phase2_per_sa=options.max_phase2_per_sa)
    # The KeyRing's SAs are configuration (it may be reused): this run counts on fresh copies.
    sadb = SaDatabase(sa.fresh() for sa in keyring.ipsec_sas)
    processor = EspProcessor(sadb)
    writer = DecryptedPcapWriter(options.decrypted_output) if options.decrypted_output is not None else None
    findings: list[Finding] = []
    written = 0

    def write(layers: list[EspResult]) -> None:
        nonlocal written
        if writer is not None and writer.write_layers(layers):
            written += 1

    def write_tunnel(time_ns: int, inner_packet: bytes) -> None:
        nonlocal written
        writer.write_tunnel_packet(time_ns, inner_packet)  # type: ignore[union-attr]
        written += 1

    def account(opened: list[tuple[EspBatch, BatchSummary]]) -> None:
        for batch, summary in opened:
            if writer is None:
                processor.account_summary(batch, summary)
            else:
                processor.account_summary(batch, summary, write, write_tunnel)

    work = EspWork(
        sadb, jobs=options.jobs, want_plaintext=writer is not None, start_after=options.parallel_after
    )
    with work:
        if options.jobs != 1 and engine.computes_dh:
            work.start()  # fork the ESP workers before the DH pool starts its thread
        # DH from --dh-private on the other cores, ahead of the engine (parallel/dh_pool.py)
        for n, item in enumerate(
            compute_dh_ahead(engine, reader.items(options.batch_packets), options.jobs), 1
        ):
            if type(item) is EspBatch:
                account(work.submit(item))
            elif item.kind is Kind.AH:
                account(work.drain())  # AH may carry ESP (bundles): ESP before it is counted first
                try:
                    write(processor.process_nested(item))
                except Exception as exc:  # noqa: BLE001 - one bad packet must not end the analysis
                    processor.note_failure(item.frame, type(exc).__name__)
            elif item.kind is Kind.IKE:
                engine.receive(item)
                before = len(sadb)
                for child in engine.take_child_sas():
                    try:
                        sadb.add(ipsec_sa_from_child(child))
                    except ValueError as exc:
                        findings.append(unkeyed_finding(child, exc))
                work.sas_added(sadb[i] for i in range(before, len(sadb)))
            if options.progress is not None and n % 16 == 0:
                options.progress(reader.frames_read())
        account(work.finish())
    if processor.first_failure is not None:
        findings.append(esp_failure_finding(processor.failed_packets, *processor.first_failure))
    ike_sas = engine.finish()
    findings = capture_findings(reader.stats) + engine.findings + findings
    report = Report(reader.name, reader.stats, ike_sas, findings, engine.unattached)
    report.ipsec_sas = reportable_sas(sadb)
    report.unknown_spis = sadb.no_keys
    report.decrypted_written = written if writer is not None else None
    report.sources = sources_of(reader)  # one per input file (capture/merge.py reads several as one)
    report.trusted_certificates = list(keyring.trusted_certificates)
    report.findings.extend(diagnose(report))  # why it failed, with evidence (docs/findings.md)
    report.findings.extend(unmatched_keys(keyring, report))  # a key file of another capture says so
    return report


def unkeyed_finding(child: ChildSaKeys, exc: ValueError) -> Finding:
    return finding(
        "ipsec-sa-unkeyed",
        f"{child.origin}: SPI 0x{child.spi.hex()} cannot be keyed: {exc}",
        {"spi": child.spi.hex(), "message_id": f"0x{child.message_id:08x}"},
    )


def esp_failure_finding(packets: int, first_frame: int, exception: str) -> Finding:
    """The guard around ESP/AH processing: one ``decoder-error`` finding counting the packets."""
    return finding(
        "decoder-error",
        f"ikedecode failed to process {packets} ESP/AH packet(s) (first: frame {first_frame}, "
        f"{exception}); the rest was decoded",
        {"first_frame": first_frame, "exception": exception, "packets": packets},
    )


def reportable_sas(sadb: SaDatabase) -> list[IpsecSa]:
    """SAs worth a line in the report: those packets used, and every negotiated one.

    A PFS quick mode keyed with several g(qm)^xy candidates gives several SAs per SPI; once the
    ICV has picked one, the others are dropped from the report.
    """
    groups: dict[tuple[str, int | None, str | None, str | None], list[IpsecSa]] = {}
    for sa in sadb:
        if sa.counters.packets or sa.ike_cookies:
            groups.setdefault((sa.protocol, sa.spi, sa.src, sa.dst), []).append(sa)
    out: list[IpsecSa] = []
    for candidates in groups.values():
        used = [sa for sa in candidates if sa.counters.packets]
        out.extend(used or candidates[:1])
    return out
