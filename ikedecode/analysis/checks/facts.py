"""What the checks read from a Report, worked out once: per-SA message views and evidence helpers.

A check never walks raw records twice for the same fact: ``SaFacts`` knows each message's role,
its retransmissions, the notifications and deletes it carried, and the accepted phase-1 policy;
``evidence_of`` turns a message into the evidence every finding shows (label, frame, time, who).
A quick mode's own facts are ``quick_mode_facts.QuickModeFacts`` (``SaFacts.quick_modes``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ikedecode.analysis.checks.quick_mode_facts import QuickModeFacts
from ikedecode.analysis.checks.transform_facts import (
    attribute_values,
    lifetimes,
)
from ikedecode.analysis.report import Report
from ikedecode.findings import Finding
from ikedecode.ike.records import IkeMessage, IkeSa, ProposalRecord
from ikedecode.ike.registries import (
    AUTHENTICATION_METHOD,
    BASE_AUTHENTICATION_METHOD,
    HASH_ALGORITHM,
    LIFE_DURATION,
    LIFE_TYPE,
)
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.payloads import (
    DeletePayload,
    IdPayload,
    NatDPayload,
    NotifyPayload,
)

INITIATOR, RESPONDER = Role.INITIATOR, Role.RESPONDER
PHASE1_EXCHANGES = ("main", "aggressive")
IP_ADDRESS_IDS = (1, 5)  # ID_IPV4_ADDR, ID_IPV6_ADDR (RFC 2407 4.6.2.1)
PRESHARED_BASE_METHOD = 1  # RFC 2409 Appendix A: authentication method 1


def evidence_of(msg: IkeMessage, **extra: Any) -> dict[str, Any]:
    """A message as evidence: label, frame(s), time, sender and receiver."""
    out: dict[str, Any] = {
        "label": msg.label,
        "frame": msg.frame,
        "time": msg.time,
        "sender": msg.sender,
        "receiver": msg.receiver,
    }
    if len(msg.frames) > 1:
        out["frames"] = list(msg.frames)  # IP fragments
    if msg.message_id:
        out["message_id"] = f"0x{msg.message_id:08x}"
    out.update(extra)
    return out


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


LISTED_FRAMES = 6  # frames named in a sentence; "and N more" after them


def frames_text(messages: Iterable[IkeMessage]) -> str:
    frames = [str(m.frame) for m in messages]
    more = f" and {len(frames) - LISTED_FRAMES} more" if len(frames) > LISTED_FRAMES else ""
    return ("frame " if len(frames) == 1 else "frames ") + ", ".join(frames[:LISTED_FRAMES]) + more


@dataclass(slots=True)
class Notification:
    msg: IkeMessage
    payload: NotifyPayload

    @property
    def evidence(self) -> dict[str, Any]:
        spi = self.payload.spi.hex() if self.payload.spi else None
        return evidence_of(
            self.msg,
            notify=self.payload.notify_name,
            notify_type=self.payload.notify_type,
            protocol=self.payload.protocol_id,
            spi=spi,
        )


class SaFacts:
    """One IKE SA seen through the questions the checks ask.

    One pass over the SA's messages (``of``) sorts them once: first copies and their retransmissions,
    the first of each label, phase 1, quick modes by message ID, informationals, and the
    notifications and deletes they carried. What only some checks ask is worked out on first use
    (plain attributes tested for None: ``functools.cached_property`` takes a lock per first read)."""

    __slots__ = (
        "sa",
        "originals",
        "copies",
        "retransmitted",
        "phase1",
        "informationals",
        "notifications",
        "deletes",
        "natd",
        "address_ids",
        "_first",
        "_quick",
        "_quick_modes",
        "_quick_modes_by_initiator",
        "_notifications_by_type",
        "_notifications_by_message",
        "_chosen",
        "_opener_times",
        "_infos_by_sender",
    )

    def __init__(self, sa: IkeSa) -> None:
        self.sa = sa
        self.originals: list[IkeMessage] = []  # first copies, capture order
        self.copies: dict[int, list[IkeMessage]] = {}  # original frame -> all copies; {}: none came again
        self.retransmitted = False  # whether any message of the SA came more than once
        self.phase1: list[IkeMessage] = []
        # what most SAs have none of: the empty tuple until ``of`` finds one (no list made per SA)
        self.informationals: Sequence[IkeMessage] = ()
        self.notifications: Sequence[Notification] = ()
        self.deletes: Sequence[tuple[IkeMessage, DeletePayload]] = ()
        self.natd: Sequence[tuple[IkeMessage, list[bytes]]] = ()  # phase-1 messages with NAT-D: their hashes
        self.address_ids: Sequence[tuple[IkeMessage, str]] = ()  # phase-1 messages: their first IP-address ID
        self._first: dict[str, IkeMessage] = {}
        self._quick: dict[int, list[IkeMessage]] = {}
        self._quick_modes: list[QuickModeFacts] | None = None
        self._quick_modes_by_initiator: dict[str, list[QuickModeFacts]] | None = None
        self._notifications_by_type: dict[int, list[Notification]] | None = None
        self._notifications_by_message: dict[int, list[Notification]] | None = None
        self._chosen: dict[int, Any] | None = None
        self._opener_times: list[float] | None = None
        self._infos_by_sender: dict[str, tuple[list[float], list[IkeMessage]]] | None = None

    @classmethod
    def of(cls, sa: IkeSa) -> SaFacts:
        facts = cls(sa)
        originals, copies, first = facts.originals, facts.copies, facts._first
        phase1, quick = facts.phase1, facts._quick
        informationals: list[IkeMessage] | None = None  # each made at its first entry
        notifications: list[Notification] | None = None
        deletes: list[tuple[IkeMessage, DeletePayload]] | None = None
        natd: list[tuple[IkeMessage, list[bytes]]] | None = None
        address_ids: list[tuple[IkeMessage, str]] | None = None
        for msg in sa.messages:
            if msg.retransmission_of is not None:
                facts.retransmitted = True  # ``copies`` is filled after the loop, for such an SA only
                continue
            originals.append(msg)
            if msg.label not in first:
                first[msg.label] = msg
            exchange = msg.exchange
            in_phase1 = exchange in PHASE1_EXCHANGES
            if in_phase1:
                phase1.append(msg)
            elif exchange == "quick":
                found = quick.get(msg.message_id)
                if found is None:
                    quick[msg.message_id] = [msg]
                else:
                    found.append(msg)
            elif exchange == "informational":
                if informationals is None:
                    informationals = facts.informationals = []
                informationals.append(msg)
            hashes: list[bytes] | None = None
            address_id: str | None = None
            for p in msg.payloads:
                kind = type(p)  # no payload class has subclasses: identity tests, not isinstance
                if kind is NotifyPayload:
                    if notifications is None:
                        notifications = facts.notifications = []
                    notifications.append(Notification(msg, p))
                elif kind is DeletePayload:
                    if deletes is None:
                        deletes = facts.deletes = []
                    deletes.append((msg, p))
                elif not in_phase1:
                    continue
                elif kind is NatDPayload:
                    if hashes is None:
                        hashes = []
                        if natd is None:
                            natd = facts.natd = []
                        natd.append((msg, hashes))
                    hashes.append(p.data)
                elif address_id is None and kind is IdPayload and p.id_type in IP_ADDRESS_IDS:
                    address_id = p.text
                    if address_ids is None:
                        address_ids = facts.address_ids = []
                    address_ids.append((msg, address_id))
        if facts.retransmitted:  # without one, every message is its only copy (``all_copies``' default)
            for msg in sa.messages:
                if msg.retransmission_of is not None:
                    copies.setdefault(msg.retransmission_of, []).append(msg)
                else:
                    copies[msg.frame] = [msg]
        return facts

    @property
    def cookies(self) -> str:
        return self.sa.cookies

    def role(self, msg: IkeMessage) -> str:
        sa = self.sa
        if msg.sender == sa.initiator and msg.sender != sa.responder:
            return INITIATOR
        if msg.sender == sa.responder and msg.sender != sa.initiator:
            return RESPONDER
        return INITIATOR if msg.receiver == sa.responder else RESPONDER

    def peer(self, role: str) -> str:
        return self.sa.initiator if role == INITIATOR else self.sa.responder

    def all_copies(self, msg: IkeMessage) -> list[IkeMessage]:
        return self.copies.get(msg.frame, [msg])

    def sent_count(self, msg: IkeMessage) -> int:
        return len(self.all_copies(msg))

    def first(self, label: str) -> IkeMessage | None:
        return self._first.get(label)

    def after(self, msg: IkeMessage, role: str | None = None) -> list[IkeMessage]:
        """Messages (first copies) later than ``msg``, optionally only those ``role`` sent."""
        return [
            m
            for m in self.originals
            if (m.time, m.frame) > (msg.time, msg.frame) and (role is None or self.role(m) == role)
        ]

    @property
    def notifications_by_type(self) -> dict[int, list[Notification]]:
        out = self._notifications_by_type
        if out is None:
            out = self._notifications_by_type = {}
            for n in self.notifications:
                out.setdefault(n.payload.notify_type, []).append(n)
        return out

    @property
    def chosen(self) -> dict[int, Any]:
        out = self._chosen
        if out is None:
            out = self._chosen = attribute_values(self.sa.chosen)
        return out

    @property
    def hash_algorithm(self) -> int | None:
        value = self.chosen.get(HASH_ALGORITHM)
        return value if isinstance(value, int) else None

    @property
    def preshared(self) -> bool | None:
        """True for pre-shared-key authentication (XAUTH variants included), None when unknown."""
        method = self.chosen.get(AUTHENTICATION_METHOD)
        if not isinstance(method, int):
            return None
        return BASE_AUTHENTICATION_METHOD.get(method, method) == PRESHARED_BASE_METHOD

    @property
    def established(self) -> bool:
        return self.sa.established

    @staticmethod
    def phase1_lifetimes(transform: ProposalRecord | None) -> dict[str, int]:
        return lifetimes(transform, LIFE_TYPE, LIFE_DURATION)

    @property
    def quick_modes(self) -> list[QuickModeFacts]:
        out = self._quick_modes
        if out is None:
            by_id = self._quick
            out = (
                [
                    QuickModeFacts(exchange, by_id[exchange.message_id])
                    for exchange in self.sa.phase2.values()
                    if exchange.exchange == "quick" and exchange.message_id in by_id
                ]
                if by_id
                else []
            )
            if len(out) > 1:
                out.sort(key=lambda q: (q.messages[0].time, q.messages[0].frame))
            self._quick_modes = out
        return out

    def next_quick_mode_after(self, time: float) -> float:
        """When the next quick mode (by anyone) starts after ``time``; infinity when none does."""
        times = self._opener_times
        if times is None:
            times = self._opener_times = sorted(q.opener.time for q in self.quick_modes)
        i = bisect.bisect_right(times, time)
        return times[i] if i < len(times) else float("inf")

    def informationals_from(self, sender: str, start: float, until: float = float("inf")) -> list[IkeMessage]:
        """Informationals ``sender`` sent at ``start`` <= time < ``until`` (bisect, not a scan)."""
        by_sender = self._infos_by_sender
        if by_sender is None:
            by_sender = self._infos_by_sender = {}
            for m in sorted(self.informationals, key=lambda m: (m.time, m.frame)):
                times, msgs = by_sender.setdefault(m.sender, ([], []))
                times.append(m.time)
                msgs.append(m)
        found = by_sender.get(sender)
        if found is None:
            return []
        times, msgs = found
        return msgs[bisect.bisect_left(times, start) : bisect.bisect_left(times, until)]

    def error_notifies_in(self, messages: list[IkeMessage]) -> list[Notification]:
        if not messages:
            return []
        by_message = self._notifications_by_message
        if by_message is None:
            by_message = self._notifications_by_message = {}
            for n in self.notifications:
                by_message.setdefault(id(n.msg), []).append(n)
        found = (n for m in messages for n in by_message.get(id(m), []))
        return [n for n in found if n.payload.is_error]

    @property
    def quick_modes_by_initiator(self) -> dict[str, list[QuickModeFacts]]:
        out = self._quick_modes_by_initiator
        if out is None:
            out = self._quick_modes_by_initiator = {}
            for q in self.quick_modes:
                out.setdefault(q.initiator, []).append(q)
        return out


def facts_of(report: Report) -> list[SaFacts]:
    return [SaFacts.of(sa) for sa in report.ike_sas if sa.version == 1]


@dataclass
class Context:
    """Everything a check sees: the report, the per-SA facts, and which error notifications a
    specific finding already explains (so the generic ``error-notify`` check skips them)."""

    report: Report
    sas: list[SaFacts]
    explained: set[tuple[int, int]] = field(default_factory=set)  # (frame, notify type)
    flows: list[Any] | None = None  # ESP/AH flows (``esp.flows_of``), once asked
    ikev2: list[Any] | None = None  # the IKEv2 SAs seen once (``ikev2_view.ikev2_views``), once asked

    @classmethod
    def of(cls, report: Report) -> Context:
        return cls(report, facts_of(report))

    @property
    def has_ikev2(self) -> bool:
        """Whether the report has an IKEv2 SA: none when every SA is an IKEv1 one of ``sas`` (the
        IKEv2 checks ask; 10,000 IKEv1 SAs are not walked again to find none)."""
        ike_sas = self.report.ike_sas
        return len(self.sas) < len(ike_sas) and any(sa.version == 2 for sa in ike_sas)

    @property
    def capture_end(self) -> float | None:
        return self.report.stats.last_time

    def explain(self, *notifications: Notification) -> None:
        for n in notifications:
            self.explained.add((n.msg.frame, n.payload.notify_type))


MAX_LISTED = 20  # evidence lists beyond this are cut (with a count) so one finding stays readable


def merge_repeats(findings: list[Finding], key: Callable[[Finding], Hashable]) -> list[Finding]:
    """One finding per key: a quick mode refused (or left unanswered) again and again is one story.

    The first finding stays; it learns how often it happened and which quick modes repeated it.
    """
    if len(findings) < 2:
        return list(findings)  # nothing to merge
    groups: dict[Hashable, list[Finding]] = {}
    for f in findings:
        groups.setdefault(key(f), []).append(f)
    out = []
    for group in groups.values():
        first = group[0]
        if len(group) > 1:
            others = [f.evidence.get("quick_mode") for f in group[1:]]
            first.evidence["repeated"] = len(group)
            first.evidence["also_quick_modes"] = others[:MAX_LISTED]
            first.message += f" (the same for {len(group) - 1} more quick mode(s), the last {others[-1]})"
        out.append(first)
    return out
