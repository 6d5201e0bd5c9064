"""How IKE messages travel: retransmissions and oversized messages (RFC 2408 section 5, RFC 791).

A retransmission is a byte-identical copy (the engine links it to the first one). Many of them in
one SA is a storm. An IKE message larger than a 1500-byte path allows (1472 bytes of UDP payload
over IPv4, 1452 over IPv6) travels in IP fragments; with certificates MM5/MM6 often are, and a
path that drops fragments leaves them unanswered.
"""

from __future__ import annotations

from ikedecode.analysis.checks.facts import MAX_LISTED, Context, SaFacts, evidence_of, frames_text
from ikedecode.findings import Finding, finding
from ikedecode.ike.records import IkeMessage

LISTED = 5  # messages named in the sentence; the evidence has more
STORM = 10  # retransmissions in one IKE SA that make it a storm
UDP_PAYLOAD_LIMIT = {4: 1472, 6: 1452}  # 1500-byte MTU minus IP and UDP headers
FITS_ANY = min(UDP_PAYLOAD_LIMIT.values())  # a message this long fits one packet over either IP version


def _retransmissions(facts: SaFacts) -> Finding | None:
    if not facts.retransmitted:
        return None
    repeated = [(copies[0], copies) for copies in facts.copies.values() if len(copies) > 1]
    if not repeated:
        return None
    total = sum(len(c) - 1 for _, c in repeated)
    parts = [
        f"{m.label} from {m.sender} sent {len(c)} times ({frames_text(c)} over {c[-1].time - m.time:.1f} s)"
        for m, c in repeated
    ]
    prefix = f"retransmission storm ({total} retransmissions): " if total >= STORM else ""
    answered = _answered_quickly(facts, repeated)
    more = f"; and {len(parts) - LISTED} more message(s)" if len(parts) > LISTED else ""
    return finding(
        "retransmission",
        prefix + "; ".join(parts[:LISTED]) + more + answered,
        {
            "ike_sa": facts.cookies,
            "pattern": "answered" if answered else "unanswered",
            "retransmissions": total,
            "messages": [
                {
                    **evidence_of(m),
                    "copies": len(c),
                    "frames": [x.frame for x in c][:MAX_LISTED],
                    "times": [x.time for x in c][:MAX_LISTED],
                }
                for m, c in repeated[:MAX_LISTED]
            ],
        },
    )


QUICK_ANSWER = 1.0  # seconds: an answer this soon after each copy is not a slow peer


def _answered_quickly(facts: SaFacts, repeated: list[tuple[IkeMessage, list[IkeMessage]]]) -> str:
    """ "; each copy of QM1 was answered within 9 ms ..." when every copy of a retransmitted message
    got an answer from the other peer within QUICK_ANSWER: its sender is not waiting for a slow peer,
    it does not accept the answers."""
    quick = []
    for first, copies in repeated:
        delays = []
        for copy in copies:
            answer = next(
                (
                    m
                    for m in facts.sa.messages
                    if m.sender == copy.receiver and (m.time, m.frame) > (copy.time, copy.frame)
                ),
                None,
            )
            if answer is None or answer.time - copy.time > QUICK_ANSWER:
                break
            delays.append(answer.time - copy.time)
        else:
            quick.append((first, max(delays)))
    if not quick:
        return ""
    named = ", ".join(f"{m.label} from {m.sender}" for m, _ in quick[:LISTED])
    slowest = max(delay for _, delay in quick)
    return (
        f"; each copy of {named} was answered within {slowest * 1000:.0f} ms: not a slow peer, the "
        "answers are not accepted"
    )


def _ip_version(msg: IkeMessage) -> int:
    return 6 if ":" in msg.sender else 4


def _oversized(facts: SaFacts) -> list[Finding]:
    out = []
    for m in facts.originals:
        fragmented = len(m.frames) > 1
        if not fragmented and m.length <= FITS_ANY:
            continue
        limit = UDP_PAYLOAD_LIMIT[_ip_version(m)]
        if not fragmented and m.length <= limit:
            continue
        answered = any(x.sender == m.receiver for x in facts.after(m))
        if answered:
            continue
        copies = facts.all_copies(m)
        out.append(
            finding(
                "ip-fragmentation",
                f"{m.label} from {m.sender} is {m.length} bytes"
                + (
                    f" in {len(m.frames)} IP fragments"
                    if fragmented
                    else f" (more than {limit} fits in one packet)"
                )
                + f" and was never answered ({frames_text(copies)})",
                {
                    "ike_sa": facts.cookies,
                    "message": evidence_of(m, length=m.length, ip_frames=list(m.frames)),
                    "copies": len(copies),
                },
            )
        )
    return out


def check_transport(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        found = _retransmissions(facts)
        if found is not None:
            out.append(found)
        out.extend(_oversized(facts))
    return out
