"""Is the peer alive, and who tore the SAs down: DPD (RFC 3706) and delete notifications (RFC 2408 3.15).

DPD: a peer that hears nothing sends R-U-THERE (notify 36136) in an informational exchange and
expects R-U-THERE-ACK (36137) with the same sequence number; after a few unanswered ones it
declares the peer dead and clears the SAs (nothing on the wire says so). Without keys the
R-U-THEREs are not readable, but their shape is: regular encrypted informationals from one peer
while the other has gone silent, between peers that both announced DPD in their vendor IDs.
"""

from __future__ import annotations

from ikedecode.analysis.checks.esp import Flow, flows_of
from ikedecode.analysis.checks.facts import MAX_LISTED, Context, SaFacts, evidence_of, frames_text
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.records import IkeMessage, Protection
from ikedecode.ike.registries import PROTO_ISAKMP, PROTOCOL_IDS, R_U_THERE, R_U_THERE_ACK
from ikedecode.ike.v1.exchanges import Role

DEAD_AFTER = 2  # unanswered R-U-THEREs in a row before calling the peer dead (strongSwan/Cisco send 3-5)
UNREADABLE = (Protection.NO_KEYS, Protection.UNDECRYPTABLE)
LISTED_DELETES = 6  # more deletes of one kind from one peer are summed up
DPD_SPACING = 0.5  # seconds between R-U-THEREs at least (dpd_delay / Cisco "isakmp keepalive" >= 1 s)


def _last_heard(facts: SaFacts, flows: list[Flow], peer: str) -> float | None:
    times = [m.time for m in facts.sa.messages if m.sender == peer]
    times += [f.last_seen for f in flows if f.src == peer and f.last_seen is not None]
    return max(times, default=None)


def _esp_after(flows: list[Flow], sender: str, peer: str, since: float | None) -> list[str]:
    if since is None:
        return []
    return [
        f.label for f in flows if f.src == sender and f.dst == peer and f.last_seen and f.last_seen > since
    ]


def _dpd(facts: SaFacts, flows: list[Flow]) -> list[Finding]:
    if not facts.notifications:  # R-U-THERE and its ACK are notifications (RFC 3706)
        return []
    probes = [n for n in facts.notifications if n.payload.notify_type == R_U_THERE]
    acks = [n for n in facts.notifications if n.payload.notify_type == R_U_THERE_ACK]
    out = []
    for sender in sorted({n.msg.sender for n in probes}):
        mine = [n for n in probes if n.msg.sender == sender]
        answers = [a for a in acks if a.msg.sender != sender]
        last_ack = max((a.msg.time for a in answers), default=None)
        unanswered = [n for n in mine if last_ack is None or n.msg.time > last_ack]
        if not unanswered:
            continue
        peer = unanswered[0].msg.receiver
        heard = _last_heard(facts, flows, peer)
        severity = Severity.ERROR if len(unanswered) >= DEAD_AFTER else Severity.WARNING
        span = unanswered[-1].msg.time - unanswered[0].msg.time
        silent = (
            f"; nothing came from {peer} in the last {unanswered[-1].msg.time - heard:.1f} s" if heard else ""
        )
        esp = _esp_after(flows, sender, peer, heard)
        out.append(
            finding(
                "dpd-timeout",
                f"{sender} sent {len(unanswered)} DPD R-U-THERE to {peer} "
                f"({frames_text([n.msg for n in unanswered])} over {span:.1f} s) with no "
                f"R-U-THERE-ACK{silent}: {peer} is dead or unreachable and {sender} declares it dead",
                {
                    "ike_sa": facts.cookies,
                    "sender": sender,
                    "peer": peer,
                    "r_u_there": [evidence_of(n.msg, sequence=n.payload.sequence) for n in unanswered],
                    "acks_before": len(answers),
                    "peer_last_heard": heard,
                    "esp_still_sent": esp,
                },
                severity=severity,
            )
        )
    return out


def _spaced(messages: list[IkeMessage]) -> list[IkeMessage]:
    """Messages at least DPD_SPACING apart: R-U-THEREs are periodic, a burst of deletes is not."""
    out: list[IkeMessage] = []
    for m in messages:
        if not out or m.time - out[-1].time >= DPD_SPACING:
            out.append(m)
    return out


def _dpd_shape(facts: SaFacts, flows: list[Flow]) -> list[Finding]:
    """Without keys: encrypted informationals from one side only, after the other went quiet."""
    if not facts.informationals:
        return []
    if not all(any("DPD" in v for v in facts.sa.vendor_ids.get(r, [])) for r in Role):
        return []
    out = []
    for sender, peer in ((facts.sa.initiator, facts.sa.responder), (facts.sa.responder, facts.sa.initiator)):
        heard = _last_heard(facts, flows, peer)
        if heard is None:
            continue
        infos = _spaced(
            [
                m
                for m in facts.informationals
                if m.sender == sender and m.time > heard and m.protection in UNREADABLE
            ]
        )
        if len(infos) < DEAD_AFTER + 1:
            continue
        out.append(
            finding(
                "dpd-timeout",
                f"{sender} sent {len(infos)} encrypted informationals ({frames_text(infos)}) after {peer} "
                "went silent, with nothing back: most likely unanswered DPD R-U-THEREs "
                "(give the keys to confirm)",
                {
                    "ike_sa": facts.cookies,
                    "sender": sender,
                    "peer": peer,
                    "informationals": [evidence_of(m, protection=m.protection.value) for m in infos],
                    "peer_last_heard": heard,
                    "esp_still_sent": _esp_after(flows, sender, peer, heard),
                },
                severity=Severity.WARNING,
            )
        )
    return out


def _deletes(facts: SaFacts, flows: list[Flow]) -> list[Finding]:
    if not facts.deletes:
        return []
    groups: dict[tuple[str, str], list[tuple[IkeMessage, str]]] = {}
    items = []
    for msg, d in facts.deletes:
        proto = PROTOCOL_IDS.short_name(d.protocol_id)
        what = (
            "the IKE SA"
            if d.protocol_id == PROTO_ISAKMP
            else f"{proto} SA " + ", ".join(f"0x{s.hex()}" for s in d.spis)
        )
        groups.setdefault((msg.sender, proto), []).append((msg, what))
        items.append(evidence_of(msg, protocol=proto, spis=[s.hex() for s in d.spis]))
    parts = []
    for (sender, proto), deleted in groups.items():
        if len(deleted) <= LISTED_DELETES:
            parts += [f"{sender} deleted {what} (frame {msg.frame})" for msg, what in deleted]
        else:
            frames = [msg.frame for msg, _ in deleted]
            parts.append(f"{sender} deleted {len(deleted)} {proto} SAs (frames {frames[0]} to {frames[-1]})")
    evidence = {
        "ike_sa": facts.cookies,
        "count": len(items),
        "deletes": items[:MAX_LISTED],
        "timing": _timing(facts, flows),
    }
    return [finding("sa-deleted", "; ".join(parts), evidence)]


RIGHT_AFTER_SETUP = 5.0  # seconds between the last quick mode and a delete that refuses it


def _timing(facts: SaFacts, flows: list[Flow]) -> str:
    """Whether the first delete came "right-after-setup": within RIGHT_AFTER_SETUP seconds of the
    quick mode that set the SAs up, with no ESP/AH between the peers in between; else "later" (the
    SAs were used or lived long: a rekey's clean-up, the tunnel closed)."""
    first = min(msg.time for msg, _ in facts.deletes)
    done = [q.messages[-1].time for q in facts.quick_modes if q.messages and q.messages[-1].time <= first]
    if not done or first - max(done) > RIGHT_AFTER_SETUP:
        return "later"
    peers = {facts.sa.initiator, facts.sa.responder}
    used = any(
        {f.src, f.dst} == peers and f.first_seen is not None and max(done) <= f.first_seen <= first
        for f in flows
    )
    return "later" if used else "right-after-setup"


def check_liveness(ctx: Context) -> list[Finding]:
    flows = flows_of(ctx)
    out: list[Finding] = []
    for facts in ctx.sas:
        readable = _dpd(facts, flows)
        out.extend(readable or _dpd_shape(facts, flows))
        out.extend(_deletes(facts, flows))
    return out
