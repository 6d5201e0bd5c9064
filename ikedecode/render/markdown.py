"""``--format markdown``: an annotated report a colleague can read cold.

Summary first (peers, what was negotiated, did it come up, what went wrong), then per IKE SA a
ladder diagram (a Mermaid ``sequenceDiagram``), each message with its decoded payloads and one
plain sentence on what it does, its IPsec SAs, and finally the findings. The facts of the summary
(``document_summary``) are shared with ``render/html.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ikedecode import __version__
from ikedecode.analysis.report import Report
from ikedecode.analysis.timeline import build_timeline
from ikedecode.analysis.timeline_records import ChildSaTimeline, IkeSaTimeline, Timeline
from ikedecode.analysis.verdict import (
    KEY_MATERIAL_CODES,
    CaptureVerdict,
    Outcome,
    SaVerdict,
    findings_by_sa,
    verdict_of,
)
from ikedecode.findings import Finding
from ikedecode.ike.records import IkeSa
from ikedecode.render.clock import utc_moment
from ikedecode.render.ladder import INITIATOR, Arrow, Ladder, Note, build_ladder
from ikedecode.render.sources import source_lines, sources_heading

# How the summary introduces an SA's findings: errors, warnings, findings about the keys given.
PROBLEM, NOTE, KEYS = "What went wrong", "Worth checking", "About the keys given"
MAX_LADDER_ITEMS = 300  # a diagram beyond this is unreadable; the message list still has everything


@dataclass(slots=True)
class SaSummary:
    number: int
    sa: IkeSa
    timeline: IkeSaTimeline
    peers: str
    negotiated: str
    came_up: bool
    outcome: str
    problems: list[tuple[str, str]] = field(default_factory=list)  # (PROBLEM/NOTE/KEYS, sentence)
    verdict: SaVerdict | None = None


@dataclass(slots=True)
class DocumentSummary:
    capture: str
    span: str
    counts: str
    verdict: str
    sas: list[SaSummary]
    findings: list[Finding]
    timeline: Timeline
    capture_verdict: CaptureVerdict | None = None

    @property
    def top(self) -> str:
        """The top finding, as every format names it: "severity `code`: message" without markup."""
        top = self.capture_verdict.finding if self.capture_verdict else None
        return "none" if top is None else f"{top.severity.value} {top.code}: {top.message}"


def clock(time: float | None, with_date: bool = False) -> str:
    if time is None:
        return "-"
    moment = utc_moment(time)
    text = moment.strftime("%H:%M:%S.%f")[:-3]
    return f"{moment:%Y-%m-%d} {text}" if with_date else text


def document_summary(report: Report) -> DocumentSummary:
    timeline = build_timeline(report)
    s = report.stats
    if s.first_time is not None and s.last_time is not None:
        span = f"{clock(s.first_time, True)} to {clock(s.last_time)} UTC ({s.last_time - s.first_time:.1f} s)"
    else:
        span = "no packets"
    counts = (
        f"{s.packets} packets: IKE {s.ike}, ESP {s.esp}, AH {s.ah}, other {s.other}, malformed {s.malformed}"
    )
    verdict = verdict_of(report)
    by_sa = findings_by_sa(report)
    sas = [
        _sa_summary(n, sa, t, verdict.sas[n - 1], by_sa.get(sa.cookies, []))
        for n, (sa, t) in enumerate(zip(report.ike_sas, timeline.ike_sas, strict=True), 1)
    ]
    return DocumentSummary(
        report.capture_name, span, counts, verdict.line, sas, report.all_findings(), timeline, verdict
    )


def _sa_summary(
    number: int, sa: IkeSa, t: IkeSaTimeline, verdict: SaVerdict, findings: list[Finding]
) -> SaSummary:
    peers = f"{sa.initiator} (initiator) and {sa.responder} (responder)"
    mode = f"{sa.exchange} mode" if sa.exchange else "no phase 1 seen"
    proposal = (sa.chosen.describe() if sa.chosen is not None else "") or (
        f"offered {sa.offered[0].describe()}" if sa.offered else "no proposal seen"
    )
    negotiated = f"{mode}, {proposal}"
    children = [c for c in t.children if c.complete]
    verified = sum(d.verified for c in t.children for d in c.directions)
    problems = [
        (PROBLEM if f.severity.value == "error" else NOTE, f"{f.code}: {f.message}")
        for f in findings
        if f.severity.value in ("error", "warning") and f.code not in KEY_MATERIAL_CODES
    ]
    problems += [(KEYS, f"{f.code}: {f.message}") for f in findings if f.code in KEY_MATERIAL_CODES]
    if verdict.ike_up and verdict.child_up:
        transforms = sorted({c.transform for c in children if c.transform})
        # IKEv1: phase 1 and quick modes; IKEv2 (RFC 7296): the IKE SA and its Child SAs
        ike_part, child_part = (
            ("IKE SA established", "Child SA(s)")
            if sa.version == 2
            else (
                "phase 1 complete",
                "quick mode(s) created IPsec SAs",
            )
        )
        outcome = (
            f"{ike_part} at +{(t.phase1_complete or t.start) - t.start:.3f} s, "
            f"{len(children)} {child_part}"
            + (f" ({', '.join(transforms)})" if transforms else "")
            + f"; {verdict.packets} ESP/AH packets seen"
            + (f", {verified} verified" if verified else "")
        )
    elif verdict.ike_up:
        outcome = verdict.stopped_at or (
            "the IKE SA came up but no Child SA"
            if sa.version == 2
            else "phase 1 came up but no quick mode completed"
        )
    else:
        outcome = verdict.stopped_at or f"phase 1 did not complete (last state {sa.state})"
        if not findings:
            problems.extend((PROBLEM, text) for text in _phase1_trouble(sa, t))
    came_up = verdict.outcome is Outcome.UP
    return SaSummary(
        number, sa, t, peers, negotiated, came_up, outcome, list(dict.fromkeys(problems)), verdict
    )


def _phase1_trouble(sa: IkeSa, t: IkeSaTimeline) -> list[str]:
    out = [e.text for e in t.events if e.kind == "notify"]
    retransmitted = [e for e in t.events if e.kind == "retransmission"]
    if retransmitted:
        last = retransmitted[-1]
        out.append(
            f"the {last.sender} kept retransmitting {last.details.get('label')} "
            f"({len(retransmitted)} retransmission(s)): it got no usable answer"
        )
    if not any(m.sender == sa.responder for m in sa.messages):
        out.append(f"nothing came back from the responder {sa.responder}")
    return out


# --- Markdown -----------------------------------------------------------------------------------

MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: str) -> str:
    """Text safe inside Markdown prose and table cells."""
    return MD_SPECIAL.sub(r"\\\1", text)


def mermaid_text(text: str) -> str:
    """Mermaid message text: no statement separators, entities or angle brackets."""
    return text.replace(";", ",").replace("#", "no. ").replace("<", "(").replace(">", ")").replace("\n", " ")


def mermaid(ladder: Ladder) -> list[str]:
    lines = [
        "```mermaid",
        "sequenceDiagram",
        f"    participant I as Initiator {ladder.initiator}",
        f"    participant R as Responder {ladder.responder}",
    ]
    items = ladder.items[:MAX_LADDER_ITEMS]
    for item in items:
        if isinstance(item, Note):
            lines.append(f"    Note over I,R: {mermaid_text(item.text)} (+{item.offset:.3f} s)")
            continue
        arrow = {"retransmission": "-->>", "unreadable": "-x", "esp": "-)"}.get(item.kind, "->>")
        source, target = item.source, item.target
        lines.append(f"    {source}{arrow}{target}: +{item.offset:.3f}s {mermaid_text(item.text)}")
    if len(ladder.items) > len(items):
        lines.append(f"    Note over I,R: {len(ladder.items) - len(items)} more events not drawn")
    lines.append("```")
    return lines


def render_markdown(report: Report, *, show_keys: bool = False) -> str:
    """The report; ``show_keys`` is accepted for symmetry (no key material is written)."""
    doc = document_summary(report)
    out = [f"# IKE/IPsec report: {md(doc.capture)}", ""]
    out.append(f"Made by ikedecode {__version__} from `{doc.capture}`: {doc.counts}; {doc.span}.")
    out.append("")
    heading = sources_heading(report)
    if heading:
        out.extend([md(heading).replace("\\`", "`"), ""])
        out.extend(f"- {md(line)}" for line in source_lines(report))
        out.append("")
    out.append("## Summary")
    out.append("")
    out.append(f"**Verdict: {md(doc.verdict)}**")
    out.append("")
    out.append(f"**Top finding:** {_top_markdown(doc)}")
    out.append("")
    key_line = doc.capture_verdict.key_line if doc.capture_verdict else ""
    if key_line:
        out.extend([f"**Keys:** {md(key_line)}", ""])
    for s in doc.sas:
        out.append(f"- **IKE SA {s.number}**, {md(s.peers)}: {md(s.negotiated)}.")
        out.append(f"  - {_came_up_text(s)}: {md(s.outcome)}.")
        for kind, problem in s.problems:
            out.append(f"  - {kind}: {md(problem)}")
    errors = [f for f in doc.findings if f.severity.value in ("error", "warning")]
    if errors:
        out.append(f"- Findings: {len(errors)} error(s)/warning(s), listed at the end.")
    else:
        out.append("- Findings: none.")
    out.append("")
    for s in doc.sas:
        out.extend(_sa_section(s))
    if doc.timeline.unattached:
        out.extend(["## IPsec SAs without an IKE negotiation in the capture", ""])
        out.extend(_child_rows(doc.timeline.unattached, doc.timeline.capture_start or 0.0, header=True))
    out.append("## Findings")
    out.append("")
    if not doc.findings:
        out.append("None.")
    for f in doc.findings:
        hint = f" *Check:* {md(f.hint)}" if f.hint else ""
        out.append(f"- **{f.severity.value}** `{f.code}`: {md(f.message)}{hint}")
    out.append("")
    return "\n".join(out)


def came_up_text(s: SaSummary) -> str:
    outcome = s.verdict.outcome if s.verdict else (Outcome.UP if s.came_up else Outcome.DOWN)
    return {
        Outcome.UP: "Came up",
        Outcome.PARTLY: "Came up partly",
        Outcome.UNKNOWN: "Not decoded by this version",
    }.get(outcome, "Did not come up")


_came_up_text = came_up_text


def _top_markdown(doc: DocumentSummary) -> str:
    top = doc.capture_verdict.finding if doc.capture_verdict else None
    if top is None:
        return "none."
    frames = f" ({top.frames_text})" if top.frames_text and "frame" not in top.message else ""
    return f"{top.severity.value} `{top.code}`: {md(top.message)}{md(frames)}"


def _sa_section(s: SaSummary) -> list[str]:
    sa, t = s.sa, s.timeline
    out = [f"## IKE SA {s.number}: {md(sa.initiator)} and {md(sa.responder)}", ""]
    facts = [f"cookies `{sa.cookies}`", md(s.negotiated)]
    if sa.identities:
        facts.append("identities " + ", ".join(f"{role} {md(text)}" for role, text in sa.identities.items()))
    if sa.keys is not None:
        origins = [o for o in (sa.keys.psk_origin, sa.keys.dh_origin, sa.keys.key_origin) if o]
        facts.append("keys from " + md(" + ".join(origins)))
    out.append("; ".join(facts) + ".")
    out.append("")
    ladder = build_ladder(sa, t)
    out.append("### Ladder")
    out.append("")
    out.extend(mermaid(ladder))
    out.append("")
    out.append("### Messages")
    out.append("")
    for item in ladder.items:
        if not isinstance(item, Arrow) or item.kind == "esp":
            continue
        direction = "initiator → responder" if item.source == INITIATOR else "responder → initiator"
        out.append(
            f"- **{md(item.label)}** (frame {item.frame}, +{item.offset:.3f} s, {direction}): "
            f"{md(item.sentence)}"
        )
        for payload in item.payloads:
            out.append(f"  - {md(payload)}")
        if item.kind == "unreadable" and not item.payloads:
            out.append("  - encrypted: the keys given do not decrypt it")
    out.append("")
    if t.children:
        out.append("### IPsec SAs")
        out.append("")
        out.extend(_child_rows(t.children, t.start, header=True))
    return out


def _child_rows(children: list[ChildSaTimeline], start: float, header: bool) -> list[str]:
    out: list[str] = []
    # a garbled column only when some SA has garbled packets, as in the text report (text.py)
    garbled = any(flow.garbled for child in children for flow in child.directions or [])
    if header:
        out.append(
            "| SA | direction | SPI | transform | packets | bytes | first | last | ICV fail | "
            + ("garbled | " if garbled else "")
            + "gaps | fate |"
        )
        out.append("|---|---|---|---|---:|---:|---:|---:|---:|" + ("---:|" if garbled else "") + "---:|---|")
    for child in children:
        fate = []
        if child.replaced_by:
            fate.append("replaced by " + ", ".join(f"0x{m:08x}" for m in child.replaced_by))
        for d in child.deletes:
            fate.append(f"deleted by {d.sender} at +{d.time - start:.3f} s")
        if not child.complete and child.message_id is not None:
            fate.append("quick mode not completed")
        for flow in child.directions or []:
            first = "-" if flow.first_seen is None else f"+{flow.first_seen - start:.3f}"
            last = "-" if flow.last_seen is None else f"+{flow.last_seen - start:.3f}"
            out.append(
                f"| {md(child.name)} | {md(f'{flow.src} → {flow.dst}')} | 0x{flow.spi:08x} | "
                f"{md(child.transform)} | {flow.packets} | {flow.bytes} | {first} | {last} | "
                f"{flow.icv_failed} | " + (f"{flow.garbled} | " if garbled else "") + f"{flow.gaps} | "
                f"{md('; '.join(fate))} |"
            )
        if not child.directions:
            out.append(
                f"| {md(child.name)} | - | - | {md(child.transform)} | 0 | 0 | - | - | 0 | "
                + ("0 | " if garbled else "")
                + "0 | "
                f"{md('; '.join(fate))} |"
            )
    out.append("")
    return out
