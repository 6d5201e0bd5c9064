"""IKEv2 checks: error notifications (RFC 7296 3.10.1) as ``error-notify`` with what each means in
configuration terms, and requests never answered (``dpd-timeout`` for liveness checks,
``no-response`` otherwise). The IKEv1 checks read IKEv1 payloads only; this one reads IKEv2 SAs."""

from __future__ import annotations

from typing import Any

from ikedecode.analysis.checks.facts import Context, evidence_of, frames_text
from ikedecode.analysis.checks.ikev2_view import ikev2_views
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.header import FLAG_IKEV2_INITIATOR
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads import Ikev2KePayload, Ikev2NotifyPayload, Ikev2SaPayload
from ikedecode.ike.v2.stages import ML_KEM, additional_methods, method_name


def check_ikev2(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    explained = ctx.explained
    for view in ikev2_views(ctx):
        sa, init_request, init_response = view.sa, view.init_request, view.init_response
        groups: dict[tuple[str, int], list[tuple[IkeMessage, Ikev2NotifyPayload]]] = {}
        for msg, p in view.errors:  # the error notifications nothing explained yet
            if (msg.frame, p.notify_type) not in explained:
                groups.setdefault((msg.sender, p.notify_type), []).append((msg, p))
        # the post-quantum case of a fragmented IKE_SA_INIT, named as such
        init_lost = _init_fragmented(sa, init_request, init_response)
        if view.retransmitted:  # a request never answered was sent again (RFC 7296 2.1)
            out.extend(_unanswered(sa, skip={f.evidence["request"]["frame"] for f in init_lost}))
        out.extend(_additional_key_exchanges(sa, init_request, init_response))
        out.extend(init_lost)
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
                    severity=Severity.INFO
                    if notify_type == reg.N_INVALID_KE_PAYLOAD and sa.established
                    else None,
                )
            )
    return out


def _fragmentation_negotiated(sa: IkeSa) -> bool:
    """RFC 7383 2.3: both peers sent IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT."""
    senders = {
        m.sender
        for m in sa.messages
        if m.exchange_type == reg.IKE_SA_INIT
        for p in m.payloads
        if isinstance(p, Ikev2NotifyPayload) and p.notify_type == reg.N_IKEV2_FRAGMENTATION_SUPPORTED
    }
    return len(senders) == 2


def _unanswered(sa: IkeSa, skip: frozenset[int] | set[int] = frozenset()) -> list[Finding]:
    """RFC 7296 2.1/2.4: a request retransmitted and never answered. An empty INFORMATIONAL
    request is a liveness check (dead peer detection): ``dpd-timeout`` (a warning when no key shows
    it is empty: any unanswered INFORMATIONAL on an SA that is up says the peer stopped answering);
    a request that travels in IP fragments and is never answered is ``ip-fragmentation`` (the MTU
    failure; RFC 7383 IKE fragmentation avoids it); any other ``no-response``."""
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
        if key in answered or not copies or request.frame in skip:
            continue
        informational = request.exchange_type == reg.INFORMATIONAL
        liveness = informational and request.decrypted and not request.payloads
        came_up = sa.established or any(
            m.exchange_type == reg.IKE_AUTH and m.response and m.time < request.time for m in sa.messages
        )
        unreadable_liveness = informational and not request.decrypted and came_up
        last = copies[-1]
        text = (
            f"{request.sender} sent {request.label} (frame {request.frame}) {len(copies) + 1} times over "
            f"{last.time - request.time:.1f} s and {request.receiver} never answered"
        )
        evidence: dict[str, Any] = {
            "ike_sa": sa.cookies,
            "request": evidence_of(request),
            "copies": [m.frame for m in copies],
        }
        if all(len(m.frames) > 1 for m in [request, *copies]):
            negotiated = _fragmentation_negotiated(sa)
            text += (
                f": each copy is {request.length} bytes in {len(request.frames)} IP fragments (frames "
                f"{', '.join(str(f) for f in request.frames)}) and "
                + (
                    "IKE fragmentation (RFC 7383) was negotiated but not used"
                    if negotiated
                    else "IKE fragmentation (RFC 7383) was not negotiated"
                    if request.exchange_type != reg.IKE_SA_INIT
                    else "IKE_SA_INIT cannot use IKE fragmentation (RFC 7383 2.5; RFC 9242 IKE_INTERMEDIATE "
                    "carries large key exchanges)"
                )
                + ": fragments are dropped on the path (MTU)"
            )
            evidence["ip_frames"] = list(request.frames)
            evidence["ike_fragmentation_negotiated"] = negotiated
            out.append(finding("ip-fragmentation", text, evidence))
            continue
        if liveness:
            text = f"liveness check (empty INFORMATIONAL): {text}: the peer is dead or unreachable"
        elif unreadable_liveness:
            text += " (an INFORMATIONAL on an SA that was up, likely a liveness check: the peer stopped "
            text += "answering)"
        code = "dpd-timeout" if liveness or unreadable_liveness else "no-response"
        severity = Severity.WARNING if unreadable_liveness else None
        out.append(finding(code, text, evidence, severity=severity))
    return out


UDP_PAYLOAD_LIMIT = {4: 1472, 6: 1452}  # 1500-byte MTU minus IP and UDP headers
LARGE_KE = 512  # bytes: ML-KEM key shares (800-1568 B), not a classic group's


def _init_messages(sa: IkeSa) -> tuple[IkeMessage | None, IkeMessage | None]:
    """The last IKE_SA_INIT request and response (first copies) of the SA."""
    init = [m for m in sa.messages if m.exchange_type == reg.IKE_SA_INIT and m.retransmission_of is None]
    request = next((m for m in reversed(init) if m.response is False), None)
    response = next((m for m in reversed(init) if m.response), None)
    return request, response


def _additional_key_exchanges(
    sa: IkeSa, request: IkeMessage | None, response: IkeMessage | None
) -> list[Finding]:
    """RFC 9370 2.1.2: additional key exchanges offered that the responder does not do: every
    proposal requires one and the answer is NO_PROPOSAL_CHOSEN (``ikev2-addke-unsupported``), or an
    optional one the chosen proposal leaves out (``ikev2-addke-declined``). ``request`` and
    ``response``: the SA's last IKE_SA_INIT request and response (first copies)."""
    if request is None or response is None:
        return []
    offered = [p for sa_p in request.payloads if isinstance(sa_p, Ikev2SaPayload) for p in sa_p.proposals]
    with_addke = [p for p in offered if additional_methods(p)]
    if not with_addke:
        return []
    wanted = sorted({method_name(m) for p in with_addke for _, m in additional_methods(p)})
    notifies = {p.notify_type for p in response.payloads if isinstance(p, Ikev2NotifyPayload)}
    chosen = next(
        (p for sa_p in response.payloads if isinstance(sa_p, Ikev2SaPayload) for p in sa_p.proposals), None
    )
    evidence = {
        "ike_sa": sa.cookies,
        "offered": wanted,
        "request": evidence_of(request),
        "response": evidence_of(response),
    }
    required = all(
        not any(t.transform_id == 0 for t in p.transforms if 6 <= t.transform_type <= 12) for p in offered
    )
    if chosen is None and reg.N_NO_PROPOSAL_CHOSEN in notifies and required:
        supports = reg.N_INTERMEDIATE_EXCHANGE_SUPPORTED in notifies
        text = (
            f"{response.sender} refused {request.sender}'s IKE SA "
            f"(NO_PROPOSAL_CHOSEN, frame {response.frame}): "
            f"every proposal requires additional key exchanges ({', '.join(wanted)}, RFC 9370) and the "
            + ("responder" if supports else "responder does not announce IKE_INTERMEDIATE (no "
               "INTERMEDIATE_EXCHANGE_SUPPORTED): it")
            + " does not do them"
        )  # fmt: skip
        return [finding("ikev2-addke-unsupported", text, evidence)]
    if chosen is not None and not additional_methods(chosen):
        text = (
            f"{response.sender} chose a proposal without the additional key exchanges "
            f"{request.sender} offered ({', '.join(wanted)}, RFC 9370; frame {response.frame}): "
            "the IKE SA has no post-quantum key exchange"
        )
        return [finding("ikev2-addke-declined", text, evidence)]
    return []


def _init_fragmented(sa: IkeSa, request: IkeMessage | None, response: IkeMessage | None) -> list[Finding]:
    """An IKE_SA_INIT request with a large (ML-KEM) key share that needs IP fragments and is never
    answered: IKE fragmentation (RFC 7383) cannot cover IKE_SA_INIT, the path dropped a fragment."""
    if request is None or response is not None:
        return []
    limit = UDP_PAYLOAD_LIMIT[6 if ":" in request.sender else 4]
    ke = next((p for p in request.payloads if isinstance(p, Ikev2KePayload)), None)
    if ke is None or len(ke.data) < LARGE_KE or (len(request.frames) < 2 and request.length <= limit):
        return []
    copies = [request, *(m for m in sa.messages if m.retransmission_of == request.frame)]
    how = (
        f"in {len(request.frames)} IP fragments" if len(request.frames) > 1 else f"(more than {limit} bytes)"
    )
    kind = "post-quantum " if ke.group in ML_KEM else ""
    text = (
        f"{request.sender}'s IKE_SA_INIT request carries a {len(ke.data)}-byte {kind}key share "
        f"({method_name(ke.group)}): {request.length} bytes {how}, sent {len(copies)} times "
        f"({frames_text(copies)}) and never answered: the IP fragments do not reach {request.receiver}"
    )
    evidence = {
        "ike_sa": sa.cookies,
        "request": evidence_of(request, length=request.length, ip_frames=list(request.frames)),
        "key_exchange": method_name(ke.group),
        "key_share_bytes": len(ke.data),
        "copies": len(copies),
    }
    return [finding("ikev2-init-fragments-lost", text, evidence)]
