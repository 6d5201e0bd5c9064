"""``--format show``: ``show crypto isakmp sa`` and ``show crypto ipsec sa`` at the end of the capture,
from one peer's point of view (``--as``), in the IOS form of the seed's Examples 13-4 and 13-6.

``show crypto ipsec sa`` is printed in its interface-less form (no ``interface:`` / ``Crypto map
tag:`` lines: the capture cannot know them). Packet counters are what the capture saw on each SA;
conn ids, flow ids and the kilobyte lifetime default are synthesised (docs/cisco.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ikedecode.analysis.report import Report
from ikedecode.analysis.timeline_ikev2 import ikev2_established
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import UnknownSpi
from ikedecode.ike.records import IkeSa
from ikedecode.ike.registries import PROTO_ISAKMP
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.payloads import DeletePayload
from ikedecode.render.cisco import ikev2_debug, ikev2_show
from ikedecode.render.cisco import vocabulary as v
from ikedecode.render.cisco.child import ChildPart, LocalChild
from ikedecode.render.cisco.ids import LocalView, local_view
from ikedecode.render.cisco.perspective import Perspective, addresses, local_sas
from ikedecode.render.clock import utc_moment

AUTH_ALGORITHM = 5  # RFC 2407 4.5 Authentication-Algorithm
COMBINED_MODE_ESP = frozenset({14, 15, 16, 18, 19, 20})  # AES-CCM/GCM: ESP with its own ICV (RFC 4106/4309)


@dataclass(slots=True)
class ShownSa:
    """One SA of ``show crypto ipsec sa``: an inbound or outbound half of a quick-mode part."""

    child: LocalChild
    part: ChildPart
    inbound: bool
    spi: int
    conn_id: int
    packets: int = 0
    bytes: int = 0
    decrypted: int = 0
    verified: int = 0
    errors: int = 0
    keys_known: bool = False


@dataclass(slots=True)
class Flow:
    """The SAs between one pair of peers for one pair of proxy identities."""

    local: str
    remote: str
    local_ident: str
    remote_ident: str
    sas: list[ShownSa] = field(default_factory=list)


def render_show(
    report: Report, *, show_keys: bool = False, perspective: str | Perspective | None = None
) -> str:
    """Both show commands; ``show_keys`` is accepted for symmetry (IOS shows no key material)."""
    view_of = perspective if isinstance(perspective, Perspective) else Perspective.parse(perspective)
    sas = local_sas(report.ike_sas, view_of)
    view = local_view(sas)
    end = report.stats.last_time or 0.0
    host = _hostname(view, {role for _, role in local_sas(report.ike_sas, view_of, version=2)})
    out = [
        f"! ikedecode: the state of {view_of.describe()} at the end of {report.capture_name}"
        f" ({_clock(end)} UTC); conn ids, flow ids and lifetime defaults are synthesised (docs/cisco.md)",
        f"{host}#show crypto isakmp sa",
        *isakmp_sa_lines(view),
        "",
        f"{host}#show crypto ipsec sa",
    ]
    v2_sas = local_sas(report.ike_sas, view_of, version=2)
    if not view.sas and not v2_sas:
        out.append("! no IKEv1 negotiation in the capture: no SA to show from a peer's side")
    flows, unreadable = _flows(report, view, end)
    for flow in flows:
        out.extend(_flow_lines(flow, end))
    for sa, role in unreadable:
        out.extend(_unreadable_lines(report, sa, role))
    if v2_sas:
        out.extend(_ikev2_lines(report, v2_sas, host, end))
    return "\n".join(out).rstrip() + "\n"


def _ikev2_lines(report: Report, v2_sas: list[tuple[IkeSa, Role]], host: str, end: float) -> list[str]:
    """The IKEv2 SAs: ``show crypto ikev2 sa detailed`` and their Child SAs (docs/cisco.md, IKEv2)."""
    children = ikev2_debug.local_children(v2_sas, report.ike_sas)
    established = {sa.cookies: ikev2_established(sa) for sa, _ in v2_sas}
    return [
        *ikev2_show.ipsec_flow_lines(report, v2_sas, children, end),
        "",
        f"{host}#show crypto ikev2 sa detailed",
        *ikev2_show.ikev2_sa_lines(v2_sas, end, established),
    ]


def _clock(time: float) -> str:
    return utc_moment(time).strftime("%Y-%m-%d %H:%M:%S")


def _hostname(view: LocalView, v2_roles: set[Role] | None = None) -> str:
    roles = {role for _, role, _ in view.sas} | (v2_roles or set())
    if roles == {Role.INITIATOR}:
        return "Initiator"
    if roles == {Role.RESPONDER}:
        return "Responder"
    return "Router"


def _ike_deleted(sa: IkeSa) -> bool:
    return any(
        isinstance(p, DeletePayload) and p.protocol_id == PROTO_ISAKMP
        for m in sa.messages
        if m.exchange == "informational"
        for p in m.payloads
    )


def isakmp_sa_lines(view: LocalView) -> list[str]:
    """``dst src state conn-id slot`` (seed Example 13-4): dst is the peer, src the local router."""
    lines = [f"{'dst':<15} {'src':<15} {'state':<14} {'conn-id':>7} {'slot':>4}"]
    for sa, role, conn_id in view.sas:
        if _ike_deleted(sa):
            continue
        local, remote = addresses(sa, role)
        lines.append(f"{remote:<15} {local:<15} {sa.state:<14} {conn_id:>7} {0:>4}")
    return lines


def _deleted_spis(sa: IkeSa) -> set[int]:
    return {
        int.from_bytes(spi, "big")
        for m in sa.messages
        if m.exchange == "informational"
        for p in m.payloads
        if isinstance(p, DeletePayload) and p.protocol_id != PROTO_ISAKMP
        for spi in p.spis
    }


def _counters(report: Report) -> dict[tuple[int, str | None], IpsecSa | UnknownSpi]:
    found: dict[tuple[int, str | None], IpsecSa | UnknownSpi] = {}
    for sa in report.ipsec_sas:
        if sa.spi is not None:
            found[(sa.spi, sa.dst)] = sa
    for unknown in report.unknown_spis:
        found.setdefault((unknown.spi, unknown.dst), unknown)
    return found


def _flows(report: Report, view: LocalView, end: float) -> tuple[list[Flow], list[tuple[IkeSa, Role]]]:
    counters = _counters(report)
    flows: dict[tuple[str, str, str, str], Flow] = {}
    unreadable: list[tuple[IkeSa, Role]] = []
    for sa, role, _ in view.sas:
        local, remote = addresses(sa, role)
        deleted = _deleted_spis(sa)
        children = [c for c in view.children.get(sa.cookies, []) if c.complete]
        if any(not c.readable for c in children):
            unreadable.append((sa, role))
        for child in children:
            if not child.readable or child.local_proxy is None or child.remote_proxy is None:
                continue
            key = (local, remote, child.local_proxy.ident, child.remote_proxy.ident)
            flow = flows.setdefault(key, Flow(*key))
            for part in child.parts:
                gone = {part.inbound_spi, part.outbound_spi} & deleted or (
                    child.created is not None and child.created + part.seconds <= end
                )
                for inbound, spi, dst in (
                    (True, part.inbound_spi, local),
                    (False, part.outbound_spi, remote),
                ):
                    if spi is None:
                        continue
                    direction = "in" if inbound else "out"
                    shown = ShownSa(
                        child,
                        part,
                        inbound,
                        spi,
                        view.conn_id(sa.cookies, child.message_id, part.number, direction),
                    )
                    _count(shown, counters.get((spi, dst)))
                    flow.sas.append(shown)
                    if gone:
                        shown.conn_id = -shown.conn_id  # counted, not listed
    return list(flows.values()), unreadable


def _count(shown: ShownSa, seen: IpsecSa | UnknownSpi | None) -> None:
    if seen is None:
        return
    if isinstance(seen, IpsecSa):
        c = seen.counters
        shown.packets, shown.bytes, shown.keys_known = c.packets, c.bytes, True
        shown.decrypted, shown.verified = c.decrypted + c.verified, c.verified
        shown.errors = c.icv_failed + c.malformed + c.replays
    else:
        shown.packets, shown.bytes = seen.packets, seen.bytes
        shown.decrypted = shown.verified = seen.packets  # the router had the keys


def _flow_lines(flow: Flow, end: float) -> list[str]:
    out_sas = [s for s in flow.sas if not s.inbound]
    in_sas = [s for s in flow.sas if s.inbound]
    encaps = sum(s.packets for s in out_sas)
    decaps = sum(s.packets for s in in_sas)
    decrypt = sum(s.decrypted for s in in_sas)
    verify = sum(s.verified for s in in_sas)
    recv_errors = sum(s.errors for s in in_sas)
    live_out = [s for s in out_sas if s.conn_id > 0]
    current = f"{live_out[-1].spi:X}" if live_out else "0"
    lines = [
        "",
        f"local ident (addr/mask/prot/port): {flow.local_ident}",
        f"remote ident (addr/mask/prot/port): {flow.remote_ident}",
        f"current_peer: {flow.remote}",
        "  PERMIT, flags={origin_is_acl,}",
        f"  #pkts encaps: {encaps}, #pkts encrypt: {encaps}, #pkts digest {encaps}",
        f"  #pkts decaps: {decaps}, #pkts decrypt: {decrypt}, #pkts verify {verify}",
        "  #pkts compressed: 0, #pkts decompressed: 0",
        "  #pkts not compressed: 0, #pkts compr. failed: 0, #pkts decompress failed: 0",
        f"  #send errors 0, #recv errors {recv_errors}",
        "",
        f"local crypto endpt.: {flow.local}, remote crypto endpt.: {flow.remote}",
        f"path mtu {v.PATH_MTU}, media mtu {v.PATH_MTU}",
        f"current outbound spi: {current}",
        "",
    ]
    for direction, sas in (("inbound", in_sas), ("outbound", out_sas)):
        for protocol in ("esp", "ah"):
            lines.append(f"{direction} {protocol} sas:")
            for s in sas:
                if s.conn_id > 0 and s.part.protocol == protocol:
                    lines.extend(_sa_lines(s, end))
            lines.append("")
        lines.append(f"{direction} pcp sas:")
        lines.append("")
    return lines


def _sa_lines(s: ShownSa, end: float) -> list[str]:
    part = s.part
    created = s.child.created or end
    seconds_left = max(0, math.floor(created + part.seconds - end))
    kilobytes_left = max(0, part.kilobytes - math.ceil(s.bytes / 1024))
    settings = v.IN_USE_SETTINGS.get(part.encapsulation or 1, "Tunnel")
    iv = v.IV_SIZE.get(part.transform.transform_id, 8) if part.protocol == "esp" else 0
    authenticated = part.protocol == "ah" or part.transform.get(AUTH_ALGORITHM) is not None
    replay = "Y" if authenticated or part.transform.transform_id in COMBINED_MODE_ESP else "N"
    return [
        f"  spi: 0x{s.spi:X}({s.spi})",
        f"    transform: {part.transform_set} ,",
        f"    in use settings ={{{settings}, }}",
        f"    slot: 0, conn id: {s.conn_id}, flow_id: {s.conn_id - v.FIRST_IPSEC_CONN_ID + 1}",
        f"    sa timing: remaining key lifetime (k/sec): ({kilobytes_left}/{seconds_left})",
        f"    IV size: {iv} bytes",
        f"    replay detection support: {replay}",
    ]


def _unreadable_lines(report: Report, sa: IkeSa, role: Role) -> list[str]:
    """Quick modes ikedecode could not decrypt: the proxies are unknown; the ESP seen is listed."""
    local, remote = addresses(sa, role)
    lines = [
        "",
        "local ident (addr/mask/prot/port): (encrypted: no keys)",
        "remote ident (addr/mask/prot/port): (encrypted: no keys)",
        f"current_peer: {remote}",
    ]
    flows = [u for u in report.unknown_spis if {u.src, u.dst} == {local, remote}]
    for u in flows:
        direction = "inbound" if u.dst == local else "outbound"
        lines.append(f"  {direction} {u.protocol} spi: 0x{u.spi:X}({u.spi}), {u.packets} packets seen")
    if not flows:
        lines.append("  (no ESP/AH seen between the peers)")
    return lines
