"""IKEv2 checks: error notifications (RFC 7296 3.10.1) as ``error-notify`` with what each means in
configuration terms, and requests never answered (``dpd-timeout`` for liveness checks,
``no-response`` otherwise). The IKEv1 checks read IKEv1 payloads only; this one reads IKEv2 SAs."""

from __future__ import annotations

from ikedecode.analysis.checks.facts import Context, evidence_of, frames_text
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.header import FLAG_IKEV2_INITIATOR
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.v2.payloads import Ikev2NotifyPayload

INFORMATIONAL = 37
INVALID_KE_PAYLOAD = 17


def check_ikev2(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for sa in ctx.report.ike_sas:  # the facts of ctx.sas are IKEv1's
        if sa.version != 2:
            continue
        out.extend(_unanswered(sa))
        originals = [m for m in sa.messages if m.retransmission_of is None]
        groups: dict[tuple[str, int], list[tuple[IkeMessage, Ikev2NotifyPayload]]] = {}
        for msg in originals:
            for p in msg.payloads:
                if isinstance(p, Ikev2NotifyPayload) and p.is_error:
                    groups.setdefault((msg.sender, p.notify_type), []).append((msg, p))
        for (sender, notify_type), notes in groups.items():
            first_msg, first = notes[0]
            times = f"{len(notes)} times " if len(notes) > 1 else ""
            evidence = [evidence_of(m, notify=p.type_name, protocol=p.protocol_id) for m, p in notes]
            out.append(
                finding(
                    "error-notify",
                    f"{sender} sent {first.type_name} to {first_msg.receiver} {times}"
                    f"({frames_text([m for m, _ in notes])})",
                    {"ike_sa": sa.cookies, "notify": first.type_name, "notifies": evidence},
                    # RFC 7296 1.2: INVALID_KE_PAYLOAD followed by a successful retry is the protocol working
                    severity=Severity.INFO if notify_type == INVALID_KE_PAYLOAD and sa.established else None,
                )
            )
    return out


def _unanswered(sa: IkeSa) -> list[Finding]:
    """RFC 7296 2.1/2.4: a request retransmitted and never answered. An empty INFORMATIONAL
    request is a liveness check (dead peer detection): ``dpd-timeout``; any other ``no-response``."""
    answered = {
        (m.message_id, bool(m.flags & FLAG_IKEV2_INITIATOR) != bool(m.response))
        for m in sa.messages
        if m.response
    }
    out: list[Finding] = []
    requests = [m for m in sa.messages if m.response is False and m.retransmission_of is None]
    for request in requests:
        key = (request.message_id, bool(request.flags & FLAG_IKEV2_INITIATOR))
        copies = [m for m in sa.messages if m.retransmission_of == request.frame]
        if key in answered or not copies:
            continue
        liveness = request.exchange_type == INFORMATIONAL and request.decrypted and not request.payloads
        last = copies[-1]
        text = (
            f"{request.sender} sent {request.label} (frame {request.frame}) {len(copies) + 1} times over "
            f"{last.time - request.time:.1f} s and {request.receiver} never answered"
        )
        evidence = {
            "ike_sa": sa.cookies,
            "request": evidence_of(request),
            "copies": [m.frame for m in copies],
        }
        out.append(finding("dpd-timeout" if liveness else "no-response", text, evidence))
    return out
