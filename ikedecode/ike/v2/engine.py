"""The IKEv2 engine: datagrams in, IKE SAs with decoded (and, with keys, decrypted) messages out.

Sans-IO like the IKEv1 engine: ``Ikev2Engine.receive(datagram, header)`` returns the events of
``ike/events.py`` for one datagram, ``finish`` the IKE SAs. How a message is handled (RFC 7296):

1. the IKE header's SPIs name the IKE SA: the first IKE_SA_INIT request has a zero responder SPI,
   the response fills it in (2.6); the I flag says whether the sender is the original initiator,
   so roles never need guessing (3.1);
2. a byte-identical copy of an earlier message is a retransmission (2.1); a request (or response)
   with the message ID and direction of an earlier one but other bytes is flagged too;
3. requests and responses pair by message ID and by who sent the request (2.2);
4. the payload chain is decoded (``payloads``); an SK / SKF payload is opened with the SA's keys
   when the key ring gives some (``keying``), else the message says "no keys";
5. the exchange's handler (``handlers``) follows the SA: IKE_SA_INIT (restarts after COOKIE or
   INVALID_KE_PAYLOAD, NAT detection), IKE_AUTH (identities, AUTH, the first Child SA),
   CREATE_CHILD_SA (Child SAs, IKE SA rekeys), INFORMATIONAL (deletes, liveness checks);
6. the payloads are compared with the exchange's rule (``exchanges``).
"""

from __future__ import annotations

import hashlib
from collections import deque

from ikedecode.capture.datagram import Datagram
from ikedecode.findings import Finding, finding
from ikedecode.ike.dh_work import DhProvider
from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.events import FindingRaised, IkeEvent, IkeSaClosed, MessageDecoded
from ikedecode.ike.header import (
    FLAG_IKEV2_INITIATOR,
    FLAG_IKEV2_RESPONSE,
    HEADER_LENGTH,
    IsakmpHeader,
    parse_header,
)
from ikedecode.ike.messages import (
    DEFAULT_MAX_SAS,
    decoder_error_events,
    decoder_error_finding,
    malformed_record,
)
from ikedecode.ike.records import IkeMessage, IkeSa, Ikev2Facts, Protection
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2 import handlers
from ikedecode.ike.v2.exchanges import message_label, shape_problems
from ikedecode.ike.v2.keying import Ikev2Keying
from ikedecode.ike.v2.payloads import ENCRYPTED_TYPES, Ikev2NotifyPayload, Ikev2Payload
from ikedecode.ike.v2.payloads.decode import walk_ikev2_chain
from ikedecode.ike.v2.sa_state import ExchangeState, Ikev2SaState
from ikedecode.keys.keyring import KeyRing

ZERO_SPI = bytes(8)
_CLEAR = Protection.CLEAR  # a module name: an enum member read costs ~1k instructions (3.11)
# (exchange type, response) -> the exchange's name and the message's label, worded once
_NAMES: dict[tuple[int, bool], tuple[str, str]] = {}
RESTART_WINDOW = 60.0  # seconds within which a new IKE_SA_INIT may restart an answered one


class Ikev2Engine:
    def __init__(
        self,
        keyring: KeyRing | None = None,
        dh_provider: DhProvider | None = None,
        max_sas: int = DEFAULT_MAX_SAS,
    ) -> None:
        self.keyring = keyring or KeyRing()
        self.max_sas = max_sas
        self._by_pair: dict[tuple[bytes, bytes], Ikev2SaState] = {}
        self._by_spi_i: dict[bytes, list[Ikev2SaState]] = {}
        self._order: deque[Ikev2SaState] = deque()
        # (initiator, responder) -> the SA whose IKE_SA_INIT was answered with COOKIE / INVALID_KE
        self.awaiting_restart: dict[tuple[str, str], Ikev2SaState] = {}
        self.keying = Ikev2Keying(self.keyring, dh_provider)
        self.events: list[IkeEvent] = []
        self._cap_finding: Finding | None = None

    # -- public API -------------------------------------------------------------------------

    def receive(self, datagram: Datagram, header: IsakmpHeader | None = None) -> list[IkeEvent]:
        """The events of one IKEv2 datagram. Never raises: a bug on one message becomes a
        ``decoder-error`` finding and a malformed message record."""
        self.events = []
        try:
            if header is None:
                try:
                    header = parse_header(datagram.payload)
                except MalformedMessage as exc:
                    self.events.append(MessageDecoded(malformed_record(datagram, str(exc), version=2), False))
                    return self.events
            self._receive(datagram, header)
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the analysis
            self.events = decoder_error_events(datagram, exc, version=2)
        return self.events

    def finish(self) -> list[IkeEvent]:
        """Every IKE SA, in order of first appearance, with its final state."""
        out: list[IkeEvent] = []
        for state in self._order:
            try:
                handlers.conclude(state)
            except Exception as exc:  # noqa: BLE001
                out.append(
                    FindingRaised(
                        decoder_error_finding(state.sa.messages[-1].frame if state.sa.messages else 0, exc)
                    )
                )
            out.append(IkeSaClosed(state.sa))
        return out

    # -- SA bookkeeping ----------------------------------------------------------------------

    def sa_for(self, datagram: Datagram, header: IsakmpHeader, from_initiator: bool) -> Ikev2SaState:
        spi_i, spi_r = header.initiator_cookie, header.responder_cookie
        states = self._by_spi_i.get(spi_i)
        if spi_r != ZERO_SPI:
            state = self._by_pair.get((spi_i, spi_r))
            if state is not None:
                return state
            for candidate in reversed(states or ()):
                if candidate.spi_r is None:  # the IKE_SA_INIT response names the responder's SPI
                    self.register_responder_spi(candidate, spi_r)
                    return candidate
        elif states:
            return states[-1]
        elif header.exchange_type == reg.IKE_SA_INIT and not header.flags & FLAG_IKEV2_RESPONSE:
            waiting = self.awaiting_restart.get((datagram.src, datagram.dst))
            if waiting is not None and datagram.time - waiting.sa.last_time <= RESTART_WINDOW:
                # RFC 7296 2.6 / 1.2: a new request after a COOKIE or INVALID_KE_PAYLOAD answer, with
                # a new initiator SPI: the same negotiation, under the SPI it goes on with
                self._move(waiting, spi_i)
                return waiting
        initiator, responder = (
            (datagram.src, datagram.dst) if from_initiator else (datagram.dst, datagram.src)
        )
        first = header.exchange_type == reg.IKE_SA_INIT and spi_r == ZERO_SPI
        return self.new_sa(
            spi_i, None if spi_r == ZERO_SPI else spi_r, initiator, responder, datagram.time, not first
        )

    def new_sa(
        self, spi_i: bytes, spi_r: bytes | None, initiator: str, responder: str, time: float, inferred: bool
    ) -> Ikev2SaState:
        if len(self._order) >= self.max_sas:
            self._drop_oldest()
        # every field positionally (IkeSa's and Ikev2Facts' order in ike/records.py): no keyword
        # binding, no default-factory calls; one of each per SA
        facts = Ikev2Facts(None, None, [], [], None, [], None, [], [], [], None, [])
        sa = IkeSa(
            2, spi_i, spi_r, initiator, responder, inferred, "IKEv2", [], None, None,
            "IKE_SA_INIT" if not inferred else "capture started mid-SA", False, None, {}, None, [],
            {}, {}, [], time, time, facts,
        )  # fmt: skip
        state = Ikev2SaState(sa, spi_i, spi_r)
        self._order.append(state)
        self._by_spi_i.setdefault(spi_i, []).append(state)
        if spi_r is not None:
            self._by_pair[(spi_i, spi_r)] = state
        return state

    def register_responder_spi(self, state: Ikev2SaState, spi_r: bytes) -> None:
        state.spi_r = spi_r
        state.sa.responder_cookie = spi_r
        self._by_pair[(state.spi_i, spi_r)] = state

    def _move(self, state: Ikev2SaState, spi_i: bytes) -> None:
        old = self._by_spi_i.get(state.spi_i, [])
        if state in old:
            old.remove(state)
        if not old:
            self._by_spi_i.pop(state.spi_i, None)
        state.spi_i = spi_i
        state.sa.initiator_cookie = spi_i
        self._by_spi_i.setdefault(spi_i, []).append(state)

    def _drop_oldest(self) -> None:
        dropped = self._order.popleft()
        self._by_spi_i.pop(dropped.spi_i, None)
        if dropped.spi_r is not None:
            self._by_pair.pop((dropped.spi_i, dropped.spi_r), None)
        self.events.append(IkeSaClosed(dropped.sa))
        if self._cap_finding is None:
            self._cap_finding = finding(
                "state-cap",
                f"more than {self.max_sas} IKE SAs: the oldest were dropped from the report",
                {"cap": self.max_sas, "dropped": 0, "first_dropped": dropped.sa.cookies},
            )
            self.events.append(FindingRaised(self._cap_finding))
        self._cap_finding.evidence["dropped"] += 1

    # -- messages ----------------------------------------------------------------------------

    def _receive(self, datagram: Datagram, header: IsakmpHeader) -> None:
        data = bytes(datagram.payload[: header.length])
        response = bool(header.flags & FLAG_IKEV2_RESPONSE)
        from_initiator = bool(header.flags & FLAG_IKEV2_INITIATOR)
        state = self.sa_for(datagram, header, from_initiator)
        if header.exchange_type == reg.IKE_SA_INIT and not response and state.answered_with is not None:
            # RFC 7296 2.6 / 1.2: a new IKE_SA_INIT after COOKIE / INVALID_KE_PAYLOAD, message ID 0 again
            state.exchanges.pop((0, True), None)
        sa = state.sa
        if datagram.time > sa.last_time:  # max() without the call
            sa.last_time = datagram.time
        names = _NAMES.get((header.exchange_type, response))
        if names is None:
            names = _NAMES[(header.exchange_type, response)] = (
                reg.EXCHANGE_TYPES.name(header.exchange_type),
                message_label(header.exchange_type, response),
            )
        # the payloads and the chain's problems go straight into lists the message keeps
        clear: list[Ikev2Payload] = []
        msg = IkeMessage(  # every field positionally: no keyword dict, no default lists (4 per SA)
            datagram.frame, datagram.time, datagram.src, datagram.dst, datagram.sport, datagram.dport,
            len(datagram.payload), header.exchange_type, names[0], header.message_id, names[1],
            header.flags,
            False,  # encrypted: set below when the chain holds an SK / SKF payload
            None, _CLEAR, None, None, clear, [], datagram.frames or (datagram.frame,),
            datagram.udp_encapsulated, "", 2, response, None, None, None,
        )  # fmt: skip
        sa.messages.append(msg)
        self.events.append(MessageDecoded(msg, True))
        digest = hashlib.sha256(data).digest()
        original = state.seen.get(digest)
        # RFC 7296 2.2: each end numbers its own requests; a response has its request's number
        # (``_exchange``'s steps, written out: one call per message fewer)
        requester_is_initiator = from_initiator != response
        key = (header.message_id, requester_is_initiator)
        exchange = state.exchanges.get(key)
        if exchange is None or header.exchange_type != exchange.exchange_type:
            exchange = state.exchanges[key] = ExchangeState(
                header.exchange_type, header.message_id, requester_is_initiator
            )
        (exchange.response_frames if response else exchange.request_frames).append(datagram.frame)
        if original is not None:  # RFC 7296 2.1: the same bytes again
            _copy_decoding(original, msg)
            msg.retransmission_of = original.frame
            return
        state.seen[digest] = msg
        earlier = exchange.response if response else exchange.request
        # the walk stops after an SK / SKF payload: there is at most one, and it is the last
        walk_ikev2_chain(clear, msg.problems, header.next_payload, data[HEADER_LENGTH:], HEADER_LENGTH)
        protected = clear[-1] if clear and clear[-1].type in ENCRYPTED_TYPES else None
        inner: list[Ikev2Payload] | None = None
        if protected is not None:
            clear.pop()
            msg.encrypted = True
            inner = self.keying.open(state, data, protected, from_initiator, msg, exchange)
            if inner is None:
                msg.payloads = [*clear, protected]
            else:  # the inner list is the message's own when nothing precedes the SK payload
                msg.payloads = [*clear, *inner] if clear else inner
        restart = header.exchange_type == reg.IKE_SA_INIT and not response and state.answered_with is not None
        fragment = protected is not None and protected.type == reg.PT_SKF
        if earlier is not None and not restart and not fragment:
            msg.retransmission_of = earlier.frame
            msg.add_note(f"same message ID and direction as frame {earlier.frame}, other bytes")
            return
        if response:
            exchange.response = msg
        else:
            exchange.request = msg
        readable = protected is None or inner is not None
        # what the exchange's handler reads: every payload when readable (the message's own list,
        # which nothing changes), else only the clear ones
        payloads = msg.payloads if readable else clear
        types = tuple([p.type for p in payloads])
        # every Notify record has the Notify type (RFC 7296 3.10): no second walk without one
        notifies = (
            [p for p in payloads if isinstance(p, Ikev2NotifyPayload)] if reg.PT_NOTIFY in types else []
        )
        if readable:
            shape = shape_problems(
                header.exchange_type,
                response,
                types,
                tuple([n.notify_type for n in notifies]) if notifies else (),
                protected is not None,
            )
            if shape:
                msg.problems.extend(shape)
        handlers.handle(self, state, msg, exchange, payloads, types, notifies, data, datagram, readable)


def _copy_decoding(original: IkeMessage, msg: IkeMessage) -> None:
    msg.encrypted, msg.protection = original.encrypted, original.protection
    msg.integrity_verified, msg.auth_verified = original.integrity_verified, original.auth_verified
    msg.hash_verified, msg.hash_name = original.hash_verified, original.hash_name
    msg.payloads, msg.problems, msg.note = original.payloads, original.problems, original.note
    msg.key_stage = original.key_stage
