"""Decrypting protected IKEv1 messages of one IKE SA (RFC 2409 section 5 and Appendix B).

Which key candidate is right is learnt from the first encrypted message: the candidate whose
plaintext is a sane payload chain is adopted for the SA. IV chains follow Appendix B and advance
on ciphertext, whether or not a message could be decrypted.
"""

from __future__ import annotations

from ikedecode.findings import finding
from ikedecode.ike import ciphers
from ikedecode.ike.ciphers import CIPHERS
from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.dh_work import DhPrivateSecrets
from ikedecode.ike.header import IsakmpHeader
from ikedecode.ike.records import DerivedKeys, IkeMessage, Protection
from ikedecode.ike.repeated import add_once
from ikedecode.ike.v1 import keyderiv
from ikedecode.ike.v1.phase1 import AuthFamily, ClearMaterial, KeyCandidate, build_candidates
from ikedecode.ike.v1.protection import Decryption, block_size_of, ciphertext_of, open_blocks, try_decrypt
from ikedecode.ike.v1.sa_state import PendingCandidates, SaState
from ikedecode.keys.keyring import KeyRing

# enum members as module names: ``Protection.DECRYPTED`` costs ten times as much to read (CPython 3.11)
DECRYPTED, NO_KEYS, UNDECRYPTABLE = Protection.DECRYPTED, Protection.NO_KEYS, Protection.UNDECRYPTABLE
PRESHARED = AuthFamily.PRESHARED
# ``ClearMaterial(...)``, ``PendingCandidates(...)`` as ``_tuple_new(ClearMaterial, (...))`` (every field
# given): a NamedTuple's own constructor is a Python function (and a functools.partial of
# tuple.__new__ costs about 15% more than calling it)
_tuple_new = tuple.__new__


class MessageDecryptor:
    def __init__(self, keyring: KeyRing, private_secrets: DhPrivateSecrets | None = None) -> None:
        self.keyring = keyring
        self.private_secrets = (
            private_secrets if private_secrets is not None else DhPrivateSecrets(keyring.dh_privates)
        )

    def ensure_candidates(self, state: SaState) -> None:
        """Once phase 1 has given the policy, both KE values and both nonces: ask for the SA's key
        candidates. g^xy from private values is computed ahead (``DhPrivateSecrets.anticipate``);
        the candidates are built when the first encrypted message needs them (``settle``)."""
        if state.candidates is not None or state.pending is not None or state.policy is None:
            return
        sa = state.sa
        g_xi, g_xr, ni_b, nr_b = state.g_xi, state.g_xr, state.ni_b, state.nr_b
        if g_xi is None or g_xr is None or ni_b is None or nr_b is None or sa.responder_cookie is None:
            return
        clear = _tuple_new(
            ClearMaterial,
            (
                sa.initiator_cookie,
                sa.responder_cookie,
                g_xi,
                g_xr,
                ni_b,
                nr_b,
                sa.initiator,
                sa.responder,
                tuple(sa.identities.values()),
            ),
        )
        try:
            key_length = ciphers.cipher_key_length(
                state.policy.encryption_algorithm, state.policy.key_length_bits
            )
            block = ciphers.block_size(state.policy.encryption_algorithm)
            iv = keyderiv.phase1_iv(state.policy.hash_algorithm, g_xi, g_xr, block)
            state.phase1_iv = state.initial_iv = iv
        except (UnsupportedAlgorithm, ValueError) as exc:
            state.candidates = []
            state.candidate_notes = [str(exc)]
            return
        state.pending = _tuple_new(PendingCandidates, (state.policy, clear, key_length, state.proven_psk))
        if self.keyring.dh_privates and state.policy.group is not None:
            self.private_secrets.anticipate(state.policy.group, clear.g_xi, clear.g_xr)

    def settle(self, state: SaState) -> None:
        """Build the candidates asked for by ``ensure_candidates`` (waits for g^xy computed elsewhere)."""
        pending = state.pending
        if pending is None:
            return
        state.pending = None
        try:
            state.candidates, state.candidate_notes = build_candidates(
                self.keyring,
                pending.policy,
                pending.clear,
                pending.key_length,
                psk_origin_filter=pending.psk_origin_filter,
                private_secrets=self.private_secrets,
            )
        except (UnsupportedAlgorithm, ValueError) as exc:
            state.candidates = []
            state.candidate_notes = [str(exc)]

    def _iv_for(self, state: SaState, header: IsakmpHeader) -> list[bytes]:
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

    def decrypt(
        self, state: SaState, header: IsakmpHeader, data: bytes, msg: IkeMessage
    ) -> Decryption | None:
        candidates = state.candidates
        if candidates is None:  # once built, neither call changes anything
            self.ensure_candidates(state)
            self.settle(state)
            candidates = state.candidates
        if not candidates:  # (candidates are built from a policy and the keys of a key ring)
            self._note_no_candidates(state, msg)
            return None
        policy = state.policy
        assert policy is not None
        sa = state.sa
        ciphertext = ciphertext_of(data, header.length)
        cipher_id = policy.encryption_algorithm
        cipher = CIPHERS.get(cipher_id) if type(cipher_id) is int else None
        if cipher is not None and ciphertext and not len(ciphertext) % cipher.block_size:
            broken = None  # whole blocks of a cipher we have: the usual case, checked here
        else:
            broken = _not_cbc_ciphertext(ciphertext, cipher_id)
        if broken:  # no key can open it: a damaged message, not a key problem
            msg.protection, msg.note = UNDECRYPTABLE, broken
            add_once(  # the same damage once per SA
                sa.findings,
                finding(
                    "malformed-message",
                    f"{msg.label} from {msg.sender} cannot be decrypted by any key: {broken}",
                    {"frame": msg.frame, "label": msg.label},
                ),
                broken,
            )
            return None
        selected = state.selected
        if selected is not None and cipher is not None:  # the adopted keys, the exchange's IV
            chained = self._chained(state, selected, header, ciphertext, cipher.block_size)
            if chained is not None:
                if header.message_id == 0:  # CBC chaining (RFC 2409 Appendix B), as _advance_iv
                    state.phase1_iv = chained.last_block
                else:
                    state.exchange_ivs[header.message_id] = chained.last_block
                msg.protection = DECRYPTED  # (with ``selected``: no ``message_keys`` entry)
                return chained
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
            msg.protection = DECRYPTED
            return result
        msg.protection = UNDECRYPTABLE
        if state.selected is not None:
            msg.note = f"does not decrypt with the keys that decrypted earlier messages: {last_reason}"
        else:
            msg.note = f"does not decrypt with any of {len(candidates)} key candidate(s): {last_reason}"
            self._report_key_failure(state, msg)
        return None

    def _note_no_candidates(self, state: SaState, msg: IkeMessage) -> None:
        """Why an encrypted message has no key candidate, the first that applies: no keys given,
        phase 1 not seen, no usable key material (and what it needs)."""
        if self.keyring.empty:
            msg.protection, msg.note = NO_KEYS, "encrypted: no keys given"
            return
        policy, candidates = state.policy, state.candidates
        if policy is None or candidates is None:
            msg.protection = UNDECRYPTABLE
            msg.note = "encrypted, but phase 1 (SA, KE and nonces) was not seen in the capture"
            return
        sa = state.sa
        msg.protection = NO_KEYS
        notes = "; ".join(state.candidate_notes)
        msg.note = "no usable key material for this SA" + (f" ({notes})" if notes else "")
        if policy.auth_family is PRESHARED and not self.keyring.psks_for(
            (sa.initiator, sa.responder), tuple(sa.identities.values())
        ):
            msg.note += ": needs a preshared key"
        elif not (self.keyring.dh_secrets or self.keyring.dh_privates):
            msg.note += ": needs the DH secret (--dh-secret or --dh-private) or the IKE keys"

    def _chained(
        self, state: SaState, selected: KeyCandidate, header: IsakmpHeader, ciphertext: bytes, block: int
    ) -> Decryption | None:
        """The usual case, and the first pair ``_first_decryption`` tries: the adopted keys with the
        IV the exchange chains on (phase 1's; the exchange's after its first message; for the first
        message of a new exchange hash(last phase-1 block | M-ID), RFC 2409 Appendix B), before
        the fallback IVs are computed. ``ciphertext`` is whole blocks of ``block`` bytes."""
        policy, phase1_iv = state.policy, state.phase1_iv
        if policy is None or phase1_iv is None or state.initial_iv is None:
            return None
        mid = header.message_id
        iv: bytes | None = phase1_iv if mid == 0 else state.exchange_ivs.get(mid)
        if iv is None:  # the first IV ``_iv_for`` gives a new exchange
            iv = keyderiv.exchange_iv(policy.hash_algorithm, phase1_iv, mid, len(phase1_iv))
        result = open_blocks(
            policy.encryption_algorithm, selected.encryption_key, iv, ciphertext, header.next_payload, block
        )
        return result if type(result) is Decryption else None

    def _first_decryption(
        self, state: SaState, header: IsakmpHeader, ciphertext: bytes, ivs: list[bytes]
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

    def _report_other_key(self, state: SaState, msg: IkeMessage, candidate: KeyCandidate) -> None:
        """A message that decrypts only with another candidate: the two peers hold different keys."""
        adopted = state.selected
        assert adopted is not None
        msg.note = (
            f"decrypts only with {candidate.describe()}, not with the keys of the first encrypted message"
        )
        if candidate.psk_origin != adopted.psk_origin and not state.other_key_reported:
            state.other_key_reported = True
            state.sa.findings.append(
                finding(
                    "psk-mismatch",
                    f"the peers use different preshared keys: {msg.label} from {msg.sender} decrypts with "
                    f"{candidate.psk_origin}, earlier messages with {adopted.psk_origin}",
                    {"cookies": state.sa.cookies, "frame": msg.frame, "label": msg.label},
                )
            )

    def _advance_iv(self, state: SaState, header: IsakmpHeader, ciphertext: bytes) -> None:
        """CBC chaining (RFC 2409 Appendix B): the next IV is this message's last ciphertext block,
        whether or not we could decrypt it."""
        if state.phase1_iv is None or not ciphertext or len(ciphertext) % len(state.phase1_iv):
            return
        last_block = ciphertext[-len(state.phase1_iv) :]
        if header.message_id == 0:
            state.phase1_iv = last_block
        else:
            state.exchange_ivs[header.message_id] = last_block

    def _adopt_keys(self, state: SaState, c: KeyCandidate) -> None:
        state.sa.keys = DerivedKeys(  # (every field, in the record's order: no keyword dict)
            c.skeyid,
            c.skeyid_d,
            c.skeyid_a,
            c.skeyid_e,
            c.encryption_key,
            c.dh_secret,
            c.psk_origin,
            c.dh_origin,
            c.key_origin,
        )

    def _report_key_failure(self, state: SaState, msg: IkeMessage) -> None:
        if state.key_failure_reported:
            return
        state.key_failure_reported = True
        sa = state.sa
        assert state.policy is not None and state.candidates is not None
        psk_mode = state.policy.auth_family is PRESHARED
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
                finding(
                    "psk-mismatch",
                    f"{msg.label} does not decrypt although the DH secret matches the KE payloads: "
                    "the preshared key is wrong",
                    evidence,
                )
            )
        elif psk_mode and state.proven_psk:
            sa.findings.append(
                finding(
                    "wrong-keys",
                    f"{msg.label} does not decrypt: the PSK verified HASH_R, so the DH secret is wrong",
                    evidence,
                )
            )
        else:
            what = (
                "the preshared key or the DH secret is wrong"
                if psk_mode
                else "the DH secret or keys are wrong"
            )
            sa.findings.append(
                finding(
                    "wrong-keys",
                    f"{msg.label} cannot be decrypted with the keys given: {what}",
                    evidence,
                )
            )


def _not_cbc_ciphertext(ciphertext: bytes, cipher_id: int) -> str | None:
    """Why ``ciphertext`` cannot be CBC ciphertext of this cipher whatever the key, or None."""
    block = block_size_of(cipher_id)
    if isinstance(block, str):  # not a cipher this module knows: the decryption attempt says so
        return None
    if not ciphertext:
        return "nothing follows the ISAKMP header"
    if len(ciphertext) % block:
        return f"the encrypted part is {len(ciphertext)} bytes, not a multiple of the {block}-byte block"
    return None
