"""One analysis of one run, sans-IO: IKE and AH datagrams and opened ESP in, a Report out.

Two drivers feed it, and it is the same analysis whichever does:

- the local pipeline (``ikedecode.pipeline``): a capture reader in front, ESP batches opened by
  ``EspWork`` (in this process or on every core) and fed back in capture order;
- the Dask merger (``ikedecode.distributed.client``): datagrams from every file in merged order,
  then each ESP packet as a worker opened it, accounted for at its merged frame.

IKE datagrams go to the IKE engine (``ikedecode.ike.engine``); its events say what happened: every
``IpsecSaKeyed`` becomes an ESP/AH SA here, where IKE and ESP meet, and is installed in the SA
database before the next datagram, so the ESP that follows it decrypts in one pass. (The Dask merger
installs them itself, at the point of the merged order where they appeared: ``install_keyed``.)
``finish`` closes the IKE SAs and builds the Report, diagnosed (docs/findings.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ikedecode.analysis.diagnose import diagnose
from ikedecode.analysis.key_use import unmatched_keys
from ikedecode.analysis.keying import ipsec_sa_from_child
from ikedecode.analysis.report import Report, capture_findings
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.datagram import CaptureStats, Datagram, Kind
from ikedecode.capture.sources import CaptureSource
from ikedecode.esp.batch_summary import BatchSummary
from ikedecode.esp.outcome import CODE, OUTCOME_NO_KEYS, Outcome
from ikedecode.esp.processor import EspProcessor, EspResult, keep_icv_failed_sample
from ikedecode.esp.result import EspStatus
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import SaDatabase
from ikedecode.findings import Finding, finding
from ikedecode.ike.engine import DEFAULT_MAX_PHASE2_PER_SA, DEFAULT_MAX_SAS, IkeEngine
from ikedecode.ike.events import FindingRaised, IkeSaClosed, IpsecSaKeyed, MessageDecoded
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.v1.child_sa import ChildSaKeys
from ikedecode.ike.v2.child_sa import Ikev2ChildSaKeys
from ikedecode.keys.keyring import KeyRing


class OpenedBatch(NamedTuple):
    """A batch of ESP datagrams and what opening it gave (``EspWork``), in capture order."""

    batch: EspBatch
    summary: BatchSummary


class OpenedPacket(NamedTuple):
    """One ESP packet a Dask worker opened, accounted for at its merged frame."""

    frame: int
    time_ns: int
    size: int
    outcome: Outcome
    # the inner Datagram of a nested ESP/AH layer, (src, dst) of a packet without keys, or the packet
    # (bytes, SPI onward) of an ICV failure the client may keep for the ESN diagnosis
    extra: Any


Item = Datagram | OpenedBatch | OpenedPacket  # IKE, AH or a lone ESP datagram; opened ESP
NOTHING_KEYED: list[IpsecSa] = []  # what ``feed`` returns for all but IKE datagrams (never modified)


class Analysis:
    def __init__(
        self,
        keyring: KeyRing,
        *,
        max_ike_sas: int = DEFAULT_MAX_SAS,
        max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA,
        install_keyed: bool = True,
        on_layers: Callable[[list[EspResult]], None] | None = None,
        on_tunnel_packet: Callable[[int, bytes], None] | None = None,
    ) -> None:
        """``on_layers``/``on_tunnel_packet``: where decrypted packets go (``--write-decrypted``)."""
        self.keyring = keyring
        self.engine = IkeEngine(keyring, max_sas=max_ike_sas, max_phase2_per_sa=max_phase2_per_sa)
        # The KeyRing's SAs are configuration (it may be reused): this run counts on fresh copies.
        self.sadb = SaDatabase(sa.fresh() for sa in keyring.ipsec_sas)
        self.processor = EspProcessor(self.sadb)
        self.install_keyed = install_keyed
        self._on_layers = on_layers
        self._on_tunnel_packet = on_tunnel_packet
        self._engine_findings: list[Finding] = []  # findings the engine raised (not tied to one IKE SA)
        self._findings: list[Finding] = []  # this layer's: IPsec SAs that cannot be keyed, ESP failures
        self._unattached: list[IkeMessage] = []  # messages whose header could not even name an IKE SA

    def feed(self, item: Item) -> list[IpsecSa]:
        """Take one item in capture (or merged) order; returns the IPsec SAs an IKE datagram keyed
        (with ``install_keyed``: those it added to the SA database), else nothing."""
        if type(item) is OpenedBatch:
            self._account_batch(item)
        elif type(item) is OpenedPacket:
            self._account_packet(item)
        elif isinstance(item, Datagram):
            if item.kind is Kind.IKE:
                return self.receive_ike(item)
            if item.kind is Kind.AH or item.kind is Kind.ESP:
                self._process_ipsec(item)
        return NOTHING_KEYED

    def install(self, sa: IpsecSa) -> None:
        """Add an IPsec SA ``feed`` keyed to the database (``install_keyed=False``: the caller says when)."""
        self.sadb.add(sa)

    def finish(
        self,
        name: str,
        stats: CaptureStats,
        sources: list[CaptureSource],
        decrypted_written: int | None = None,
    ) -> Report:
        """The Report of the run: the capture's statistics and sources are the driver's to give."""
        processor = self.processor
        if processor.first_failure is not None:
            self._findings.append(esp_failure_finding(processor.failed_packets, *processor.first_failure))
        ike_sas: list[IkeSa] = []
        for event in self.engine.finish():
            if type(event) is IkeSaClosed:
                ike_sas.append(event.sa)
            elif type(event) is FindingRaised:
                self._engine_findings.append(event.finding)
        findings = capture_findings(stats) + self._engine_findings + self._findings
        report = Report(name, stats, ike_sas, findings, self._unattached)
        report.ipsec_sas = reportable_sas(self.sadb)
        report.unknown_spis = self.sadb.no_keys
        report.decrypted_written = decrypted_written
        report.sources = sources
        report.trusted_certificates = list(self.keyring.trusted_certificates)  # --ca, for the diagnosis
        report.findings.extend(diagnose(report))  # why it failed, with evidence (docs/findings.md)
        report.findings.extend(unmatched_keys(self.keyring, report))  # a key file of another capture says so
        return report

    # -- IKE ------------------------------------------------------------------------------------------

    def receive_ike(self, datagram: Datagram) -> list[IpsecSa]:
        """``feed`` for an IKE datagram (what a driver that knows the item's kind calls)."""
        keyed = NOTHING_KEYED  # a list of its own for the first IPsec SA keyed (rare)
        for event in self.engine.receive(datagram):
            if type(event) is MessageDecoded:
                if not event.attached:
                    self._unattached.append(event.message)
            elif type(event) is IpsecSaKeyed:
                child = event.keys
                try:
                    sa = ipsec_sa_from_child(child)
                except ValueError as exc:
                    self._findings.append(unkeyed_finding(child, exc))
                    continue
                # ``add`` gives back the very SA it appended; an SA already known (or the one it
                # replaces) is not new
                if self.install_keyed and self.sadb.add(sa) is not sa:
                    continue
                if keyed is NOTHING_KEYED:
                    keyed = []
                keyed.append(sa)
            elif type(event) is FindingRaised:
                self._engine_findings.append(event.finding)
        return keyed

    # -- ESP and AH -----------------------------------------------------------------------------------

    def _account_batch(self, opened: OpenedBatch) -> None:
        if self._on_layers is None:
            self.processor.account_summary(opened.batch, opened.summary)
        else:
            self.processor.account_summary(
                opened.batch, opened.summary, self._on_layers, self._on_tunnel_packet
            )

    def _account_packet(self, packet: OpenedPacket) -> None:
        """One ESP packet's outcome, accounted for in merged order (``EspProcessor.account``)."""
        processor, merged, outcome, extra = self.processor, packet.frame, packet.outcome, packet.extra
        try:
            if isinstance(extra, Datagram):  # an inner ESP/AH layer: opened further here
                extra.frame, extra.frames = merged, (merged,)
                processor.nested(processor.esp_result(extra, outcome))
            else:
                src, dst = extra if outcome[CODE] == OUTCOME_NO_KEYS else (None, None)
                status, sa, *_ = processor.account(
                    outcome, packet.size, packet.time_ns / 1e9, merged, src, dst
                )
                if type(extra) is bytes and status == EspStatus.ICV_FAILED and sa is not None:
                    keep_icv_failed_sample(sa, extra)
        except Exception as exc:  # noqa: BLE001 - one bad packet must not end the analysis
            processor.note_failure(merged, type(exc).__name__)

    def _process_ipsec(self, datagram: Datagram) -> None:
        """An AH datagram (which may carry ESP), or an ESP one fed alone rather than in a batch."""
        try:
            layers = self.processor.process_nested(datagram)
            if self._on_layers is not None:
                self._on_layers(layers)
        except Exception as exc:  # noqa: BLE001 - one bad packet must not end the analysis
            self.processor.note_failure(datagram.frame, type(exc).__name__)


def unkeyed_finding(child: ChildSaKeys | Ikev2ChildSaKeys, exc: ValueError) -> Finding:
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


_SaKey = tuple[str, int | None, str | None, str | None]  # protocol, SPI, source, destination


def reportable_sas(sadb: SaDatabase) -> list[IpsecSa]:
    """SAs worth a line in the report: those packets used, and every negotiated one.

    A PFS quick mode keyed with several g(qm)^xy candidates gives several SAs per SPI; once the
    ICV has picked one, the others are dropped from the report.
    """
    first: dict[_SaKey, IpsecSa] = {}  # the usual SPI: one SA
    more: dict[_SaKey, list[IpsecSa]] = {}  # SPIs with several SAs: all of them
    for sa in sadb:
        if sa.state.counters.packets or sa.ike_cookies:  # (the state itself: no property call)
            key = (sa.protocol, sa.spi, sa.src, sa.dst)
            found = first.get(key)
            if found is None:
                first[key] = sa
            else:
                group = more.get(key)
                if group is None:
                    more[key] = [found, sa]
                else:
                    group.append(sa)
    if not more:
        return list(first.values())
    out: list[IpsecSa] = []
    for place, only in first.items():
        candidates = more.get(place)
        if candidates is None:  # one SA, used or not
            out.append(only)
            continue
        used = [sa for sa in candidates if sa.state.counters.packets]
        out.extend(used or candidates[:1])
    return out
