"""The engine's side of RFC 9242 / RFC 9370 / RFC 8784: IntAuth chains, key stages, PPKs.

``int_auth`` folds each opened IKE_INTERMEDIATE message into its sender's IntAuth chain, keyed with
the SK_pi / SK_pr in force when it was sent; ``advance`` moves an IKE SA to its next key stage once
an IKE_INTERMEDIATE exchange with KE payloads is complete; ``apply_ppk`` mixes a PPK into the keys
when the IKE_AUTH response shows the responder used one. The crypto is ``stages`` / ``keymat``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ikedecode.findings import finding
from ikedecode.ike.crypto_errors import IkeCryptoError
from ikedecode.ike.records import IkeMessage
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2 import stages
from ikedecode.ike.v2.auth import IntAuth, int_auth_step
from ikedecode.ike.v2.prf import prf
from ikedecode.ike.v2.sa_state import ExchangeState, Ikev2SaState

if TYPE_CHECKING:
    from ikedecode.ike.v2.candidates import KeyCandidate
    from ikedecode.ike.v2.keying import Ikev2Keying


def ike_intermediate(
    keying: Ikev2Keying, state: Ikev2SaState, msg: IkeMessage, exchange: ExchangeState, payloads: list[Any]
) -> None:
    """RFC 9242 / 9370: an IKE_INTERMEDIATE exchange with KE payloads moves the SA to its next stage."""
    if not msg.response:
        exchange.request_payloads = payloads
        return
    exchange.response_payloads = payloads
    facts = state.sa.ikev2
    if facts is not None and not facts.key_stages and state.ke_group is not None:
        facts.key_stages.append(
            {"stage": 0, "exchange": "IKE_SA_INIT", "key_exchange": stages.method_name(state.ke_group),
             "keys": state.keys.origin if state.keys is not None else None}
        )  # fmt: skip
    advance(keying, state, exchange, msg)


def ppk_in_ike_auth(keying: Ikev2Keying, state: Ikev2SaState, msg: IkeMessage, payloads: list[Any]) -> None:
    """RFC 8784 3: PPK_IDENTITY in the IKE_AUTH request names the PPK; the response's PPK_IDENTITY
    says the responder used it (then SK_d, SK_pi, SK_pr are mixed), its absence that it did not."""
    facts = state.sa.ikev2
    if facts is None:
        return
    if not msg.response and stages.has_notify(payloads, reg.N_PPK_IDENTITY) is not None:
        state.ppk = apply_ppk(keying, state, payloads, msg)
        facts.ppk = "offered" if state.ppk is not None else "offered (PPK not in the key ring)"
    elif msg.response and state.ppk is not None and facts.ppk and facts.ppk.startswith("offered"):
        if stages.has_notify(payloads, reg.N_PPK_IDENTITY) is not None:
            use_ppk_keys(state)
            facts.ppk = "used"
        elif any(p.type == reg.PT_AUTH for p in payloads):
            facts.ppk = "offered, not used (NO_PPK_AUTH)"


def int_auth(
    state: Ikev2SaState,
    from_initiator: bool,
    message: bytes,
    sk_offset: int,
    plaintext: bytes,
    a_part: bytes | None = None,
) -> None:
    """IntAuth_xN = prf(SK_px, IntAuth_x(N-1) | A | P) (RFC 9242 section 3.3.2) for one message."""
    if state.keys is None:
        return
    keys = state.keys.keys
    sk_p = keys.sk_pi if from_initiator else keys.sk_pr
    if not sk_p or not keys.prf_id:
        state.int_auth_broken = True  # keys given as SK_e/SK_a only: the chain cannot be followed
        return
    previous = state.int_auth_i if from_initiator else state.int_auth_r
    if a_part is not None:  # a reassembled message: A as if it had been sent whole
        value: bytes | None = prf(keys.prf_id, sk_p, previous + a_part + plaintext)
    else:
        value = int_auth_step(keys.prf_id, sk_p, previous, message, sk_offset, plaintext)
    if value is None:
        state.int_auth_broken = True
    elif from_initiator:
        state.int_auth_i = value
    else:
        state.int_auth_r = value


def int_auth_for(state: Ikev2SaState, ike_auth_message_id: int) -> IntAuth | None | str:
    """The IntAuth part of the signed octets; None without IKE_INTERMEDIATE; why not as text."""
    if not state.intermediate_frames:
        return None
    if state.int_auth_broken or not state.int_auth_i or not state.int_auth_r:
        return "an IKE_INTERMEDIATE message could not be read (IntAuth chain, RFC 9242 3.3.2)"
    return IntAuth(state.int_auth_i, state.int_auth_r, ike_auth_message_id)


def advance(keying: Ikev2Keying, state: Ikev2SaState, exchange: ExchangeState, msg: IkeMessage) -> None:
    """After an IKE_INTERMEDIATE exchange with KE payloads: the SA's keys for stage n."""
    from ikedecode.ike.v2.candidates import KeyCandidate, from_material

    pair = stages.ke_pair(exchange.request_payloads, exchange.response_payloads)
    facts = state.sa.ikev2
    if pair is None or facts is None:
        return
    ke_req, ke_resp = pair
    n = state.additional_done = state.additional_done + 1
    methods = dict(stages.additional_methods(state.chosen))
    frames = [*exchange.request_frames[:1], *exchange.response_frames[:1]]
    record: dict[str, Any] = {
        "stage": n,
        "exchange": msg.exchange,
        "message_id": f"0x{msg.message_id:08x}",
        "frames": frames,
        "transform": f"ADDKE{n}",
        "key_exchange": stages.method_name(ke_req.group),
        "keys": None,
    }
    if methods.get(n) not in (None, ke_req.group):
        record["note"] = f"the proposal's ADDKE{n} is {stages.method_name(methods[n])}"
    facts.key_stages.append(record)
    out: list[KeyCandidate] = []
    current = state.keys
    if current is not None and current.keys.sk_d and state.nonce_i and state.nonce_r and state.spi_r:
        for secret, origin in stage_secrets(keying, state, n, ke_req, ke_resp):
            try:
                keys = stages.next_stage_keys(
                    current.keys, secret, state.nonce_i, state.nonce_r, state.spi_i, state.spi_r
                )
            except (IkeCryptoError, ValueError) as exc:
                state.key_notes.append(f"{origin}: {exc}")
                continue
            out.append(KeyCandidate(keys, origin, current.dh_secret, current.dh_origin, origin, stage=n))
    for material in keying.keyring.ikev2_keys_for(state.spi_i, state.spi_r):
        if material.stage == n:
            candidate = from_material(material, state.chosen)
            if candidate is not None:
                out.append(candidate)
    state.keys, state.key_candidates = None, out
    state.candidates_complete = state.direct_keys_added = True
    if not out:
        state.stage_missing = n
        what = f"SK({n}) of ADDKE{n} ({stages.method_name(ke_req.group)}, frames {frames})"
        record["missing"] = what
        state.sa.findings.append(
            finding(
                "key-stage-missing",
                f"IKEv2 SA {state.sa.cookies}: no input for key stage {n}: {what}; the messages after "
                f"frame {msg.frame} cannot be decrypted",
                {
                    "cookies": state.sa.cookies,
                    "stage": n,
                    "frame": msg.frame,
                    "key_exchange": stages.method_name(ke_req.group),
                },
            )  # fmt: skip
        )


def stage_secrets(
    keying: Ikev2Keying, state: Ikev2SaState, n: int, ke_i: Any, ke_r: Any
) -> list[tuple[bytes, str]]:
    """SK(n) candidates: given for this SA and stage, else from a private value (ML-KEM: the
    initiator's seed decapsulating the responder's ciphertext; DH: g^ir as for IKE_SA_INIT)."""
    out = [(s.value, s.origin) for s in keying.keyring.dh_secrets_for(state.spi_i) if s.stage == n]
    out = [(v, o) for v, o in out if v]
    privates = keying.keyring.dh_privates
    if not privates:
        return out
    if ke_i.group in stages.ML_KEM:
        for private in privates:
            secret = stages.mlkem_decapsulate(ke_i.group, private.value, ke_r.data)
            if isinstance(secret, bytes) and stages.mlkem_owns(ke_i.group, private.value, ke_i.data):
                out.append((secret, f"{private.origin} (ML-KEM decapsulation)"))
        return out
    for outcome in keying.private_secrets.outcomes(ke_i.group, ke_i.data, ke_r.data):
        if outcome.secret is not None:
            out.append((outcome.secret, outcome.private.origin))
    return out


def followup_secrets(
    keying: Ikev2Keying, exchange: ExchangeState, scopes: tuple[bytes, ...], child: bool
) -> tuple[bytes, list[str]] | str:
    """SK(1) | ... | SK(n) of a CREATE_CHILD_SA's IKE_FOLLOWUP_KE exchanges (RFC 9370 2.2.4) and
    their origins, or which one is missing. A Child SA's secrets are scoped by message ID (of the
    CREATE_CHILD_SA or of an IKE_FOLLOWUP_KE); a rekeyed IKE SA's by its new initiator SPI."""
    mids = {exchange.message_id, *(mid for _, _, mid in exchange.followups)}
    joined, origins = b"", []
    for n, (ke_req, ke_resp, mid) in enumerate(exchange.followups, 1):
        found = next(
            (
                s
                for s in keying.keyring.dh_secrets
                if s.stage == n
                and s.value
                and s.initiator_cookie in scopes
                and (s.message_id in mids if child else s.message_id in (None, *mids))
            ),
            None,
        )
        if found is not None:
            joined += found.value
            origins.append(found.origin)
            continue
        secret = _from_private(keying, ke_req, ke_resp)
        if secret is None:
            return (
                f"no SK({n}) of the IKE_FOLLOWUP_KE exchange 0x{mid:08x} ({stages.method_name(ke_req.group)})"
            )
        joined += secret[0]
        origins.append(secret[1])
    return joined, origins


def _from_private(keying: Ikev2Keying, ke_req: Any, ke_resp: Any) -> tuple[bytes, str] | None:
    """The requester's private value (ML-KEM seed, DH value) against the exchange's KE payloads."""
    privates = keying.keyring.dh_privates
    if not privates:
        return None
    if ke_req.group in stages.ML_KEM:
        for private in privates:
            if stages.mlkem_owns(ke_req.group, private.value, ke_req.data):
                secret = stages.mlkem_decapsulate(ke_req.group, private.value, ke_resp.data)
                if isinstance(secret, bytes):
                    return secret, f"{private.origin} (ML-KEM decapsulation)"
        return None
    for outcome in keying.private_secrets.outcomes(ke_req.group, ke_req.data, ke_resp.data):
        if outcome.secret is not None:
            return outcome.secret, outcome.private.origin
    return None


def missing_note(state: Ikev2SaState) -> str:
    n = state.stage_missing
    return (
        f"no keys for key stage {n}: give SK({n}) (--dh-secret {state.spi_i.hex()}:{n}=HEX, a key file's "
        "additional_secrets) or the initiator's ML-KEM seed (--dh-private)"
    )


def apply_ppk(keying: Ikev2Keying, state: Ikev2SaState, request: list[Any], msg: IkeMessage) -> Any:
    """The SA's keys mixed with the PPK the IKE_AUTH request names (PPK_IDENTITY), RFC 8784 3: from
    a PPK in the key ring, else from a daemon log's key stage after the last (SK_d, SK_pi, SK_pr
    only: strongSwan logs "derive keys using PPK"); None when neither is given."""
    notify = stages.has_notify(request, reg.N_PPK_IDENTITY)
    if notify is None or state.keys is None:
        return None
    ppks = keying.keyring.ppks_for(stages.ppk_identity(notify), state.spi_i)
    if ppks:
        return stages.ppk_keys(state.keys.keys, ppks[0].value)
    for material in keying.keyring.ikev2_keys_for(state.spi_i, state.spi_r):
        if (
            material.stage == state.keys.stage + 1
            and not material.sk_ei
            and material.sk_d
            and material.sk_pi
            and material.sk_pr
        ):
            return state.keys.keys._replace(sk_d=material.sk_d, sk_pi=material.sk_pi, sk_pr=material.sk_pr)
    msg.add_note(f"PPK_ID {stages.ppk_identity(notify)!r}: no such PPK given (--ppk ID=HEX)")
    return None


def use_ppk_keys(state: Ikev2SaState) -> None:
    """The responder confirmed the PPK (PPK_IDENTITY in the IKE_AUTH response): SK_d, SK_pi and
    SK_pr of the SA become the PPK-mixed ones (RFC 8784 section 3)."""
    candidate: KeyCandidate | None = state.keys
    if candidate is None or state.ppk is None or state.ppk_applied:
        return
    state.ppk_applied = True
    candidate.keys = state.ppk
    state.sa.keys = candidate.record()
