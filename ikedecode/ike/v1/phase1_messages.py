"""What a main or aggressive mode message teaches its IKE SA (RFC 2409 section 5).

The clear payloads feed the key schedule (the initiator's SA payload, the responder's chosen
transform, KE, NONCE, ID); the exchange table says which state the SA reaches, whether the message
establishes it and which hash it carries to check.
"""

from __future__ import annotations

from collections.abc import Sequence

from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.records import IkeMessage, Protection
from ikedecode.ike.registries import AUTHENTICATION_METHODS, name
from ikedecode.ike.v1.attributes import Attribute
from ikedecode.ike.v1.authentication import HashVerifier
from ikedecode.ike.v1.decryption import MessageDecryptor
from ikedecode.ike.v1.exchanges import STATE_AFTER, HashCheck, Role, Step
from ikedecode.ike.v1.payloads import IdPayload, KePayload, NoncePayload, SaPayload, Transform
from ikedecode.ike.v1.phase1 import Phase1Policy
from ikedecode.ike.v1.sa_state import SaState

# enum members as module names: ``Role.INITIATOR`` costs ten times as much to read (CPython 3.11)
INITIATOR, RESPONDER = Role.INITIATOR, Role.RESPONDER
ROLE_TEXT = {role: role.value for role in Role}  # ``IkeSa.identities`` keys: plain text
CLEAR_HASH_R, SENDER_PHASE1 = HashCheck.CLEAR_HASH_R, HashCheck.SENDER_PHASE1
READABLE = (Protection.DECRYPTED, Protection.CLEAR)  # a message whose hash can be checked
_MAX_REMEMBERED_POLICIES = 1024  # distinct accepted transforms whose policy is kept
_REMEMBERED_POLICIES: dict[tuple[tuple[int, int | bytes], ...], Phase1Policy] = {}
# id of an attribute tuple -> (that tuple, its policy): the transforms decoded from the same bytes
# share one tuple of attribute records (``payloads.sa``), so most SAs find their policy by it
# without making the key above (the entry keeps the tuple alive, so the id stays its own)
_POLICIES_BY_RECORDS: dict[int, tuple[Sequence[Attribute], Phase1Policy | None]] = {}


def policy_of(transform: Transform) -> Phase1Policy | None:
    """The key schedule's policy of an accepted phase-1 transform (RFC 2409 Appendix A attributes),
    remembered by the attributes' types and values: the SAs of a capture accept the same few
    transforms, and a ``Phase1Policy`` is frozen, so SAs share it."""
    attributes = transform.attributes
    shared = _POLICIES_BY_RECORDS.get(id(attributes))
    if shared is not None and shared[0] is attributes:
        return shared[1]
    key = tuple([(attribute.type, attribute.value) for attribute in attributes])
    known = _REMEMBERED_POLICIES.get(key)
    if known is None:
        known = Phase1Policy.from_attributes(dict(key))
        if known is not None and len(_REMEMBERED_POLICIES) < _MAX_REMEMBERED_POLICIES:
            _REMEMBERED_POLICIES[key] = known
    if type(attributes) is tuple and len(_POLICIES_BY_RECORDS) < _MAX_REMEMBERED_POLICIES:
        _POLICIES_BY_RECORDS[id(attributes)] = (attributes, known)
    return known


class Phase1Messages:
    def __init__(self, verifier: HashVerifier, decryptor: MessageDecryptor) -> None:
        self._verifier = verifier
        self._decryptor = decryptor

    def message(self, state: SaState, msg: IkeMessage, role: Role, step: Step | None) -> None:
        """Fold one (first copy of a) phase-1 message into its SA and check its hash."""
        sa = state.sa
        after = STATE_AFTER.get(msg.label)
        if after is not None:
            sa.state = after
        for p in msg.payloads:  # (by exact type: no payload record has subclasses; one call a payload)
            kind = type(p)
            if kind is SaPayload:
                if role is INITIATOR and state.sai_b is None:
                    state.sai_b = p.body
                    sa.offered = p.transforms  # (a list of its own, made by the property)
                elif role is RESPONDER and state.candidates is None and state.pending is None:
                    # once the keys are asked for, the policy is fixed
                    chosen = p.transforms
                    if chosen:
                        state.policy = policy_of(chosen[0])
                        sa.chosen = chosen[0]
                        if state.policy is not None:
                            sa.auth_method = name(AUTHENTICATION_METHODS, state.policy.auth_method)
            elif kind is KePayload:
                if role is INITIATOR:
                    state.g_xi = p.data
                else:
                    state.g_xr = p.data
            elif kind is NoncePayload:
                if role is INITIATOR:
                    state.ni_b = p.data
                else:
                    state.nr_b = p.data
            elif kind is IdPayload:
                sa.identities[ROLE_TEXT[role]] = p.text
                if role is INITIATOR:
                    state.idii_b = p.body
                else:
                    state.idir_b = p.body
        check = step.hash_check if step is not None else None
        if step is not None and step.completes:
            sa.established = True
        if check is CLEAR_HASH_R:
            try:
                self._verifier.verify_aggressive_hash_r(state, msg)
            except UnsupportedAlgorithm as exc:  # the accepted transform names a hash nobody knows
                msg.note = f"HASH_R not checked: {exc}"
        elif check is SENDER_PHASE1 and msg.protection in READABLE:
            self._verifier.verify_phase1_hash(state, msg, role)
        if state.candidates is None:  # (once built, asking again changes nothing: MM5, MM6)
            self._decryptor.ensure_candidates(state)
