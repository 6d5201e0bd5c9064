"""Glue: a capture reader in front, the protocol engines in the middle, a Report out.

This is the only place the layers meet; ``cli.py`` wires options to it and hands the Report
to a renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ikedecode.analysis.report import Report, capture_findings
from ikedecode.capture import CaptureReader
from ikedecode.capture.datagram import Kind
from ikedecode.ike.engine import IkeEngine
from ikedecode.keys.keyring import KeyRing


@dataclass(slots=True)
class Options:
    ike_ports: Iterable[int] = (500, 4500)
    max_ike_sas: int = 100_000
    progress: Callable[[int], None] | None = None  # called with frames read so far
    extra: dict[str, object] = field(default_factory=dict)


def analyze(reader: CaptureReader, keyring: KeyRing, options: Options | None = None) -> Report:
    options = options or Options()
    engine = IkeEngine(keyring, max_sas=options.max_ike_sas)
    for n, datagram in enumerate(reader, 1):
        if datagram.kind is Kind.IKE:
            engine.receive(datagram)
        if options.progress is not None and n % 1000 == 0:
            options.progress(reader.frames_read())
    ike_sas = engine.finish()
    findings = capture_findings(reader.stats) + engine.findings
    return Report(reader.name, reader.stats, ike_sas, findings, engine.unattached)
