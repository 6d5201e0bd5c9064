"""IKEv2 failures by cause (RFC 7296): the IKEv1 codes where the cause is the same (``psk-mismatch``,
``p1-proposal-mismatch``, ``p2-proposal-mismatch``, ``proxy-id-mismatch``, ``proxy-id-changed``,
``invalid-spi``), with the IKEv2 notify named in the sentence, and codes of their own for what only
IKEv2 has (``auth-failed``, ``invalid-ke``, ``rekey-collision``, ``cookie-challenge``, ``redirect``).

Every notify a finding here explains goes into ``ctx.explained``: ``check_ikev2`` then reports as
``error-notify`` only the rest.
"""

from __future__ import annotations

import datetime
from typing import Any

from ikedecode.analysis.checks.facts import Context, evidence_of, frames_text
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.header import FLAG_IKEV2_INITIATOR
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads import (
    Ikev2AuthPayload,
    Ikev2CertPayload,
    Ikev2EapPayload,
    Ikev2IdPayload,
    Ikev2KePayload,
    Ikev2NotifyPayload,
    Ikev2SaPayload,
)

EAP_FAILURE = 4  # RFC 3748 4.2 code


def _key(msg: IkeMessage) -> tuple[int, bool]:
    """(message ID, sent by the original initiator): a request and its response share it (RFC 7296 2.2)."""
    by_initiator = bool(msg.flags & FLAG_IKEV2_INITIATOR)
    return msg.message_id, by_initiator if not msg.response else not by_initiator


Exchanges = list[tuple[IkeMessage, IkeMessage | None]]  # (request, its first response), capture order


def _exchanges(sa: IkeSa) -> Exchanges:
    """(request, its first response) for every original request, in capture order. A request sent
    again with the same message ID (IKE_SA_INIT after INVALID_KE_PAYLOAD or COOKIE, RFC 7296 1.2, 2.6)
    is a new request: a response answers the latest request of its key."""
    pairs: list[list[Any]] = []
    pending: dict[tuple[int, bool], list[Any]] = {}
    for m in sa.messages:
        if m.retransmission_of is not None:
            continue
        if m.response is False:
            opened: list[Any] = [m, None]
            pairs.append(opened)
            pending[_key(m)] = opened
        elif m.response:
            waiting = pending.get(_key(m))
            if waiting is not None and waiting[1] is None:
                waiting[1] = m
    return [(q, r) for q, r in pairs]


def _notifies(msg: IkeMessage | None, notify_type: int) -> list[Ikev2NotifyPayload]:
    if msg is None:
        return []
    return [p for p in msg.payloads if isinstance(p, Ikev2NotifyPayload) and p.notify_type == notify_type]


def _first(msg: IkeMessage | None, kind: type, payload_type: int | None = None) -> Any:
    if msg is None:
        return None
    for p in msg.payloads:
        if isinstance(p, kind) and (payload_type is None or getattr(p, "type", None) == payload_type):
            return p
    return None


def _offer(sa_payload: Ikev2SaPayload | None, ke: Ikev2KePayload | None = None) -> list[dict[str, Any]]:
    """Each proposal as transform type -> the transforms' names (the side-by-side diff's columns)."""
    if sa_payload is None:
        return []
    out = []
    for proposal in sa_payload.proposals:
        row: dict[str, Any] = {"proposal": proposal.number, "protocol": proposal.protocol_name}
        for t in proposal.transforms:
            row.setdefault(t.type_short, []).append(t.text())
        if ke is not None:
            row["KE payload"] = ke.group_name
        out.append(row)
    return out


def _offer_text(rows: list[dict[str, Any]]) -> str:
    parts = []
    for row in rows:
        columns = [f"{k} {'/'.join(v)}" for k, v in row.items() if isinstance(v, list)]
        parts.append(f"#{row['proposal']} {row['protocol']}: " + ", ".join(columns))
    return "; ".join(parts) or "no SA payload readable"


def _role(sa: IkeSa, address: str) -> str:
    return "initiator" if address == sa.initiator else "responder"


def _notify_evidence(msg: IkeMessage, p: Ikev2NotifyPayload) -> dict[str, Any]:
    return evidence_of(msg, notify=p.type_name)


# -- AUTHENTICATION_FAILED ------------------------------------------------------------------------


def _psk_story(sa: IkeSa, refused_side: str) -> tuple[str, dict[str, Any]] | None:
    """Which of the PSKs given produced the refused side's AUTH, and which the refuser would use."""
    assert sa.ikev2 is not None
    checks = [c for c in sa.ikev2.psk_checks if c["side"] == refused_side]
    if not checks:
        return None
    check = checks[0]
    used = check["verified_with"]
    others = [k for k in check["tried"] if k["origin"] != used]
    evidence = {"auth_frame": check["frame"], "verified_with": used, "keys_tried": check["tried"]}
    if used is None:
        text = (
            f"the {refused_side}'s AUTH (frame {check['frame']}) verifies with none of the "
            f"{len(check['tried'])} pre-shared key(s) given: the refuser's key, if given, is not the one "
            f"the {refused_side} used"
        )
        return text, evidence
    refuser = sa.responder if refused_side == "initiator" else sa.initiator
    refused_address = sa.initiator if refused_side == "initiator" else sa.responder
    # the key the refuser holds for the refused peer is scoped to the refused peer's address
    theirs = [k for k in others if k["scope"] == refused_address] or others
    text = f"the {refused_side}'s AUTH (frame {check['frame']}) verifies with {used}"
    if theirs:
        text += (
            f"; {refuser}'s key for {refused_address} ({theirs[0]['origin']}) does not produce it: "
            "the peers use different pre-shared keys"
        )
        evidence["refuser_key"] = theirs[0]["origin"]
    else:
        text += ": the refused side's key is right, so the refuser holds another (or refuses the ID)"
    return text, evidence


def certificate_problems(msg: IkeMessage, at: float, trusted: list[Any]) -> list[str]:
    """RFC 7296 3.5/3.6: the signer's certificate (the first CERT of ``msg``) against its ID, its
    validity at capture time (``at``), and its chain to the ``trusted`` CAs (--ca; unchecked without)."""
    from ikedecode.ike.certificates import check_chain

    cert_payloads = [p for p in msg.payloads if isinstance(p, Ikev2CertPayload) and p.info is not None]
    if not cert_payloads:
        return []
    leaf = cert_payloads[0].info
    problems: list[str] = []
    ident = next(
        (p for p in msg.payloads if isinstance(p, Ikev2IdPayload) and p.type in (reg.PT_IDI, reg.PT_IDR)),
        None,
    )
    if ident is not None:
        names = {n.split(":", 1)[-1].lower() for n in leaf.subject_alt_names}
        if ident.text.lower() not in names and ident.text not in (leaf.subject,):
            problems.append(
                f"the certificate ({leaf.subject}) does not name the ID {ident.text} "
                f"(subjectAltName: {', '.join(leaf.subject_alt_names) or 'none'})"
            )
    when = datetime.datetime.fromtimestamp(at, datetime.UTC)
    if when < leaf.not_before or when > leaf.not_after:
        problems.append(
            f"the certificate ({leaf.subject}) is not valid at capture time "
            f"({leaf.not_before:%Y-%m-%d} .. {leaf.not_after:%Y-%m-%d})"
        )
    if trusted:
        chain = check_chain(leaf, [p.info for p in cert_payloads[1:]], trusted)
        problems.extend(f"its chain: {p}" for p in chain.problems)
    return problems


def _auth_failed(sa: IkeSa, exchanges: Exchanges, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for request, response in exchanges:
        # the responder refuses in the IKE_AUTH response; the initiator refuses the responder's AUTH in
        # an INFORMATIONAL request right after it (RFC 7296 2.21.2)
        for msg in (response, request):
            for p in _notifies(msg, reg.N_AUTHENTICATION_FAILED):
                assert msg is not None
                if (msg.frame, p.notify_type) in ctx.explained:
                    continue
                ctx.explained.add((msg.frame, p.notify_type))
                out.append(_auth_finding(sa, msg, p, ctx.report.trusted_certificates))
    return out


def _auth_finding(sa: IkeSa, msg: IkeMessage, p: Ikev2NotifyPayload, trusted: list[Any]) -> Finding:
    refuser_role = _role(sa, msg.sender)
    refused_side = "responder" if refuser_role == "initiator" else "initiator"
    refused_msgs = [
        m
        for m in sa.messages
        if m.exchange_type == reg.IKE_AUTH
        and m.sender != msg.sender
        and m.time <= msg.time
        and m.retransmission_of is None
    ]
    refused = refused_msgs[-1] if refused_msgs else None
    evidence: dict[str, Any] = {
        "ike_sa": sa.cookies,
        "notify": p.type_name,
        "refused_by": refuser_role,
        "refusal": _notify_evidence(msg, p),
    }
    head = (
        f"{msg.sender} ({refuser_role}) refused the {refused_side}'s authentication with {p.type_name} "
        f"(frame {msg.frame})"
    )
    if refused is not None:
        evidence["refused_message"] = evidence_of(refused)
        auth = _first(refused, Ikev2AuthPayload)
        if auth is not None:
            evidence["auth_method"] = auth.method_name
    eap_failure = any(
        isinstance(q, Ikev2EapPayload) and q.code == EAP_FAILURE for m in sa.messages for q in m.payloads
    )
    story = _psk_story(sa, refused_side) if sa.ikev2 is not None else None
    if story is not None and (story[1]["verified_with"] is None or "refuser_key" in story[1]):
        text, more = story
        evidence.update(more)
        return finding("psk-mismatch", f"{head}: {text}", evidence)
    details: list[str] = []
    if story is not None:
        details.append(story[0])
        evidence.update(story[1])
    if eap_failure:
        details.append(
            "the EAP exchange ended in EAP Failure: the EAP credentials (user name / password) were refused"
        )
        evidence["eap_failure"] = True
    if refused is not None:
        problems = certificate_problems(refused, msg.time, trusted)
        if problems:
            details.extend(problems)
            evidence["certificate_problems"] = problems
    if refused is not None and refused.auth_verified is True and not details:
        details.append(
            f"its AUTH (frame {refused.frame}) verifies here, so the refuser rejects the ID or its own policy"
        )
    if not details and not msg.decrypted:
        details.append("the keys decrypt nothing more to tell why")
    text = head + (": " + "; ".join(details) if details else "")
    return finding("auth-failed", text, evidence)


# -- NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD -------------------------------------------------------


def _accepted_before(exchanges: Exchanges, request: IkeMessage, protocol: str) -> list[dict[str, Any]]:
    """What the responder accepted earlier in this SA for the same protocol: the acceptable column."""
    for req, resp in exchanges:
        if resp is None or req.time >= request.time:
            continue
        rows = [
            r
            for r in _offer(_first(resp, Ikev2SaPayload), _first(resp, Ikev2KePayload))
            if r["protocol"] == protocol
        ]
        if rows and not any(p.is_error for p in resp.payloads if isinstance(p, Ikev2NotifyPayload)):
            return rows
    return []


def _without_ke(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("KE", "KE payload", "proposal")}


def _differs_only_by_pfs(offered: list[dict[str, Any]], accepted: list[dict[str, Any]]) -> bool:
    """A CREATE_CHILD_SA offer with a KE group, whose other transforms the responder accepted before
    (in IKE_AUTH, without PFS: RFC 7296 2.17): only the PFS group can be what it refused."""
    if not accepted or not offered:
        return False
    plain = [_without_ke(a) for a in accepted]
    return any(_without_ke(o) in plain and "KE" in o for o in offered)


def _no_proposal(sa: IkeSa, exchanges: Exchanges, ctx: Context) -> list[Finding]:
    from ikedecode.analysis.checks.ikev2 import _additional_key_exchanges, _init_messages

    addke_refused: bool | None = None  # asked only of an SA with a NO_PROPOSAL_CHOSEN (most have none)
    out: list[Finding] = []
    for request, response in exchanges:
        for p in _notifies(response, reg.N_NO_PROPOSAL_CHOSEN):
            assert response is not None
            ctx.explained.add((response.frame, p.notify_type))
            if addke_refused is None:
                addke_refused = any(
                    f.code == "ikev2-addke-unsupported"
                    for f in _additional_key_exchanges(sa, *_init_messages(sa))
                )
            if request.exchange_type == reg.IKE_SA_INIT and addke_refused:
                continue  # ikev2-addke-unsupported (check_ikev2) names the cause: RFC 9370 ADDKE not done
            offered_sa = _first(request, Ikev2SaPayload)
            ke = _first(request, Ikev2KePayload)
            offered = _offer(offered_sa, ke if request.exchange_type == reg.CREATE_CHILD_SA else None)
            protocol = offered[0]["protocol"] if offered else "?"
            ike = request.exchange_type == reg.IKE_SA_INIT or protocol == "IKE"
            code = "p1-proposal-mismatch" if ike else "p2-proposal-mismatch"
            accepted = (
                _accepted_before(exchanges, request, protocol)
                if request.exchange_type != reg.IKE_SA_INIT
                else []
            )
            readable = bool(offered) or not request.encrypted or request.decrypted
            what = "IKE SA" if ike else "Child SA"
            text = (
                f"{response.sender} refused every {what} proposal of the {request.exchange} request "
                f"(frame {request.frame}) with {p.type_name} (frame {response.frame})"
            )
            if offered:
                text += f"; offered: {_offer_text(offered)}"
                if ke is not None and request.exchange_type == reg.CREATE_CHILD_SA and not ike:
                    text += f" with PFS ({ke.group_name})"
            elif not readable:
                text += "; the offer is encrypted (give the keys to see it)"
            if accepted:
                text += f"; accepted before in this IKE SA: {_offer_text(accepted)}"
            elif request.exchange_type == reg.IKE_SA_INIT:
                text += (
                    "; the responder's acceptable proposals are not on the wire: compare them with this offer"
                )
            evidence = {
                "ike_sa": sa.cookies,
                "notify": p.type_name,
                "exchange": request.exchange,
                "request": evidence_of(request),
                "refusal": _notify_evidence(response, p),
                "offered": offered,
                "accepted_before": accepted,
            }
            if ke is not None and not ike:
                evidence["pfs_group"] = ke.group_name
                if _differs_only_by_pfs(offered, accepted):
                    # the same transforms were accepted without PFS: the responder's PFS setting differs
                    code = "pfs-mismatch"
                    text += (
                        f": the offer differs from what {response.sender} accepted only by PFS "
                        f"({ke.group_name}): its PFS group is another one or none"
                    )
            out.append(finding(code, text, evidence))
    return out


def _invalid_ke(sa: IkeSa, exchanges: Exchanges, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for i, (request, response) in enumerate(exchanges):
        for p in _notifies(response, reg.N_INVALID_KE_PAYLOAD):
            assert response is not None
            ctx.explained.add((response.frame, p.notify_type))
            sent = _first(request, Ikev2KePayload)
            wanted = p.decoded.get("group_name") or f"group {p.decoded.get('group', '?')}"
            retry = next(
                (
                    (q, r)
                    for q, r in exchanges[i + 1 :]
                    if q.exchange_type == request.exchange_type and q.sender == request.sender
                ),
                None,
            )
            text = (
                f"{response.sender} answered the {request.exchange} request (frame {request.frame}, KE "
                f"{sent.group_name if sent else '?'}) with {p.type_name}: it wants {wanted} "
                f"(frame {response.frame})"
            )
            evidence: dict[str, Any] = {
                "ike_sa": sa.cookies,
                "notify": p.type_name,
                "sent_group": sent.group_name if sent else None,
                "wanted_group": p.decoded.get("group"),
                "request": evidence_of(request),
                "refusal": _notify_evidence(response, p),
            }
            severity = None
            if retry is None:
                text += "; the initiator did not retry in the capture"
            else:
                again, answer = retry
                retry_ke = _first(again, Ikev2KePayload)
                evidence["retry"] = evidence_of(again, group=retry_ke.group_name if retry_ke else None)
                ok = (
                    answer is not None
                    and not any(q.is_error for q in answer.payloads if isinstance(q, Ikev2NotifyPayload))
                    and (
                        request.exchange_type != reg.IKE_SA_INIT or _first(answer, Ikev2SaPayload) is not None
                    )
                )
                text += f"; the retry (frame {again.frame}, KE {retry_ke.group_name if retry_ke else '?'})"
                if ok and answer is not None:
                    text += f" was accepted (frame {answer.frame})"
                    evidence["retry_answer"] = evidence_of(answer)
                    severity = Severity.INFO
                else:
                    text += " was not accepted"
            out.append(finding("invalid-ke", text, evidence, severity=severity))
    return out


# -- COOKIE, REDIRECT ----------------------------------------------------------------------------------


def _cookie_and_redirect(sa: IkeSa, exchanges: Exchanges) -> list[Finding]:
    out: list[Finding] = []
    for request, response in exchanges:
        for p in _notifies(response, reg.N_COOKIE):
            assert response is not None
            out.append(
                finding(
                    "cookie-challenge",
                    f"{response.sender} answered the {request.exchange} request (frame {request.frame}) "
                    f"with a {p.type_name} (frame {response.frame}): it asks the initiator to prove its "
                    "address before "
                    "it keeps any state (RFC 7296 2.6, under load or always)",
                    {
                        "ike_sa": sa.cookies,
                        "notify": p.type_name,
                        "request": evidence_of(request),
                        "challenge": _notify_evidence(response, p),
                    },
                )
            )
    for msg in sa.messages:
        if msg.retransmission_of is not None:
            continue
        for p in _notifies(msg, reg.N_REDIRECT):
            gateway = p.decoded.get("gateway", "?")
            out.append(
                finding(
                    "redirect",
                    f"{msg.sender} redirected {msg.receiver} to gateway {gateway} in the {msg.exchange} "
                    f"{'response' if msg.response else 'request'} (frame {msg.frame}) (RFC 5685)",
                    {
                        "ike_sa": sa.cookies,
                        "notify": p.type_name,
                        "gateway": gateway,
                        "message": _notify_evidence(msg, p),
                    },
                )
            )
    return out


def check_ikev2_failures(ctx: Context) -> list[Finding]:
    from ikedecode.analysis.checks.ikev2_children import (  # it imports this module's helpers
        _duplicate_rekeys,
        _invalid_spi,
        _rekey_collisions,
        _selectors,
    )
    from ikedecode.analysis.checks.ikev2_view import ikev2_views

    out: list[Finding] = []
    for view in ikev2_views(ctx):
        sa = view.sa
        exchanges = _exchanges(sa)  # once per SA: every check below walks the same pairs
        # the notify types the SA's messages carry: a check that starts from a notify the SA does
        # not have finds nothing, and most SAs carry none of these
        present = view.notify_types
        if reg.N_AUTHENTICATION_FAILED in present:
            out.extend(_auth_failed(sa, exchanges, ctx))
        if reg.N_NO_PROPOSAL_CHOSEN in present:
            out.extend(_no_proposal(sa, exchanges, ctx))
        if reg.N_INVALID_KE_PAYLOAD in present:
            out.extend(_invalid_ke(sa, exchanges, ctx))
        out.extend(_selectors(sa, exchanges, ctx, view.selectors, reg.N_TS_UNACCEPTABLE in present))
        if reg.N_REKEY_SA in present:
            out.extend(_rekey_collisions(sa, exchanges, ctx))
            out.extend(_duplicate_rekeys(sa, exchanges))
        if reg.N_INVALID_SPI in present:
            out.extend(_invalid_spi(sa, ctx))
        if reg.N_COOKIE in present or reg.N_REDIRECT in present:
            out.extend(_cookie_and_redirect(sa, exchanges))
    return out


__all__ = ["check_ikev2_failures", "frames_text"]
