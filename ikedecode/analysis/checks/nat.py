"""NAT on the path, from NAT-D payloads recomputed over the wire's addresses (RFC 3947).

For each peer two clues: its own NAT-D hash of itself does not match the address/port it has on
the wire (something rewrote it between the peer and the capture point, or the peer forces UDP
encapsulation), and the other peer's destination hash of it does not match (a NAT rewrote it
between the capture point and the other peer). A peer whose phase-1 ID is an IP address equal to
its address on the wire, with an unchanged IKE port, was not rewritten: a mismatching hash of
itself then means forced encapsulation, not NAT; an ID that differs from the wire address proves a
NAT even when the peer also fakes its own hash (strongSwan does whenever its kernel interface
needs UDP encapsulation, as in captures/nat-t.pcap). NAT-T is negotiated when both peers send a
NAT-T vendor ID, NAT-D payloads are exchanged, and IKE floats to UDP 4500 (RFC 3947 sections 3-4).
"""

from __future__ import annotations

from typing import Any

from ikedecode.analysis.checks.facts import INITIATOR, RESPONDER, Context, SaFacts
from ikedecode.analysis.natd import NatDCheck, check_natd
from ikedecode.findings import Finding, finding
from ikedecode.ike.registries import ENCAPSULATION_MODE
from ikedecode.ike.v1.exchanges import Label

# module names: reading an enum member costs about 1k instructions on Python 3.11
QM1, QM2 = Label.QM1, Label.QM2

IKE_PORTS = (500, 4500)
NATT_PORT = 4500
PLAIN_ENCAPSULATION = (1, 2)  # RFC 2407 4.5 Tunnel / Transport: not UDP-encapsulated (RFC 3947 5.1 has 3, 4)


def _natd_checks(facts: SaFacts) -> list[tuple[str, NatDCheck]]:
    """(sender role, check) for every phase-1 message with NAT-D payloads."""
    with_natd = facts.natd  # (message, its NAT-D hashes); most SAs without NAT-T have none
    if not with_natd:
        return []
    sa = facts.sa
    hash_id = facts.hash_algorithm
    if hash_id is None or sa.responder_cookie is None:
        return []
    first_port: dict[str, tuple[str, int]] = {}
    for m in facts.phase1:
        first_port.setdefault(facts.role(m), (m.sender, m.sport))
    out: list[tuple[str, NatDCheck]] = []
    for m, hashes in with_natd:
        role = facts.role(m)
        other = RESPONDER if role == INITIATOR else INITIATOR
        result = check_natd(
            hash_id,
            sa.initiator_cookie,
            sa.responder_cookie,
            hashes,
            m.frame,
            (m.sender, m.sport),
            (m.receiver, m.dport),
            also_sender=(first_port[role],) if role in first_port else (),
            also_receiver=(first_port[other],) if other in first_port else (),
        )
        if result is not None:
            out.append((role, result))
    return out


def _endpoints(facts: SaFacts) -> dict[str, tuple[tuple[str, int] | None, str | None]]:
    """Each role's address and port on the wire (its first phase-1 message) and its phase-1 ID
    when that is an IP address (ID_IPV4_ADDR / ID_IPV6_ADDR, ``SaFacts.address_ids``)."""
    wire: dict[str, tuple[str, int]] = {}
    identity: dict[str, str] = {}
    for m in facts.phase1:
        role = facts.role(m)
        if role not in wire:
            wire[role] = (m.sender, m.sport)
            if len(wire) == 2:
                break
    for m, text in facts.address_ids:
        identity.setdefault(facts.role(m), text)
    return {role: (wire.get(role), identity.get(role)) for role in (INITIATOR, RESPONDER)}


def _natt_vendor(facts: SaFacts, role: str) -> bool:
    return any("nat-t" in name.lower() for name in facts.sa.vendor_ids.get(role, []))


def _floated(facts: SaFacts) -> bool:
    return any(NATT_PORT in (m.sport, m.dport) for m in facts.originals)


def _plain_encapsulation(facts: SaFacts) -> list[str]:
    """Quick modes that chose tunnel/transport mode without UDP encapsulation."""
    out = []
    for qm in facts.quick_modes:
        sa = qm.sa_payload(QM2) or qm.sa_payload(QM1)
        if sa is None:
            continue
        modes = {t.get(ENCAPSULATION_MODE) for p in sa.proposals for t in p.transforms}
        if modes & set(PLAIN_ENCAPSULATION):
            out.append(qm.message_id)
    return out


def _peer_verdicts(facts: SaFacts, checks: list[tuple[str, NatDCheck]]) -> dict[str, dict[str, Any]]:
    verdicts: dict[str, dict[str, Any]] = {}
    if not checks:
        return _verdicts_from_identities(facts) if facts.address_ids else verdicts
    endpoints = None
    for role in (INITIATOR, RESPONDER):
        own = [c for r, c in checks if r == role and c.sender_rewritten]
        seen_by_other = [c for r, c in checks if r != role and c.receiver_rewritten]
        if not own and not seen_by_other:
            continue
        if endpoints is None:
            endpoints = _endpoints(facts)
        wire, identity = endpoints[role]
        # An IP-address ID equal to the address and IKE port on the wire: nothing rewrote this peer, so a
        # NAT-D mismatch about it (its own hash or the other peer's) is forced encapsulation (RFC 3947 3).
        forced = wire is not None and identity == wire[0] and wire[1] in IKE_PORTS
        verdicts[role] = {
            "address": facts.peer(role),
            "identity": identity,
            "wire": f"{wire[0]}:{wire[1]}" if wire else None,
            "own_hash_mismatch_frames": [c.frame for c in own],
            "peer_hash_mismatch_frames": [c.frame for c in seen_by_other],
            "forced": forced,
        }
    return verdicts


def _verdicts_from_identities(facts: SaFacts) -> dict[str, dict[str, Any]]:
    """No NAT-D at all, but a phase-1 ID address that is not the address on the wire: a NAT too."""
    verdicts: dict[str, dict[str, Any]] = {}
    endpoints = _endpoints(facts)
    for role in (INITIATOR, RESPONDER):
        wire, identity = endpoints[role]
        if wire is not None and identity is not None and identity != wire[0]:
            verdicts[role] = {
                "address": facts.peer(role),
                "identity": identity,
                "wire": f"{wire[0]}:{wire[1]}",
                "own_hash_mismatch_frames": [],
                "peer_hash_mismatch_frames": [],
                "forced": False,
                "from_identity": True,
            }
    return verdicts


def check_nat(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        checks = _natd_checks(facts)
        verdicts = _peer_verdicts(facts, checks)
        natted = []
        for role, v in verdicts.items():
            evidence = {
                "ike_sa": facts.cookies,
                "peer": role,
                **v,
                "natd_frames": [c.frame for _, c in checks],
            }
            if v["forced"]:
                out.append(
                    finding(
                        "natt-forced",
                        f"the {role} {v['address']} forces UDP encapsulation: its NAT-D hash of itself "
                        f"does not match {v['wire']} although its ID ({v['identity']}) shows nothing "
                        "rewrote it",
                        evidence,
                    )
                )
                continue
            natted.append(role)
            ident = f" (ID {v['identity']})" if v["identity"] and v["identity"] != v["address"] else ""
            how = (
                "its NAT-D hash of itself does not match that"
                if v["own_hash_mismatch_frames"]
                else "the peer's NAT-D hash of it does not match that"
                if v["peer_hash_mismatch_frames"]
                else "its phase-1 ID is another address"
            )
            # without an ID to compare, an unchanged IKE port cannot tell a NAT from forced encapsulation
            ambiguous = bool(
                v["identity"] is None
                and v["wire"]
                and int(v["wire"].rsplit(":", 1)[1]) in IKE_PORTS
                and not v["peer_hash_mismatch_frames"]
            )
            if ambiguous:
                message = (
                    f"the {role}'s NAT-D hash of itself does not match {v['wire']} on the wire: a NAT in "
                    "front of it, or it forces UDP encapsulation (without an IP-address ID the capture "
                    "cannot tell)"
                )
            else:
                message = f"a NAT is in front of the {role}{ident}: on the wire it is {v['wire']} and {how}"
            out.append(finding("nat-detected", message, {**evidence, "ambiguous": ambiguous}))
        if natted:
            problem = _natt_problem(facts, checks)
            if problem:
                out.append(
                    finding(
                        "natt-not-negotiated",
                        f"a NAT is in front of the {' and the '.join(natted)} but NAT-T was not negotiated: "
                        f"{problem['why']}",
                        {"ike_sa": facts.cookies, "behind_nat": natted, **problem},
                    )
                )
    return out


def _natt_problem(facts: SaFacts, checks: list[tuple[str, NatDCheck]]) -> dict[str, Any] | None:
    reasons = []
    missing_vid = [r for r in (INITIATOR, RESPONDER) if not _natt_vendor(facts, r)]
    if missing_vid:
        reasons.append(f"no NAT-T vendor ID from the {' and the '.join(missing_vid)}")
    if not checks:
        reasons.append("no NAT-D payloads were exchanged")
    if facts.established and not _floated(facts):
        reasons.append("IKE never moved to UDP 4500")
    plain = _plain_encapsulation(facts)
    if plain:
        reasons.append(f"quick mode(s) {', '.join(plain)} chose ESP without UDP encapsulation")
    if not reasons:
        return None
    return {"why": "; ".join(reasons), "missing_vendor_id": missing_vid, "plain_esp_quick_modes": plain}
