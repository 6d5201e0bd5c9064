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
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ikedecode.analysis.findings import Finding, Severity
from ikedecode.capture.datagram import Datagram
from ikedecode.ike import authhash, ciphers, keyderiv, phase2
from ikedecode.ike.child_sa import ChildSaKeys, QuickModeMaterial, child_sa_keys
from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.exchanges import PHASE1_TYPES, SHAPES_BY_TYPE, STATE_AFTER, Role, Step
from ikedecode.ike.fragments import FragmentCollector
from ikedecode.ike.header import IsakmpHeader, parse_header
from ikedecode.ike.payloads import (
    FragmentPayload,
    HashPayload,
    IdPayload,
    KePayload,
    NoncePayload,
    SaPayload,
    VendorIdPayload,
    parse_payloads,
)
from ikedecode.ike.phase1 import AuthFamily, ClearMaterial, KeyCandidate, Phase1Policy, build_candidates
from ikedecode.ike.protection import ISAKMP_HEADER_LENGTH, Decryption, ciphertext_of, try_decrypt
from ikedecode.ike.records import DerivedKeys, IkeMessage, IkeSa, Phase2Exchange, Protection
from ikedecode.ike.registries import AUTHENTICATION_METHODS, EXCHANGE_TYPES, name
from ikedecode.keys.keyring import KeyRing

DEFAULT_MAX_SAS = 100_000
# Phase-2 exchanges (quick mode, informational, transaction) kept per IKE SA: a day of DPD every
# 10 s is 8640 informational exchanges; beyond the cap the oldest is dropped (docs/limits.md).
DEFAULT_MAX_PHASE2_PER_SA = 10_000
FRAGMENT_PAYLOAD = 132
IKEV2_ENCRYPTED_PAYLOAD = 46


@dataclass(slots=True)
class _SaState:
    """The engine's private working state for one IKE SA (never rendered)."""

    sa: IkeSa
    policy: Phase1Policy | None = None
    sai_b: bytes | None = None
    g_xi: bytes | None = None
    g_xr: bytes | None = None
    ni_b: bytes | None = None
    nr_b: bytes | None = None
    idii_b: bytes | None = None
    idir_b: bytes | None = None
    candidates: list[KeyCandidate] | None = None
    candidate_notes: list[str] = field(default_factory=list)
    selected: KeyCandidate | None = None
    proven_psk: str | None = None  # origin of the PSK whose HASH_R verified (aggressive mode)
    phase1_iv: bytes | None = None  # current phase-1 CBC chain state
    initial_iv: bytes | None = None  # hash(g^xi | g^xr), RFC 2409 Appendix B
    message_keys: dict[int, KeyCandidate] = field(
        default_factory=dict
    )  # frame -> candidate that decrypted it
    other_key_reported: bool = False
    exchange_ivs: dict[int, bytes] = field(default_factory=dict)  # message ID -> next IV in that exchange
    seen: dict[bytes, IkeMessage] = field(default_factory=dict)  # digest of message -> first copy
    sent_count: dict[tuple[int, Role], int] = field(
        default_factory=dict
    )  # (message ID, role) -> distinct msgs
    qm_initiator: dict[int, str] = field(default_factory=dict)  # message ID -> address that opened it
    quick_modes: dict[int, QuickModeMaterial] = field(default_factory=dict)  # message ID -> QM1/QM2 material
    key_failure_reported: bool = False
    phase1_labels_seen: set[str] = field(default_factory=set)
    phase2_cap_finding: Finding | None = None  # set once the phase-2 cap dropped an exchange


class IkeEngine:
    def __init__(
        self,
        keyring: KeyRing | None = None,
        *,
        max_sas: int = DEFAULT_MAX_SAS,
        max_phase2_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA,
    ) -> None:
        self.keyring = keyring or KeyRing()
        self.max_sas = max_sas
        self.max_phase2_per_sa = max_phase2_per_sa
        self._states: dict[tuple[bytes, bytes | None], _SaState] = {}  # (icky, rcky) -> SA, rcky known
        self._by_initiator_cookie: dict[bytes, list[_SaState]] = {}
        self._order: deque[_SaState] = deque()
        self._sa_cap_finding: Finding | None = None
        self.findings: list[Finding] = []  # findings not tied to one IKE SA
        self.unattached: list[IkeMessage] = []  # messages whose header could not even name an SA
        self._fragments = FragmentCollector()
        self.child_sas: list[ChildSaKeys] = []
        self._pending_children: list[ChildSaKeys] = []

    # -- public API -------------------------------------------------------------------------

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
            self.findings.append(
                Finding(
                    Severity.WARNING,
                    "ike-fragments-incomplete",
                    problem,
                    evidence={},
                    hint="a fragment of a large IKE message (certificates) was lost on the way",
                )
            )
        return [s.sa for s in self._order]

    # -- SA bookkeeping ----------------------------------------------------------------------

    def _sa_for(self, datagram: Datagram, header: IsakmpHeader) -> _SaState:
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
        state = _SaState(sa=sa)
        self._order.append(state)
        self._by_initiator_cookie.setdefault(icky, []).append(state)
        if not zero:
            self._states[(icky, rcky)] = state
        return state

    def _forget(self, state: _SaState) -> None:
        lst = self._by_initiator_cookie.get(state.sa.initiator_cookie, [])
        if state in lst:
            lst.remove(state)
        pair = (state.sa.initiator_cookie, state.sa.responder_cookie)
        if self._states.get(pair) is state:
            del self._states[pair]
        if not lst:
            self._by_initiator_cookie.pop(state.sa.initiator_cookie, None)

    def _note_sa_dropped(self, dropped: _SaState) -> None:
        """One ``state-cap`` finding for all the IKE SAs the cap dropped, with their count."""
        finding = self._sa_cap_finding
        if finding is None:
            finding = self._sa_cap_finding = Finding(
                Severity.WARNING,
                "state-cap",
                "",
                evidence={"cap": self.max_sas, "dropped": 0, "first_dropped": dropped.sa.cookies},
                hint="raise --max-ike-sas",
            )
            self.findings.append(finding)
        finding.evidence["dropped"] += 1
        finding.evidence["last_dropped"] = dropped.sa.cookies
        count = finding.evidence["dropped"]
        finding.message = (
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
            Finding(
                Severity.WARNING,
                "malformed-message",
                f"IKE message from {datagram.src} failed its sanity check: {reason}",
                evidence={"frame": datagram.frame, "src": datagram.src, "dst": datagram.dst},
                hint="a broken or non-IKE packet on an IKE port",
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
            decryption = self._decrypt(state, header, data, msg)
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
                    Finding(
                        Severity.WARNING,
                        "malformed-message",
                        f"{label} from {datagram.src} has a malformed payload chain: {chain.problems[0]}",
                        evidence={"frame": datagram.frame, "label": label},
                        hint="",
                    )
                )

        if header.exchange_type in PHASE1_TYPES:
            self._phase1_message(state, msg, role, decryption)
        elif header.message_id != 0 or header.exchange_type in (5, 6, 32):
            self._phase2_message(state, msg, decryption)
        self._collect_vendor_ids(sa, role, msg)
        return msg

    def _step(self, state: _SaState, header: IsakmpHeader, datagram: Datagram, role: Role) -> Step | None:
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

    def _ensure_candidates(self, state: _SaState) -> None:
        if state.candidates is not None or state.policy is None:
            return
        sa = state.sa
        if None in (state.g_xi, state.g_xr, state.ni_b, state.nr_b) or sa.responder_cookie is None:
            return
        clear = ClearMaterial(
            sa.initiator_cookie,
            sa.responder_cookie,
            state.g_xi,
            state.g_xr,  # type: ignore[arg-type]
            state.ni_b,
            state.nr_b,
            sa.initiator,
            sa.responder,
            tuple(sa.identities.values()),
        )  # type: ignore[arg-type]
        try:
            key_length = ciphers.cipher_key_length(
                state.policy.encryption_algorithm, state.policy.key_length_bits
            )
            block = ciphers.block_size(state.policy.encryption_algorithm)
            state.phase1_iv = state.initial_iv = keyderiv.phase1_iv(
                state.policy.hash_algorithm, state.g_xi, state.g_xr, block
            )  # type: ignore[arg-type]
            state.candidates, state.candidate_notes = build_candidates(
                self.keyring, state.policy, clear, key_length, psk_origin_filter=state.proven_psk
            )
        except (UnsupportedAlgorithm, ValueError) as exc:
            state.candidates = []
            state.candidate_notes = [str(exc)]

    def _iv_for(self, state: _SaState, header: IsakmpHeader) -> list[bytes]:
        """IVs to try for this message (RFC 2409 Appendix B), most likely first.

        Phase 1 chains on its own messages. A new exchange starts from hash(last phase-1 block |
        M-ID) and then chains on its own messages. A peer that could not decrypt MM5 (a PSK
        mismatch) starts its informational exchanges from the initial IV instead (strongSwan).
        """
        if state.phase1_iv is None or state.initial_iv is None or state.policy is None:
            return []
        if header.message_id == 0:
            return [state.phase1_iv]
        block, hash_id, mid = len(state.phase1_iv), state.policy.hash_algorithm, header.message_id
        ivs = [state.exchange_ivs.get(mid), keyderiv.exchange_iv(hash_id, state.phase1_iv, mid, block)]
        if state.initial_iv != state.phase1_iv:
            ivs.append(keyderiv.exchange_iv(hash_id, state.initial_iv, mid, block))
        return list(dict.fromkeys(iv for iv in ivs if iv is not None))

    def _decrypt(
        self, state: _SaState, header: IsakmpHeader, data: bytes, msg: IkeMessage
    ) -> Decryption | None:
        sa = state.sa
        self._ensure_candidates(state)
        if self.keyring.empty:
            msg.protection, msg.note = Protection.NO_KEYS, "encrypted: no keys given"
            return None
        if state.policy is None or state.candidates is None:
            msg.protection = Protection.UNDECRYPTABLE
            msg.note = "encrypted, but phase 1 (SA, KE and nonces) was not seen in the capture"
            return None
        if not state.candidates:
            msg.protection = Protection.NO_KEYS
            notes = "; ".join(state.candidate_notes)
            msg.note = "no usable key material for this SA" + (f" ({notes})" if notes else "")
            if state.policy.auth_family is AuthFamily.PRESHARED and not self.keyring.psks_for(
                (sa.initiator, sa.responder), tuple(sa.identities.values())
            ):
                msg.note += ": needs a preshared key"
            elif not (self.keyring.dh_secrets or self.keyring.dh_privates):
                msg.note += ": needs the DH secret (--dh-secret or --dh-private) or the IKE keys"
            return None
        ciphertext = ciphertext_of(data, header.length)
        broken = _not_cbc_ciphertext(ciphertext, state.policy.encryption_algorithm)
        if broken:  # no key can open it: a damaged message, not a key problem
            msg.protection, msg.note = Protection.UNDECRYPTABLE, broken
            sa.findings.append(
                Finding(
                    Severity.WARNING,
                    "malformed-message",
                    f"{msg.label} from {msg.sender} cannot be decrypted by any key: {broken}",
                    evidence={"frame": msg.frame, "label": msg.label},
                    hint="the message was cut or damaged on the way (or by the capture)",
                )
            )
            return None
        ivs = self._iv_for(state, header)
        found, last_reason = self._first_decryption(state, header, ciphertext, ivs)
        self._advance_iv(state, header, ciphertext)
        if found is not None:
            candidate, result = found
            if state.selected is None:
                state.selected = candidate
                self._adopt_keys(state, candidate)
            elif candidate is not state.selected:
                self._report_other_key(state, msg, candidate)
            state.message_keys[msg.frame] = candidate
            msg.protection = Protection.DECRYPTED
            return result
        msg.protection = Protection.UNDECRYPTABLE
        if state.selected is not None:
            msg.note = f"does not decrypt with the keys that decrypted earlier messages: {last_reason}"
        else:
            msg.note = f"does not decrypt with any of {len(state.candidates)} key candidate(s): {last_reason}"
            self._report_key_failure(state, msg)
        return None

    def _first_decryption(
        self, state: _SaState, header: IsakmpHeader, ciphertext: bytes, ivs: list[bytes]
    ) -> tuple[tuple[KeyCandidate, Decryption] | None, str]:
        """The first key candidate (the adopted one first) and IV that give a sane plaintext."""
        assert state.policy is not None and state.candidates is not None
        order = list(state.candidates)
        if state.selected is not None:
            order.remove(state.selected)
            order.insert(0, state.selected)
        last_reason = ""
        for candidate in order:
            for iv in ivs:
                result = try_decrypt(
                    state.policy.encryption_algorithm,
                    candidate.encryption_key,
                    iv,
                    ciphertext,
                    header.next_payload,
                )
                if isinstance(result, Decryption):
                    return (candidate, result), ""
                last_reason = result
        return None, last_reason

    def _report_other_key(self, state: _SaState, msg: IkeMessage, candidate: KeyCandidate) -> None:
        """A message that decrypts only with another candidate: the two peers hold different keys."""
        adopted = state.selected
        assert adopted is not None
        msg.note = (
            f"decrypts only with {candidate.describe()}, not with the keys of the first encrypted message"
        )
        if candidate.psk_origin != adopted.psk_origin and not state.other_key_reported:
            state.other_key_reported = True
            state.sa.findings.append(
                Finding(
                    Severity.ERROR,
                    "psk-mismatch",
                    f"the peers use different preshared keys: {msg.label} from {msg.sender} decrypts with "
                    f"{candidate.psk_origin}, earlier messages with {adopted.psk_origin}",
                    evidence={"cookies": state.sa.cookies, "frame": msg.frame, "label": msg.label},
                    hint="configure the same pre-shared key on both peers",
                )
            )

    def _advance_iv(self, state: _SaState, header: IsakmpHeader, ciphertext: bytes) -> None:
        """CBC chaining (RFC 2409 Appendix B): the next IV is this message's last ciphertext block,
        whether or not we could decrypt it."""
        if state.phase1_iv is None or not ciphertext or len(ciphertext) % len(state.phase1_iv):
            return
        last_block = ciphertext[-len(state.phase1_iv) :]
        if header.message_id == 0:
            state.phase1_iv = last_block
        else:
            state.exchange_ivs[header.message_id] = last_block

    def _adopt_keys(self, state: _SaState, c: KeyCandidate) -> None:
        state.sa.keys = DerivedKeys(
            skeyid=c.skeyid,
            skeyid_d=c.skeyid_d,
            skeyid_a=c.skeyid_a,
            skeyid_e=c.skeyid_e,
            encryption_key=c.encryption_key,
            dh_secret=c.dh_secret,
            psk_origin=c.psk_origin,
            dh_origin=c.dh_origin,
            key_origin=c.key_origin,
        )

    def _report_key_failure(self, state: _SaState, msg: IkeMessage) -> None:
        if state.key_failure_reported:
            return
        state.key_failure_reported = True
        sa = state.sa
        assert state.policy is not None and state.candidates is not None
        psk_mode = state.policy.auth_family is AuthFamily.PRESHARED
        dh_confirmed = any(c.dh_confirmed for c in state.candidates)
        if state.candidate_notes:
            msg.note += " (" + "; ".join(state.candidate_notes) + ")"
        evidence = {
            "cookies": sa.cookies,
            "frame": msg.frame,
            "label": msg.label,
            "candidates": [c.describe() for c in state.candidates],
            "notes": list(state.candidate_notes),
        }
        if psk_mode and dh_confirmed:
            sa.findings.append(
                Finding(
                    Severity.ERROR,
                    "psk-mismatch",
                    f"{msg.label} does not decrypt although the DH secret matches the KE payloads: "
                    "the preshared key is wrong",
                    evidence=evidence,
                    hint="check the pre-shared key configured for this peer",
                )
            )
        elif psk_mode and state.proven_psk:
            sa.findings.append(
                Finding(
                    Severity.ERROR,
                    "wrong-keys",
                    f"{msg.label} does not decrypt: the PSK verified HASH_R, so the DH secret is wrong",
                    evidence=evidence,
                    hint="give the g^xy of this SA (--dh-secret) or a private value (--dh-private)",
                )
            )
        else:
            what = (
                "the preshared key or the DH secret is wrong"
                if psk_mode
                else "the DH secret or keys are wrong"
            )
            sa.findings.append(
                Finding(
                    Severity.ERROR,
                    "wrong-keys",
                    f"{msg.label} cannot be decrypted with the keys given: {what}",
                    evidence=evidence,
                    hint="check --dh-secret/--dh-private belong to this SA (cookie "
                    f"{sa.initiator_cookie.hex()}) and the PSK is the one configured",
                )
            )

    # -- phase 1 -----------------------------------------------------------------------------

    def _phase1_message(
        self, state: _SaState, msg: IkeMessage, role: Role, decryption: Decryption | None
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
                elif role is Role.RESPONDER and state.candidates is None:  # keys derived: policy fixed
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
                self._verify_aggressive_hash_r(state, msg)
            except UnsupportedAlgorithm as exc:  # the accepted transform names a hash nobody knows
                msg.note = f"HASH_R not checked: {exc}"
        elif msg.label in ("MM5", "MM6", "AM3") and msg.protection in (
            Protection.DECRYPTED,
            Protection.CLEAR,
        ):
            self._verify_phase1_hash(state, msg, role)
        self._ensure_candidates(state)

    def _verify_phase1_hash(self, state: _SaState, msg: IkeMessage, role: Role) -> None:
        """HASH_I / HASH_R (RFC 2409 section 5)."""
        sa = state.sa
        hashes = [p for p in msg.payloads if isinstance(p, HashPayload)]
        hash_name = "HASH_I" if role is Role.INITIATOR else "HASH_R"
        msg.hash_name = hash_name
        if not hashes:
            msg.note = msg.note or f"carries no {hash_name} (signature or other authentication)"
            return
        if state.policy is None:
            return
        keys = state.message_keys.get(msg.frame, state.selected)
        skeyid = keys.skeyid if keys else None
        if (
            skeyid is None
            and state.policy.auth_family is AuthFamily.PRESHARED
            and msg.protection is Protection.CLEAR
        ):
            skeyid = self._proven_skeyid(state)
        if skeyid is None or None in (state.g_xi, state.g_xr, state.sai_b, sa.responder_cookie):
            msg.note = msg.note or f"{hash_name} not checked: SKEYID unknown (give the PSK or DH secret)"
            return
        id_b = state.idii_b if role is Role.INITIATOR else state.idir_b
        if id_b is None:
            return
        args = (
            state.policy.hash_algorithm,
            skeyid,
            state.g_xi,
            state.g_xr,
            sa.initiator_cookie,
            sa.responder_cookie,
            state.sai_b,
            id_b,
        )
        expected = authhash.hash_i(*args) if role is Role.INITIATOR else authhash.hash_r(*args)
        ok = expected == hashes[0].data
        self._record_phase1_hash(state, msg, hash_name, ok)

    def _record_phase1_hash(self, state: _SaState, msg: IkeMessage, hash_name: str, ok: bool) -> None:
        sa = state.sa
        msg.hash_verified = ok
        if msg.protection is Protection.DECRYPTED:
            msg.protection = Protection.VERIFIED if ok else Protection.HASH_MISMATCH
        if not ok:
            sa.authenticated = False
            origin = (state.selected.psk_origin if state.selected else None) or "the given PSK"
            msg.note = f"{hash_name} does not verify with this PSK ({origin})"
            sa.findings.append(
                Finding(
                    Severity.ERROR,
                    "psk-mismatch",
                    f"{hash_name} in {msg.label} does not verify with {origin}",
                    evidence={"cookies": sa.cookies, "frame": msg.frame, "label": msg.label},
                    hint="the PSK given is not the one this peer used; check the pre-shared key on both ends",
                )
            )

    def _proven_skeyid(self, state: _SaState) -> bytes | None:
        if state.proven_psk is None or state.policy is None:
            return None
        for k in self.keyring.psks:
            if k.origin == state.proven_psk:
                return keyderiv.skeyid_preshared(
                    state.policy.hash_algorithm, k.secret, state.ni_b, state.nr_b
                )  # type: ignore[arg-type]
        return None

    def _verify_aggressive_hash_r(self, state: _SaState, msg: IkeMessage) -> None:
        """Aggressive mode: HASH_R is in clear text; with a PSK, SKEYID needs no DH secret."""
        sa = state.sa
        msg.hash_name = "HASH_R"
        hashes = [p for p in msg.payloads if isinstance(p, HashPayload)]
        if not hashes or state.policy is None or state.policy.auth_family is not AuthFamily.PRESHARED:
            return
        if None in (state.g_xi, state.g_xr, state.ni_b, state.nr_b, state.sai_b, state.idir_b):
            msg.note = "HASH_R not checked: AM1 or part of AM2 missing"
            return
        psks = self.keyring.psks_for((sa.initiator, sa.responder), tuple(sa.identities.values()))
        if not psks:
            if not self._verify_hash_r_with_given_skeyid(state, msg, hashes[0].data):
                msg.note = "HASH_R not checked: no preshared key given"
            return
        for k in psks:
            skeyid = keyderiv.skeyid_preshared(state.policy.hash_algorithm, k.secret, state.ni_b, state.nr_b)  # type: ignore[arg-type]
            expected = authhash.hash_r(
                state.policy.hash_algorithm,
                skeyid,
                state.g_xi,
                state.g_xr,  # type: ignore[arg-type]
                sa.initiator_cookie,
                sa.responder_cookie,
                state.sai_b,
                state.idir_b,
            )  # type: ignore[arg-type]
            if expected == hashes[0].data:
                state.proven_psk = k.origin
                msg.hash_verified = True
                msg.note = f"HASH_R verifies with {k.origin}"
                return
        msg.hash_verified = False
        sa.authenticated = False
        msg.note = f"HASH_R does not verify with the {len(psks)} preshared key(s) given"
        sa.findings.append(
            Finding(
                Severity.ERROR,
                "psk-mismatch",
                f"HASH_R in AM2 does not verify with the {len(psks)} PSK(s) given",
                evidence={"cookies": sa.cookies, "frame": msg.frame, "psks": [k.origin for k in psks]},
                hint="the responder used another pre-shared key",
            )
        )

    def _verify_hash_r_with_given_skeyid(self, state: _SaState, msg: IkeMessage, hash_r: bytes) -> bool:
        """Aggressive mode without a PSK: a SKEYID given directly (daemon log, key file) checks HASH_R."""
        sa = state.sa
        given = [
            k
            for k in self.keyring.phase1_keys_for(sa.initiator_cookie, sa.responder_cookie or b"")
            if k.skeyid is not None
        ]
        for k in given:
            expected = authhash.hash_r(
                state.policy.hash_algorithm,  # type: ignore[union-attr]
                k.skeyid,  # type: ignore[arg-type]
                state.g_xi,  # type: ignore[arg-type]
                state.g_xr,  # type: ignore[arg-type]
                sa.initiator_cookie,
                sa.responder_cookie,  # type: ignore[arg-type]
                state.sai_b,  # type: ignore[arg-type]
                state.idir_b,  # type: ignore[arg-type]
            )
            if expected == hash_r:
                msg.hash_verified = True
                msg.note = f"HASH_R verifies with the SKEYID of {k.origin}"
                return True
        if given:
            msg.hash_verified = False
            msg.note = f"HASH_R does not verify with the SKEYID of {', '.join(k.origin for k in given)}"
        return bool(given)

    # -- phase 2 and informational -----------------------------------------------------------

    def _phase2_message(self, state: _SaState, msg: IkeMessage, decryption: Decryption | None) -> None:
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
            self._verify_phase2_hash(state, msg)
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

    def _drop_oldest_phase2(self, state: _SaState) -> None:
        """The phase-2 cap: forget the oldest exchange of this SA and its per-message-ID state."""
        sa = state.sa
        mid = next(iter(sa.phase2))
        del sa.phase2[mid]
        for per_mid in (state.exchange_ivs, state.qm_initiator, state.quick_modes):
            per_mid.pop(mid, None)
        for role in Role:
            state.sent_count.pop((mid, role), None)
        finding = state.phase2_cap_finding
        if finding is None:
            finding = state.phase2_cap_finding = Finding(
                Severity.WARNING,
                "state-cap",
                "",
                evidence={"cookies": sa.cookies, "cap": self.max_phase2_per_sa, "dropped": 0},
                hint="raise --max-phase2-per-sa",
            )
            sa.findings.append(finding)
        finding.evidence["dropped"] += 1
        finding.message = (
            f"more than {self.max_phase2_per_sa} phase-2 exchanges in this IKE SA: the oldest "
            f"{finding.evidence['dropped']} dropped from the report"
        )

    def _quick_mode(self, state: _SaState, msg: IkeMessage) -> QuickModeMaterial:
        qm = state.quick_modes.get(msg.message_id)
        if qm is None:
            opener = state.qm_initiator.get(msg.message_id, msg.sender)
            other = msg.receiver if opener == msg.sender else msg.sender
            qm = state.quick_modes[msg.message_id] = QuickModeMaterial(msg.message_id, opener, other)
        return qm

    def _key_child_sas(self, state: _SaState, msg: IkeMessage, ex: Phase2Exchange) -> None:
        """KEYMAT for both directions of each accepted proposal (RFC 2409 5.5)."""
        keys = state.message_keys.get(msg.frame, state.selected)
        qm = state.quick_modes.get(msg.message_id)
        if keys is None or keys.skeyid_d is None or state.policy is None or qm is None:
            return
        sa = state.sa
        children = child_sa_keys(
            qm, state.policy.hash_algorithm, keys.skeyid_d, self.keyring, sa.initiator_cookie, sa.cookies
        )
        if qm.ke_i and qm.ke_r and not children:
            ex.summary["pfs_note"] = "PFS: no g(qm)^xy candidate (give --dh-secret or --dh-private)"
        self._pending_children.extend(children)
        self.child_sas.extend(children)

    def take_child_sas(self) -> list[ChildSaKeys]:
        """IPsec SA key material made since the last call (for the ESP layer)."""
        out, self._pending_children = self._pending_children, []
        return out

    def _verify_phase2_hash(self, state: _SaState, msg: IkeMessage) -> None:
        """HASH(1), HASH(2), HASH(3) of quick mode (RFC 2409 5.5); HASH(1) of informational
        exchanges (RFC 2409 5.7) and of transaction exchanges (draft-dukes-ike-mode-cfg 3.2)."""
        if not msg.payloads or not isinstance(msg.payloads[0], HashPayload):
            return
        hash_payload = msg.payloads[0]
        keys = state.message_keys.get(msg.frame, state.selected)
        if keys is None or keys.skeyid_a is None or state.policy is None:
            msg.note = msg.note or "hash not checked: SKEYID_a unknown (keys given directly without SKEYIDs)"
            return
        hash_id, skeyid_a, mid = state.policy.hash_algorithm, keys.skeyid_a, msg.message_id
        plaintext_rest = _bytes_after(msg.payloads, hash_payload)
        qm = state.quick_modes.get(mid)
        if msg.label == "QM1":
            hash_name, expected = "HASH(1)", authhash.qm_hash1(hash_id, skeyid_a, mid, plaintext_rest)
        elif msg.label == "QM2":
            if qm is None or qm.ni_b is None:
                return
            hash_name, expected = (
                "HASH(2)",
                authhash.qm_hash2(hash_id, skeyid_a, mid, qm.ni_b, plaintext_rest),
            )
        elif msg.label == "QM3":
            if qm is None or qm.ni_b is None or qm.nr_b is None:
                return
            hash_name, expected = (
                "HASH(3)",
                authhash.qm_hash3(hash_id, skeyid_a, mid, qm.ni_b, qm.nr_b),
            )
        else:
            hash_name, expected = (
                "HASH(1)",
                authhash.informational_hash(hash_id, skeyid_a, mid, plaintext_rest),
            )
        msg.hash_name = hash_name
        msg.hash_verified = expected == hash_payload.data
        if msg.protection is Protection.DECRYPTED:
            msg.protection = Protection.VERIFIED if msg.hash_verified else Protection.HASH_MISMATCH
        if not msg.hash_verified:
            msg.note = f"{hash_name} does not verify with SKEYID_a"
            state.sa.findings.append(
                Finding(
                    Severity.ERROR,
                    "hash-mismatch",
                    f"{hash_name} of {msg.label} (message ID 0x{mid:08x}) does not verify",
                    evidence={"cookies": state.sa.cookies, "frame": msg.frame, "label": msg.label},
                    hint="the message was altered, or the phase-1 keys are not this SA's",
                )
            )

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

    def _receive_ikev2(self, datagram: Datagram, header: IsakmpHeader) -> IkeMessage:
        state = self._sa_for(datagram, header)
        sa = state.sa
        if sa.version != 2:
            sa.version, sa.state = 2, ""
            sa.findings.append(
                Finding(
                    Severity.INFO,
                    "ikev2-not-decoded",
                    f"IKEv2 SA with initiator SPI {sa.initiator_cookie.hex()}: messages are recognised and "
                    "counted, not decoded yet",
                    evidence={"cookies": sa.cookies, "frame": datagram.frame},
                )
            )
        sa.last_time = max(sa.last_time, datagram.time)
        msg = self._new_message(
            datagram, header, "ikev2:" + name(EXCHANGE_TYPES, header.exchange_type), "IKEv2"
        )
        chain = parse_payloads(
            header.next_payload, datagram.payload[ISAKMP_HEADER_LENGTH : header.length], ISAKMP_HEADER_LENGTH
        )
        encrypted_at = next(
            (i for i, p in enumerate(chain.payloads) if p.type == IKEV2_ENCRYPTED_PAYLOAD), None
        )
        if encrypted_at is not None:
            # RFC 7296 3.14: what follows the SK payload's header is ciphertext; stop there.
            msg.payloads, msg.problems = chain.payloads[: encrypted_at + 1], []
            msg.encrypted, msg.protection = True, Protection.NO_KEYS
        else:
            msg.payloads, msg.problems = chain.payloads, list(chain.problems)
        sa.messages.append(msg)
        return msg

    @staticmethod
    def _collect_vendor_ids(sa: IkeSa, role: Role, msg: IkeMessage) -> None:
        for p in msg.payloads:
            if isinstance(p, VendorIdPayload):
                names = sa.vendor_ids.setdefault(role.value, [])
                if p.vendor_name not in names:
                    names.append(p.vendor_name)

    def _conclude(self, state: _SaState) -> None:
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


def _not_cbc_ciphertext(ciphertext: bytes, cipher_id: int) -> str | None:
    """Why ``ciphertext`` cannot be CBC ciphertext of this cipher whatever the key, or None."""
    try:
        block = ciphers.block_size(cipher_id)
    except UnsupportedAlgorithm:
        return None
    if not ciphertext:
        return "nothing follows the ISAKMP header"
    if len(ciphertext) % block:
        return f"the encrypted part is {len(ciphertext)} bytes, not a multiple of the {block}-byte block"
    return None


def _decoder_error_finding(frame: int, exc: Exception) -> Finding:
    return Finding(
        Severity.ERROR,
        "decoder-error",
        f"frame {frame}: ikedecode failed to decode this IKE message ({type(exc).__name__}); "
        "the rest of the capture was decoded",
        evidence={"frame": frame, "exception": type(exc).__name__},
        hint="a bug in ikedecode: please report it, with this frame if you can share it",
    )


def _bytes_after(payloads: list[Any], hash_payload: Any) -> bytes:
    """The raw payloads after the HASH payload, up to the end of the last payload (no padding)."""
    return b"".join(p.raw for p in payloads if p.offset >= hash_payload.end)


def exchange_name(exchange_type: int) -> str:
    """Short names for the IKEv1 exchanges ikedecode follows, registry names for the rest."""
    shape = SHAPES_BY_TYPE.get(exchange_type)
    return shape.name if shape else name(EXCHANGE_TYPES, exchange_type)
