"""The IKE engine: datagrams in, IKE SAs with decoded, decrypted and verified messages out.

Sans-IO: ``IkeEngine.receive`` takes one ``Datagram`` (bytes, addresses, a timestamp) and returns
the ``IkeMessage`` record it made; ``finish`` returns every IKE SA. No file, terminal or network
I/O happens here.

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

import hashlib
import struct
from collections import deque
from typing import Any

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.findings import Finding, finding
from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.dh_work import DhPrivateSecrets, DhProvider
from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.events import FindingRaised, IkeSaClosed, IpsecSaKeyed, MessageDecoded
from ikedecode.ike.header import IsakmpHeader, parse_header
from ikedecode.ike.records import IkeMessage, IkeSa, Phase2Exchange, Protection
from ikedecode.ike.registries import AUTHENTICATION_METHODS, EXCHANGE_TYPES, name
from ikedecode.ike.v1 import phase2
from ikedecode.ike.v1.authentication import HashVerifier
from ikedecode.ike.v1.child_sa import ChildSaKeys, QuickModeMaterial, child_sa_keys
from ikedecode.ike.v1.decryption import MessageDecryptor
from ikedecode.ike.v1.exchanges import PHASE1_TYPES, SHAPES_BY_TYPE, STATE_AFTER, Role, Step
from ikedecode.ike.v1.fragments import FragmentCollector
from ikedecode.ike.v1.payloads import (
    FragmentPayload,
    IdPayload,
    KePayload,
    NoncePayload,
    SaPayload,
    VendorIdPayload,
    parse_payloads,
)
from ikedecode.ike.v1.phase1 import Phase1Policy
from ikedecode.ike.v1.protection import ISAKMP_HEADER_LENGTH, Decryption
from ikedecode.ike.v1.sa_state import SaState
from ikedecode.ike.v2.engine import Ikev2Engine
from ikedecode.keys.keyring import KeyRing

DEFAULT_MAX_SAS = 100_000
# Phase-2 exchanges (quick mode, informational, transaction) kept per IKE SA: a day of DPD every
# 10 s is 8640 informational exchanges; beyond the cap the oldest is dropped (docs/limits.md).
DEFAULT_MAX_PHASE2_PER_SA = 10_000
FRAGMENT_PAYLOAD = 132


class IkeEngine:
    def __init__(
        self,
        keyring: KeyRing | None = None,
        *,
        max_sas: int = DEFAULT_MAX_SAS,
        max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA,
        dh_provider: DhProvider | None = None,
    ) -> None:
        self.keyring = keyring or KeyRing()
        self.max_sas = max_sas
        self.max_phase2_per_sa = max_phase2_per_sa
        self._states: dict[tuple[bytes, bytes | None], SaState] = {}  # (icky, rcky) -> SA, rcky known
        self._by_initiator_cookie: dict[bytes, list[SaState]] = {}
        self._order: deque[SaState] = deque()
        self._sa_cap_finding: Finding | None = None
        self.findings: list[Finding] = []  # findings not tied to one IKE SA
        self.unattached: list[IkeMessage] = []  # messages whose header could not even name an SA
        self._fragments = FragmentCollector()
        # g^xy from --dh-private values: indexed by public value, computed by ``dh_provider``
        # (in-line by default; ikedecode.parallel.dh_pool spreads it over processes)
        self._private_secrets = DhPrivateSecrets(self.keyring.dh_privates, dh_provider)
        self._anticipated: dict[bytes, _Anticipated] = {}  # initiator cookie -> clear phase-1 values
        self._decryptor = MessageDecryptor(self.keyring, self._private_secrets)
        self._verifier = HashVerifier(self.keyring)
        self.child_sas: list[ChildSaKeys] = []
        self._pending_children: list[ChildSaKeys] = []
        self._ikev2 = Ikev2Engine(self.keyring, dh_provider, max_sas)

    # -- public API -------------------------------------------------------------------------

    @property
    def computes_dh(self) -> bool:
        """Whether this engine has Diffie-Hellman work to do (the key ring holds private values)."""
        return bool(self._private_secrets.privates)

    def use_dh_provider(self, provider: DhProvider | None) -> None:
        """Compute g^xy from private values with ``provider`` from now on (None: in-line)."""
        self._private_secrets.use_provider(provider)
        self._ikev2.keying.private_secrets.use_provider(provider)
        self._anticipated.clear()

    def anticipate(self, datagram: Datagram) -> None:
        """Look at a datagram that ``receive`` will get later, to start its DH work early.

        A caller that reads ahead (``ikedecode.parallel.dh_pool``) shows each IKE datagram here
        first: once an SA's clear-text phase-1 messages have shown the chosen DH group (the
        responder's SA payload) and both KE payloads, g^xy for the key ring's private values is
        handed to the DH provider, so it is ready when ``receive`` decrypts MM5. Changes nothing
        else: the output is the same with or without it. Never raises.
        """
        if not self._private_secrets.privates or datagram.kind is not Kind.IKE or datagram.nat_keepalive:
            return
        try:
            clear = clear_phase1_values(datagram.payload)
        except (ValueError, struct.error):
            return
        if clear is None:
            return
        initiator_cookie, group, key_exchange = clear
        seen = self._anticipated.get(initiator_cookie)
        if seen is None:
            if len(self._anticipated) >= MAX_ANTICIPATED:
                del self._anticipated[next(iter(self._anticipated))]
            seen = self._anticipated[initiator_cookie] = _Anticipated()
        if group is not None:
            seen.group = group
        if key_exchange is not None and key_exchange not in seen.key_exchanges:
            seen.key_exchanges.append(key_exchange)
        if seen.group is not None and len(seen.key_exchanges) == 2:
            del self._anticipated[initiator_cookie]
            self._private_secrets.anticipate(seen.group, *seen.key_exchanges)

    def receive(self, datagram: Datagram) -> IkeMessage | None:
        """Process one IKE datagram; returns the message record (None for NAT-T keepalives).

        Never raises: should decoding one message fail on a bug, that message becomes a
        ``decoder-error`` finding and the engine goes on with the next datagram.
        """
        try:
            return self._receive(datagram)
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the analysis
            return self._decoder_error(datagram, exc)

    def _receive(self, datagram: Datagram) -> IkeMessage | None:
        if datagram.nat_keepalive:
            return None
        data = datagram.payload
        try:
            header = parse_header(data)
        except MalformedMessage as exc:
            return self._malformed(datagram, str(exc))
        if header.major_version == 2:
            return self._receive_ikev2(datagram, header)
        if header.next_payload == FRAGMENT_PAYLOAD and not header.encrypted:
            return self._receive_fragment(datagram, header)
        return self._receive_message(datagram, header, data)

    def finish(self) -> list[IkeSa]:
        """Every IKE SA seen, in order of first appearance, with final states and findings."""
        for state in self._order:
            try:
                self._conclude(state)
            except Exception as exc:  # noqa: BLE001 - one SA's conclusion must not lose the others
                frame = state.sa.messages[-1].frame if state.sa.messages else 0
                self.findings.append(_decoder_error_finding(frame, exc))
        for problem in self._fragments.incomplete():
            self.findings.append(finding("ike-fragments-incomplete", problem, {}))
        ikev2 = [event.sa for event in self._ikev2.finish() if isinstance(event, IkeSaClosed)]
        if not ikev2:
            return [s.sa for s in self._order]
        everything = [s.sa for s in self._order] + ikev2
        return sorted(everything, key=lambda sa: sa.messages[0].frame if sa.messages else 0)

    # -- SA bookkeeping ----------------------------------------------------------------------

    def _sa_for(self, datagram: Datagram, header: IsakmpHeader) -> SaState:
        icky, rcky = header.initiator_cookie, header.responder_cookie
        zero = rcky == bytes(8)
        # The newest SA of this initiator cookie answers a zero responder cookie; otherwise the SA
        # with this cookie pair, else the first SA of the initiator cookie while its responder
        # cookie is unknown (only the first can be: later ones are made with a responder cookie).
        # Dictionaries, not a scan: a flood of responder cookies must not make this quadratic.
        candidates = self._by_initiator_cookie.get(icky)
        if candidates:
            if zero:
                return candidates[-1]
            state = self._states.get((icky, rcky))
            if state is not None:
                return state
            first = candidates[0]
            if first.sa.responder_cookie is None:
                first.sa.responder_cookie = rcky
                self._states[(icky, rcky)] = first
                return first
        if len(self._order) >= self.max_sas:
            dropped = self._order.popleft()
            self._forget(dropped)
            self._note_sa_dropped(dropped)
        # With a zero responder cookie the sender is the initiator (RFC 2408 3.1); otherwise the
        # capture missed the SA's first message and the first sender seen is taken as initiator.
        inferred = not zero
        initiator, responder = (datagram.src, datagram.dst)
        sa = IkeSa(
            version=1,
            initiator_cookie=icky,
            responder_cookie=None if zero else rcky,
            initiator=initiator,
            responder=responder,
            initiator_inferred=inferred,
            first_time=datagram.time,
            last_time=datagram.time,
        )
        state = SaState(sa=sa)
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

    def _note_sa_dropped(self, dropped: SaState) -> None:
        """One ``state-cap`` finding for all the IKE SAs the cap dropped, with their count."""
        cap = self._sa_cap_finding
        if cap is None:
            cap = self._sa_cap_finding = finding(
                "state-cap", "", {"cap": self.max_sas, "dropped": 0, "first_dropped": dropped.sa.cookies}
            )
            self.findings.append(cap)
        cap.evidence["dropped"] += 1
        cap.evidence["last_dropped"] = dropped.sa.cookies
        count = cap.evidence["dropped"]
        cap.message = (
            f"more than {self.max_sas} IKE SAs: the oldest {count} "
            f"{'was' if count == 1 else 'were'} dropped from the report"
        )

    @staticmethod
    def _role(sa: IkeSa, datagram: Datagram) -> Role:
        if datagram.src == sa.initiator and datagram.src != sa.responder:
            return Role.INITIATOR
        if datagram.src == sa.responder and datagram.src != sa.initiator:
            return Role.RESPONDER
        if datagram.dst == sa.responder:
            return Role.INITIATOR
        return Role.RESPONDER if datagram.dst == sa.initiator else Role.INITIATOR

    # -- message handling --------------------------------------------------------------------

    @staticmethod
    def _message(datagram: Datagram, **fields: Any) -> IkeMessage:
        """An IkeMessage with the datagram's addressing filled in."""
        return IkeMessage(
            frame=datagram.frame,
            time=datagram.time,
            sender=datagram.src,
            receiver=datagram.dst,
            sport=datagram.sport,
            dport=datagram.dport,
            length=len(datagram.payload),
            frames=datagram.frames or (datagram.frame,),
            udp_encapsulated=datagram.udp_encapsulated,
            **fields,
        )

    def _new_message(self, datagram: Datagram, header: IsakmpHeader, exchange: str, label: str) -> IkeMessage:
        return self._message(
            datagram,
            exchange_type=header.exchange_type,
            exchange=exchange,
            message_id=header.message_id,
            label=label,
            flags=header.flags,
            encrypted=header.encrypted,
        )

    def _malformed(self, datagram: Datagram, reason: str) -> IkeMessage:
        msg = self._malformed_record(datagram, reason)
        self.unattached.append(msg)
        self.findings.append(
            finding(
                "malformed-message",
                f"IKE message from {datagram.src} failed its sanity check: {reason}",
                {"frame": datagram.frame, "src": datagram.src, "dst": datagram.dst},
            )
        )
        return msg

    def _malformed_record(self, datagram: Datagram, reason: str) -> IkeMessage:
        return self._message(
            datagram,
            exchange_type=0,
            exchange="unknown",
            message_id=0,
            label="?",
            flags=0,
            encrypted=False,
            protection=Protection.MALFORMED,
            problems=[reason],
        )

    def _decoder_error(self, datagram: Datagram, exc: Exception) -> IkeMessage:
        """The guard's record of a message ikedecode failed on: a finding, never an exception."""
        msg = self._malformed_record(datagram, f"ikedecode failed on this message: {type(exc).__name__}")
        self.unattached.append(msg)
        self.findings.append(_decoder_error_finding(datagram.frame, exc))
        return msg

    def _receive_message(self, datagram: Datagram, header: IsakmpHeader, data: bytes) -> IkeMessage:
        state = self._sa_for(datagram, header)
        sa = state.sa
        sa.last_time = max(sa.last_time, datagram.time)
        exchange = exchange_name(header.exchange_type)

        digest = hashlib.sha256(data).digest()
        original = state.seen.get(digest)
        if original is not None:
            msg = self._new_message(datagram, header, original.exchange, original.label)
            msg.retransmission_of = original.frame
            msg.protection, msg.hash_verified, msg.hash_name = (
                original.protection,
                original.hash_verified,
                original.hash_name,
            )
            msg.payloads, msg.problems, msg.note = original.payloads, original.problems, original.note
            sa.messages.append(msg)
            if header.message_id and header.message_id in sa.phase2:
                sa.phase2[header.message_id].frames.append(datagram.frame)
            return msg

        role = self._role(sa, datagram)
        step = self._step(state, header, datagram, role)
        label = step.label if step else "?"
        msg = self._new_message(datagram, header, exchange, label)
        state.seen[digest] = msg
        sa.messages.append(msg)

        decryption: Decryption | None = None
        if header.encrypted:
            decryption = self._decryptor.decrypt(state, header, data, msg)
            if decryption is not None:
                msg.payloads = decryption.chain.payloads
                msg.problems = list(decryption.chain.problems)
        else:
            chain = parse_payloads(
                header.next_payload,
                data[ISAKMP_HEADER_LENGTH : header.length]
                if header.length >= ISAKMP_HEADER_LENGTH
                else data[ISAKMP_HEADER_LENGTH:],
                ISAKMP_HEADER_LENGTH,
            )
            msg.payloads, msg.problems = chain.payloads, list(chain.problems)
            if chain.problems:
                sa.findings.append(
                    finding(
                        "malformed-message",
                        f"{label} from {datagram.src} has a malformed payload chain: {chain.problems[0]}",
                        {"frame": datagram.frame, "label": label},
                    )
                )

        if header.exchange_type in PHASE1_TYPES:
            self._phase1_message(state, msg, role, decryption)
        elif header.message_id != 0 or header.exchange_type in (5, 6, 32):
            self._phase2_message(state, msg, decryption)
        self._collect_vendor_ids(sa, role, msg)
        return msg

    def _step(self, state: SaState, header: IsakmpHeader, datagram: Datagram, role: Role) -> Step | None:
        shape = SHAPES_BY_TYPE.get(header.exchange_type)
        if shape is None:
            return None
        if shape.phase == 1:
            key = (0, role)
            if state.sa.exchange is None:
                state.sa.exchange = shape.name
            ordinal = state.sent_count.get(key, 0)
            state.sent_count[key] = ordinal + 1
            return shape.step_for(role, ordinal)
        if shape.name == "quick":
            opener = state.qm_initiator.setdefault(header.message_id, datagram.src)
            qm_role = Role.INITIATOR if datagram.src == opener else Role.RESPONDER
            key = (header.message_id, qm_role)
            ordinal = state.sent_count.get(key, 0)
            state.sent_count[key] = ordinal + 1
            return shape.step_for(qm_role, ordinal)
        return shape.steps[0]

    # -- decryption --------------------------------------------------------------------------

    # -- phase 1 -----------------------------------------------------------------------------

    def _phase1_message(
        self, state: SaState, msg: IkeMessage, role: Role, decryption: Decryption | None
    ) -> None:
        sa = state.sa
        state.phase1_labels_seen.add(msg.label)
        if msg.label in STATE_AFTER:
            sa.state = STATE_AFTER[msg.label]
        for p in msg.payloads:
            if isinstance(p, SaPayload):
                if role is Role.INITIATOR and state.sai_b is None:
                    state.sai_b = p.body
                    sa.offered = [{**t.to_dict(), "description": t.describe()} for t in p.transforms]
                elif role is Role.RESPONDER and state.candidates is None and state.pending is None:
                    # once the keys are asked for, the policy is fixed
                    chosen = p.transforms
                    if chosen:
                        attributes = {a.type: a.value for a in chosen[0].attributes}
                        state.policy = Phase1Policy.from_attributes(attributes)
                        sa.chosen = {**chosen[0].to_dict(), "description": chosen[0].describe()}
                        if state.policy is not None:
                            sa.auth_method = name(AUTHENTICATION_METHODS, state.policy.auth_method)
            elif isinstance(p, KePayload):
                if role is Role.INITIATOR:
                    state.g_xi = p.data
                else:
                    state.g_xr = p.data
            elif isinstance(p, NoncePayload):
                if role is Role.INITIATOR:
                    state.ni_b = p.data
                else:
                    state.nr_b = p.data
            elif isinstance(p, IdPayload):
                sa.identities[role.value] = p.text
                if role is Role.INITIATOR:
                    state.idii_b = p.body
                else:
                    state.idir_b = p.body
        if msg.label in ("MM6", "AM3"):
            sa.established = True
        if msg.label == "AM2":
            try:
                self._verifier.verify_aggressive_hash_r(state, msg)
            except UnsupportedAlgorithm as exc:  # the accepted transform names a hash nobody knows
                msg.note = f"HASH_R not checked: {exc}"
        elif msg.label in ("MM5", "MM6", "AM3") and msg.protection in (
            Protection.DECRYPTED,
            Protection.CLEAR,
        ):
            self._verifier.verify_phase1_hash(state, msg, role)
        self._decryptor.ensure_candidates(state)

    # -- phase 2 and informational -----------------------------------------------------------

    def _phase2_message(self, state: SaState, msg: IkeMessage, decryption: Decryption | None) -> None:
        sa = state.sa
        ex = sa.phase2.get(msg.message_id)
        if ex is None:
            if len(sa.phase2) >= self.max_phase2_per_sa:
                self._drop_oldest_phase2(state)
            ex = sa.phase2[msg.message_id] = Phase2Exchange(msg.message_id, msg.exchange, msg.exchange_type)
        ex.frames.append(msg.frame)
        ex.labels.append(msg.label)
        if msg.encrypted:
            ok = msg.protection is not Protection.NO_KEYS and msg.protection is not Protection.UNDECRYPTABLE
            ex.decrypted = ok if ex.decrypted in (None, True) else False
        if msg.exchange_type == 32 and msg.payloads:
            self._quick_mode(state, msg).absorb(msg.label, msg.payloads)
        if msg.protection in (Protection.DECRYPTED, Protection.CLEAR):
            self._verifier.verify_phase2_hash(state, msg)
        if msg.hash_verified is not None:
            ex.hashes_verified = msg.hash_verified if ex.hashes_verified in (None, True) else False
        if msg.exchange_type == 32:
            phase2.summarize_quick_mode_message(ex.summary, msg.label, msg.payloads)
            if msg.label == "QM3":
                ex.complete = True
            if msg.label == "QM2" and msg.protection is Protection.VERIFIED:
                self._key_child_sas(state, msg, ex)
        elif msg.exchange_type == 5:
            phase2.summarize_informational(ex.summary, msg.payloads)
            ex.complete = True
        elif msg.exchange_type == 6:
            phase2.summarize_transaction(ex.summary, msg.payloads)
            # draft-dukes-ike-mode-cfg 3.2: REQUEST/REPLY or SET/ACK; two distinct messages end it
            ex.complete = len(set(ex.frames)) >= 2 and not msg.retransmission

    def _drop_oldest_phase2(self, state: SaState) -> None:
        """The phase-2 cap: forget the oldest exchange of this SA and its per-message-ID state."""
        sa = state.sa
        mid = next(iter(sa.phase2))
        del sa.phase2[mid]
        for per_mid in (state.exchange_ivs, state.qm_initiator, state.quick_modes):
            per_mid.pop(mid, None)
        for role in Role:
            state.sent_count.pop((mid, role), None)
        cap = state.phase2_cap_finding
        if cap is None:
            cap = state.phase2_cap_finding = finding(
                "state-cap-phase2", "", {"cookies": sa.cookies, "cap": self.max_phase2_per_sa, "dropped": 0}
            )
            sa.findings.append(cap)
        cap.evidence["dropped"] += 1
        cap.message = (
            f"more than {self.max_phase2_per_sa} phase-2 exchanges in this IKE SA: the oldest "
            f"{cap.evidence['dropped']} dropped from the report"
        )

    def _quick_mode(self, state: SaState, msg: IkeMessage) -> QuickModeMaterial:
        qm = state.quick_modes.get(msg.message_id)
        if qm is None:
            opener = state.qm_initiator.get(msg.message_id, msg.sender)
            other = msg.receiver if opener == msg.sender else msg.sender
            qm = state.quick_modes[msg.message_id] = QuickModeMaterial(msg.message_id, opener, other)
        return qm

    def _key_child_sas(self, state: SaState, msg: IkeMessage, ex: Phase2Exchange) -> None:
        """KEYMAT for both directions of each accepted proposal (RFC 2409 5.5)."""
        keys = state.message_keys.get(msg.frame, state.selected)
        qm = state.quick_modes.get(msg.message_id)
        if keys is None or keys.skeyid_d is None or state.policy is None or qm is None:
            return
        sa = state.sa
        children = child_sa_keys(
            qm,
            state.policy.hash_algorithm,
            keys.skeyid_d,
            self.keyring,
            sa.initiator_cookie,
            sa.cookies,
            self._private_secrets,
        )
        if qm.ke_i and qm.ke_r and not children:
            ex.summary["pfs_note"] = "PFS: no g(qm)^xy candidate (give --dh-secret or --dh-private)"
        self._pending_children.extend(children)
        self.child_sas.extend(children)

    def take_child_sas(self) -> list[ChildSaKeys]:
        """IPsec SA key material made since the last call (for the ESP layer)."""
        out, self._pending_children = self._pending_children, []
        return out

    # -- IKE fragmentation, IKEv2 recognition, conclusion ------------------------------------

    def _receive_fragment(self, datagram: Datagram, header: IsakmpHeader) -> IkeMessage:
        chain = parse_payloads(
            header.next_payload, datagram.payload[ISAKMP_HEADER_LENGTH:], ISAKMP_HEADER_LENGTH
        )
        state = self._sa_for(datagram, header)
        msg = self._new_message(datagram, header, "fragment", "FRAG")
        msg.payloads, msg.problems = chain.payloads, list(chain.problems)
        state.sa.messages.append(msg)
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

    def _receive_ikev2(self, datagram: Datagram, header: IsakmpHeader) -> IkeMessage | None:
        # IKEv2 goes to its own engine (ike/v2/engine.py); the version dispatcher replaces this hook
        decoded = None
        for event in self._ikev2.receive(datagram, header):
            if isinstance(event, MessageDecoded):
                decoded = event.message
                if not event.attached:
                    self.unattached.append(event.message)
            elif isinstance(event, IpsecSaKeyed):
                self._pending_children.append(event.keys)
            elif isinstance(event, FindingRaised):
                self.findings.append(event.finding)
        return decoded

    @staticmethod
    def _collect_vendor_ids(sa: IkeSa, role: Role, msg: IkeMessage) -> None:
        for p in msg.payloads:
            if isinstance(p, VendorIdPayload):
                names = sa.vendor_ids.setdefault(role.value, [])
                if p.vendor_name not in names:
                    names.append(p.vendor_name)

    def _conclude(self, state: SaState) -> None:
        sa = state.sa
        if sa.version != 1:
            return
        p1 = [m for m in sa.messages if m.exchange in ("main", "aggressive")]
        verified = [m.hash_verified for m in p1 if m.hash_verified is not None and not m.retransmission]
        if verified and all(verified) and sa.established:
            sa.authenticated = True
        elif any(v is False for v in verified):
            sa.authenticated = False
        if any(m.label in ("MM6", "AM3") for m in p1) or any(
            ex.exchange == "quick" for ex in sa.phase2.values()
        ):
            sa.established = True
            sa.state = "QM_IDLE"


MAX_ANTICIPATED = 8192  # SAs whose clear phase-1 values ``anticipate`` keeps while waiting for both KEs
KE_PAYLOAD, SA_PAYLOAD, GROUP_DESCRIPTION_ATTRIBUTE = 4, 1, 4


class _Anticipated:
    __slots__ = ("group", "key_exchanges")

    def __init__(self) -> None:
        self.group: int | None = None
        self.key_exchanges: list[bytes] = []


def clear_phase1_values(message: bytes) -> tuple[bytes, int | None, bytes | None] | None:
    """(initiator cookie, chosen DH group, KE data) of a clear-text IKEv1 main/aggressive mode
    message, or None for any other message; the group only from a message with a responder
    cookie (the responder's SA payload), read from its first transform (RFC 2408 3.4-3.6).

    A lean walk of the generic payload headers (RFC 2408 3.2) for ``IkeEngine.anticipate``, which
    looks at every IKE datagram before ``receive`` decodes it in full: anything unexpected is
    None (or raises ``struct.error``/``ValueError``), never a finding.
    """
    if len(message) < 28:
        return None
    next_payload, version, exchange_type, flags = message[16], message[17], message[18], message[19]
    if version >> 4 != 1 or exchange_type not in PHASE1_TYPES or flags & 0x01:
        return None
    end = min(len(message), int.from_bytes(message[24:28], "big"))
    responder_known = message[8:16] != bytes(8)
    group: int | None = None
    key_exchange: bytes | None = None
    position, hops = 28, 0
    while next_payload and position + 4 <= end and hops < 64:
        this, (next_payload, length) = next_payload, struct.unpack_from("!BxH", message, position)
        if length < 4 or position + length > end:
            return None
        if this == KE_PAYLOAD:
            key_exchange = message[position + 4 : position + length]
        elif this == SA_PAYLOAD and responder_known:
            group = _first_transform_group(message[position + 4 : position + length])
        position += length
        hops += 1
    return message[:8], group, key_exchange


def _first_transform_group(sa_body: bytes) -> int | None:
    """The Group Description of the first transform of the first proposal (DOI IPsec, SIT 1)."""
    if len(sa_body) < 8 + 8 or struct.unpack_from("!II", sa_body) != (1, 1):
        return None
    spi_size = sa_body[8 + 6]  # proposal: next, reserved, length, number, protocol, SPI size, transforms
    transform_at = 8 + 8 + spi_size
    if transform_at + 8 > len(sa_body):
        return None
    _, transform_length = struct.unpack_from("!BxH", sa_body, transform_at)
    attributes = sa_body[transform_at + 8 : min(len(sa_body), transform_at + transform_length)]
    group = None
    at = 0
    while at + 4 <= len(attributes):
        kind, value = struct.unpack_from("!HH", attributes, at)
        if kind & 0x8000:  # TV: the value is in the header (RFC 2408 3.3)
            if kind & 0x7FFF == GROUP_DESCRIPTION_ATTRIBUTE:
                group = value
            at += 4
        else:  # TLV: ``value`` is the length
            if kind == GROUP_DESCRIPTION_ATTRIBUTE:
                group = int.from_bytes(attributes[at + 4 : at + 4 + value], "big") or None
            at += 4 + value
    return group


def _decoder_error_finding(frame: int, exc: Exception) -> Finding:
    return finding(
        "decoder-error",
        f"frame {frame}: ikedecode failed to decode this IKE message ({type(exc).__name__}); "
        "the rest of the capture was decoded",
        {"frame": frame, "exception": type(exc).__name__},
    )


def exchange_name(exchange_type: int) -> str:
    """Short names for the IKEv1 exchanges ikedecode follows, registry names for the rest."""
    shape = SHAPES_BY_TYPE.get(exchange_type)
    return shape.name if shape else name(EXCHANGE_TYPES, exchange_type)
