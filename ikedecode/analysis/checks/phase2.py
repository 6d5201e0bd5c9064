"""Quick-mode failures (RFC 2409 section 5.5): proposals, proxy identities, PFS, lifetimes.

A responder that refuses a quick mode answers QM1 with an informational exchange (RFC 2408 4.8)
instead of QM2: NO-PROPOSAL-CHOSEN for transforms (or PFS), INVALID-ID-INFORMATION for proxy
identities its crypto ACL does not mirror. Those notifications are encrypted, so without keys
only the shape is visible (``qm-refused``). PFS shows as a KE payload in QM1/QM2 and the
Group-Description attribute of the ESP/AH transform (RFC 2407 4.5).
"""

from __future__ import annotations

from typing import Any

from ikedecode.analysis.checks.facts import (
    Context,
    Notification,
    QuickModeFacts,
    SaFacts,
    evidence_of,
    frames_text,
    lifetimes,
    merge_repeats,
)
from ikedecode.findings import Finding, finding
from ikedecode.ike.records import Protection
from ikedecode.ike.registries import (
    INVALID_ID_INFORMATION,
    IPSEC_GROUP_DESCRIPTION,
    NO_PROPOSAL_CHOSEN,
    RESPONDER_LIFETIME,
    SA_LIFE_DURATION,
    SA_LIFE_TYPE,
)
from ikedecode.ike.v1.attributes import lifetime_text
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import SaPayload

# module names: reading an enum member costs about 1k instructions on Python 3.11
QM1, QM2, QM3 = Label.QM1, Label.QM2, Label.QM3
CLEAR, DECRYPTED, VERIFIED = Protection.CLEAR, Protection.DECRYPTED, Protection.VERIFIED


def _proposals(qm: QuickModeFacts, label: str) -> list[str]:
    sa = qm.sa_payload(label)
    if sa is None:
        return []
    return [t.describe() for p in sa.proposals for t in p.transforms]


def _groups(qm: QuickModeFacts, label: str) -> set[int]:
    sa = qm.sa_payload(label)
    if sa is None:
        return set()
    groups = set()
    for proposal in sa.proposals:
        for transform in proposal.transforms:
            value = transform.get(IPSEC_GROUP_DESCRIPTION)
            if isinstance(value, int):
                groups.add(value)
    return groups


def _other_side(facts: SaFacts, qm: QuickModeFacts) -> list[QuickModeFacts]:
    """Quick modes the refusing responder opened itself: its own proposals and proxy IDs."""
    return [q for q in facts.quick_modes_by_initiator.get(qm.responder, []) if q.label(QM1) is not None]


def _base_evidence(facts: SaFacts, qm: QuickModeFacts, refusal: list[Notification]) -> dict[str, Any]:
    qm1 = qm.label(QM1)
    out: dict[str, Any] = {
        "ike_sa": facts.cookies,
        "quick_mode": qm.message_id,
        "initiator": qm.initiator,
        "responder": qm.responder,
        "qm1": [evidence_of(m) for m in facts.all_copies(qm1)] if qm1 else [],
        "refusal": [n.evidence for n in refusal],
        "offered": _proposals(qm, QM1),
    }
    others = _other_side(facts, qm)
    if others:
        out["responder_offered"] = _proposals(others[0], QM1)
    return out


def _refused(ctx: Context, facts: SaFacts, qm: QuickModeFacts) -> list[Finding]:
    refusal = qm.refusal(facts)
    out: list[Finding] = []
    if not refusal:
        return out
    by_type: dict[int, list[Notification]] = {}
    for n in refusal:
        by_type.setdefault(n.payload.notify_type, []).append(n)
    frames = frames_text([n.msg for n in refusal])
    if NO_PROPOSAL_CHOSEN in by_type:
        notes = by_type[NO_PROPOSAL_CHOSEN]
        ctx.explain(*notes)
        evidence = _base_evidence(facts, qm, notes)
        offered = "; ".join(evidence["offered"]) or "not readable"
        if qm.has_ke(QM1):
            groups = ", ".join(f"group {g}" for g in sorted(_groups(qm, QM1))) or "a KE payload"
            evidence["pfs"] = {"initiator": qm.ke_length(QM1), "groups": sorted(_groups(qm, QM1))}
            out.append(
                finding(
                    "pfs-mismatch",
                    f"quick mode {qm.message_id}: {qm.initiator} asks for PFS ({groups}) and {qm.responder} "
                    f"refused it with NO-PROPOSAL-CHOSEN ({frames}): PFS is probably configured on one side "
                    f"only (offered {offered})",
                    evidence,
                )
            )
        else:
            out.append(
                finding(
                    "p2-proposal-mismatch",
                    f"quick mode {qm.message_id}: {qm.responder} refused the IPsec proposals of "
                    f"{qm.initiator} with NO-PROPOSAL-CHOSEN ({frames}); offered {offered}",
                    evidence,
                )
            )
    if INVALID_ID_INFORMATION in by_type:
        notes = by_type[INVALID_ID_INFORMATION]
        ctx.explain(*notes)
        out.append(_proxy_refusal(facts, qm, notes))
    return out


def _proxy_refusal(facts: SaFacts, qm: QuickModeFacts, notes: list[Notification]) -> Finding:
    evidence = _base_evidence(facts, qm, notes)
    mine = qm.proxy_ids(QM1)
    evidence["initiator_proxy_ids"] = mine
    theirs = None
    for other in _other_side(facts, qm):
        theirs = other.proxy_ids(QM1)
        if theirs:
            break
    evidence["responder_proxy_ids"] = theirs
    mirror = None
    if mine and theirs:
        mirror = mine["local"] == theirs["remote"] and mine["remote"] == theirs["local"]
    evidence["mirror"] = mirror
    said = f"local {mine['local']}, remote {mine['remote']}" if mine else "proxy identities not readable"
    other_text = ""
    if theirs:
        other_text = (
            f"; {qm.responder} itself proposes local {theirs['local']}, remote {theirs['remote']}"
            + (" (a mirror image)" if mirror else " (not a mirror image)")
        )
    return finding(
        "proxy-id-mismatch",
        f"quick mode {qm.message_id}: {qm.responder} refused the proxy identities of {qm.initiator} "
        f"({said}) with INVALID-ID-INFORMATION ({frames_text([n.msg for n in notes])}){other_text}",
        evidence,
    )


def _unreadable_refusal(facts: SaFacts, qm: QuickModeFacts) -> Finding | None:
    answers = qm.informational_answers(facts)
    if not answers or qm.refusal(facts):
        return None
    if any(m.protection in (VERIFIED, DECRYPTED, CLEAR) for m in answers):
        return None  # readable, but not an error notify: error-notify or nothing
    qm1 = qm.label(QM1)
    assert qm1 is not None
    return finding(
        "qm-refused",
        f"quick mode {qm.message_id}: {qm.responder} answered QM1 "
        f"({frames_text(facts.all_copies(qm1))}) with an encrypted informational "
        f"({frames_text(answers[:3])}) instead of QM2: it refused the quick mode (give the keys to read why)",
        {
            "ike_sa": facts.cookies,
            "quick_mode": qm.message_id,
            "qm1": [evidence_of(m, protection=m.protection.value) for m in facts.all_copies(qm1)],
            "answers": [evidence_of(m, protection=m.protection.value) for m in answers],
        },
    )


def _accepted_differs(facts: SaFacts, qm: QuickModeFacts) -> list[Finding]:
    """QM2 against QM1: PFS on one side only, another group, other proxy IDs, other lifetimes."""
    if qm.label(QM2) is None:
        return []
    out: list[Finding] = []
    ke1, ke2 = qm.has_ke(QM1), qm.has_ke(QM2)
    if ke1 is not None and ke2 is not None and ke1 != ke2:
        has, lacks = (qm.initiator, qm.responder) if ke1 else (qm.responder, qm.initiator)
        out.append(
            finding(
                "pfs-mismatch",
                f"quick mode {qm.message_id}: {has} sent a KE payload (PFS) and {lacks} did not",
                {
                    **_accepted_base(facts, qm),
                    "pfs": {"initiator": qm.ke_length(QM1), "responder": qm.ke_length(QM2)},
                },
            )
        )
    elif ke1 and ke2:
        g1, g2 = _groups(qm, QM1), _groups(qm, QM2)
        l1, l2 = qm.ke_length(QM1), qm.ke_length(QM2)
        if (g2 and g1 and not g2 <= g1) or (l1 and l2 and l1 != l2):
            out.append(
                finding(
                    "pfs-mismatch",
                    f"quick mode {qm.message_id}: PFS groups differ (offered {sorted(g1)}, KE {l1} bytes; "
                    f"answered {sorted(g2)}, KE {l2} bytes)",
                    {
                        **_accepted_base(facts, qm),
                        "pfs": {
                            "initiator": l1,
                            "responder": l2,
                            "offered": sorted(g1),
                            "answered": sorted(g2),
                        },
                    },
                )
            )
    ids1, ids2 = qm.proxy_ids(QM1), qm.proxy_ids(QM2)
    if ids1 and ids2 and ids1 != ids2:
        out.append(
            finding(
                "proxy-id-changed",
                f"quick mode {qm.message_id}: {qm.responder} answered with other proxy identities (local "
                f"{ids2['local']}, remote {ids2['remote']}) than proposed (local {ids1['local']}, remote "
                f"{ids1['remote']})",
                {
                    **_accepted_base(facts, qm),
                    "initiator_proxy_ids": ids1,
                    "responder_proxy_ids": ids2,
                    "mirror": False,
                },
            )
        )
    out.extend(_lifetimes(facts, qm))
    return out


def _accepted_base(facts: SaFacts, qm: QuickModeFacts) -> dict[str, Any]:
    """The evidence every finding of ``_accepted_differs`` starts with (made for a finding only)."""
    return {"ike_sa": facts.cookies, "quick_mode": qm.message_id, "initiator": qm.initiator}


def _accepts_offered_records(offered_sa: SaPayload | None, accepted_sa: SaPayload | None) -> bool:
    """Whether QM2's first transform carries the very attribute records of a transform of QM1 (the
    engine shares them between transforms of the same bytes): then it accepted offered lifetimes."""
    if offered_sa is None or accepted_sa is None:
        return False
    for proposal in accepted_sa.proposals:
        for accepted in proposal.transforms:  # the first accepted transform
            records = accepted.attributes
            return any(t.attributes is records for p in offered_sa.proposals for t in p.transforms)
    return False


def _lifetimes(facts: SaFacts, qm: QuickModeFacts) -> list[Finding]:
    offered_sa, accepted_sa = qm.sa_payload(QM1), qm.sa_payload(QM2)
    lowered = facts.notifications_by_type.get(RESPONDER_LIFETIME) if facts.notifications else None
    if not lowered and _accepts_offered_records(offered_sa, accepted_sa):
        return []  # no RESPONDER-LIFETIME, and the lifetimes accepted are among those offered
    offered = (
        [lifetimes(t, SA_LIFE_TYPE, SA_LIFE_DURATION) for p in offered_sa.proposals for t in p.transforms]
        if offered_sa
        else []
    )
    accepted = (
        [lifetimes(t, SA_LIFE_TYPE, SA_LIFE_DURATION) for p in accepted_sa.proposals for t in p.transforms]
        if accepted_sa
        else []
    )
    notices = []
    if lowered:
        own = {id(m) for m in qm.messages}
        spis = {p.spi for sa in (offered_sa, accepted_sa) if sa for p in sa.proposals if p.spi}
        notices = [
            (n.msg, n.payload)
            for n in lowered
            if id(n.msg) in own or (n.msg.sender == qm.responder and n.payload.spi in spis)
        ]
    out: list[Finding] = []
    if notices:
        m, p = notices[0]
        out.append(
            finding(
                "lifetime-mismatch",
                f"quick mode {qm.message_id}: {m.sender} lowered the IPsec SA lifetime with "
                f"RESPONDER-LIFETIME (frame {m.frame}): {', '.join(lifetime_text(p.lifetime_attributes))}",
                {
                    **_accepted_base(facts, qm),
                    "offered": offered[:1],
                    "notify": evidence_of(m),
                    "accepted": accepted[:1],
                },
            )
        )
    elif offered and accepted and accepted[0] and accepted[0] not in offered:
        out.append(
            finding(
                "lifetime-mismatch",
                f"quick mode {qm.message_id}: {qm.responder} accepted lifetime {accepted[0]}, offered "
                f"{offered[0]}",
                {**_accepted_base(facts, qm), "offered": offered[:1], "accepted": accepted[:1]},
            )
        )
    return out


def _qm2_rejected(ctx: Context, facts: SaFacts, qm: QuickModeFacts) -> list[Finding]:
    """The initiator refuses what the responder accepted (QM2) with an error notify instead of QM3."""
    notes = qm.rejection_of_qm2(facts)
    if not notes:
        return _qm2_rejected_unreadable(facts, qm)
    ctx.explain(*notes)
    names = ", ".join(sorted({n.payload.notify_name for n in notes}))
    accepted = "; ".join(_proposals(qm, QM2)) or "not readable"
    return [
        finding(
            "qm2-rejected",
            f"quick mode {qm.message_id}: {qm.initiator} answered QM2 with {names} "
            f"({frames_text([n.msg for n in notes])}) instead of QM3: it cannot use what {qm.responder} "
            f"accepted ({accepted})",
            {**_base_evidence(facts, qm, notes), "accepted": _proposals(qm, QM2)},
        )
    ]


def _qm2_rejected_unreadable(facts: SaFacts, qm: QuickModeFacts) -> list[Finding]:
    """Without keys: the initiator answered QM2 with an encrypted informational instead of QM3."""
    qm2 = qm.label(QM2)
    if qm2 is None or qm.label(QM3) is not None or qm.label(QM1) is None:
        return []
    unreadable = qm.unreadable_answers_to_qm2(facts)
    if not unreadable:
        return []
    return [
        finding(
            "qm2-rejected",
            f"quick mode {qm.message_id}: {qm.initiator} answered QM2 ({frames_text([qm2])}) with an "
            f"encrypted informational ({frames_text(unreadable)}) instead of QM3: it did not install what "
            f"{qm.responder} accepted (give the keys to read why)",
            {
                "ike_sa": facts.cookies,
                "quick_mode": qm.message_id,
                "initiator": qm.initiator,
                "responder": qm.responder,
                "qm2": evidence_of(qm2),
                "answers": [evidence_of(m, protection=m.protection.value) for m in unreadable],
            },
        )
    ]


def _same_story(f: Finding) -> tuple[object, ...]:
    e = f.evidence
    notifies = tuple(r.get("notify") for r in e.get("refusal", []))
    sides = (e.get("initiator_proxy_ids"), e.get("responder_proxy_ids"), e.get("pfs"), e.get("accepted"))
    return (
        f.code,
        f.severity,
        e.get("ike_sa"),
        e.get("initiator"),
        repr(e.get("offered")),
        notifies,
        repr(sides),
    )


def check_phase2(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        found: list[Finding] = []
        for qm in facts.quick_modes:
            # what a quick mode can show depends on how far it got: refused before QM2, QM2 refused
            # instead of QM3, QM2 against QM1 (each of the functions finds nothing in the other cases)
            if qm.label(QM2) is None:
                found.extend(_refused(ctx, facts, qm))
                unreadable = _unreadable_refusal(facts, qm)
                if unreadable is not None:
                    found.append(unreadable)
                continue
            if qm.label(QM3) is None:
                found.extend(_qm2_rejected(ctx, facts, qm))
            found.extend(_accepted_differs(facts, qm))
        if found:
            out.extend(merge_repeats(found, _same_story))
    return out
