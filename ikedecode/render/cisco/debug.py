"""``--format cisco``: the capture as ``debug crypto isakmp`` + ``debug crypto ipsec`` on one peer.

Each IKE SA is walked message by message from the local router's side (``--as``): what it sends
and receives, the payloads it processes, its state machine, the IPsec SAs it creates and deletes.
Fields IOS takes from its own configuration or memory are synthesised (docs/cisco.md).
"""

from __future__ import annotations

from ikedecode.analysis.report import Report
from ikedecode.ike.records import IkeSa
from ikedecode.ike.v1.exchanges import Role
from ikedecode.render.cisco import ikev2_debug, phase1, phase2
from ikedecode.render.cisco import ikev2_words as w
from ikedecode.render.cisco.context import SaContext, keys_disagree
from ikedecode.render.cisco.ids import LocalView, local_view
from ikedecode.render.cisco.lines import DebugLog, merge
from ikedecode.render.cisco.perspective import Perspective, addresses, local_sas

HEADER = (
    "! ikedecode: debug crypto isakmp / debug crypto ipsec as {who} would have printed it",
    "! from {name}; conn ids, policy priority and kilobyte lifetimes are IOS's own state, synthesised",
    "! (docs/cisco.md); '(encrypted: ...)' marks where the capture cannot be followed without keys",
)
HEADER_V2 = (
    "! IKEv2 SAs: debug crypto ikev2 (+ internal SM Trace lines) / debug crypto ipsec as IOS XE prints",
    "! them on {who}; session/SA ids, conn ids and lifetimes are synthesised (docs/cisco.md, IKEv2)",
)


def render_cisco(
    report: Report, *, show_keys: bool = False, perspective: str | Perspective | None = None
) -> str:
    """The debug output; ``show_keys`` is accepted for symmetry (IOS debug shows no key material)."""
    view_of = perspective if isinstance(perspective, Perspective) else Perspective.parse(perspective)
    sas = local_sas(report.ike_sas, view_of)
    view = local_view(sas)
    logs = [walk(sa, role, conn_id, order, view) for order, (sa, role, conn_id) in enumerate(view.sas)]
    v2_sas = local_sas(report.ike_sas, view_of, version=2)
    if v2_sas:
        children = ikev2_debug.local_children(v2_sas, report.ike_sas)
        first = len(logs)
        logs.extend(
            ikev2_debug.walk_ikev2(sa, role, w.FIRST_SESSION_ID + n, first + n, children)
            for n, (sa, role) in enumerate(v2_sas)
        )
    lines = [h.format(who=view_of.describe(), name=report.capture_name) for h in HEADER]
    if v2_sas:
        lines.extend(h.format(who=view_of.describe()) for h in HEADER_V2)
    if not sas and not v2_sas:
        lines.append("! no IKEv1 negotiation in the capture")
    lines.extend(merge(logs))
    return "\n".join(lines) + "\n"


def walk(sa: IkeSa, role: Role, conn_id: int, order: int, view: LocalView) -> DebugLog:
    """One IKE SA's debug output from the router in ``role``."""
    local, remote = addresses(sa, role)
    log = DebugLog(conn_id, order)
    ctx = SaContext(sa, role, local, remote, log, view)
    ctx.children = {c.message_id: c for c in view.children.get(sa.cookies, [])}
    ctx.keys_disagree = keys_disagree(sa)
    ctx.positions = {id(m): n for n, m in enumerate(sa.messages)}
    for m in sa.messages:
        if m.exchange in ("main", "aggressive"):
            phase1.handle(ctx, m)
        elif m.exchange == "quick":
            phase2.quick_mode(ctx, m)
        elif m.exchange == "informational":
            phase2.informational(ctx, m)
        elif m.exchange == "transaction":
            phase2.transaction(ctx, m)
        elif ctx.sent(m):
            log.isakmp(m.time, ctx.send_line(m))
        else:
            log.isakmp(m.time, ctx.receive_line())
    phase1.death_by_retransmission(ctx)
    return log
