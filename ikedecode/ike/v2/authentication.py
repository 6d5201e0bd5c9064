"""AUTH payload checks for the IKEv2 engine (RFC 7296 2.15, 2.16): shared keys from the key ring,
signatures with the key of the signer's CERT. The cryptography is ``ike/v2/auth.py``.

The signed octets need the IKE_SA_INIT messages as sent, the peer's nonce and SK_pi / SK_pr: keys
given only as SK_e / SK_a (Wireshark's table) cannot check AUTH. After EAP (2.16) both AUTH payloads
are keyed with the EAP MSK, which a capture does not show: those are named, not checked.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ikedecode.findings import finding
from ikedecode.ike.records import IkeMessage, Ikev2PskAuth
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2 import intermediate, stages
from ikedecode.ike.v2.auth import signed_octets, verify_auth, verify_psk_candidates
from ikedecode.ike.v2.payloads import (
    Ikev2AuthPayload,
    Ikev2CertPayload,
    Ikev2EapPayload,
    Ikev2IdPayload,
    Ikev2NotifyPayload,
    Ikev2SaPayload,
)
from ikedecode.ike.v2.sa_state import Ikev2SaState
from ikedecode.keys.keyring import KeyRing


class AuthParts(NamedTuple):
    """What the IKE_AUTH handler and the AUTH check read of one IKE_AUTH message, from one pass."""

    own_id: Ikev2IdPayload | None  # the sender's first ID payload (IDi from the initiator, else IDr)
    auth: Ikev2AuthPayload | None  # the first AUTH payload
    cert: Any  # the CertificateInfo of the first CERT payload that parses (the signer's, RFC 7296 3.6)
    eap: bool  # an EAP payload is in the message (RFC 7296 2.16)
    sa: bool  # an SA payload is (the first Child SA's proposals)
    notifies: bool  # a Notify payload is (RFC 8784 PPK_IDENTITY, NO_PPK_AUTH)


def read_ike_auth(state: Ikev2SaState, payloads: list[Any], from_initiator: bool) -> AuthParts:
    """One pass over an IKE_AUTH message's payloads: the sender's identity (its last ID payload)
    and authentication method (its last AUTH payload) into the SA record, an EAP Response/Identity,
    and the ``AuthParts`` the handler and ``verify_message_auth`` read."""
    sa = state.sa
    role = "initiator" if from_initiator else "responder"
    own_type = reg.PT_IDI if from_initiator else reg.PT_IDR
    own_id = auth = cert = None
    eap = has_sa = notifies = False
    method = None
    for p in payloads:
        kind = p.type
        if kind == own_type:
            if isinstance(p, Ikev2IdPayload):
                sa.identities[role] = p.text
                own_id = own_id or p
        elif kind == reg.PT_AUTH:
            if isinstance(p, Ikev2AuthPayload):
                method = p
                auth = auth or p
        elif kind == reg.PT_SA:
            has_sa = has_sa or isinstance(p, Ikev2SaPayload)
        elif kind == reg.PT_NOTIFY:
            notifies = notifies or isinstance(p, Ikev2NotifyPayload)
        elif kind == reg.PT_CERT:
            if cert is None and isinstance(p, Ikev2CertPayload) and p.info is not None:
                cert = p.info
        elif kind == reg.PT_EAP and isinstance(p, Ikev2EapPayload):
            eap = True
            if p.identity and p.code == 2:  # EAP Response/Identity
                sa.identities.setdefault("eap", p.identity)
    if method is not None:
        methods: dict[str, str] = state.auth_material.setdefault("methods", {})
        methods[role] = AUTH_SHORT.get(method.method, method.method_name)
        sa.auth_method = " / ".join(dict.fromkeys(methods.values()))
    return AuthParts(own_id, auth, cert, eap, has_sa, notifies)


AUTH_SHORT = {1: "RSA signature", 2: "PSK", 3: "DSS signature", 9: "ECDSA-256", 10: "ECDSA-384",
              11: "ECDSA-521", 12: "GSPAM", 13: "NULL", 14: "digital signature"}  # fmt: skip


_MATERIAL_KEYS = {True: ("id_initiator", "cert_initiator"), False: ("id_responder", "cert_responder")}


def verify_message_auth(
    keyring: KeyRing,
    state: Ikev2SaState,
    msg: IkeMessage,
    payloads: list[Any],
    from_initiator: bool,
    parts: AuthParts,
) -> None:
    """Sets ``msg.auth_verified`` (None: nothing to check or no way to check) and a note."""
    side = "initiator" if from_initiator else "responder"
    id_key, cert_key = (
        ("id_initiator", "cert_initiator") if from_initiator else ("id_responder", "cert_responder")
    )
    material = state.auth_material
    if parts.own_id is not None:
        material.setdefault(id_key, parts.own_id.id_body)
    if parts.cert is not None:
        material.setdefault(cert_key, parts.cert)
    if parts.eap:
        material["eap"] = True
    auth = parts.auth
    if auth is None:
        return
    why_not = _unverifiable(state, side, auth, id_key)
    if why_not:
        msg.add_note(f"AUTH not checked: {why_not}")
        return
    keys = state.keys.keys
    sk_p = keys.sk_pi if from_initiator else keys.sk_pr
    real_message = state.init_request if from_initiator else state.init_response
    peer_nonce = state.nonce_r if from_initiator else state.nonce_i
    assert real_message is not None and peer_nonce is not None
    first_auth_mid = material.setdefault("first_auth_mid", msg.message_id)
    # RFC 9242 3.3.2: IntAuth only after IKE_INTERMEDIATE exchanges (int_auth_for's None otherwise)
    int_auth = intermediate.int_auth_for(state, first_auth_mid) if state.intermediate_frames else None
    if isinstance(int_auth, str):
        msg.add_note(f"AUTH not checked: {int_auth}")
        return
    ppk_offered = no_ppk_auth = None
    if from_initiator and parts.notifies:
        ppk_offered = stages.has_notify(payloads, reg.N_PPK_IDENTITY)
        no_ppk_auth = stages.has_notify(payloads, reg.N_NO_PPK_AUTH)
    if no_ppk_auth is not None:  # RFC 8784 3: the initiator's AUTH computed without the PPK
        _check_no_ppk_auth(keyring, state, msg, auth, no_ppk_auth, sk_p, int_auth)
    if ppk_offered is not None:  # RFC 8784 3: the initiator's AUTH payload is computed with SK_pi'
        if state.ppk is None:
            msg.add_note("AUTH not checked: it is keyed with the PPK (give --ppk ID=HEX)")
            return
        sk_p = state.ppk.sk_pi
    octets = signed_octets(keys.prf_id, sk_p, real_message, peer_nonce, material[id_key], int_auth)
    sa = state.sa
    method = auth.method
    if method == reg.AUTH_SHARED_KEY and sa.ikev2 is not None:
        target = Ikev2PskAuth(side, msg.frame, keys.prf_id, octets, bytes(auth.auth_data))
        known = sa.ikev2.psk_auth
        for t in known:  # a loop, not all(generator): asked of every shared-key AUTH payload
            if t.side == side and t.auth_data == target.auth_data:
                break
        else:
            known.append(target)  # what --crack tests guesses against (crack/ikev2.py)
    psks = keyring.psks_for((sa.initiator, sa.responder), tuple(sa.identities.values()))
    cert = material.get(cert_key)
    if method == reg.AUTH_SHARED_KEY:  # what verify_auth does for it, without the dispatch
        result = verify_psk_candidates(keys.prf_id, [k.secret for k in psks], auth.auth_data, octets)
    else:
        result = verify_auth(
            method,
            auth.auth_data if method != reg.AUTH_DIGITAL_SIGNATURE else auth.data,
            octets,
            prf_id=keys.prf_id,
            psks=[k.secret for k in psks],
            public_key=cert.public_key if cert is not None else None,
        )
    msg.auth_verified = result.verified
    if auth.method == reg.AUTH_SHARED_KEY and psks and sa.ikev2 is not None and result.verified is not None:
        sa.ikev2.psk_checks.append(
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
    msg.add_note(f"AUTH of the {side}: {detail}")
    if result.verified is False:
        evidence = {"cookies": sa.cookies, "frame": msg.frame, "side": side, "method": auth.method_name}
        text = f"IKEv2 SA {sa.cookies}: the {side}'s AUTH (frame {msg.frame}) does not verify: {detail}"
        sa.findings.append(finding("auth-mismatch", text, evidence))


def _check_no_ppk_auth(
    keyring: KeyRing,
    state: Ikev2SaState,
    msg: IkeMessage,
    auth: Ikev2AuthPayload,
    notify: Any,
    sk_pi: bytes,
    int_auth: Any,
) -> None:
    """NO_PPK_AUTH's data: the AUTH computed with SK_pi (no PPK) by the AUTH payload's method
    (RFC 8784 section 3; strongSwan sends the authentication data alone), checked like AUTH."""
    data = bytes(notify.data)
    if not data or state.init_request is None or state.nonce_r is None or state.keys is None:
        return
    keys = state.keys.keys
    octets = signed_octets(
        keys.prf_id, sk_pi, state.init_request, state.nonce_r, state.auth_material["id_initiator"], int_auth
    )
    sa = state.sa
    psks = keyring.psks_for((sa.initiator, sa.responder), tuple(sa.identities.values()))
    cert = state.auth_material.get("cert_initiator")
    result = verify_auth(
        auth.method,
        data,
        octets,
        prf_id=keys.prf_id,
        psks=[k.secret for k in psks],
        public_key=cert.public_key if cert is not None else None,
    )
    state.auth_material["no_ppk_auth_verified"] = result.verified
    verdict = {True: "verifies", False: "DOES NOT VERIFY", None: f"not checked ({result.detail})"}
    msg.add_note(f"NO_PPK_AUTH (without the PPK) {verdict[result.verified]}")


def _unverifiable(state: Ikev2SaState, side: str, auth: Ikev2AuthPayload, id_key: str) -> str:
    material = state.auth_material
    if state.keys is None:
        return "no keys"
    keys = state.keys.keys
    if not (keys.sk_pi if side == "initiator" else keys.sk_pr) or not keys.prf_id:
        return "SK_pi/SK_pr or the PRF unknown (the key source gives SK_e/SK_a only)"
    if state.init_request is None or state.init_response is None or not state.nonce_i or not state.nonce_r:
        return "the IKE_SA_INIT exchange is not in the capture"
    if id_key not in material:
        return f"the {side}'s ID payload is not in the capture"
    if material.get("eap") and auth.method == reg.AUTH_SHARED_KEY:
        return "keyed with the EAP MSK (RFC 7296 2.16), which the capture does not carry"
    return ""
