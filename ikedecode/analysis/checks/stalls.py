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
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.records import IkeMessage
from ikedecode.ike.v1.exchanges import Label

# label of the last message seen -> the state its sender waits in (the catalogue's no-response entry
# says, per state, what the silence usually means)
WAITING_AFTER: dict[str, str] = {
    Label.MM1: "MM_WAIT_MSG2",
    Label.MM2: "MM_WAIT_MSG3",
    Label.MM3: "MM_WAIT_MSG4",
    Label.MM4: "MM_WAIT_MSG5",
    Label.MM5: "MM_WAIT_MSG6",
    Label.AM1: "AM_WAIT_MSG2",
    Label.AM2: "AM_WAIT_MSG3",
    Label.QM1: "QM_WAIT_MSG2",
    Label.QM2: "QM_WAIT_MSG3",
}
SHORT_WAIT = 10.0  # seconds: an unanswered single message closer than this to the capture end is a warning


def _other(role: str) -> str:
    return RESPONDER if role == INITIATOR else INITIATOR


def _stall(
    ctx: Context, facts: SaFacts, last: IkeMessage, what: str, quick_mode: str | None = None
) -> Finding:
    state = WAITING_AFTER[last.label]
    copies = facts.all_copies(last)
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
    if last.label == Label.MM5 and facts.preshared is not False and facts.sent_count(last) > 1:
        return None  # the classic pre-shared key mismatch: reported as psk-mismatch
    what = "aggressive mode:" if facts.sa.exchange == "aggressive" else "main mode:"
    return _stall(ctx, facts, last, what)


def _quick_mode_stalls(ctx: Context, facts: SaFacts) -> list[Finding]:
    found: list[Finding] = []
    for qm in facts.quick_modes:
        qm1, qm2 = qm.label(Label.QM1), qm.label(Label.QM2)
        if qm1 is not None and qm2 is None and not qm.informational_answers():
            found.append(_stall(ctx, facts, qm1, f"quick mode {qm.message_id}:", qm.message_id))
        elif (
            qm2 is not None
            and qm.label(Label.QM3) is None
            and qm1 is not None
            and not _refused_qm2(
                facts, facts.informationals_from(qm.initiator, qm2.time, _next_copy(facts, qm2))
            )
        ):
            found.append(_stall(ctx, facts, qm2, f"quick mode {qm.message_id}:", qm.message_id))
    return merge_repeats(found, lambda f: (f.severity, f.evidence["state"], f.evidence["waiting"]))


def _next_copy(facts: SaFacts, msg: IkeMessage) -> float:
    copies = facts.all_copies(msg)
    return copies[1].time if len(copies) > 1 else float("inf")


def _refused_qm2(facts: SaFacts, infos: list[IkeMessage]) -> bool:
    """An error notify, or an informational nobody can read: phase2's qm2-rejected explains it."""
    return bool(facts.error_notifies_in(infos)) or any(m.encrypted and not m.decrypted for m in infos)


def check_no_response(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        stalled = _phase1_stall(ctx, facts)
        if stalled is not None:
            out.append(stalled)
        out.extend(_quick_mode_stalls(ctx, facts))
    return out
