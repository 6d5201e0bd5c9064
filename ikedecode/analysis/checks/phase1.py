"""Phase-1 failures: proposal mismatch and the pre-shared key mismatch pattern (RFC 2409 section 5).

A PSK mismatch shows without any key: the initiator's MM5 (encrypted with keys derived from its
PSK) cannot be decrypted by the responder, so MM6 never comes; the responder stays silent or
answers with an encrypted PAYLOAD-MALFORMED / INVALID-HASH-INFORMATION it encrypts with its own
keys, and the initiator retransmits MM5. With keys the engine proves it (a hash that does not
verify, a message only another PSK decrypts); this check adds the proof of the case the engine
cannot name alone: MM5 decrypts with the PSK given while the responder's answers do not (or the
reverse).
"""

from __future__ import annotations

from typing import Any

from ikedecode.analysis.checks.facts import (
    INITIATOR,
    RESPONDER,
    Context,
    SaFacts,
    evidence_of,
    frames_text,
)
from ikedecode.analysis.checks.transform_facts import policy_key
from ikedecode.findings import Finding, finding
from ikedecode.ike.records import IkeMessage, ProposalRecord, Protection
from ikedecode.ike.registries import NO_PROPOSAL_CHOSEN, PROTO_ISAKMP
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import Transform

# module names: reading an enum member costs about 1k instructions on Python 3.11
AM2, AM3, MM5, MM6 = Label.AM2, Label.AM3, Label.MM5, Label.MM6
DECRYPTED, HASH_MISMATCH, UNDECRYPTABLE, VERIFIED = (
    Protection.DECRYPTED,
    Protection.HASH_MISMATCH,
    Protection.UNDECRYPTABLE,
    Protection.VERIFIED,
)

# What a responder sends when it cannot decrypt or authenticate MM5 / AM3 (RFC 2408 3.14.1)
AUTHENTICATION_NOTIFIES = frozenset({16, 23, 24})  # PAYLOAD-MALFORMED, INVALID-HASH-INFORMATION, AUTH-FAILED
READABLE = (VERIFIED, DECRYPTED, HASH_MISMATCH)


def _offered_text(facts: SaFacts) -> list[str]:
    return [t.describe() for t in facts.sa.offered]


def _proposal_mismatch(ctx: Context, facts: SaFacts) -> list[Finding]:
    out: list[Finding] = []
    refusals = [
        n
        for n in facts.notifications
        if n.payload.notify_type == NO_PROPOSAL_CHOSEN
        and (n.payload.protocol_id == PROTO_ISAKMP or not facts.established)
    ]
    if refusals and facts.established and any(q.exchange.complete for q in facts.quick_modes):
        ctx.explain(*refusals)  # a later success supersedes the refusal: phase 1 and a quick mode completed
        refusals = []
    if refusals:
        n = refusals[0]
        offered = _offered_text(facts)
        listing = "; ".join(offered) if offered else "the offer was not captured"
        out.append(
            finding(
                "p1-proposal-mismatch",
                f"{n.msg.sender} refused every ISAKMP proposal of {n.msg.receiver} with NO-PROPOSAL-CHOSEN "
                f"(frame {n.msg.frame}); offered: {listing}",
                {
                    "ike_sa": facts.cookies,
                    "offered": offered,
                    "refusal": [r.evidence for r in refusals],
                    "offer": [evidence_of(m) for m in facts.phase1 if facts.role(m) == INITIATOR][:1],
                },
            )
        )
        ctx.explain(*refusals)
    chosen, offers = facts.sa.chosen, facts.sa.offered
    if chosen and offers and not facts.sa.initiator_inferred:
        first = offers[0]
        if type(first) is Transform and type(chosen) is Transform and first.attributes is chosen.attributes:
            return out  # the first offer's very attribute records: its policy, its lifetimes
        offered_keys = [policy_key(t) for t in offers]
        chosen_key = policy_key(chosen)
        if chosen_key not in offered_keys:
            out.append(
                finding(
                    "p1-chosen-not-offered",
                    f"{facts.sa.responder} chose {chosen.describe()}, which "
                    f"{facts.sa.initiator} did not offer ({'; '.join(_offered_text(facts))})",
                    {
                        "ike_sa": facts.cookies,
                        "chosen": chosen.describe(),
                        "offered": _offered_text(facts),
                    },
                )
            )
        else:
            offer = facts.sa.offered[offered_keys.index(chosen_key)]  # the first offer with its policy
            out.extend(_phase1_lifetime(facts, offer, chosen))
    return out


def _phase1_lifetime(facts: SaFacts, offer: ProposalRecord, chosen: ProposalRecord) -> list[Finding]:
    if type(offer) is Transform and type(chosen) is Transform and offer.attributes is chosen.attributes:
        return []  # the very attribute records offered (the engine shares those of the same bytes)
    offered, accepted = facts.phase1_lifetimes(offer), facts.phase1_lifetimes(chosen)
    if not offered or not accepted or offered == accepted:
        return []
    return [
        finding(
            "lifetime-mismatch",
            f"{facts.sa.responder} accepted the ISAKMP SA with lifetime {accepted} instead of the offered "
            f"{offered}",
            {"ike_sa": facts.cookies, "offered": offered, "accepted": accepted},
        )
    ]


def _protection_text(messages: list[IkeMessage]) -> str:
    states = sorted({m.protection.value for m in messages})
    return "/".join(states)


def _mm_psk_pattern(ctx: Context, facts: SaFacts) -> Finding | None:
    mm5 = facts.first(MM5)
    if mm5 is None or facts.first(MM6) is not None or facts.established or facts.preshared is False:
        return None
    copies = facts.all_copies(mm5)
    answers = facts.after(mm5, RESPONDER)
    if len(copies) < 2 and not answers:
        return None  # a lone MM5 at the end of the capture: no-response decides
    notifies = [
        n
        for n in facts.notifications
        if n.msg in answers and n.payload.notify_type in AUTHENTICATION_NOTIFIES
    ]
    ctx.explain(*notifies)
    evidence: dict[str, Any] = {
        "ike_sa": facts.cookies,
        "state": "MM_WAIT_MSG6",
        "mm5": [evidence_of(m, protection=m.protection.value) for m in copies],
        "responder_messages": [evidence_of(m, protection=m.protection.value) for m in answers],
        "notifies": [n.evidence for n in notifies],
    }
    sent = (
        f"was sent {len(copies)} times ({frames_text(copies)})"
        if len(copies) > 1
        else f"({frames_text(copies)})"
    )
    if answers:
        said = ", ".join(sorted({n.payload.notify_name for n in notifies}))
        kind = "encrypted informational" if any(m.encrypted for m in answers) else "informational"
        reply = f"{facts.sa.responder} answered with {len(answers)} {kind}(s) ({frames_text(answers)})" + (
            f" saying {said}" if said else ""
        )
    else:
        reply = f"{facts.sa.responder} never answered it"
    proof = _psk_proof(facts, mm5, answers)
    if proof:
        evidence["proof"] = proof
    message = (
        f"MM5 from {facts.sa.initiator} {sent} and no MM6 came; {reply}: the peers' pre-shared keys differ"
    )
    if proof:
        message += f" ({proof['summary']})"
    return finding("psk-mismatch", message, evidence)


def _psk_proof(facts: SaFacts, mm5: IkeMessage, answers: list[IkeMessage]) -> dict[str, Any] | None:
    """With keys: which side the given PSK belongs to, shown by what decrypts."""
    encrypted_answers = [m for m in answers if m.encrypted]
    keys = facts.sa.keys
    origin = keys.psk_origin if keys is not None else None
    if (
        mm5.protection is VERIFIED
        and encrypted_answers
        and all(m.protection is UNDECRYPTABLE for m in encrypted_answers)
    ):
        return {
            "summary": f"MM5 decrypts and HASH_I verifies with {origin or 'the PSK given'}, the responder's "
            f"messages ({_protection_text(encrypted_answers)}) do not: the responder uses another PSK",
            "initiator_psk": origin,
            "responder_psk": None,
        }
    if mm5.protection is UNDECRYPTABLE and any(m.protection in READABLE for m in encrypted_answers):
        return {
            "summary": f"the responder's messages decrypt with {origin or 'the PSK given'}, MM5 does not: "
            "the initiator uses another PSK",
            "initiator_psk": None,
            "responder_psk": origin,
        }
    return None


def _am_psk_pattern(ctx: Context, facts: SaFacts) -> Finding | None:
    am2 = facts.first(AM2)
    if am2 is None or facts.preshared is False:
        return None
    am3 = facts.first(AM3)
    if am3 is None:
        refusers, after = INITIATOR, facts.after(am2, INITIATOR)
    elif not facts.quick_modes:
        refusers, after = RESPONDER, facts.after(am3, RESPONDER)
    else:
        return None
    infos = [m for m in after if m.exchange == "informational"]
    notifies = [
        n for n in facts.notifications if n.msg in infos and n.payload.notify_type in AUTHENTICATION_NOTIFIES
    ]
    if not notifies and not (am3 is None and infos):
        return None
    ctx.explain(*notifies)
    who = facts.peer(refusers)
    checked = "HASH_R of AM2" if refusers == INITIATOR else "HASH_I of AM3"
    said = ", ".join(sorted({n.payload.notify_name for n in notifies})) or "an informational"
    answered = AM2 if am3 is None else AM3
    return finding(
        "psk-mismatch",
        f"{who} answered {answered} with {said} ({frames_text(infos)}) instead of "
        f"completing aggressive mode: it did not accept the {checked}, usually a pre-shared key mismatch",
        {
            "ike_sa": facts.cookies,
            "refused_by": who,
            "messages": [evidence_of(m, protection=m.protection.value) for m in infos],
            "notifies": [n.evidence for n in notifies],
        },
    )


def check_phase1(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        out.extend(_proposal_mismatch(ctx, facts))
        pattern = _mm_psk_pattern(ctx, facts) if facts.sa.exchange == "main" else _am_psk_pattern(ctx, facts)
        if pattern is not None and not any(f.code == "psk-mismatch" for f in facts.sa.findings):
            out.append(pattern)  # else the engine proved it with the keys; the notifies are explained
    return out
