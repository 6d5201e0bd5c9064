"""AUTH payload checks for the IKEv2 engine (RFC 7296 2.15, 2.16): shared keys from the key ring,
signatures with the key of the signer's CERT. The cryptography is ``ike/v2/auth.py``.

The signed octets need the IKE_SA_INIT messages as sent, the peer's nonce and SK_pi / SK_pr: keys
given only as SK_e / SK_a (Wireshark's table) cannot check AUTH. After EAP (2.16) both AUTH payloads
are keyed with the EAP MSK, which a capture does not show: those are named, not checked.
"""

from __future__ import annotations

from typing import Any

from ikedecode.findings import finding
from ikedecode.ike.records import IkeMessage
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.auth import signed_octets, verify_auth
from ikedecode.ike.v2.payloads import Ikev2AuthPayload, Ikev2CertPayload, Ikev2EapPayload, Ikev2IdPayload
from ikedecode.ike.v2.sa_state import Ikev2SaState
from ikedecode.keys.keyring import KeyRing


def verify_message_auth(
    keyring: KeyRing, state: Ikev2SaState, msg: IkeMessage, payloads: list[Any], from_initiator: bool
) -> None:
    """Sets ``msg.auth_verified`` (None: nothing to check or no way to check) and a note."""
    side = "initiator" if from_initiator else "responder"
    material = state.auth_material
    for p in payloads:
        if isinstance(p, Ikev2IdPayload) and p.type == (reg.PT_IDI if from_initiator else reg.PT_IDR):
            material.setdefault(f"id_{side}", p.id_body)
        elif isinstance(p, Ikev2CertPayload) and p.info is not None:
            material.setdefault(f"cert_{side}", p.info)  # the first CERT is the signer's (RFC 7296 3.6)
        elif isinstance(p, Ikev2EapPayload):
            material["eap"] = True
    auth = next((p for p in payloads if isinstance(p, Ikev2AuthPayload)), None)
    if auth is None:
        return
    why_not = _unverifiable(state, side, auth)
    if why_not:
        msg.note = _join(msg.note, f"AUTH not checked: {why_not}")
        return
    keys = state.keys.keys
    sk_p = keys.sk_pi if from_initiator else keys.sk_pr
    real_message = state.init_request if from_initiator else state.init_response
    peer_nonce = state.nonce_r if from_initiator else state.nonce_i
    assert real_message is not None and peer_nonce is not None
    octets = signed_octets(keys.prf_id, sk_p, real_message, peer_nonce, material[f"id_{side}"])
    sa = state.sa
    psks = keyring.psks_for((sa.initiator, sa.responder), tuple(sa.identities.values()))
    cert = material.get(f"cert_{side}")
    result = verify_auth(
        auth.method,
        auth.auth_data if auth.method != reg.AUTH_DIGITAL_SIGNATURE else auth.data,
        octets,
        prf_id=keys.prf_id,
        psks=[k.secret for k in psks],
        public_key=cert.public_key if cert is not None else None,
    )
    msg.auth_verified = result.verified
    if auth.method == reg.AUTH_SHARED_KEY and psks and sa.ikev2 is not None and result.verified is not None:
        sa.ikev2.psk_auth.append(
            {
                "frame": msg.frame,
                "side": side,
                "tried": [{"origin": k.origin, "scope": k.scope} for k in psks],
                "verified_with": psks[result.psk_index].origin if result.psk_index is not None else None,
            }
        )
    msg.hash_name = "AUTH" if msg.hash_name is None else msg.hash_name
    detail = result.detail
    if result.psk_index is not None:
        origin = psks[result.psk_index].origin
        detail = f"shared key {origin}"
        if sa.keys is not None and getattr(sa.keys, "psk_origin", None) is None:
            sa.keys.psk_origin = origin
    elif cert is not None and result.verified:
        detail += f" ({cert.subject})"
    msg.note = _join(msg.note, f"AUTH of the {side}: {detail}")
    if result.verified is False:
        evidence = {"cookies": sa.cookies, "frame": msg.frame, "side": side, "method": auth.method_name}
        text = f"IKEv2 SA {sa.cookies}: the {side}'s AUTH (frame {msg.frame}) does not verify: {detail}"
        sa.findings.append(finding("auth-mismatch", text, evidence))


def _unverifiable(state: Ikev2SaState, side: str, auth: Ikev2AuthPayload) -> str:
    material = state.auth_material
    if state.keys is None:
        return "no keys"
    keys = state.keys.keys
    if not (keys.sk_pi if side == "initiator" else keys.sk_pr) or not keys.prf_id:
        return "SK_pi/SK_pr or the PRF unknown (the key source gives SK_e/SK_a only)"
    if state.init_request is None or state.init_response is None or not state.nonce_i or not state.nonce_r:
        return "the IKE_SA_INIT exchange is not in the capture"
    if f"id_{side}" not in material:
        return f"the {side}'s ID payload is not in the capture"
    if material.get("eap") and auth.method == reg.AUTH_SHARED_KEY:
        return "keyed with the EAP MSK (RFC 7296 2.16), which the capture does not carry"
    return ""


def _join(note: str, more: str) -> str:
    return f"{note}; {more}" if note else more
