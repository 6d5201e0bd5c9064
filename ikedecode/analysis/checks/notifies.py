"""``error-notify``: error notifications (RFC 2408 3.14.1, types 1-8191) no specific check explained.

Runs after every other check: a notification a specific finding already names (NO-PROPOSAL-CHOSEN,
INVALID-ID-INFORMATION, INVALID-SPI, the PSK-mismatch notifies) is not reported twice.
What each notify usually means (the hint) is in the catalogue, per notify name: ikedecode/findings.py.
"""

from __future__ import annotations

from ikedecode.analysis.checks.facts import Context, Notification, frames_text
from ikedecode.findings import Finding, finding


def check_error_notifies(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        if not facts.notifications:
            continue
        groups: dict[tuple[str, int], list[Notification]] = {}
        for n in facts.notifications:
            key = (n.msg.frame, n.payload.notify_type)
            if n.payload.is_error and key not in ctx.explained:
                ctx.explained.add(key)
                groups.setdefault((n.msg.sender, n.payload.notify_type), []).append(n)
        for (sender, _), notes in groups.items():
            first = notes[0]
            times = f"{len(notes)} times " if len(notes) > 1 else ""
            out.append(
                finding(
                    "error-notify",
                    f"{sender} sent {first.payload.notify_name} to {first.msg.receiver} {times}"
                    f"({frames_text([n.msg for n in notes])})",
                    {
                        "ike_sa": facts.cookies,
                        "notify": first.payload.notify_name,
                        "notifies": [n.evidence for n in notes],
                    },
                )
            )
    return out
