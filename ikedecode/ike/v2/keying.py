"""IKEv2 keys for the engine: candidates from the key ring, opening SK / SKF payloads, IKE SA
rekeys and Child SA key material (RFC 7296 2.14, 2.17, 2.18, 3.14; RFC 7383).

Candidates for one IKE SA, tried in this order on its first encrypted message; the first whose
ICV (or AEAD tag) verifies is adopted for the rest of the SA:

1. SK_* keys given directly (Wireshark's ikev2_decryption_table, charon logs) for the SA's SPIs;
2. g^ir from ``--dh-secret`` (scoped by initiator SPI, as IKEv1 scopes by initiator cookie);
3. g^ir computed from ``--dh-private`` against the peer's KE payload (``ike/dh_work.py``);
4. for an SA made by a rekey, the keys derived from the old SA's SK_d and the rekey's g^ir.

The cryptography itself (PRFs, SKEYSEED, SK payload opening) is ``keymat`` / ``protection``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ikedecode.findings import Finding, finding
from ikedecode.ike.crypto_errors import IkeCryptoError
from ikedecode.ike.dh_work import DhPrivateSecrets, DhProvider
from ikedecode.ike.records import IkeMessage, Protection
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2 import intermediate, keymat, stages
from ikedecode.ike.v2.candidates import ENCRYPTION_IDS, INTEGRITY_IDS, KeyCandidate, from_material  # noqa: F401
from ikedecode.ike.v2.child_sa import Ikev2ChildSaKeys
from ikedecode.ike.v2.payloads import (
    Ikev2KePayload,
    Ikev2NoncePayload,
    Ikev2Payload,
    Ikev2Proposal,
    parse_ikev2_payloads,
)
from ikedecode.ike.v2.payloads.decode import walk_ikev2_chain
from ikedecode.ike.v2.protection import OpenedPayload, OpenFailure, open_encrypted, reassemble_fragments
from ikedecode.ike.v2.sa_state import ExchangeState, Ikev2SaState
from ikedecode.ike.v2.transforms import encr_keymat_size, integ_params
from ikedecode.keys.keyring import KeyRing

# module names for the enum members the engine reads per message (an enum member read costs ~1k
# instructions on Python 3.11, a module name ~0.1k)
_VERIFIED, _DECRYPTED = Protection.VERIFIED, Protection.DECRYPTED
_NO_KEYS, _UNDECRYPTABLE = Protection.NO_KEYS, Protection.UNDECRYPTABLE
_ICV_MISMATCH = OpenFailure.ICV_MISMATCH


@dataclass(slots=True)
class Fragments:
    opened: list[OpenedPayload] = field(default_factory=list)
    header: bytes = b""  # fragment 1's bytes up to its SKF payload (RFC 9242 IntAuth of the whole)


class Ikev2Keying:
    def __init__(self, keyring: KeyRing, dh_provider: DhProvider | None = None) -> None:
        self.keyring = keyring
        self.private_secrets = DhPrivateSecrets(keyring.dh_privates, dh_provider)

    # -- candidates ----------------------------------------------------------------------------

    def candidates(self, state: Ikev2SaState) -> list[KeyCandidate]:
        """The SA's key candidates so far (they grow once IKE_SA_INIT is complete)."""
        if state.key_candidates is None:
            state.key_candidates = []
        out = state.key_candidates
        if not state.direct_keys_added and state.spi_r is not None:
            state.direct_keys_added = True
            for material in self.keyring.ikev2_keys_for(state.spi_i, state.spi_r):
                candidate = from_material(material, state.chosen)
                if candidate is not None:
                    out.append(candidate)
        complete = state.chosen is not None and state.nonce_i and state.nonce_r and state.init_response
        if not state.candidates_complete and complete and state.spi_r is not None:
            state.candidates_complete = True
            assert state.chosen is not None and state.nonce_i is not None and state.nonce_r is not None
            for secret, origin in self._secrets(state):
                try:
                    prf_id, encr_id, key_bits, integ_id = _transforms(state.chosen)
                    keys = keymat.derive_ike_sa_keys(
                        secret, state.nonce_i, state.nonce_r, state.spi_i, state.spi_r,
                        prf_id=prf_id, encr_id=encr_id, encr_key_bits=key_bits, integ_id=integ_id,
                    )  # fmt: skip
                except (IkeCryptoError, ValueError) as exc:
                    state.key_notes.append(f"{origin}: {exc}")
                    continue
                out.append(KeyCandidate(keys, origin, secret, origin))
        return out

    def _secrets(self, state: Ikev2SaState) -> list[tuple[bytes, str]]:
        out = [
            (s.value, s.origin)
            for s in self.keyring.dh_secrets_for(state.spi_i)
            if s.message_id is None and s.stage == 0
        ]
        if state.ke_i and state.ke_r and state.ke_group in stages.ML_KEM and self.keyring.dh_privates:
            # ML-KEM as IKE_SA_INIT's own key exchange: the initiator's seed opens the ciphertext
            found = intermediate.stage_secrets(
                self, state, -1, _Ke(state.ke_group, state.ke_i), _Ke(0, state.ke_r)
            )
            return out + found
        if state.ke_i and state.ke_r and state.ke_group is not None and self.private_secrets.privates:
            for outcome in self.private_secrets.outcomes(state.ke_group, state.ke_i, state.ke_r):
                if outcome.secret is not None:
                    out.append((outcome.secret, outcome.private.origin))
                elif outcome.failure:
                    state.key_notes.append(f"{outcome.private.origin}: {outcome.failure}")
        return out

    # -- SK / SKF ----------------------------------------------------------------------------

    def open(
        self,
        state: Ikev2SaState,
        message: bytes,
        protected: Ikev2Payload,
        from_initiator: bool,
        msg: IkeMessage,
        exchange: ExchangeState,
    ) -> list[Ikev2Payload] | None:
        """The inner payloads of the message's SK payload (or of the fragmented message, once its
        last SKF fragment is in), or None; sets the message's protection, ICV result and note."""
        fragment = protected.type == reg.PT_SKF
        candidates = [state.keys] if state.keys is not None else self.candidates(state)
        if not candidates:
            why = intermediate.missing_note(state) if state.stage_missing is not None else "no keys"
            msg.protection = _NO_KEYS
            msg.add_note(why)
            return None
        opened: OpenedPayload | None = None
        offset = protected.offset
        for candidate in candidates:  # _open_with's steps, written out: one call per message fewer
            keys = candidate.keys  # the sender's SK_e / SK_a (RFC 7296 2.14)
            sk_e, sk_a = (keys.sk_ei, keys.sk_ai) if from_initiator else (keys.sk_er, keys.sk_ar)
            result = open_encrypted(message, offset, fragment, keys.encr_id, sk_e, keys.integ_id, sk_a)
            if result.failure is None or result.integrity_verified:
                opened = result
                if state.keys is None:
                    self._adopt(state, candidate)
                break
            opened = opened or result
        assert opened is not None
        if not (opened.failure is None or opened.integrity_verified) and not fragment:
            unchecked = self._open_unchecked(state, message, protected, from_initiator, candidates)
            if unchecked is not None:
                msg.protection, msg.integrity_verified = _DECRYPTED, False
                msg.add_note("ICV does not verify: decrypted unchecked, as tcpdump -E does")
                return unchecked[1]
        if not (opened.failure is None or opened.integrity_verified):
            msg.protection, msg.integrity_verified = _UNDECRYPTABLE, False
            msg.add_note(f"cannot open: {opened.detail}")
            if opened.failure is _ICV_MISMATCH and not state.wrong_keys_reported:
                state.wrong_keys_reported = True
                state.sa.findings.append(_wrong_keys(state, msg, len(candidates)))
            return None
        msg.protection = _VERIFIED if opened.integrity_verified else _DECRYPTED
        msg.integrity_verified = opened.integrity_verified
        msg.hash_name = "ICV"
        msg.key_stage = state.keys.stage if state.keys is not None else None
        if opened.failure is not None:  # verified, but the padding is beyond the plaintext: noise, as below
            return self._judged(state, msg, [], [opened.detail], opened.integrity_verified)
        base = protected.offset + (8 if fragment else 4) + len(opened.iv)
        if fragment:
            return self._fragment(state, msg, exchange, opened, message[: protected.offset], from_initiator)
        if msg.exchange_type == reg.IKE_INTERMEDIATE:  # RFC 9242 3.3.2, keys of the sender's stage
            state.intermediate_frames.append(msg.frame)
            intermediate.int_auth(state, from_initiator, message, protected.offset, opened.plaintext)
        inner: list[Ikev2Payload] = []
        problems: list[str] = []
        walk_ikev2_chain(inner, problems, opened.next_payload, opened.plaintext, base, True)
        if not problems:  # a sound chain: _judged's answer without the call
            return inner
        return self._judged(state, msg, inner, problems, opened.integrity_verified)

    @staticmethod
    def _judged(
        state: Ikev2SaState,
        msg: IkeMessage,
        payloads: list[Ikev2Payload],
        problems: list[str],
        authentic: bool,
    ) -> list[Ikev2Payload] | None:
        """The inner payloads, if they are a payload chain. The ICV proves SK_a only (RFC 7296
        3.14): a right SK_a with a wrong SK_e verifies and decrypts to noise, whose chain breaks."""
        if not problems:
            return payloads
        msg.protection = _UNDECRYPTABLE
        msg.problems.extend(problems)
        why = "the ICV verifies, so SK_a is right and SK_e wrong" if authentic else "the key is wrong"
        msg.add_note(f"decrypts to a broken payload chain ({problems[0]}): {why}")
        if not state.wrong_keys_reported:
            state.wrong_keys_reported = True
            state.sa.findings.append(
                finding(
                    "wrong-keys",
                    f"IKEv2 SA {state.sa.cookies}: frame {msg.frame} decrypts to a broken payload chain: "
                    + why,
                    {"cookies": state.sa.cookies, "frame": msg.frame, "candidates": 1, "chain": problems[0]},
                )
            )
        return None

    def _open_unchecked(
        self,
        state: Ikev2SaState,
        message: bytes,
        protected: Ikev2Payload,
        from_initiator: bool,
        candidates: list[KeyCandidate],
    ) -> tuple[OpenedPayload, list[Ikev2Payload]] | None:
        """Keys from a source that never checks the ICV (tcpdump -E): the first whose decryption
        gives sound padding and a payload chain without problems, ICV unchecked."""
        for candidate in candidates:
            if not candidate.icv_unchecked:
                continue
            result = _open_with(False, candidate, message, protected, from_initiator, check_icv=False)
            if result.failure is not None:
                continue
            base = protected.offset + 4 + len(result.iv)
            chain = parse_ikev2_payloads(result.next_payload, result.plaintext, base, inner=True)
            if chain.problems or not chain.payloads:
                continue
            if state.keys is None:
                self._adopt(state, candidate)
            return result, chain.payloads
        return None

    def _fragment(
        self,
        state: Ikev2SaState,
        msg: IkeMessage,
        exchange: ExchangeState,
        opened: OpenedPayload,
        header: bytes,
        from_initiator: bool,
    ) -> list[Ikev2Payload] | None:
        key = (msg.message_id, bool(msg.response))
        held = state.fragments.setdefault(key, Fragments())
        held.opened.append(opened)
        if opened.fragment_number == 1:
            held.header = header
        whole = reassemble_fragments(held.opened)
        msg.add_note(f"fragment {opened.fragment_number}/{opened.total_fragments}")
        if not whole.complete:
            return None
        del state.fragments[key]
        msg.add_note(f"message reassembled from {whole.total_fragments} fragments")
        if msg.exchange_type == reg.IKE_INTERMEDIATE and held.header:  # RFC 9242 3.3.2: as if whole
            state.intermediate_frames.append(msg.frame)
            a_part = stages.intermediate_a_part(
                held.header, len(held.header), whole.next_payload, len(whole.plaintext)
            )
            intermediate.int_auth(state, from_initiator, b"", 0, whole.plaintext, a_part)
        chain = parse_ikev2_payloads(whole.next_payload, whole.plaintext, 0, inner=True)
        return self._judged(
            state, msg, chain.payloads, chain.problems, all(f.integrity_verified for f in held.opened)
        )

    def _adopt(self, state: Ikev2SaState, candidate: KeyCandidate) -> None:
        state.keys = candidate
        state.sa.keys = candidate.record()
        facts = state.sa.ikev2
        for record in facts.key_stages if facts is not None else ():
            if record["stage"] == candidate.stage:
                record["keys"] = candidate.origin

    # -- AUTH ------------------------------------------------------------------------------------

    def verify_auth(
        self, state: Ikev2SaState, msg: IkeMessage, payloads: list[Any], from_initiator: bool, parts: Any
    ) -> None:
        """``authentication.verify_message_auth`` with the key ring; ``parts``: ``read_ike_auth``'s."""
        from ikedecode.ike.v2.authentication import verify_message_auth

        verify_message_auth(self.keyring, state, msg, payloads, from_initiator, parts)

    # -- rekeys and Child SAs ----------------------------------------------------------------------

    def rekey_ike_sa(
        self,
        old: Ikev2SaState,
        new: Ikev2SaState,
        exchange: ExchangeState,
        request: list[Any],
        response: list[Any],
    ) -> None:
        """RFC 7296 2.18: the new SA's keys from the old SK_d, the new g^ir and the rekey's nonces."""
        if old.keys is None or new.chosen is None:
            return
        ni, nr = _first_data(request, Ikev2NoncePayload), _first_data(response, Ikev2NoncePayload)
        ke_req, ke_resp = _first(request, Ikev2KePayload), _first(response, Ikev2KePayload)
        if ni is None or nr is None or ke_req is None or ke_resp is None:
            return
        new.nonce_i, new.nonce_r = ni, nr
        secrets = self._pfs_secrets(old, exchange, ke_req, ke_resp, new.spi_i)
        out: list[KeyCandidate] = []
        additional = b""
        if exchange.followups:  # RFC 9370 2.2.4: g^ir (new) | SK(1) | ... | SK(n)
            found = intermediate.followup_secrets(self, exchange, (new.spi_i,), child=False)
            if isinstance(found, str):
                new.key_notes.append(f"IKE SA rekey: {found}")
                new.stage_missing = len(exchange.followups)
                secrets = []
            else:
                additional = found[0]
        for secret, origin in secrets:
            try:
                prf_id, encr_id, key_bits, integ_id = _transforms(new.chosen)
                keys = keymat.derive_rekeyed_ike_sa_keys(
                    old.keys.keys, secret, ni, nr, new.spi_i, new.spi_r or bytes(8),
                    prf_id=prf_id, encr_id=encr_id, encr_key_bits=key_bits, integ_id=integ_id,
                    additional=additional,
                )  # fmt: skip
            except (IkeCryptoError, ValueError) as exc:
                new.key_notes.append(f"{origin}: {exc}")
                continue
            out.append(
                KeyCandidate(keys, f"rekey of {old.sa.cookies}", secret, origin, f"SK_d of {old.sa.cookies}")
            )
        new.key_candidates = out
        new.candidates_complete = True  # no IKE_SA_INIT: the rekey's candidates are the derived ones
        if not out:
            new.key_notes.append("IKE SA rekey: no g^ir candidate for the new KE payloads")

    def _pfs_secrets(
        self,
        state: Ikev2SaState,
        exchange: ExchangeState,
        ke_req: Ikev2KePayload,
        ke_resp: Ikev2KePayload,
        *extra_scopes: bytes,
    ) -> list[tuple[bytes, str]]:
        seen: set[bytes] = set()
        out: list[tuple[bytes, str]] = []
        # the exchange's own g^ir: --dh-secret scoped by initiator SPI and message ID (as a quick
        # mode's PFS secret is in IKEv1), or scoped to a rekeyed SA's new initiator SPI
        mids = (exchange.message_id, *(mid for _, _, mid in exchange.followups))
        for scope, mid in ((scope, mid) for scope in (state.spi_i, *extra_scopes) for mid in mids):
            for s in self.keyring.dh_secrets_for(scope, mid):
                if extra_scopes:  # an IKE SA rekey: any g^ir scoped to either SA (the ICV picks)
                    wanted = True
                else:
                    wanted = s.message_id in mids
                if wanted and s.stage == 0 and s.initiator_cookie is not None and s.value not in seen:
                    seen.add(s.value)
                    out.append((s.value, s.origin))
        if self.private_secrets.privates:
            ke_i, ke_r = (ke_req, ke_resp) if exchange.requester_is_initiator else (ke_resp, ke_req)
            for outcome in self.private_secrets.outcomes(ke_req.group, ke_i.data, ke_r.data):
                if outcome.secret is not None and outcome.secret not in seen:
                    seen.add(outcome.secret)
                    out.append((outcome.secret, outcome.private.origin))
        return out

    def child_sa_keys(
        self,
        state: Ikev2SaState,
        msg: IkeMessage,
        exchange: ExchangeState,
        offered: Ikev2Proposal,
        chosen: Ikev2Proposal,
        transport: bool,
        kind: str,
    ) -> list[Ikev2ChildSaKeys]:
        """Both directions of a Child SA (RFC 7296 2.17); [] without SK_d or with PFS and no g^ir."""
        if state.keys is None or not state.keys.keys.sk_d:
            return []
        sk_d, prf_id = state.keys.keys.sk_d, state.keys.keys.prf_id
        secret, dh_origin, additional = b"", None, b""
        if kind == "IKE_AUTH":
            ni, nr = state.nonce_i, state.nonce_r
        else:
            ni = _first_data(exchange.request_payloads, Ikev2NoncePayload)
            nr = _first_data(exchange.response_payloads, Ikev2NoncePayload)
            ke_req = _first(exchange.request_payloads, Ikev2KePayload)
            ke_resp = _first(exchange.response_payloads, Ikev2KePayload)
            if ke_req is not None and ke_resp is not None:
                secrets = self._pfs_secrets(state, exchange, ke_req, ke_resp)
                if not secrets:
                    msg.add_note("PFS: no g^ir candidate (give --dh-secret or --dh-private)")
                    return []
                secret, dh_origin = secrets[0]
            if exchange.followups:  # RFC 9370 2.2.4: KEYMAT = prf+(SK_d, g^ir | SK(1) | ... | Ni | Nr)
                found = intermediate.followup_secrets(self, exchange, (state.spi_i,), child=True)
                if isinstance(found, str):
                    msg.add_note(f"Child SA not keyed: {found}")
                    return []
                additional = found[0]
        if not ni or not nr:
            return []
        encr = chosen.encryption
        integ = chosen.integrity
        encr_id = encr.transform_id if encr is not None else None
        key_bits = encr.key_length if encr is not None else None
        integ_id = integ.transform_id if integ is not None and integ.transform_id else None
        try:
            e_size = encr_keymat_size(encr_id, key_bits) if encr_id is not None else 0
            a_size = integ_params(integ_id).key_size if integ_id else 0
            material = keymat.child_sa_keys(
                prf_id, sk_d, ni, nr, encr_keymat_size=e_size, integ_key_size=a_size, shared_secret=secret,
                additional=additional,
            )  # fmt: skip
        except (IkeCryptoError, ValueError) as exc:
            msg.add_note(f"Child SA not keyed: {exc}")
            return []
        sa = state.sa
        requester, responder = (
            (sa.initiator, sa.responder) if exchange.requester_is_initiator else (sa.responder, sa.initiator)
        )
        sn = chosen.sequence_numbers
        esn = bool(sn and sn.transform_id == 1)
        mode = "transport" if transport else "tunnel"
        cookies, message_id, protocol_id = sa.cookies, msg.message_id, chosen.protocol_id
        return [
            # requester -> responder: the SPI the responder chose (in the response), keys first
            Ikev2ChildSaKeys(
                protocol_id, chosen.spi, requester, responder, encr_id, key_bits, integ_id,
                material.encr_i, material.integ_i, cookies, message_id, kind, mode, esn, dh_origin,
            ),
            Ikev2ChildSaKeys(
                protocol_id, offered.spi, responder, requester, encr_id, key_bits, integ_id,
                material.encr_r, material.integ_r, cookies, message_id, kind, mode, esn, dh_origin,
            ),
        ]  # fmt: skip


def _transforms(proposal: Ikev2Proposal) -> tuple[int, int, int | None, int | None]:
    """The chosen proposal's PRF, encryption (and its Key Length) and integrity transform IDs."""
    encr, prf, integ = proposal.encryption, proposal.prf, proposal.integrity
    if encr is None or prf is None:
        raise ValueError("the chosen proposal lacks an encryption or PRF transform")
    integ_id = integ.transform_id if integ is not None and integ.transform_id else None
    return prf.transform_id, encr.transform_id, encr.key_length, integ_id


@dataclass(frozen=True, slots=True)
class _Ke:
    """The group and data of a KE payload (what ``intermediate.stage_secrets`` reads)."""

    group: int
    data: bytes


def _first(payloads: list[Any], kind: type) -> Any:
    for p in payloads:
        if isinstance(p, kind):
            return p
    return None


def _first_data(payloads: list[Any], kind: type) -> bytes | None:
    found = _first(payloads, kind)
    return found.data if found is not None else None


def _wrong_keys(state: Ikev2SaState, msg: IkeMessage, tried: int) -> Finding:
    return finding(
        "wrong-keys",
        f"IKEv2 SA {state.sa.cookies}: frame {msg.frame} does not open with any of {tried} key candidate(s) "
        "(ICV mismatch)",
        {"cookies": state.sa.cookies, "frame": msg.frame, "candidates": tried},
    )


def _open_with(
    fragment: bool,
    candidate: KeyCandidate,
    message: bytes,
    protected: Ikev2Payload,
    from_initiator: bool,
    check_icv: bool = True,
) -> OpenedPayload:
    """``open_sk`` / ``open_skf`` of ``protected`` with the sender's keys of ``candidate``
    (SK_ei / SK_ai for a message from the original initiator, RFC 7296 2.14)."""
    keys = candidate.keys
    if from_initiator:
        sk_e, sk_a = keys.sk_ei, keys.sk_ai
    else:
        sk_e, sk_a = keys.sk_er, keys.sk_ar
    return open_encrypted(
        message, protected.offset, fragment, keys.encr_id, sk_e, keys.integ_id, sk_a, check_icv
    )
