"""Which IKE SA the ESP/AH flows without keys belong to: their SPIs are in clear text, their owner
is not (the quick mode that named them is encrypted).

A flow between the two peers of an IKE SA belongs to the latest IKE SA between those peers that
started before its first packet (an established one preferred); a flow that started before every
IKE SA of its peers goes to the first of them. The verdict counts these packets as the SA's
traffic and the timeline draws them on the SA's ladder.
"""

from __future__ import annotations

from ikedecode.analysis.report import Report
from ikedecode.esp.sadb import UnknownSpi


def peers_key(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


def unkeyed_flows_by_sa(report: Report) -> dict[int, list[UnknownSpi]]:
    """IKE SA index (in ``report.ike_sas``) -> the flows without keys attributed to it."""
    by_peers: dict[frozenset[str], list[int]] = {}
    for index, sa in enumerate(report.ike_sas):
        by_peers.setdefault(peers_key(sa.initiator, sa.responder), []).append(index)
    out: dict[int, list[UnknownSpi]] = {}
    for flow in report.unknown_spis:
        candidates = by_peers.get(peers_key(flow.src, flow.dst))
        if not candidates:
            continue
        owner = _owner(report, candidates, flow.first_seen)
        out.setdefault(owner, []).append(flow)
    return out


def _owner(report: Report, candidates: list[int], first_seen: float | None) -> int:
    sas = report.ike_sas

    def start(i: int) -> float:
        sa = sas[i]
        return sa.messages[0].time if sa.messages else sa.first_time

    if first_seen is None:
        return candidates[0]
    before = [i for i in candidates if start(i) <= first_seen]
    if not before:
        return min(candidates, key=start)
    established = [i for i in before if sas[i].established]
    return max(established or before, key=start)
