"""``error-notify``: error notifications (RFC 2408 3.14.1, types 1-8191) no specific check explained.

Runs after every other check: a notification a specific finding already names (NO-PROPOSAL-CHOSEN,
INVALID-ID-INFORMATION, INVALID-SPI, the PSK-mismatch notifies) is not reported twice.
"""

from __future__ import annotations

from ikedecode.analysis.checks.facts import Context, Notification, frames_text
from ikedecode.findings import Finding, finding

# What a peer means by an error notify, in configuration terms (RFC 2408 3.14.1, RFC 2409).
NOTIFY_HINTS: dict[int, str] = {
    4: "the peer has no IKE SA with these cookies (it restarted or already deleted it)",
    9: "the peer does not know this message ID: the exchange was lost or the SAs are out of sync",
    13: "the peer does not support an attribute of the proposal (lifetime type, key length ...)",
    14: "no proposal matched: compare the ISAKMP policies / transform sets of both peers",
    16: "the peer could not parse the message: usually it decrypted it with another key (PSK mismatch)",
    17: "the peer rejected the KE payload: DH group mismatch or an invalid public value",
    18: "the peer rejected an identity: phase-1 ID type/value or phase-2 proxy identities (crypto ACL)",
    20: "the peer rejected the certificate: check its validity, CA and revocation",
    23: "a hash did not verify at the peer: the pre-shared keys differ",
    24: "authentication failed at the peer: pre-shared key or certificate/identity mismatch",
    25: "a signature did not verify at the peer: certificate or key mismatch",
}


def check_error_notifies(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
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
                    {"ike_sa": facts.cookies, "notifies": [n.evidence for n in notes]},
                    hint=NOTIFY_HINTS.get(first.payload.notify_type),
                )
            )
    return out
