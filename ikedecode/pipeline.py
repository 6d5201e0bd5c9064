"""Glue: a capture reader in front, the protocol engines in the middle, a Report out.

This is the only place the layers meet; ``cli.py`` wires options to it and hands the Report
to a renderer. IKE datagrams go to the IKE engine; every IPsec SA a quick mode keys goes into
the SA database before the next datagram, so the ESP that follows it decrypts in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from ikedecode.analysis.diagnose import diagnose
from ikedecode.analysis.findings import Finding, Severity
from ikedecode.analysis.report import Report, capture_findings
from ikedecode.capture import CaptureReader
from ikedecode.capture.datagram import Kind
from ikedecode.esp.from_ike import ipsec_sa_from_child
from ikedecode.esp.processor import EspProcessor
from ikedecode.esp.sa import IpsecSa, SaCounters
from ikedecode.esp.sadb import SaDatabase
from ikedecode.ike.engine import DEFAULT_MAX_PHASE2_PER_SA, IkeEngine
from ikedecode.keys.keyring import KeyRing
from ikedecode.render.pcap_writer import DecryptedPcapWriter


@dataclass(slots=True)
class Options:
    max_ike_sas: int = 100_000
    max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA  # docs/limits.md
    progress: Callable[[int], None] | None = None  # called with frames read so far
    decrypted_output: BinaryIO | None = None  # --write-decrypted
    extra: dict[str, object] = field(default_factory=dict)


def analyze(reader: CaptureReader, keyring: KeyRing, options: Options | None = None) -> Report:
    options = options or Options()
    engine = IkeEngine(keyring, max_sas=options.max_ike_sas, max_phase2_per_sa=options.max_phase2_per_sa)
    # Fresh SA objects per run: an IpsecSa carries its counters, and the KeyRing may be reused.
    sadb = SaDatabase(replace(sa, counters=SaCounters()) for sa in keyring.ipsec_sas)
    processor = EspProcessor(sadb)
    writer = DecryptedPcapWriter(options.decrypted_output) if options.decrypted_output is not None else None
    findings: list[Finding] = []
    written = 0
    esp_kinds = (Kind.ESP, Kind.AH)
    esp_failures: Finding | None = None
    for n, datagram in enumerate(reader, 1):
        kind = datagram.kind
        if kind in esp_kinds:
            try:
                layers = processor.process_nested(datagram)
            except Exception as exc:  # noqa: BLE001 - one bad packet must not end the analysis
                layers = []
                esp_failures = _esp_failure(esp_failures, findings, datagram.frame, exc)
            if writer is not None and layers and writer.write_layers(layers):
                written += 1
        elif kind is Kind.IKE:
            engine.receive(datagram)
            for child in engine.take_child_sas():
                try:
                    sadb.add(ipsec_sa_from_child(child))
                except ValueError as exc:
                    findings.append(
                        Finding(
                            Severity.WARNING,
                            "ipsec-sa-unkeyed",
                            f"{child.origin}: SPI 0x{child.spi.hex()} cannot be keyed: {exc}",
                            evidence={"spi": child.spi.hex(), "message_id": f"0x{child.message_id:08x}"},
                        )
                    )
        if options.progress is not None and n % 4096 == 0:
            options.progress(reader.frames_read())
    ike_sas = engine.finish()
    findings = capture_findings(reader.stats) + engine.findings + findings
    report = Report(reader.name, reader.stats, ike_sas, findings, engine.unattached)
    report.ipsec_sas = _reportable_sas(sadb)
    report.unknown_spis = sadb.no_keys
    report.decrypted_written = written if writer is not None else None
    report.findings.extend(diagnose(report))  # why it failed, with evidence (docs/findings.md)
    return report


def _esp_failure(finding: Finding | None, findings: list[Finding], frame: int, exc: Exception) -> Finding:
    """The guard around ESP/AH processing: one ``decoder-error`` finding counting the packets."""
    if finding is None:
        finding = Finding(
            Severity.ERROR,
            "decoder-error",
            "",
            evidence={"first_frame": frame, "exception": type(exc).__name__, "packets": 0},
            hint="a bug in ikedecode: please report it, with this frame if you can share it",
        )
        findings.append(finding)
    finding.evidence["packets"] += 1
    finding.message = (
        f"ikedecode failed to process {finding.evidence['packets']} ESP/AH packet(s) (first: frame "
        f"{finding.evidence['first_frame']}, {finding.evidence['exception']}); the rest was decoded"
    )
    return finding


def _reportable_sas(sadb: SaDatabase) -> list[IpsecSa]:
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
