"""The verdict: one account of what happened, computed once from a diagnosed Report, read by every
renderer (the text report's first lines, the Markdown and HTML summaries, JSON's ``verdict``).

Per IKE SA (``SaVerdict``): did the IKE SA come up, did an IPsec (child) SA come up, did traffic
flow, where did it stop, which finding explains it and which frames prove it. For the capture
(``CaptureVerdict``): the same in one line, the top finding, and, apart, what is wrong with the
key material the user gave ("the PSK given does not verify; the peers agreed"): a wrong key the
analyst typed is never a tunnel failure. The questions are version-neutral: an IKEv2 SA answers
them from its IKE_SA_INIT/IKE_AUTH (IKE SA up), its Child SAs and their ESP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ikedecode.analysis.flows import unkeyed_flows_by_sa
from ikedecode.analysis.report import Report
from ikedecode.findings import SEVERITY_ORDER, Finding, Severity
from ikedecode.ike.records import IkeSa, Protection

# Findings about the key material the user gave, not about the peers (docs/findings.md).
KEY_MATERIAL_CODES = frozenset(
    {"given-psk-wrong", "wrong-keys", "hash-mismatch", "icv-failure", "icv-failure-pfs", "keys-unmatched"}
)
# Findings that describe a healthy tunnel's configuration: named after any finding that explains
# a failure of the same severity.
CONFIGURATION_CODES = frozenset(
    {
        "aggressive-mode-psk",
        "weak-crypto",
        "no-pfs",
        "psk-verified",
        "nat-detected",
        "natt-forced",
        "lifetime-mismatch",
        "sa-deleted",
        "esp-sequence-gap",
        "psk-not-cracked",
        "ikev1-in-use",  # RFC 9395's note: about the protocol, never what broke
    }
)
KEY_SENTENCES = {
    "given-psk-wrong": "the pre-shared key given does not verify",
    "keys-unmatched": "keys given match nothing in this capture",
    "wrong-keys": "the keys given do not decrypt",
    "hash-mismatch": "a hash does not verify with the keys given",
    "icv-failure": "the ESP keys given do not verify",
    "icv-failure-pfs": "the PFS secret given does not verify",
}
CHILD_EXCHANGES = frozenset({"quick", "create_child_sa", "ike_auth"})
LISTED_FRAMES = 5
NOT_DECODED = "ikev2-not-decoded"  # the SA was only counted: no verdict on it
# Findings that say an SA which came up broke afterwards, whatever their severity.
BROKE_CODES = frozenset({"dpd-timeout", "esp-one-way", "invalid-spi", "icv-failure-partial"})


class Outcome(StrEnum):
    UP = "up"  # IKE SA and an IPsec SA came up, nothing broke afterwards
    PARTLY = "partly"  # the IKE SA came up but no IPsec SA, or it came up and then broke
    DOWN = "down"  # the IKE SA never came up
    NONE = "none"  # no IKE negotiation in the capture
    UNKNOWN = "unknown"  # not decoded (IKEv2 before ike/v2), or its IKE_AUTH answer unreadable without keys


class Traffic(StrEnum):
    BOTH_WAYS = "both-ways"
    ONE_WAY = "one-way"
    NONE = "none"


@dataclass(slots=True)
class FindingRef:
    """A finding as the verdict names it: code, severity, sentence and the frames that prove it."""

    code: str
    severity: Severity
    message: str
    frames: list[int]
    more_frames: int = 0

    @classmethod
    def of(cls, f: Finding) -> FindingRef:
        frames = sorted(set(_frames_in(f.evidence)))
        return cls(f.code, f.severity, f.message, frames[:LISTED_FRAMES], max(len(frames) - LISTED_FRAMES, 0))

    @property
    def frames_text(self) -> str:
        if not self.frames:
            return ""
        text = ("frame " if len(self.frames) == 1 else "frames ") + ", ".join(map(str, self.frames))
        return text + (f" and {self.more_frames} more" if self.more_frames else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "frames": self.frames,
            "more_frames": self.more_frames,
        }


@dataclass(slots=True)
class SaVerdict:
    number: int  # 1-based, as the reports number IKE SAs
    ike_sa: str  # cookies (IKEv1) or SPIs (IKEv2)
    version: int
    initiator: str
    responder: str
    ike_up: bool
    child_up: bool
    traffic: Traffic
    packets: int  # ESP/AH packets of this SA, keyed or not
    outcome: Outcome
    stopped_at: str  # where it stopped ("" when it came up and stayed up)
    finding: FindingRef | None  # the finding that explains the outcome (the most severe of the SA)
    line: str  # one sentence

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "ike_sa": self.ike_sa,
            "version": self.version,
            "initiator": self.initiator,
            "responder": self.responder,
            "ike_sa_up": self.ike_up,
            "child_sa_up": self.child_up,
            "traffic": self.traffic.value,
            "packets": self.packets,
            "outcome": self.outcome.value,
            "stopped_at": self.stopped_at or None,
            "finding": self.finding.to_dict() if self.finding else None,
            "line": self.line,
        }


@dataclass(slots=True)
class CaptureVerdict:
    outcome: Outcome
    line: str  # "The tunnel came up: ..." / "The tunnel did not come up: ..."
    finding: FindingRef | None  # the top finding: what explains the outcome, else the most severe
    sas: list[SaVerdict] = field(default_factory=list)
    key_material: list[FindingRef] = field(default_factory=list)  # problems with the keys given

    @property
    def code(self) -> str | None:
        return self.finding.code if self.finding else None

    @property
    def key_line(self) -> str:
        """One sentence on the key material given, or "" when nothing is wrong with it."""
        if not self.key_material:
            return ""
        codes = list(dict.fromkeys(k.code for k in self.key_material))
        parts = [f"{KEY_SENTENCES.get(code, 'the keys given do not fit')} ({code})" for code in codes]
        text = "; ".join(parts)
        if self.outcome is Outcome.UP and set(codes) - {"keys-unmatched"}:
            text += "; the peers agreed"
        elif self.outcome is not Outcome.UP:
            text += "; the verdict above does not depend on them"
        return text[0].upper() + text[1:] + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "line": self.line,
            "finding": self.finding.to_dict() if self.finding else None,
            "key_material": [k.to_dict() for k in self.key_material],
            "ike_sas": [s.to_dict() for s in self.sas],
        }


def verdict_of(report: Report) -> CaptureVerdict:
    """The report's verdict, computed on first use and kept on the Report."""
    if report.verdict is None:
        report.verdict = compute_verdict(report)
    return report.verdict


def compute_verdict(report: Report) -> CaptureVerdict:
    findings = report.all_findings()
    by_sa = _findings_by_sa(report)
    flows = unkeyed_flows_by_sa(report)
    keyed = _keyed_packets(report)
    refs = _Refs()
    negotiated = {s.ike_cookies for s in report.ipsec_sas if s.ike_cookies}
    sas = [
        _sa_verdict(
            n,
            sa,
            by_sa.get(sa.cookies, []),
            keyed.get(sa.cookies, {}),
            flows.get(n - 1, []),
            refs,
            sa.cookies in negotiated,
        )
        for n, sa in enumerate(report.ike_sas, 1)
    ]
    key_material = [FindingRef.of(f) for f in findings if f.code in KEY_MATERIAL_CODES]
    tunnel = [f for f in findings if f.code not in KEY_MATERIAL_CODES]
    if not sas:
        top = _most_severe(tunnel)
        line = "The capture holds no IKE negotiation" + (
            f"; {report.stats.esp + report.stats.ah} ESP/AH packets"
            if report.stats.esp + report.stats.ah
            else ""
        )
        return CaptureVerdict(Outcome.NONE, line + ".", top, sas, key_material)
    known = [s for s in sas if s.outcome is not Outcome.UNKNOWN]
    outcomes = {s.outcome for s in known} or {Outcome.UNKNOWN}
    outcome = outcomes.pop() if len(outcomes) == 1 else Outcome.PARTLY
    worst = next((s for s in sas if s.outcome is Outcome.DOWN), None) or next(
        (s for s in sas if s.outcome is Outcome.PARTLY), None
    )
    top = worst.finding if worst is not None and worst.finding is not None else _most_severe(tunnel)
    if len(sas) == 1:
        line = sas[0].line
    elif not known:
        line = f"{len(sas)} IKE SAs, none that can be judged (not decoded, or encrypted without keys)."
    else:
        up = sum(1 for s in sas if s.outcome is Outcome.UP)
        line = (
            f"{up} of {len(known)} IKE SAs came up"
            if up < len(known)
            else f"All {len(known)} IKE SAs came up"
        )
        if len(known) < len(sas):
            line += f" ({len(sas) - len(known)} more cannot be judged)"
        if worst is not None:
            line += f"; IKE SA {worst.number} {worst.line[0].lower()}{worst.line[1:]}"
        else:
            line += "."
    return CaptureVerdict(outcome, line, top, sas, key_material)


def _frames_in(value: Any) -> Iterator[int]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "aggregated":
                continue  # the other IKE SAs it covers: names, no frames
            if key in ("frame", "first_frame") and isinstance(item, int):
                yield item
            elif key in ("frames", "ip_frames") and isinstance(item, list):
                yield from (x for x in item if isinstance(x, int))
            else:
                yield from _frames_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _frames_in(item)


def findings_by_sa(report: Report) -> dict[str, list[Finding]]:
    """IKE SA cookies -> its findings (the engine's and the diagnosis's), most telling first."""
    return {name: sorted(found, key=_rank) for name, found in _findings_by_sa(report).items()}


def _findings_by_sa(report: Report) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for sa in report.ike_sas:
        out.setdefault(sa.cookies, []).extend(sa.findings)
    for f in report.findings:
        names = [f.evidence.get("ike_sa") or f.evidence.get("cookies")]
        names += f.evidence.get("aggregated", {}).get("ike_sas", [])
        for name in dict.fromkeys(n for n in names if isinstance(n, str)):
            if name in out:
                out[name].append(f)
    return out


def _keyed_packets(report: Report) -> dict[str, dict[tuple[str | None, str | None], int]]:
    out: dict[str, dict[tuple[str | None, str | None], int]] = {}
    for sa in report.ipsec_sas:
        if sa.ike_cookies and sa.counters.packets:
            per = out.setdefault(sa.ike_cookies, {})
            per[(sa.src, sa.dst)] = per.get((sa.src, sa.dst), 0) + sa.counters.packets
    return out


def _rank(f: Finding) -> tuple[int, int]:
    return (-SEVERITY_ORDER[f.severity], 1 if f.code in CONFIGURATION_CODES else 0)


def _most_severe(findings: list[Finding]) -> FindingRef | None:
    if not findings:
        return None
    return FindingRef.of(min(findings, key=_rank))  # min is stable: the first of the best rank


def _child_up(sa: IkeSa, packets: dict[tuple[str | None, str | None], int], negotiated: bool) -> bool:
    """ESP/AH keyed by this SA flowed, a quick mode / CREATE_CHILD_SA completed, or (IKEv2) IKE_AUTH
    keyed a Child SA (RFC 7296 1.2). An IKEv1 quick mode keys its SAs at QM2, before they are
    installed (QM3), so only a completed one counts."""
    return (
        bool(packets)
        or (sa.version == 2 and negotiated)
        or any(ex.complete for ex in sa.phase2.values() if ex.exchange.lower() in CHILD_EXCHANGES)
    )


def _auth_unreadable(sa: IkeSa) -> bool:
    """IKEv2: the IKE_AUTH response came but cannot be read, so whether it succeeded is unknown."""
    return sa.version == 2 and any(
        m.label.startswith("IKE_AUTH response")
        and m.protection in (Protection.NO_KEYS, Protection.UNDECRYPTABLE)
        for m in sa.messages
    )


def _set_up_before_the_capture(sa: IkeSa) -> bool:
    """An IKEv2 SA whose IKE_SA_INIT is not in the capture but whose peers both speak in it: set up
    by a rekey (its Child SAs moved over, RFC 7296 2.18) or before the capture started."""
    if sa.version != 2 or not sa.messages or sa.messages[0].label.startswith("IKE_SA_INIT"):
        return False
    return {m.sender for m in sa.messages} >= {sa.initiator, sa.responder}


def _up_time(sa: IkeSa, flows: list[Any]) -> float | None:
    """When the SA first carried an IPsec SA: the end of its first completed child exchange (IKEv2:
    the IKE_AUTH response), or its first ESP/AH packet without keys."""
    times = [f.first_seen for f in flows if f.first_seen is not None]
    frames = {m.frame: m.time for m in sa.messages}
    for ex in sa.phase2.values():
        if ex.complete and ex.exchange.lower() in CHILD_EXCHANGES and ex.frames:
            times.append(frames.get(ex.frames[-1], float("inf")))
    if sa.version == 2 and sa.established:
        times += [m.time for m in sa.messages if m.label.startswith("IKE_AUTH response")]
    return min(times, default=None)


def _before(f: Finding, time: float | None) -> bool:
    """Whether everything ``f`` names happened before ``time``."""
    if time is None:
        return False
    times = list(_times_in(f.evidence))
    return bool(times) and max(times) < time


def _times_in(value: Any) -> Iterator[float]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "time" and isinstance(item, (int, float)):
                yield float(item)
            elif key != "aggregated":
                yield from _times_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _times_in(item)


class _Refs(dict[int, FindingRef]):
    """FindingRef per finding, made once: an aggregated finding explains thousands of SAs."""

    def of(self, f: Finding) -> FindingRef:
        ref = self.get(id(f))
        if ref is None:
            ref = self[id(f)] = FindingRef.of(f)
        return ref


def _sa_verdict(
    number: int,
    sa: IkeSa,
    findings: list[Finding],
    keyed: dict[tuple[str | None, str | None], int],
    flows: list[Any],
    refs: _Refs,
    negotiated: bool,
) -> SaVerdict:
    directions = dict(keyed)
    for flow in flows:
        directions[(flow.src, flow.dst)] = directions.get((flow.src, flow.dst), 0) + flow.packets
    packets = sum(directions.values())
    senders = {src for (src, _), n in directions.items() if n}
    traffic = Traffic.NONE if not senders else Traffic.BOTH_WAYS if len(senders) > 1 else Traffic.ONE_WAY
    tunnel = [f for f in findings if f.code not in KEY_MATERIAL_CODES]
    decider = min(tunnel, key=_rank) if tunnel else None
    ref = refs.of(decider) if decider is not None else None
    inherited = _set_up_before_the_capture(sa)
    ike_up = sa.established or traffic is Traffic.BOTH_WAYS or inherited  # ESP both ways: it came up unseen
    child_up = _child_up(sa, keyed, negotiated) or inherited or (ike_up and traffic is not Traffic.NONE)
    broke = (
        decider is not None
        and (decider.severity is Severity.ERROR or decider.code in BROKE_CODES)
        and not _before(decider, _up_time(sa, flows))  # an error the SA got past is not where it broke
    )
    if any(f.code == NOT_DECODED for f in findings):
        outcome, stopped = Outcome.UNKNOWN, ""
    elif not ike_up and _auth_unreadable(sa):
        outcome, stopped = Outcome.UNKNOWN, "IKE_AUTH was answered, encrypted, and no key given decrypts it"
    elif not ike_up:
        outcome, stopped = Outcome.DOWN, _phase1_stop(sa)
    elif not child_up:
        outcome, stopped = Outcome.PARTLY, _child_stop(sa)
    elif broke or traffic is Traffic.ONE_WAY:
        outcome, stopped = Outcome.PARTLY, ""
    else:
        outcome, stopped = Outcome.UP, ""
    line = _sa_line(sa, outcome, stopped, traffic, packets, ref, broke)
    return SaVerdict(
        number,
        sa.cookies,
        sa.version,
        sa.initiator,
        sa.responder,
        ike_up,
        child_up,
        traffic,
        packets,
        outcome,
        stopped,
        ref,
        line,
    )


def _role(sa: IkeSa, sender: str) -> str:
    return "initiator" if sender == sa.initiator else "responder"


def _setup(sa: IkeSa) -> str:
    return "phase 1" if sa.version == 1 else "the IKE SA setup"


def _phase1_stop(sa: IkeSa) -> str:
    originals = [
        m for m in sa.messages if m.retransmission_of is None and (sa.version != 1 or m.message_id == 0)
    ]
    if not originals:
        return f"no message of {_setup(sa)} seen"
    last = originals[-1]
    if not any(m.sender == sa.responder for m in sa.messages):
        return f"{last.label} from the initiator got no IKE answer"
    state = f" (state {sa.state})" if sa.state else ""
    return f"{_setup(sa)} stopped after {last.label} from the {_role(sa, last.sender)}{state}"


def _child_stop(sa: IkeSa) -> str:
    child = "quick mode" if sa.version == 1 else "Child SA exchange"
    exchanges = [ex for ex in sa.phase2.values() if ex.exchange.lower() in CHILD_EXCHANGES]
    up = "phase 1 came up" if sa.version == 1 else "the IKE SA came up"
    if not exchanges:
        return f"{up}; no {child} followed" if sa.version == 1 else f"{up}; IKE_AUTH created no Child SA"
    last = exchanges[-1]
    return f"{up}; {child} 0x{last.message_id:08x} stopped after {' '.join(last.labels) or '?'}"


def _traffic_text(traffic: Traffic, packets: int) -> str:
    if traffic is Traffic.NONE:
        return "no ESP/AH seen"
    return f"ESP/AH {'both ways' if traffic is Traffic.BOTH_WAYS else 'one way only'}, {packets} packets"


def _sa_line(
    sa: IkeSa,
    outcome: Outcome,
    stopped: str,
    traffic: Traffic,
    packets: int,
    ref: FindingRef | None,
    broke: bool,
) -> str:
    why = f": {ref.code}" + (f" ({ref.frames_text})" if ref.frames_text else "") if ref else ""
    if outcome is Outcome.UNKNOWN and stopped:
        return f"Unknown whether the tunnel came up: {stopped} (give the keys)."
    if outcome is Outcome.UNKNOWN:
        return f"IKEv{sa.version} SA between {sa.initiator} and {sa.responder}: not decoded by this version."
    if outcome is Outcome.DOWN:
        return f"The tunnel did not come up: {stopped}{why}."
    if outcome is Outcome.PARTLY and stopped:
        return f"The tunnel came up partly: {stopped}{why}."
    if outcome is Outcome.PARTLY:
        then = f", then{why.replace(':', '', 1)}" if broke and ref else why
        return f"The tunnel came up partly ({_traffic_text(traffic, packets)}){then}."
    return f"The tunnel came up ({_traffic_text(traffic, packets)})."
