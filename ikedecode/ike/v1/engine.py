"""The IKEv1 engine: datagrams in, events out (``ikedecode.ike.events``).

Sans-IO: ``Ikev1Engine.receive`` takes one ``Datagram`` (bytes, addresses, a timestamp) whose ISAKMP
header the version dispatcher (``ikedecode.ike.engine``) has read, and returns what happened: the
message record, IPsec SAs keyed, findings; ``finish`` closes every IKE SA. No file, terminal or
network I/O happens here.

How a message is handled (RFC 2408/2409):
1. the ISAKMP header names the IKE SA (cookie pair) and the exchange;
2. a byte-identical copy of an earlier message is a retransmission: flagged, and given the
   earlier copy's decoding (it was encrypted with the same IV, so the IV chain must not advance);
3. the label (MM1..MM6, AM1..AM3, QM1..QM3, INFO, TRANSACTION) follows from the exchange shape
   and how many distinct messages the sender has sent in that exchange;
4. clear-text payloads feed the key schedule (SA, KE, NONCE); encrypted ones are decrypted with
   the first key candidate that yields a sane payload chain (``protection.try_decrypt``);
5. the message's hash (HASH_I/HASH_R, HASH(1..3), informational HASH(1)) is verified.
"""

from __future__ import annotations

import functools
import hashlib

from ikedecode.capture.datagram import Datagram
from ikedecode.findings import finding
from ikedecode.ike import messages
from ikedecode.ike.dh_work import DhPrivateSecrets, DhProvider
from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.events import FindingRaised, IkeEvent, IkeSaClosed, MessageDecoded
from ikedecode.ike.header import FLAG_ENCRYPTION, HEADER_LENGTH, IsakmpHeader, parse_header
from ikedecode.ike.messages import DEFAULT_MAX_SAS, header_record, payload_record
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.registries import EXCHANGE_TYPES, PAYLOAD_FRAGMENT, name
from ikedecode.ike.repeated import add_once
from ikedecode.ike.v1.anticipation import DhAnticipation
from ikedecode.ike.v1.authentication import HashVerifier
from ikedecode.ike.v1.decryption import MessageDecryptor
from ikedecode.ike.v1.exchanges import (
    ESTABLISHED_STATE,
    ESTABLISHING_LABELS,
    PHASE1_EXCHANGES,
    PHASE1_TYPES,
    PHASE2_TYPES,
    QUICK_MODE,
    SHAPES_BY_TYPE,
    ExchangeShape,
    Label,
    Role,
    Step,
)
from ikedecode.ike.v1.fragments import FragmentCollector
from ikedecode.ike.v1.nat_t_numbers import uses_draft_numbers, with_draft_numbers
from ikedecode.ike.v1.payloads import FragmentPayload, VendorIdPayload, parse_payloads
from ikedecode.ike.v1.phase1_messages import Phase1Messages
from ikedecode.ike.v1.phase2_messages import DEFAULT_MAX_PHASE2_PER_SA, Phase2Messages
from ikedecode.ike.v1.sa_state import SaState
from ikedecode.ike.v1.sa_table import SaTable, role_of
from ikedecode.keys.keyring import KeyRing

__all__ = ["DEFAULT_MAX_PHASE2_PER_SA", "DEFAULT_MAX_SAS", "Ikev1Engine", "exchange_name"]


# ``MessageDecoded(msg, attached=True)`` made as ``_tuple_new(MessageDecoded, (msg, True))``: a
# NamedTuple's own constructor is a Python function, and every datagram makes one (a
# functools.partial of tuple.__new__ costs about 15% more than calling it)
_tuple_new = tuple.__new__
_closed = functools.partial(tuple.__new__, IkeSaClosed)  # IkeSaClosed(sa) as _closed((sa,)), one per SA
# enum members as module names: ``Role.INITIATOR`` costs ten times as much to read (CPython 3.11)
INITIATOR, RESPONDER, UNKNOWN_LABEL = Role.INITIATOR, Role.RESPONDER, Label.UNKNOWN


class Ikev1Engine:
    """IKEv1 messages in (their header already read by ``ikedecode.ike.engine``), events out."""

    def __init__(
        self,
        keyring: KeyRing | None = None,
        *,
        max_sas: int = DEFAULT_MAX_SAS,
        max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA,
        dh_provider: DhProvider | None = None,
    ) -> None:
        self.keyring = keyring or KeyRing()
        self.table = SaTable(max_sas)
        self._fragments = FragmentCollector()
        # g^xy from --dh-private values: indexed by public value, computed by ``dh_provider``
        # (in-line by default; ikedecode.parallel.dh_pool spreads it over processes)
        self._private_secrets = DhPrivateSecrets(self.keyring.dh_privates, dh_provider)
        self._anticipation = DhAnticipation(self._private_secrets)
        self._decryptor = MessageDecryptor(self.keyring, self._private_secrets)
        self._verifier = verifier = HashVerifier(self.keyring)
        self.phase1 = Phase1Messages(verifier, self._decryptor)
        self.phase2 = Phase2Messages(self.keyring, self._private_secrets, verifier, max_phase2_per_sa)
        self._out: list[IkeEvent] = []  # the events of the datagram being received

    # -- public API -------------------------------------------------------------------------

    @property
    def computes_dh(self) -> bool:
        """Whether this engine has Diffie-Hellman work to do (the key ring holds private values)."""
        return bool(self._private_secrets.privates)

    def use_dh_provider(self, provider: DhProvider | None) -> None:
        """Compute g^xy from private values with ``provider`` from now on (None: in-line)."""
        self._private_secrets.use_provider(provider)
        self._anticipation.clear()

    def anticipate(self, datagram: Datagram) -> None:
        """Look at a datagram that ``receive`` will get later, to start its DH work early
        (``ike.v1.anticipation``). Changes nothing else; never raises."""
        self._anticipation.anticipate(datagram)

    def receive(self, datagram: Datagram, header: IsakmpHeader) -> list[IkeEvent]:
        """Process one IKEv1 datagram; returns what happened, in order.

        Never raises: should decoding one message fail on a bug, that message becomes a
        ``decoder-error`` finding (after the events it made before failing) and the engine goes
        on with the next datagram.
        """
        out = self._out = []  # (left in place after: nothing adds to it until the next datagram's)
        try:
            if header.next_payload == PAYLOAD_FRAGMENT and not header.encrypted:
                self._receive_fragment(datagram, header)
            else:
                self._receive_message(datagram, header, datagram.payload)
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the analysis
            out.extend(messages.decoder_error_events(datagram, exc))
        return out

    def finish(self) -> list[IkeEvent]:
        """Findings only the end of the capture can tell, then every IKE SA seen, in order of
        first appearance, with final states and findings."""
        out: list[IkeEvent] = []
        for state in self.table:
            try:
                self._conclude(state)
            except Exception as exc:  # noqa: BLE001 - one SA's conclusion must not lose the others
                frame = state.sa.messages[-1].frame if state.sa.messages else 0
                out.append(FindingRaised(messages.decoder_error_finding(frame, exc)))
        for problem in self._fragments.incomplete():
            out.append(FindingRaised(finding("ike-fragments-incomplete", problem, {})))
        out.extend([_closed((state.sa,)) for state in self.table])
        return out

    # -- message handling --------------------------------------------------------------------

    def _receive_message(self, datagram: Datagram, header: IsakmpHeader, data: bytes) -> IkeMessage:
        out = self._out
        state = self.table.state_for(datagram, header, out)
        sa = state.sa
        if datagram.time > sa.last_time:
            sa.last_time = datagram.time
        exchange_type = header.exchange_type
        shape = SHAPES_BY_TYPE.get(exchange_type)

        digest = hashlib.sha256(data).digest()
        original = state.seen.get(digest)
        if original is not None:
            msg = payload_record(
                datagram, header, original.exchange, original.label, original.payloads, original.problems
            )
            msg.retransmission_of = original.frame
            msg.protection, msg.hash_verified, msg.hash_name = (
                original.protection,
                original.hash_verified,
                original.hash_name,
            )
            msg.note = original.note
            sa.messages.append(msg)
            out.append(_tuple_new(MessageDecoded, (msg, True)))
            if header.message_id and header.message_id in sa.phase2:
                sa.phase2[header.message_id].frames.append(datagram.frame)
            return msg

        role = role_of(sa, datagram)
        if shape is None:
            step, exchange = None, name(EXCHANGE_TYPES, exchange_type)
        else:
            step, exchange = self._step(state, shape, header, datagram, role), shape.name
        label = step.label if step is not None else UNKNOWN_LABEL
        encrypted = header.flags & FLAG_ENCRYPTION
        if encrypted:
            msg = payload_record(datagram, header, exchange, label, [], [])
        else:  # the clear payloads, decoded before the record that keeps their lists is made
            chain = parse_payloads(
                header.next_payload,
                data[HEADER_LENGTH : header.length]
                if header.length >= HEADER_LENGTH
                else data[HEADER_LENGTH:],
                HEADER_LENGTH,
            )
            msg = payload_record(datagram, header, exchange, label, chain.payloads, chain.problems)
        state.seen[digest] = msg
        sa.messages.append(msg)
        out.append(_tuple_new(MessageDecoded, (msg, True)))

        plaintext = None  # (of a decrypted message: its payloads, one slice of it, are hashed)
        if encrypted:
            decryption = self._decryptor.decrypt(state, header, data, msg)
            if decryption is not None:
                msg.payloads = decryption.chain.payloads
                msg.problems = decryption.chain.problems  # the chain is this message's alone
                plaintext = decryption.plaintext
        elif msg.problems:
            problem = msg.problems[0]
            add_once(  # the same parse error once per SA (retransmissions repeat it)
                sa.findings,
                finding(
                    "malformed-message",
                    f"{label} from {datagram.src} has a malformed payload chain: {problem}",
                    {"frame": datagram.frame, "label": label},
                ),
                problem,
            )

        if sa.vendor_ids and uses_draft_numbers(sa.vendor_ids):  # NAT-D as type 15 (Cisco IOS, NAT-T drafts)
            msg.payloads = with_draft_numbers(msg.payloads, msg.problems)
        if exchange_type in PHASE1_TYPES:
            self.phase1.message(state, msg, role, step)
        elif header.message_id != 0 or exchange_type in PHASE2_TYPES:
            self.phase2.message(state, msg, step, out, plaintext)
        for p in msg.payloads:
            if type(p) is VendorIdPayload:  # (no payload record has subclasses)
                self._collect_vendor_id(sa, role, p)
        return msg

    @staticmethod
    def _step(
        state: SaState, shape: ExchangeShape, header: IsakmpHeader, datagram: Datagram, role: Role
    ) -> Step | None:
        if shape.phase == 1:
            sender, key = role, (0, role)
            if state.sa.exchange is None:
                state.sa.exchange = shape.name
        elif shape is QUICK_MODE:
            opener = state.qm_initiator.setdefault(header.message_id, datagram.src)
            sender = INITIATOR if datagram.src == opener else RESPONDER
            key = (header.message_id, sender)
        else:
            return shape.steps[0]
        # the ordinal-th distinct message of its sender in the exchange (``shape.step_for``, in line)
        ordinal = state.sent_count.get(key, 0)
        state.sent_count[key] = ordinal + 1
        own = shape.by_sender[sender]
        return own[ordinal] if ordinal < len(own) else None

    # -- IKE fragmentation, IKEv2 recognition, conclusion ------------------------------------

    def _receive_fragment(self, datagram: Datagram, header: IsakmpHeader) -> IkeMessage:
        chain = parse_payloads(header.next_payload, datagram.payload[HEADER_LENGTH:], HEADER_LENGTH)
        state = self.table.state_for(datagram, header, self._out)
        msg = header_record(datagram, header, "fragment", Label.FRAGMENT)
        msg.payloads, msg.problems = chain.payloads, list(chain.problems)
        state.sa.messages.append(msg)
        self._out.append(MessageDecoded(msg, attached=True))
        state.sa.last_time = max(state.sa.last_time, datagram.time)
        for p in chain.payloads:
            if isinstance(p, FragmentPayload):
                whole = self._fragments.add(header.initiator_cookie, header.responder_cookie, p)
                msg.note = f"IKE fragment {p.number} of message {p.fragment_id}"
                if whole is not None:
                    from dataclasses import replace

                    inner = replace(datagram, payload=whole)
                    try:
                        inner_header = parse_header(whole)
                    except MalformedMessage as exc:
                        msg.problems.append(f"reassembled IKE message is malformed: {exc}")
                        return msg
                    self._receive_message(inner, inner_header, whole)
        return msg

    @staticmethod
    def _collect_vendor_id(sa: IkeSa, role: Role, payload: VendorIdPayload) -> None:
        names = sa.vendor_ids.setdefault(role.value, [])
        if payload.vendor_name not in names:
            names.append(payload.vendor_name)

    def _conclude(self, state: SaState) -> None:
        sa = state.sa
        if sa.version != 1:
            return
        self._verifier.recheck_signatures(state)
        verified: list[bool] = []  # the hash checks of phase 1's first copies
        establishing = False  # a phase-1 message that completes the exchange was seen
        for m in sa.messages:  # (one pass, no generator: once per SA)
            if m.exchange in PHASE1_EXCHANGES:
                if m.hash_verified is not None and m.retransmission_of is None:
                    verified.append(m.hash_verified)
                if m.label in ESTABLISHING_LABELS:
                    establishing = True
        if verified and all(verified) and sa.established:
            sa.authenticated = True
        elif False in verified:  # (bools only)
            sa.authenticated = False
        if establishing or any(ex.exchange == QUICK_MODE.name for ex in sa.phase2.values()):
            sa.established = True
            sa.state = ESTABLISHED_STATE


def exchange_name(exchange_type: int) -> str:
    """Short names for the IKEv1 exchanges ikedecode follows, registry names for the rest."""
    shape = SHAPES_BY_TYPE.get(exchange_type)
    return shape.name if shape else name(EXCHANGE_TYPES, exchange_type)
