"""Quick mode, informational and transaction messages, grouped by message ID into exchanges.

Each message is folded into its exchange's summary and its hash checked (RFC 2409 5.5, 5.7,
draft-dukes-ike-mode-cfg 3.2); the exchange table says which hash, when the exchange is complete and
after which verified message the IPsec SAs can be keyed (``IpsecSaKeyed`` events). At most
``max_per_sa`` exchanges are kept per IKE SA: beyond, the oldest is dropped with its per-message-ID
state, counted in one ``state-cap`` finding of that SA (docs/limits.md).
"""

from __future__ import annotations

from ikedecode.findings import finding
from ikedecode.ike.dh_work import DhPrivateSecrets
from ikedecode.ike.events import IkeEvent, IpsecSaKeyed
from ikedecode.ike.records import IkeMessage, Phase2Exchange, Protection
from ikedecode.ike.v1 import phase2
from ikedecode.ike.v1.authentication import HashVerifier
from ikedecode.ike.v1.child_sa import QuickModeMaterial, child_sa_keys
from ikedecode.ike.v1.exchanges import (
    INFORMATIONAL,
    QUICK_MODE,
    SHAPES_BY_TYPE,
    TRANSACTION,
    UNSHAPED_PHASE2_HASH,
    Role,
    Step,
)
from ikedecode.ike.v1.sa_state import SaState
from ikedecode.keys.keyring import KeyRing

# Phase-2 exchanges (quick mode, informational, transaction) kept per IKE SA: a day of DPD every
# 10 s is 8640 informational exchanges; beyond the cap the oldest is dropped (docs/limits.md).
DEFAULT_MAX_PHASE2_PER_SA = 10_000
UNSEEN = (Protection.NO_KEYS, Protection.UNDECRYPTABLE)  # an encrypted message whose content is unknown
READABLE = (Protection.DECRYPTED, Protection.CLEAR)  # a message whose hash can be checked
VERIFIED = Protection.VERIFIED


class Phase2Messages:
    def __init__(
        self,
        keyring: KeyRing,
        private_secrets: DhPrivateSecrets,
        verifier: HashVerifier,
        max_per_sa: int = DEFAULT_MAX_PHASE2_PER_SA,
    ) -> None:
        self.keyring = keyring
        self.max_per_sa = max_per_sa
        self._private_secrets = private_secrets
        self._verifier = verifier

    def message(
        self,
        state: SaState,
        msg: IkeMessage,
        step: Step | None,
        out: list[IkeEvent],
        plaintext: bytes | None = None,
    ) -> None:
        """Fold one (first copy of a) phase-2 message into its exchange; IPsec SAs keyed go to ``out``.
        ``plaintext``: what the message decrypted to, if it was decrypted (its payloads' bytes)."""
        sa = state.sa
        ex = sa.phase2.get(msg.message_id)
        if ex is None:
            if len(sa.phase2) >= self.max_per_sa:
                self._drop_oldest(state)
            ex = sa.phase2[msg.message_id] = Phase2Exchange(msg.message_id, msg.exchange, msg.exchange_type)
        ex.frames.append(msg.frame)
        ex.labels.append(msg.label)
        if msg.encrypted:
            ok = msg.protection not in UNSEEN
            ex.decrypted = ok if ex.decrypted in (None, True) else False
        exchange_type = msg.exchange_type
        if exchange_type == QUICK_MODE.exchange_type and msg.payloads:
            self._quick_mode(state, msg).absorb(msg.label, msg.payloads)
        if msg.protection in READABLE:
            check = step.hash_check if step else UNSHAPED_PHASE2_HASH
            self._verifier.verify_phase2_hash(state, msg, check, plaintext)
        if msg.hash_verified is not None:
            ex.hashes_verified = msg.hash_verified if ex.hashes_verified in (None, True) else False
        if step is not None and step.completes:
            ex.complete = True
        if exchange_type == QUICK_MODE.exchange_type:
            phase2.summarize_quick_mode_message(ex.summary, msg.label, msg.payloads)
            if step is not None and step.keys_ipsec_sas and msg.protection is VERIFIED:
                self._key_ipsec_sas(state, msg, ex, out)
        elif exchange_type == INFORMATIONAL.exchange_type:
            phase2.summarize_informational(ex.summary, msg.payloads)
        elif exchange_type == TRANSACTION.exchange_type:
            phase2.summarize_transaction(ex.summary, msg.payloads)
        shape = SHAPES_BY_TYPE.get(exchange_type)
        if shape is not None and shape.distinct_messages_to_complete is not None:
            ex.complete = (
                len(set(ex.frames)) >= shape.distinct_messages_to_complete and not msg.retransmission
            )

    def _drop_oldest(self, state: SaState) -> None:
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
                "state-cap-phase2", "", {"cookies": sa.cookies, "cap": self.max_per_sa, "dropped": 0}
            )
            sa.findings.append(cap)
        cap.evidence["dropped"] += 1
        cap.message = (
            f"more than {self.max_per_sa} phase-2 exchanges in this IKE SA: the oldest "
            f"{cap.evidence['dropped']} dropped from the report"
        )

    @staticmethod
    def _quick_mode(state: SaState, msg: IkeMessage) -> QuickModeMaterial:
        qm = state.quick_modes.get(msg.message_id)
        if qm is None:
            opener = state.qm_initiator.get(msg.message_id, msg.sender)
            other = msg.receiver if opener == msg.sender else msg.sender
            qm = state.quick_modes[msg.message_id] = QuickModeMaterial(msg.message_id, opener, other)
        return qm

    def _key_ipsec_sas(
        self, state: SaState, msg: IkeMessage, ex: Phase2Exchange, out: list[IkeEvent]
    ) -> None:
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
        out.extend(map(IpsecSaKeyed, children))
