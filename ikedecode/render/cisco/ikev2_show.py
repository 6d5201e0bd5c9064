"""``--format show`` for IKEv2: ``show crypto ikev2 sa detailed`` and the IKEv2 Child SAs of
``show crypto ipsec sa`` at the end of the capture, from one peer's side (docs/cisco.md, IKEv2).

IKEv2 SAs deleted (or failed) before the end of the capture are not listed, as IOS forgets them;
Child SAs deleted are counted in ``#pkts`` of their flow but not listed. Tunnel ids, conn ids,
lifetimes, DPD, window and VRF words are IOS's own state and synthesised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ikedecode.analysis.report import Report
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import UnknownSpi
from ikedecode.ike.records import IkeMessage, IkeSa, ProposalRecord
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v2.payloads.notify import Ikev2NotifyPayload
from ikedecode.ike.v2.payloads.records import Ikev2AuthPayload
from ikedecode.ike.v2.payloads.sa import (
    KEY_LENGTH_ATTRIBUTE,
    Ikev2Proposal,
    Ikev2Transform,
    TransformAttribute,
)
from ikedecode.render.cisco import ikev2_words as w
from ikedecode.render.cisco.ikev2_child import Ikev2LocalChild
from ikedecode.render.cisco.ikev2_ipsec import dotted_mask
from ikedecode.render.cisco.perspective import addresses


def _transforms(chosen: ProposalRecord | None) -> list[Ikev2Transform]:
    """The chosen proposal's transforms with their key length only (a zero one dropped)."""
    if not isinstance(chosen, Ikev2Proposal):
        return []
    return [
        Ikev2Transform(
            t.transform_type,
            t.transform_id,
            [TransformAttribute(KEY_LENGTH_ATTRIBUTE, t.key_length)] if t.key_length else [],
        )
        for t in chosen.transforms
    ]


def _word(transforms: list[Ikev2Transform], kind: int) -> str:
    t = next((t for t in transforms if t.transform_type == kind), None)
    return w.transform_word(t) if t is not None else "None"


def _requests(sa: IkeSa, sender: str) -> list[IkeMessage]:
    return [m for m in sa.messages if m.sender == sender and not m.response and m.retransmission_of is None]


def _auth_word(sa: IkeSa, sender: str) -> str:
    for m in sa.messages:
        if m.sender != sender:
            continue
        for p in m.payloads:
            if isinstance(p, Ikev2AuthPayload):
                return w.AUTH_METHODS.get(p.method, p.short)
    return "None"


def alive(sa: IkeSa) -> bool:
    """Still in the router's table at the end of the capture."""
    if sa.state == "DELETED":
        return False
    if sa.established:
        return True
    failed = any(
        isinstance(p, Ikev2NotifyPayload) and p.is_error and p.type_name not in ("INVALID_KE_PAYLOAD",)
        for m in sa.messages
        for p in m.payloads
    )
    return not failed


def ikev2_sa_lines(
    sas: list[tuple[IkeSa, Role]], end: float, established: dict[str, float | None]
) -> list[str]:
    """``show crypto ikev2 sa detailed``: one entry per IKEv2 SA still alive at ``end``."""
    lines = [" IPv4 Crypto IKEv2  SA ", ""]
    header = f"{'Tunnel-id':<9} {'Local':<21} {'Remote':<21} {'fvrf/ivrf':<20} {'Status':<7}"
    shown = 0
    for n, (sa, role) in enumerate(sas, w.FIRST_SESSION_ID):
        if not alive(sa):
            continue
        local, remote = addresses(sa, role)
        last = sa.messages[-1] if sa.messages else None
        port = (last.sport if last.sender == local else last.dport) if last else 500
        peer_port = (last.dport if last.sender == local else last.sport) if last else 500
        transforms = _transforms(sa.chosen)
        encr, keysize = w.encryption_with_keysize(transforms)
        dh = next((t.transform_id for t in transforms if t.transform_type == w.KE), None)
        status = "READY" if sa.established else "IN-NEG"
        up = established.get(sa.cookies)
        active = max(0, math.floor(end - up)) if up is not None else 0
        mine = _requests(sa, local)
        theirs = _requests(sa, remote)
        local_mid = mine[-1].message_id if mine else 0
        remote_mid = theirs[-1].message_id if theirs else 0
        rc = (sa.responder_cookie or bytes(8)).hex().upper()
        ic = sa.initiator_cookie.hex().upper()
        local_spi, remote_spi = (ic, rc) if role is Role.INITIATOR else (rc, ic)
        facts = sa.ikev2
        nat = facts is not None and bool(facts.initiator_nat_detected or facts.responder_nat_detected)
        local_nat = facts is not None and bool(
            facts.initiator_nat_detected if role is Role.INITIATOR else facts.responder_nat_detected
        )
        ids = sa.identities
        if shown == 0:
            lines.append(header)
        shown += 1
        lines.extend(
            [
                f"{n:<9} {local + '/' + str(port):<21} {remote + '/' + str(peer_port):<21} "
                f"{'none/none':<20} {status:<7}",
                f"      Encr: {encr}, keysize: {keysize or 0}, PRF: {_word(transforms, w.PRF)}, "
                f"Hash: {_word(transforms, w.INTEG)}, DH Grp:{dh or 0}, "
                f"Auth sign: {_auth_word(sa, local)}, Auth verify: {_auth_word(sa, remote)}",
                f"      Life/Active Time: {w.DEFAULT_IKE_LIFETIME}/{active} sec",
                f"      CE id: 0, Session-id: {n}",
                f"      Local spi: {local_spi}       Remote spi: {remote_spi}",
                f"      Status Description: {_status_description(sa)}",
                f"      Local id: {ids.get(role.value, local)}",
                f"      Remote id: {ids.get('responder' if role is Role.INITIATOR else 'initiator', remote)}",
                f"      Local req msg id:  {local_mid:<14} Remote req msg id:  {remote_mid}",
                f"      Local next msg id: {local_mid + 1 if mine else 0:<14} "
                f"Remote next msg id: {remote_mid + 1 if theirs else 0}",
                f"      Local req queued:  {local_mid:<14} Remote req queued:  {remote_mid}",
                f"      Local window:      {w.DEFAULT_WINDOW:<14} Remote window:      {w.DEFAULT_WINDOW}",
                "      DPD configured for 0 seconds, retry 0",
                "      Fragmentation not  configured.",
                "      Extended Authentication not configured.",
                f"      NAT-T is {_nat_words(nat, local_nat)}",
                "      Cisco Trust Security SGT is disabled",
                f"      Initiator of SA : {'Yes' if role is Role.INITIATOR else 'No'}",
                "",
            ]
        )
    if shown == 0:
        lines.append("! no IKEv2 SA left at the end of the capture")
    return lines


def _status_description(sa: IkeSa) -> str:
    return "Negotiation done" if sa.established else "Negotiation in progress"


def _nat_words(nat: bool, local_nat: bool) -> str:
    if not nat:
        return "not detected"
    return "detected inside" if local_nat else "detected outside"


@dataclass(slots=True)
class V2Flow:
    local: str
    remote: str
    local_ts: str
    remote_ts: str
    children: list[Ikev2LocalChild] = field(default_factory=list)


def _ident(ts: str) -> str:
    """``10.1.0.0/24`` -> ``(10.1.0.0/255.255.255.0/0/0)``."""
    first = ts.split(",")[0].strip().split("[")[0] or "0.0.0.0/0"
    address, _, bits = first.partition("/")
    if ":" in address or not bits.isdigit():
        return f"({first}/0/0)"
    return f"({address}/{dotted_mask(int(bits))}/0/0)"


def _counters(report: Report) -> dict[int, IpsecSa | UnknownSpi]:
    found: dict[int, IpsecSa | UnknownSpi] = {}
    for sa in report.ipsec_sas:
        if sa.spi is not None:
            found.setdefault(sa.spi, sa)
    for unknown in report.unknown_spis:
        found.setdefault(unknown.spi, unknown)
    return found


def _seen(counters: dict[int, IpsecSa | UnknownSpi], spi: int | None) -> tuple[int, int, int, int]:
    """(packets, bytes, verified, receive errors) seen on ``spi``."""
    seen = counters.get(spi) if spi is not None else None
    if isinstance(seen, IpsecSa):
        c = seen.counters
        return c.packets, c.bytes, c.verified + c.decrypted, c.icv_failed + c.malformed + c.replays
    if isinstance(seen, UnknownSpi):
        return seen.packets, seen.bytes, seen.packets, 0
    return 0, 0, 0, 0


def ipsec_flow_lines(
    report: Report, sas: list[tuple[IkeSa, Role]], children: dict[str, list[Ikev2LocalChild]], end: float
) -> list[str]:
    counters = _counters(report)
    flows: dict[tuple[str, str, str, str], V2Flow] = {}
    for sa, role in sas:
        local, remote = addresses(sa, role)
        for child in children.get(sa.cookies, []):
            key = (local, remote, child.local_ts, child.remote_ts)
            flows.setdefault(key, V2Flow(*key)).children.append(child)
    lines: list[str] = []
    for flow in flows.values():
        ins = [_seen(counters, c.inbound_spi) for c in flow.children]
        outs = [_seen(counters, c.outbound_spi) for c in flow.children]
        encaps = sum(o[0] for o in outs)
        decaps = sum(i[0] for i in ins)
        verify = sum(i[2] for i in ins)
        live = [c for c in flow.children if c.deleted is None]
        current = f"{live[-1].outbound_spi or 0:X}" if live else "0"
        lines.extend(
            [
                "",
                f"local ident (addr/mask/prot/port): {_ident(flow.local_ts)}",
                f"remote ident (addr/mask/prot/port): {_ident(flow.remote_ts)}",
                f"current_peer {flow.remote} port {4500 if _natted(report, flow) else 500}",
                "  PERMIT, flags={origin_is_acl,}",
                f"  #pkts encaps: {encaps}, #pkts encrypt: {encaps}, #pkts digest: {encaps}",
                f"  #pkts decaps: {decaps}, #pkts decrypt: {verify}, #pkts verify: {verify}",
                "  #pkts compressed: 0, #pkts decompressed: 0",
                "  #pkts not compressed: 0, #pkts compr. failed: 0",
                "  #pkts not decompressed: 0, #pkts decompress failed: 0",
                f"  #send errors 0, #recv errors {sum(i[3] for i in ins)}",
                "",
                f"   local crypto endpt.: {flow.local}, remote crypto endpt.: {flow.remote}",
                "   plaintext mtu 1438, path mtu 1500, ip mtu 1500, ip mtu idb (none)",
                f"   current outbound spi: 0x{current}({int(current, 16)})",
                "   PFS (Y/N): N, DH group: none",
                "",
            ]
        )
        for direction in ("inbound", "outbound"):
            lines.append(f"   {direction} esp sas:")
            for child in live:
                spi = child.inbound_spi if direction == "inbound" else child.outbound_spi
                conn = child.conn_in if direction == "inbound" else child.conn_out
                if spi is None or child.protocol != "esp":
                    continue
                seen = _seen(counters, spi)
                left = max(0, math.floor((child.created or end) + w.DEFAULT_CHILD_LIFETIME_SECONDS - end))
                kb_left = max(0, w.DEFAULT_CHILD_LIFETIME_KILOBYTES - math.ceil(seen[1] / 1024))
                mode = "Tunnel" if child.mode == "tunnel" else "Transport"
                lines.extend(
                    [
                        f"    spi: 0x{spi:X}({spi})",
                        f"      transform: {w.esp_transform_set(child.transforms)} ,",
                        f"      in use settings ={{{mode}, }}",
                        f"      conn id: {conn}, flow_id: {conn - w.FIRST_IPSEC_CONN_ID + 1}, "
                        "sibling_flags 80000040",
                        f"      sa timing: remaining key lifetime (k/sec): ({kb_left}/{left})",
                        "      IV size: 16 bytes",
                        "      replay detection support: Y",
                        "      Status: ACTIVE(ACTIVE)",
                    ]
                )
            lines.extend(["", f"   {direction} ah sas:", "", f"   {direction} pcp sas:", ""])
    return lines


def _natted(report: Report, flow: V2Flow) -> bool:
    return any(
        m.udp_encapsulated or m.dport == 4500
        for sa in report.ike_sas
        if {sa.initiator, sa.responder} == {flow.local, flow.remote}
        for m in sa.messages
    )
