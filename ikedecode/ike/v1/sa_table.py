"""The IKE SA table: which IKE SA a message belongs to, by its cookie pair (RFC 2408 3.1).

SAs are kept in order of first appearance, at most ``max_sas`` of them: beyond the cap the oldest
is dropped from the report, counted in one ``state-cap`` finding (docs/limits.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ikedecode.capture.datagram import Datagram
from ikedecode.findings import Finding, finding
from ikedecode.ike.events import FindingRaised, IkeEvent
from ikedecode.ike.header import IsakmpHeader
from ikedecode.ike.messages import DEFAULT_MAX_SAS
from ikedecode.ike.records import IkeSa
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.sa_state import SaState

ZERO_COOKIE = bytes(8)
# enum members as module names: ``Role.INITIATOR`` costs ten times as much to read (CPython 3.11)
INITIATOR, RESPONDER = Role.INITIATOR, Role.RESPONDER


class SaTable:
    def __init__(self, max_sas: int = DEFAULT_MAX_SAS) -> None:
        self.max_sas = max_sas
        self._states: dict[tuple[bytes, bytes | None], SaState] = {}  # (icky, rcky) -> SA, rcky known
        self._by_initiator_cookie: dict[bytes, list[SaState]] = {}
        self._order: deque[SaState] = deque()
        self._sa_cap_finding: Finding | None = None

    def __iter__(self) -> Iterator[SaState]:
        """Every IKE SA kept, in order of first appearance."""
        return iter(self._order)

    def state_for(self, datagram: Datagram, header: IsakmpHeader, out: list[IkeEvent]) -> SaState:
        """The SA this message belongs to, made if new (a ``state-cap`` finding goes to ``out``
        the first time the cap drops an SA; its count grows with every later one)."""
        icky, rcky = header.initiator_cookie, header.responder_cookie
        # The SA with this cookie pair (the usual message; a zero responder cookie is never a key
        # of ``_states``); the newest SA of this initiator cookie answers a zero responder cookie;
        # else the first SA of the initiator cookie while its responder cookie is unknown (only the
        # first can be: later ones are made with a responder cookie).
        # Dictionaries, not a scan: a flood of responder cookies must not make this quadratic.
        state = self._states.get((icky, rcky))
        if state is not None:
            return state
        zero = rcky == ZERO_COOKIE
        candidates = self._by_initiator_cookie.get(icky)
        if candidates:
            if zero:
                return candidates[-1]
            first = candidates[0]
            if first.sa.responder_cookie is None:
                first.sa.responder_cookie = rcky
                self._states[(icky, rcky)] = first
                return first
        if len(self._order) >= self.max_sas:
            dropped = self._order.popleft()
            self._forget(dropped)
            self._note_sa_dropped(dropped, out)
        # With a zero responder cookie the sender is the initiator (RFC 2408 3.1); otherwise the
        # capture missed the SA's first message and the first sender seen is taken as initiator.
        inferred = not zero
        initiator, responder = (datagram.src, datagram.dst)
        time = datagram.time
        # IkeSa(version=1, initiator_cookie=icky, responder_cookie=..., initiator=..., responder=...,
        # initiator_inferred=inferred, first_time=time, last_time=time), every field up to last_time
        # positional in the record's order (a keyword call builds a dict: 3.1 -> 1.4 us, the IKEv2 table's)
        sa = IkeSa(
            1, icky, None if zero else rcky, initiator, responder, inferred, None, [], None, None,
            "MM_NO_STATE", False, None, {}, None, [], {}, {}, [], time, time,
        )  # fmt: skip
        state = SaState(sa)
        self._order.append(state)
        self._by_initiator_cookie.setdefault(icky, []).append(state)
        if not zero:
            self._states[(icky, rcky)] = state
        return state

    def _forget(self, state: SaState) -> None:
        lst = self._by_initiator_cookie.get(state.sa.initiator_cookie, [])
        if state in lst:
            lst.remove(state)
        pair = (state.sa.initiator_cookie, state.sa.responder_cookie)
        if self._states.get(pair) is state:
            del self._states[pair]
        if not lst:
            self._by_initiator_cookie.pop(state.sa.initiator_cookie, None)

    def _note_sa_dropped(self, dropped: SaState, out: list[IkeEvent]) -> None:
        """One ``state-cap`` finding for all the IKE SAs the cap dropped, with their count."""
        cap = self._sa_cap_finding
        if cap is None:
            cap = self._sa_cap_finding = finding(
                "state-cap", "", {"cap": self.max_sas, "dropped": 0, "first_dropped": dropped.sa.cookies}
            )
            out.append(FindingRaised(cap))
        cap.evidence["dropped"] += 1
        cap.evidence["last_dropped"] = dropped.sa.cookies
        count = cap.evidence["dropped"]
        cap.message = (
            f"more than {self.max_sas} IKE SAs: the oldest {count} "
            f"{'was' if count == 1 else 'were'} dropped from the report"
        )


def role_of(sa: IkeSa, datagram: Datagram) -> Role:
    """Who sent this datagram in the IKE SA, by address (the initiator when it cannot tell)."""
    if datagram.src == sa.initiator and datagram.src != sa.responder:
        return INITIATOR
    if datagram.src == sa.responder and datagram.src != sa.initiator:
        return RESPONDER
    if datagram.dst == sa.responder:
        return INITIATOR
    return RESPONDER if datagram.dst == sa.initiator else INITIATOR
