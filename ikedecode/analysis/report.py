"""The whole analysis of one run: capture accounting, IKE SAs, findings. Renderers read this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ikedecode.capture.datagram import CaptureStats
from ikedecode.capture.sources import CaptureSource
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import UnknownSpi
from ikedecode.findings import SEVERITY_ORDER, Finding, finding
from ikedecode.ike.records import IkeMessage, IkeSa

if TYPE_CHECKING:
    from ikedecode.analysis.verdict import CaptureVerdict


@dataclass(slots=True)
class Report:
    capture_name: str
    stats: CaptureStats
    ike_sas: list[IkeSa]
    findings: list[Finding] = field(default_factory=list)
    unattached: list[IkeMessage] = field(default_factory=list)  # IKE datagrams with no readable header
    ipsec_sas: list[IpsecSa] = field(default_factory=list)  # keyed ESP/AH SAs with their counters
    unknown_spis: list[UnknownSpi] = field(default_factory=list)  # ESP/AH flows without keys
    decrypted_written: int | None = None  # packets written by --write-decrypted
    sources: list[CaptureSource] = field(default_factory=list)  # the input files (several when merged)
    trusted_certificates: list[Any] = field(
        default_factory=list
    )  # --ca: the diagnosis checks chains with them
    verdict: CaptureVerdict | None = None  # analysis/verdict.py: verdict_of(report) fills it once

    def all_findings(self) -> list[Finding]:
        """Every finding, errors first, then warnings, then infos; within a severity capture-level
        findings first, then each SA's in SA order."""
        out = list(self.findings)
        for sa in self.ike_sas:
            out.extend(sa.findings)
        return sorted(out, key=lambda f: -SEVERITY_ORDER[f.severity])


def capture_findings(stats: CaptureStats) -> list[Finding]:
    """What the capture layer saw that a reader must know: truncation and malformed frames."""
    out: list[Finding] = []
    if stats.truncated:
        out.append(
            finding(
                "capture-truncated",
                f"the capture file is cut off: {stats.truncated}",
                {"packets_read": stats.packets},
            )
        )
    if stats.fragment_sets_evicted:
        out.append(
            finding(
                "state-cap-fragments",
                f"more IP datagrams under reassembly at once than the cap: {stats.fragment_sets_evicted} "
                "dropped unfinished, oldest first (their fragments are counted as malformed)",
                {"dropped": stats.fragment_sets_evicted},
            )
        )
    if stats.malformed:
        reasons = dict(stats.malformed_reasons.most_common(10))
        out.append(
            finding(
                "malformed-packets",
                f"{stats.malformed} packet(s) could not be decoded",
                {
                    "reasons": reasons,
                    "frames": [{"frame": f, "reason": r} for f, r in stats.malformed_frames[:20]],
                },
            )
        )
    return out
