"""Per-SA timelines: what happened to each IKE SA and each IPsec SA, in order, from the Report.

For every IKE SA: each message (time relative to the SA's first packet and direction),
retransmissions with the gap before each copy, phase 1 complete, every phase-2 exchange, rekeys,
deletes (who sent them, for which SPIs), DPD probes and answers, the first and last ESP packet of
each of its IPsec SAs, and where the capture ends relative to the negotiated lifetimes.

For every IPsec SA (one quick mode's pair of directions): the quick mode that made it, first and
last packet, packets/bytes per direction, ICV failures, sequence gaps, the SA that replaced it and
its delete. Lifetimes come from the SA attributes (RFC 2409 Appendix A Life-Type/Life-Duration,
RFC 2407 4.5 SA-Life-Type/SA-Life-Duration). Times are kept absolute (capture clock); ``offset``
is relative to the start of the IKE SA (or of the capture for SAs without one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ikedecode.analysis.flows import unkeyed_flows_by_sa
from ikedecode.analysis.report import Report
from ikedecode.analysis.timeline_events import (
    SaIndex,
    esp_events,
    lifetime_events,
    message_events,
    phase2_events,
)
from ikedecode.analysis.timeline_ikev2 import (
    attach_ikev2_deletes,
    ikev2_children,
    ikev2_established,
    ikev2_events,
)
from ikedecode.analysis.timeline_records import (
    KIND_ORDER,
    ChildSaTimeline,
    Direction,
    IkeSaTimeline,
    Timeline,
    TimelineEvent,
)
from ikedecode.esp.sadb import UnknownSpi
from ikedecode.esp.transforms import ikev1_ah_transform, ikev1_esp_transform, transform_text
from ikedecode.ike.records import IkeSa, Phase2Exchange, Protection
from ikedecode.ike.v1.exchanges import SHAPES_BY_TYPE, Label, Role
from ikedecode.ike.v1.payloads import Transform

# RFC 2409 Appendix A (IKE) and RFC 2407 4.5 (IPsec): (life type, life duration) attribute numbers
IKE_LIFETIME_ATTRIBUTES = (11, 12)
IPSEC_LIFETIME_ATTRIBUTES = (1, 2)
LIFE_TYPE_SECONDS = 1
LIFE_TYPE_KILOBYTES = 2
PHASE1_FINAL_LABELS = (Label.MM6, Label.AM3)
# Quick modes created closer together than this are one generation (a rekey collision).
REKEY_COLLISION_WINDOW = 2.0


def build_timeline(report: Report) -> Timeline:
    """Every IKE SA's and IPsec SA's story, from the records the pipeline produced."""
    stats = report.stats
    capture_end = stats.last_time
    timeline = Timeline(stats.first_time, capture_end)
    directions = _directions(report)
    lookup = _DirectionIndex.of(directions)
    used: set[int] = set()
    unkeyed = unkeyed_flows_by_sa(report)
    for index, sa in enumerate(report.ike_sas):
        ike = _ike_sa_timeline(sa, directions, used, capture_end, lookup, unkeyed.get(index, []))
        timeline.ike_sas.append(ike)
    attach_ikev2_deletes(report.ike_sas, timeline.ike_sas)
    for key, direction in directions.items():
        if key in used:
            continue
        child = ChildSaTimeline(
            None,
            None,
            direction.protocol,
            directions=[direction],
            origin=direction.sa.origin if direction.sa is not None else "ESP without keys",
        )
        if direction.sa is not None:
            child.transform = direction.sa.transform
        timeline.unattached.append(child)
    return timeline


def lifetimes(attributes: Iterable[tuple[Any, Any]], pair: tuple[int, int]) -> tuple[int | None, int | None]:
    """(seconds, kilobytes) from (type, value) attribute pairs; a duration without a type is seconds."""
    type_id, duration_id = pair
    seconds = kilobytes = None
    unit = LIFE_TYPE_SECONDS
    for attribute_type, value in attributes:
        if attribute_type == type_id and isinstance(value, int):
            unit = value
        elif attribute_type == duration_id and isinstance(value, int):
            if unit == LIFE_TYPE_KILOBYTES:
                kilobytes = value
            else:
                seconds = value
    return seconds, kilobytes


def _directions(report: Report) -> dict[int, Direction]:
    """Every IPsec SA direction of the report, keyed by object identity of its source."""
    out: dict[int, Direction] = {}
    for sa in report.ipsec_sas:
        if sa.spi is None:
            continue
        c = sa.counters
        out[id(sa)] = Direction(
            sa.protocol,
            sa.spi,
            sa.src,
            sa.dst,
            True,
            packets=c.packets,
            bytes=c.bytes,
            first_seen=c.first_seen,
            last_seen=c.last_seen,
            icv_failed=c.icv_failed,
            gaps=c.gaps,
            replays=c.replays,
            verified=c.verified,
            decrypted=c.decrypted,
            garbled=c.garbled,
            sa=sa,
        )
    for unknown in report.unknown_spis:
        out[id(unknown)] = _unknown_direction(unknown)
    return out


def _unknown_direction(u: UnknownSpi) -> Direction:
    return Direction(
        u.protocol,
        u.spi,
        u.src,
        u.dst,
        False,
        packets=u.packets,
        bytes=u.bytes,
        first_seen=u.first_seen,
        last_seen=u.last_seen,
    )


@dataclass(slots=True)
class _DirectionIndex:
    """The IPsec SA directions by the quick mode that keyed them and by SPI, built once per
    timeline: each IKE SA then looks up its own instead of scanning all (10,000 IKE SAs took
    minutes when every one scanned every direction)."""

    by_quick_mode: dict[tuple[str | None, int | None], list[int]] = field(default_factory=dict)
    by_spi: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, directions: dict[int, Direction]) -> _DirectionIndex:
        index = cls()
        for key, d in directions.items():  # in the directions' order, as the scans went
            index.by_spi.setdefault(d.spi, []).append(key)
            if d.sa is not None:
                index.by_quick_mode.setdefault((d.sa.ike_cookies, d.sa.message_id), []).append(key)
        return index


def _ike_sa_timeline(
    sa: IkeSa,
    directions: dict[int, Direction],
    used: set[int],
    capture_end: float | None,
    lookup: _DirectionIndex | None = None,
    unkeyed: list[UnknownSpi] | None = None,
) -> IkeSaTimeline:
    start = sa.messages[0].time if sa.messages else sa.first_time
    end = sa.messages[-1].time if sa.messages else sa.last_time
    ike = IkeSaTimeline(sa.cookies, sa.initiator, sa.responder, sa.exchange, start, end, sa.established)
    if isinstance(sa.chosen, Transform):
        ike.lifetime_seconds, ike.lifetime_kilobytes = lifetimes(
            ((a.type, a.value) for a in sa.chosen.attributes), IKE_LIFETIME_ATTRIBUTES
        )
    events = ike.events

    def add(time: float, kind: str, text: str, **kw: Any) -> None:
        events.append(TimelineEvent(time, time - start, kind, text, **kw))

    index = SaIndex.of(sa)
    message_events(sa, add)
    if sa.version == 2:  # IKE_AUTH instead of phase 1, Child SAs instead of quick modes
        ike.phase1_complete = ikev2_established(sa)
        if ike.phase1_complete is not None:
            add(ike.phase1_complete, "phase1-complete", "IKE SA established (IKE_AUTH done or rekeyed in)")
        ike.children = ikev2_children(sa, directions, used, lookup or _DirectionIndex.of(directions))
        ikev2_events(sa, ike, add)
        _key_stage_events(sa, add)
    else:
        ike.phase1_complete = _phase1_complete(sa)
        if ike.phase1_complete is not None:
            text = "phase 1 complete: the IKE SA is established (QM_IDLE)"
            add(ike.phase1_complete, "phase1-complete", text)
        ike.children = _children(sa, directions, used, index, lookup or _DirectionIndex.of(directions))
    _attach_unkeyed(sa, ike, unkeyed or [], directions, used)
    if sa.version == 1:  # IKEv2 Child SAs say which one they rekey (timeline_ikev2)
        _link_generations(ike.children)
        phase2_events(sa, ike, add, index)
    esp_events(ike, add)
    lifetime_events(ike, capture_end, add)
    events.sort(key=lambda e: (e.time, KIND_ORDER.get(e.kind, 8)))
    return ike


def _key_stage_events(sa: IkeSa, add: Any) -> None:
    """RFC 9370: after each IKE_INTERMEDIATE key exchange every IKE SA key changes (key_stages)."""
    times = {m.frame: m.time for m in sa.messages}
    for stage in sa.ikev2.key_stages if sa.ikev2 is not None else ():
        frames = stage.get("frames") or []
        if stage["stage"] and frames and frames[-1] in times:
            missing = "; its input was not given" if stage.get("missing") else ""
            method = stage["key_exchange"]
            text = f"key stage {stage['stage']}: every IKE SA key re-derived with {method}{missing}"
            add(times[frames[-1]], "key-stage", text, frame=frames[-1])


def _phase1_complete(sa: IkeSa) -> float | None:
    for m in sa.messages:
        if m.label in PHASE1_FINAL_LABELS and m.retransmission_of is None:
            return m.time
    if sa.established:
        for m in sa.messages:
            shape = SHAPES_BY_TYPE.get(m.exchange_type)
            if shape is not None and shape.phase == 2:
                return m.time
    return None


def _children(
    sa: IkeSa, directions: dict[int, Direction], used: set[int], index: SaIndex, lookup: _DirectionIndex
) -> list[ChildSaTimeline]:
    out: list[ChildSaTimeline] = []
    # per SPI a quick mode of this SA names, the first direction no earlier IKE SA took
    by_spi: dict[int, tuple[int, Direction]] = {}
    for ex in sa.phase2.values():
        for spi_hex in (
            *ex.summary.get("spis", {}).get(Role.INITIATOR, []),
            *ex.summary.get("spis", {}).get(Role.RESPONDER, []),
        ):
            spi = int(spi_hex, 16)
            if spi not in by_spi:
                for key in lookup.by_spi.get(spi, ()):
                    if key not in used:
                        by_spi[spi] = (key, directions[key])
                        break
    for ex in sa.phase2.values():
        if ex.exchange != "quick":
            continue
        first = [m for m in index.messages_of(ex.message_id) if m.retransmission_of is None]
        child = ChildSaTimeline(sa.cookies, ex.message_id, "esp", complete=ex.complete)
        if first:
            child.initiated_by = first[0].sender
            if ex.complete:
                child.created, child.created_frame = first[-1].time, first[-1].frame
        accepted = ex.summary.get("accepted") or ex.summary.get("proposals") or []
        if accepted:
            proposal = accepted[0]
            child.protocol = str(proposal.get("protocol", "ESP")).lower()
            transforms = proposal.get("transforms") or []
            if transforms:
                child.lifetime_seconds, child.lifetime_kilobytes = lifetimes(
                    ((a.get("type"), a.get("value")) for a in transforms[0].get("attributes", [])),
                    IPSEC_LIFETIME_ATTRIBUTES,
                )
                child.transform = _transform_text(transforms[0], child.protocol)
        proxies = ex.summary.get("proxy_ids", {})
        side = proxies.get(Role.INITIATOR) or proxies.get(Role.RESPONDER)
        if side:
            child.proxies = (side["local"], side["remote"])
        _attach_directions(sa, ex, child, directions, by_spi, used, lookup)
        out.append(child)
    out.sort(key=lambda c: (c.created is None, c.created or 0.0))
    return out


def _attach_unkeyed(
    sa: IkeSa, ike: IkeSaTimeline, flows: list[UnknownSpi], directions: dict[int, Direction], used: set[int]
) -> None:
    """ESP/AH without keys between this SA's peers (analysis/flows.py): their SPIs are in clear text
    though the quick mode that named them is not; each joins the last quick mode completed before
    its first packet (or one of its own), so the ladder and the tables draw it."""
    for flow in flows:
        key = id(flow)
        if key in used or key not in directions:
            continue
        used.add(key)
        first = flow.first_seen if flow.first_seen is not None else float("inf")
        done = [c for c in ike.children if c.complete and (c.created or 0.0) <= first]
        if done:
            child = done[-1]
        else:
            child = ChildSaTimeline(sa.cookies, None, flow.protocol, origin="ESP without keys")
            ike.children.append(child)
        child.directions.append(directions[key])
        child.directions.sort(key=lambda d: d.src != sa.initiator)


def _transform_text(transform: dict[str, Any], protocol: str) -> str:
    """The negotiated transform spelled as the IPsec SA table spells it (``transform_text``:
    "aes-cbc-128/hmac-sha1-96"); the IANA names when the ESP layer does not know the transform."""
    values = {a.get("name"): a.get("value") for a in transform.get("attributes", [])}
    key_bits, auth = values.get("Key-Length"), values.get("Authentication-Algorithm")
    try:
        if protocol == "ah":
            t = ikev1_ah_transform(int(transform["transform_id"]), auth if isinstance(auth, int) else None)
        else:
            t = ikev1_esp_transform(
                int(transform["transform_id"]),
                key_bits if isinstance(key_bits, int) else None,
                auth if isinstance(auth, int) else None,
            )
        return transform_text(t.encryption, t.integrity, key_bits if isinstance(key_bits, int) else None)
    except (KeyError, ValueError, TypeError):
        pass
    parts = [str(transform.get("transform_name", ""))]
    for attribute in transform.get("attributes", []):
        if attribute.get("name") == "Authentication-Algorithm":
            parts.append(str(attribute.get("value_name", attribute.get("value"))))
        elif attribute.get("name") == "Key-Length":
            parts[0] += f"-{attribute.get('value')}"
    return "/".join(p for p in parts if p)


def _attach_directions(
    sa: IkeSa,
    ex: Phase2Exchange,
    child: ChildSaTimeline,
    directions: dict[int, Direction],
    by_spi: dict[int, tuple[int, Direction]],
    used: set[int],
    lookup: _DirectionIndex,
) -> None:
    keyed = [
        (key, directions[key])
        for key in lookup.by_quick_mode.get((sa.cookies, ex.message_id), ())
        if key not in used
    ]
    for key, d in keyed:
        used.add(key)
        child.directions.append(d)
    if keyed:
        child.directions.sort(key=lambda d: d.src != sa.initiator)
        return
    # no keys for this quick mode's SAs: its SPIs (when decrypted) still name the ESP flows
    spis = ex.summary.get("spis", {})
    initiator_side = child.initiated_by or sa.initiator
    responder_side = sa.responder if initiator_side == sa.initiator else sa.initiator
    for side, receiver, sender in (
        (Role.INITIATOR, initiator_side, responder_side),
        (Role.RESPONDER, responder_side, initiator_side),
    ):
        for spi_hex in spis.get(side, []):
            spi = int(spi_hex, 16)
            found = by_spi.get(spi)
            if found is not None and found[0] not in used:
                used.add(found[0])
                child.directions.append(found[1])
            else:
                child.directions.append(Direction(child.protocol, spi, sender, receiver, False))
    child.directions.sort(key=lambda d: d.src != sa.initiator)


def _proxy_key(child: ChildSaTimeline) -> frozenset[str] | None:
    return frozenset(child.proxies) if child.proxies else None


def _link_generations(children: list[ChildSaTimeline]) -> None:
    """A quick mode with the same proxy identities created later replaces an earlier one (a rekey).

    Quick modes created within REKEY_COLLISION_WINDOW of each other are one generation (both
    peers rekeyed at once); each SA is replaced by the whole next generation.
    """
    created = [c for c in children if c.created is not None and c.complete]
    for i, old in enumerate(created):
        key = _proxy_key(old)
        later = [
            c
            for c in created[i + 1 :]
            if _proxy_key(c) == key and (c.created or 0) - (old.created or 0) > REKEY_COLLISION_WINDOW
        ]
        if not later:
            continue
        first = later[0].created or 0.0
        generation = [c for c in later if (c.created or 0) - first <= REKEY_COLLISION_WINDOW]
        for new in generation:
            if new.message_id is not None:
                old.replaced_by.append(new.message_id)
            if old.message_id is not None:
                new.replaces.append(old.message_id)


def keys_disagree(sa: IkeSa) -> bool:
    """True when the peers encrypt with different keys (a PSK mismatch): each then fails to
    decrypt what the other sends. Seen as a ``psk-mismatch`` finding, or as encrypted messages of
    one peer decrypting while the other peer's do not decrypt with the same keys."""
    if any(f.code == "psk-mismatch" for f in sa.findings):
        return True
    readable: dict[str, set[bool]] = {}
    for m in sa.messages:
        if (
            m.encrypted
            and m.protection is not Protection.NO_KEYS
            and m.protection is not Protection.MALFORMED
        ):
            readable.setdefault(m.sender, set()).add(bool(m.decrypted))
    senders = list(readable.values())
    return len(senders) == 2 and any(True in s for s in senders) and any(s == {False} for s in senders)
