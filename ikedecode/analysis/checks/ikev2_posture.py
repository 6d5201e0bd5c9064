"""IKEv2 posture: NAT on the path from the NAT_DETECTION notifies (RFC 7296 2.23), weak transforms
(the IKEv1 policy of ``security.py``: DES, MD5, ESP/ENCR NULL, MODP groups 1/2/5), and IKEv1 still in
use (RFC 9395 deprecates it).

NAT: the engine recomputes each peer's NAT_DETECTION_SOURCE_IP hash over its address and port on the
wire. A peer whose hash of itself does not match was rewritten by a NAT, or forces UDP encapsulation
(strongSwan ``encap = yes`` sends a fake hash). Its ID tells which: an IP address ID equal to its wire
address, sent from port 500, was not rewritten (``natt-forced``); an ID that differs from the wire
address, or a source port other than 500/4500, proves a NAT (``nat-detected``). Without the ID (the
IKE_AUTH messages not decrypted, or an FQDN/DN ID) both stay possible and the finding says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ikedecode.analysis.checks.facts import Context
from ikedecode.capture.classify import IKE_PORT, NAT_T_PORT
from ikedecode.findings import Finding, finding
from ikedecode.ike.records import IkeSa
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.keys.keyring import is_address, same_address

if TYPE_CHECKING:
    from ikedecode.ike.records import IkeMessage
    from ikedecode.ike.v2.payloads import Ikev2SaPayload

IKE_PORTS = (IKE_PORT, NAT_T_PORT)
# (transform type, transform ID) -> why it is weak; the IKEv1 policy (analysis/checks/security.py)
WEAK_TRANSFORMS = {
    (reg.TRANSFORM_ENCR, 1): "DES (ENCR_DES_IV64)",
    (reg.TRANSFORM_ENCR, 2): "DES (56-bit key)",
    (reg.TRANSFORM_ENCR, 9): "DES (ENCR_DES_IV32)",
    (reg.TRANSFORM_ENCR, 11): "ENCR_NULL (no encryption)",
    (reg.TRANSFORM_INTEG, 1): "HMAC-MD5",
    (reg.TRANSFORM_INTEG, 6): "HMAC-MD5",
    (reg.TRANSFORM_PRF, 1): "PRF HMAC-MD5",
    (reg.TRANSFORM_KE, 1): "DH group 1 (768-bit MODP)",
    (reg.TRANSFORM_KE, 2): "DH group 2 (1024-bit MODP)",
    (reg.TRANSFORM_KE, 5): "DH group 5 (1536-bit MODP)",
}


def _nat(sa: IkeSa) -> list[Finding]:
    facts = sa.ikev2
    if facts is None:
        return []
    out: list[Finding] = []
    ambiguous: list[tuple[str, str, str, str | None, dict[str, Any]]] = []
    for role, detected, address in (
        ("initiator", facts.initiator_nat_detected, sa.initiator),
        ("responder", facts.responder_nat_detected, sa.responder),
    ):
        if not detected:
            continue
        first = next(
            (m for m in sa.messages if m.sender == address and m.exchange_type == reg.IKE_SA_INIT), None
        )
        port = first.sport if first is not None else None
        identity = sa.identities.get(role)
        checks = [c for c in facts.nat_checks if first is not None and c["frame"] == first.frame]
        evidence: dict[str, Any] = {
            "ike_sa": sa.cookies,
            "peer": role,
            "address": address,
            "port": port,
            "identity": identity,
            "natd": checks,
        }
        frame = f"frame {first.frame}" if first is not None else "IKE_SA_INIT"
        where = f"{address}:{port}" if port is not None else address
        if (identity and is_address(identity) and not same_address(identity, address)) or (
            port is not None and port not in IKE_PORTS
        ):
            proof = []
            if identity and is_address(identity) and not same_address(identity, address):
                proof.append(f"its ID is {identity}")
            if port is not None and port not in IKE_PORTS:
                proof.append(f"it sends from port {port}")
            out.append(
                finding(
                    "nat-detected",
                    f"a NAT is in front of the {role}: its NAT_DETECTION_SOURCE_IP hash ({frame}) does not "
                    f"match {where} on the wire and {' and '.join(proof)}",
                    {**evidence, "ambiguous": False},
                )
            )
        elif identity and is_address(identity) and port == IKE_PORT:
            out.append(
                finding(
                    "natt-forced",
                    f"the {role} {address} forces UDP encapsulation: its NAT_DETECTION_SOURCE_IP hash "
                    f"({frame}) "
                    f"does not match {where} although its ID ({identity}) shows nothing rewrote it",
                    evidence,
                )
            )
        else:
            ambiguous.append((role, frame, where, identity, evidence))
    if ambiguous:
        named = " and ".join(f"the {role}'s ({frame}, {where})" for role, frame, where, _, _ in ambiguous)
        ids = [i for _, _, _, i, _ in ambiguous if i]
        why = (
            f"the ID{'s' if len(ambiguous) > 1 else ''} ({', '.join(ids)}) not an address"
            if ids
            else "no ID decrypted"
        )
        out.append(
            finding(
                "nat-detected",
                f"NAT_DETECTION_SOURCE_IP hash{'es' if len(ambiguous) > 1 else ''} of {named} "
                f"{'do' if len(ambiguous) > 1 else 'does'} not match the wire: a NAT in front, or UDP "
                f"encapsulation forced (encap=yes); with {why} the two "
                "cannot be told apart",
                {"ike_sa": sa.cookies, "ambiguous": True, "peers": [e for *_, e in ambiguous]},
            )
        )
    return out


def _weak(sa: IkeSa, accepted: list[tuple[IkeMessage, Ikev2SaPayload]]) -> list[Finding]:
    """``accepted``: the SA payloads of the SA's responses (first copies), capture order: what the
    responder accepted is what is in use."""
    items: list[dict[str, str]] = []
    for msg, p in accepted:
        for proposal in p.proposals:
            for t in proposal.transforms:
                why = WEAK_TRANSFORMS.get((t.transform_type, t.transform_id))
                if why and not any(
                    i["what"] == why and i["protocol"] == proposal.protocol_name for i in items
                ):
                    items.append(
                        {
                            "where": f"{proposal.protocol_name} SA ({msg.exchange}, frame {msg.frame})",
                            "what": why,
                            "protocol": proposal.protocol_name,
                            "source": "accepted",
                        }
                    )
    if not items:
        return []
    text = "; ".join(f"{i['where']}: {i['what']}" for i in items)
    return [
        finding("weak-crypto", f"weak cryptography in use ({text})", {"ike_sa": sa.cookies, "weak": items})
    ]


def check_ikev2_posture(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    ikev1 = ctx.sas  # the IKEv1 SAs' facts, in report order
    if ctx.has_ikev2:
        # IKEv2's payload types, imported for a report with IKEv2 SAs only
        from ikedecode.analysis.checks.ikev2_view import ikev2_views

        for view in ikev2_views(ctx):
            out.extend(_nat(view.sa))
            out.extend(_weak(view.sa, view.accepted))
    if ikev1:
        first = ikev1[0].sa
        out.append(
            finding(
                "ikev1-in-use",
                f"{len(ikev1)} IKE SA(s) negotiated with IKEv1 (first: {first.initiator} <-> "
                f"{first.responder}, "
                f"{first.cookies}): RFC 9395 deprecates IKEv1; IKEv2 (RFC 7296) replaces it",
                {"count": len(ikev1), "first_ike_sa": first.cookies},
            )
        )
    return out
