"""``no-response``: a negotiation that stops because one side never answers.

Phase 1 (RFC 2409 section 5) and quick mode (section 5.5) are strict request/answer sequences, so
the last message seen names the state the sender waits in. States use the names Cisco ASA shows in
``show crypto isakmp sa`` (MM_WAIT_MSG2...) and QM_WAIT_MSGn for quick mode. A message sent once
and unanswered because the capture ends right after it is only a warning.
"""

from __future__ import annotations

from ikedecode.analysis.checks.facts import (
    INITIATOR,
    RESPONDER,
    Context,
    SaFacts,
    evidence_of,
    frames_text,
    merge_repeats,
)
from ikedecode.capture.icmp import PortUnreachable
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.records import IkeMessage
from ikedecode.ike.v1.exchanges import Label

# module names: reading an enum member costs about 1k instructions on Python 3.11
AM1, AM2, MM1, MM2, MM3, MM4, MM5, QM1, QM2, QM3 = (
    Label.AM1,
    Label.AM2,
    Label.MM1,
    Label.MM2,
    Label.MM3,
    Label.MM4,
    Label.MM5,
    Label.QM1,
    Label.QM2,
    Label.QM3,
)

# label of the last message seen -> the state its sender waits in (the catalogue's no-response entry
# says, per state, what the silence usually means)
WAITING_AFTER: dict[str, str] = {
    MM1: "MM_WAIT_MSG2",
    MM2: "MM_WAIT_MSG3",
    MM3: "MM_WAIT_MSG4",
    MM4: "MM_WAIT_MSG5",
    MM5: "MM_WAIT_MSG6",
    AM1: "AM_WAIT_MSG2",
    AM2: "AM_WAIT_MSG3",
    QM1: "QM_WAIT_MSG2",
    QM2: "QM_WAIT_MSG3",
}
SHORT_WAIT = 10.0  # seconds: an unanswered single message closer than this to the capture end is a warning


def _other(role: str) -> str:
    return RESPONDER if role == INITIATOR else INITIATOR


ICMP_ANSWER = 2.0  # seconds: an ICMP port unreachable this soon after a copy answers it


def _port_unreachable(ctx: Context, copies: list[IkeMessage]) -> list[PortUnreachable]:
    """The ICMP port unreachable answering each copy (capture/icmp.py), or [] when one has none."""
    notes = ctx.report.stats.port_unreachable
    out = []
    for copy in copies:
        answer = next(
            (
                n
                for n in notes
                if (n.original_src, n.original_dst, n.dport) == (copy.sender, copy.receiver, copy.dport)
                and 0 <= n.time - copy.time <= ICMP_ANSWER
            ),
            None,
        )
        if answer is None:
            return []
        out.append(answer)
    return out


def _unreachable(
    facts: SaFacts, last: IkeMessage, copies: list[IkeMessage], icmp: list[PortUnreachable]
) -> Finding:
    reporters = sorted({n.reporter for n in icmp})
    by = (
        f"{last.receiver} itself"
        if reporters == [last.receiver]
        else " and ".join(reporters) + f" (on the way to {last.receiver})"
    )
    return finding(
        "port-unreachable",
        f"{last.label} from {last.sender} to {last.receiver} UDP {last.dport} "
        f"({frames_text(copies)}) was answered each time by ICMP port unreachable from {by} "
        f"(frames {', '.join(str(n.frame) for n in icmp[:6])}{' and more' if len(icmp) > 6 else ''}): "
        f"nothing listens on UDP {last.dport} at {last.receiver}",
        {
            "ike_sa": facts.cookies,
            "state": WAITING_AFTER[last.label],
            "copies": [evidence_of(m) for m in copies],
            "icmp": [
                {"frame": n.frame, "time": n.time, "reporter": n.reporter, "port": n.dport} for n in icmp[:20]
            ],
        },
    )


def _stall(
    ctx: Context, facts: SaFacts, last: IkeMessage, what: str, quick_mode: str | None = None
) -> Finding:
    state = WAITING_AFTER[last.label]
    copies = facts.all_copies(last)
    icmp = _port_unreachable(ctx, copies)
    if icmp:
        return _unreachable(facts, last, copies, icmp)
    end = ctx.capture_end if ctx.capture_end is not None else copies[-1].time
    waited = max(end - last.time, 0.0)
    severity = Severity.ERROR if len(copies) > 1 or waited >= SHORT_WAIT else Severity.WARNING
    sent = (
        f"was sent {len(copies)} times ({frames_text(copies)} over {copies[-1].time - last.time:.1f} s)"
        if len(copies) > 1
        else f"({frames_text(copies)})"
    )
    tail = "" if severity is Severity.ERROR else f" (the capture ends {waited:.1f} s later)"
    message = (
        f"{what} {last.label} from {last.sender} to {last.receiver} {sent} and never answered: "
        f"{last.sender} is left in {state}{tail}"
    )
    return finding(
        "no-response",
        message,
        {
            "ike_sa": facts.cookies,
            "state": state,
            "waiting": last.sender,
            "silent": last.receiver,
            "copies": [evidence_of(m) for m in copies],
            "waited_seconds": round(waited, 3),
            **({"quick_mode": quick_mode} if quick_mode else {}),
        },
        severity=severity,
    )


def _phase1_stall(ctx: Context, facts: SaFacts) -> Finding | None:
    if facts.established or not facts.phase1:
        return None
    last = max(facts.phase1, key=lambda m: (m.time, m.frame))
    if last.label not in WAITING_AFTER:
        return None
    if facts.after(last, _other(facts.role(last))):
        return None  # the other side said something: a specific check explains what
    if last.label == MM5 and facts.preshared is not False and facts.sent_count(last) > 1:
        return None  # the classic pre-shared key mismatch: reported as psk-mismatch
    what = "aggressive mode:" if facts.sa.exchange == "aggressive" else "main mode:"
    return _stall(ctx, facts, last, what)


def _quick_mode_stalls(ctx: Context, facts: SaFacts) -> list[Finding]:
    found: list[Finding] = []
    for qm in facts.quick_modes:
        qm1, qm2 = qm.label(QM1), qm.label(QM2)
        if qm1 is not None and qm2 is None and not qm.informational_answers(facts):
            found.append(_stall(ctx, facts, qm1, f"quick mode {qm.message_id}:", qm.message_id))
        elif (
            qm2 is not None
            and qm.label(QM3) is None
            and qm1 is not None
            and not qm.rejection_of_qm2(facts)
            and not qm.unreadable_answers_to_qm2(facts)  # phase2's qm2-rejected explains these
        ):
            found.append(_stall(ctx, facts, qm2, f"quick mode {qm.message_id}:", qm.message_id))
    return merge_repeats(found, _same_stall) if found else found


def _same_stall(f: Finding) -> tuple[object, ...]:
    return (f.code, f.severity, f.evidence["state"], f.evidence.get("waiting"))


def check_no_response(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        stalled = _phase1_stall(ctx, facts)
        if stalled is not None:
            out.append(stalled)
        out.extend(_quick_mode_stalls(ctx, facts))
    return out
