"""Checking the hashes that authenticate IKEv1 messages.

Phase 1: HASH_I / HASH_R (RFC 2409 section 5), aggressive mode's clear-text HASH_R with only a
PSK. Phase 2: quick mode HASH(1..3) (RFC 2409 5.5), informational HASH(1) (5.7) and transaction
hashes (draft-dukes-ike-mode-cfg 3.2).
"""

from __future__ import annotations

from typing import Any

from ikedecode.findings import finding
from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.records import IkeMessage, Protection
from ikedecode.ike.v1 import authhash, keyderiv
from ikedecode.ike.v1.exchanges import PHASE1_EXCHANGES, HashCheck, Role
from ikedecode.ike.v1.payloads import HashPayload
from ikedecode.ike.v1.phase1 import AuthFamily
from ikedecode.ike.v1.sa_state import SaState
from ikedecode.ike.v1.sig_auth import check_signer_chain, verify_phase1_signature
from ikedecode.keys.keyring import KeyRing

# enum members as module names: ``Role.INITIATOR`` costs ten times as much to read (CPython 3.11)
INITIATOR, RESPONDER = Role.INITIATOR, Role.RESPONDER
PRESHARED, SIGNATURE = AuthFamily.PRESHARED, AuthFamily.SIGNATURE
CLEAR, DECRYPTED = Protection.CLEAR, Protection.DECRYPTED
VERIFIED, HASH_MISMATCH = Protection.VERIFIED, Protection.HASH_MISMATCH
QM_HASH1, QM_HASH2, QM_HASH3 = HashCheck.QM_HASH1, HashCheck.QM_HASH2, HashCheck.QM_HASH3


class HashVerifier:
    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    def verify_phase1_hash(self, state: SaState, msg: IkeMessage, role: Role) -> None:
        """HASH_I / HASH_R (RFC 2409 section 5)."""
        sa = state.sa
        hash_payload = None  # the first HASH payload
        for p in msg.payloads:
            if type(p) is HashPayload:  # (no payload record has subclasses)
                hash_payload = p
                break
        hash_name = "HASH_I" if role is INITIATOR else "HASH_R"
        msg.hash_name = hash_name
        if hash_payload is None and state.policy is not None and state.policy.auth_family is SIGNATURE:
            keys = state.message_keys.get(msg.frame, state.selected)
            if verify_phase1_signature(state, msg, role, keys.skeyid if keys else None):
                check_signer_chain(state, msg, self.keyring.trusted_certificates)
                return
        if hash_payload is None:
            msg.note = msg.note or f"carries no {hash_name} (signature or other authentication)"
            return
        if state.policy is None:
            return
        keys = state.message_keys.get(msg.frame, state.selected)
        skeyid = keys.skeyid if keys else None
        if skeyid is None and state.policy.auth_family is PRESHARED and msg.protection is CLEAR:
            skeyid = self._proven_skeyid(state)
        g_xi, g_xr, sai_b, responder_cookie = state.g_xi, state.g_xr, state.sai_b, sa.responder_cookie
        if skeyid is None or g_xi is None or g_xr is None or sai_b is None or responder_cookie is None:
            msg.note = msg.note or f"{hash_name} not checked: SKEYID unknown (give the PSK or DH secret)"
            return
        id_b = state.idii_b if role is INITIATOR else state.idir_b
        if id_b is None:
            return
        hash_of = authhash.hash_i if role is INITIATOR else authhash.hash_r  # RFC 2409 5
        cky_i, hash_id = sa.initiator_cookie, state.policy.hash_algorithm  # (no *args: a direct call)
        expected = hash_of(hash_id, skeyid, g_xi, g_xr, cky_i, responder_cookie, sai_b, id_b)
        ok = expected == hash_payload.data
        self._record_phase1_hash(state, msg, hash_name, ok)

    def _record_phase1_hash(self, state: SaState, msg: IkeMessage, hash_name: str, ok: bool) -> None:
        sa = state.sa
        msg.hash_verified = ok
        if msg.protection is DECRYPTED:
            msg.protection = VERIFIED if ok else HASH_MISMATCH
        if not ok:
            sa.authenticated = False
            origin = (state.selected.psk_origin if state.selected else None) or "the given PSK"
            msg.note = f"{hash_name} does not verify with this PSK ({origin})"
            sa.findings.append(
                finding(
                    "psk-mismatch",
                    f"{hash_name} in {msg.label} does not verify with {origin}",
                    {"cookies": sa.cookies, "frame": msg.frame, "label": msg.label},
                )
            )

    def recheck_signatures(self, state: SaState) -> None:
        """At the end: SIG payloads checked before SKEYID was known (aggressive mode's clear SIG_R)
        are checked again with the keys that decrypted the SA."""
        if state.policy is None or state.policy.auth_family is not SIGNATURE:
            return
        skeyid = state.selected.skeyid if state.selected else None
        if skeyid is None:
            return
        for msg in state.sa.messages:
            if msg.retransmission or msg.hash_verified is not None or msg.exchange not in PHASE1_EXCHANGES:
                continue
            role = INITIATOR if msg.sender == state.sa.initiator else RESPONDER
            verify_phase1_signature(state, msg, role, skeyid)

    def _proven_skeyid(self, state: SaState) -> bytes | None:
        if state.proven_psk is None or state.policy is None or state.ni_b is None or state.nr_b is None:
            return None
        for k in self.keyring.psks:
            if k.origin == state.proven_psk:
                hash_id = state.policy.hash_algorithm
                return keyderiv.skeyid_preshared(hash_id, k.secret, state.ni_b, state.nr_b)
        return None

    def verify_aggressive_hash_r(self, state: SaState, msg: IkeMessage) -> None:
        """Aggressive mode: HASH_R is in clear text; with a PSK, SKEYID needs no DH secret."""
        sa = state.sa
        msg.hash_name = "HASH_R"
        hashes = [p for p in msg.payloads if isinstance(p, HashPayload)]
        if state.policy is not None and state.policy.auth_family is SIGNATURE:
            # SIG_R in clear; SKEYID needs g^xy, known once the candidates are built (recheck_signatures)
            skeyid = state.selected.skeyid if state.selected else None
            verify_phase1_signature(state, msg, RESPONDER, skeyid)
            check_signer_chain(state, msg, self.keyring.trusted_certificates)
            return
        if not hashes or state.policy is None or state.policy.auth_family is not PRESHARED:
            return
        g_xi, g_xr, ni_b, nr_b, sai_b, idir_b = (
            state.g_xi,
            state.g_xr,
            state.ni_b,
            state.nr_b,
            state.sai_b,
            state.idir_b,
        )
        responder_cookie = sa.responder_cookie
        if (
            g_xi is None
            or g_xr is None
            or ni_b is None
            or nr_b is None
            or sai_b is None
            or idir_b is None
            or responder_cookie is None
        ):
            msg.note = "HASH_R not checked: AM1 or part of AM2 missing"
            return
        psks = self.keyring.psks_for((sa.initiator, sa.responder), tuple(sa.identities.values()))
        if not psks:
            if not self._verify_hash_r_with_given_skeyid(state, msg, hashes[0].data):
                msg.note = "HASH_R not checked: no preshared key given"
            return
        for k in psks:
            hash_id = state.policy.hash_algorithm
            skeyid = keyderiv.skeyid_preshared(hash_id, k.secret, ni_b, nr_b)
            cookies = (sa.initiator_cookie, responder_cookie)
            expected = authhash.hash_r(hash_id, skeyid, g_xi, g_xr, *cookies, sai_b, idir_b)
            if expected == hashes[0].data:
                state.proven_psk = k.origin
                msg.hash_verified = True
                msg.note = f"HASH_R verifies with {k.origin}"
                return
        msg.hash_verified = False
        sa.authenticated = False
        msg.note = f"HASH_R does not verify with the {len(psks)} preshared key(s) given"
        sa.findings.append(
            finding(
                "psk-mismatch",
                f"HASH_R in AM2 does not verify with the {len(psks)} PSK(s) given",
                {"cookies": sa.cookies, "frame": msg.frame, "psks": [k.origin for k in psks]},
            )
        )

    def _verify_hash_r_with_given_skeyid(self, state: SaState, msg: IkeMessage, hash_r: bytes) -> bool:
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

    def verify_phase2_hash(
        self, state: SaState, msg: IkeMessage, check: HashCheck | None, plaintext: bytes | None = None
    ) -> None:
        """HASH(1), HASH(2), HASH(3) of quick mode (RFC 2409 5.5); HASH(1) of informational
        exchanges (RFC 2409 5.7) and of transaction exchanges (draft-dukes-ike-mode-cfg 3.2):
        ``check``, from the exchange table, says which. ``plaintext``: what the message decrypted
        to (the chain ``msg.payloads`` was decoded from), if it was decrypted."""
        if not msg.payloads or not isinstance(msg.payloads[0], HashPayload):
            return
        hash_payload = msg.payloads[0]
        keys = state.message_keys.get(msg.frame, state.selected)
        if keys is None or keys.skeyid_a is None or state.policy is None:
            msg.note = msg.note or "hash not checked: SKEYID_a unknown (keys given directly without SKEYIDs)"
            return
        hash_id, skeyid_a, mid = state.policy.hash_algorithm, keys.skeyid_a, msg.message_id
        if check is QM_HASH1:
            rest = _bytes_after(msg.payloads, hash_payload, plaintext)
            hash_name, expected = "HASH(1)", authhash.qm_hash1(hash_id, skeyid_a, mid, rest)
        elif check is QM_HASH2:
            qm = state.quick_modes.get(mid)
            if qm is None or qm.ni_b is None:
                return
            rest = _bytes_after(msg.payloads, hash_payload, plaintext)
            hash_name, expected = "HASH(2)", authhash.qm_hash2(hash_id, skeyid_a, mid, qm.ni_b, rest)
        elif check is QM_HASH3:  # covers the nonces, not the message's payloads
            qm = state.quick_modes.get(mid)
            if qm is None or qm.ni_b is None or qm.nr_b is None:
                return
            hash_name, expected = (
                "HASH(3)",
                authhash.qm_hash3(hash_id, skeyid_a, mid, qm.ni_b, qm.nr_b),
            )
        else:
            rest = _bytes_after(msg.payloads, hash_payload, plaintext)
            hash_name, expected = "HASH(1)", authhash.informational_hash(hash_id, skeyid_a, mid, rest)
        msg.hash_name = hash_name
        msg.hash_verified = expected == hash_payload.data
        if msg.protection is DECRYPTED:
            msg.protection = VERIFIED if msg.hash_verified else HASH_MISMATCH
        if not msg.hash_verified:
            msg.note = f"{hash_name} does not verify with SKEYID_a"
            state.sa.findings.append(
                finding(
                    "hash-mismatch",
                    f"{hash_name} of {msg.label} (message ID 0x{mid:08x}) does not verify",
                    {"cookies": state.sa.cookies, "frame": msg.frame, "label": msg.label},
                )
            )


def _bytes_after(payloads: list[Any], hash_payload: Any, plaintext: bytes | None = None) -> bytes:
    """The raw payloads after the HASH payload, up to the end of the last payload (no padding):
    of a decrypted chain (the HASH payload first), one slice of its plaintext."""
    start = hash_payload.end
    if plaintext is not None and payloads[0] is hash_payload:  # (offsets count from the ISAKMP header)
        return plaintext[start - HEADER_LENGTH : payloads[-1].end - HEADER_LENGTH]
    return b"".join([p.raw for p in payloads if p.offset >= start])
