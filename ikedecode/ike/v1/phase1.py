"""Phase-1 key candidates: from what the user knows to SKEYID..SKEYID_e and the cipher key.

RFC 2409 section 5: SKEYID depends on the authentication method (preshared key, signatures,
public-key encryption); SKEYID_d/a/e on SKEYID, g^xy and the cookies; the cipher key on SKEYID_e
(Appendix B). Which candidate is right is decided by the engine (the one whose decryption gives a
sane payload chain, and whose hashes verify).
"""

from __future__ import annotations

import functools
from enum import IntEnum
from typing import NamedTuple

from ikedecode.ike import dh
from ikedecode.ike.dh_work import DhPrivateSecrets
from ikedecode.ike.registries import (
    AUTHENTICATION_METHOD,
    BASE_AUTHENTICATION_METHOD,
    ENCRYPTION_ALGORITHM,
    GROUP_DESCRIPTION,
    HASH_ALGORITHM,
    KEY_LENGTH,
)
from ikedecode.ike.v1 import keyderiv
from ikedecode.keys.keyring import KeyRing, Phase1KeyMaterial


class AuthFamily(IntEnum):
    PRESHARED = 1
    SIGNATURE = 2
    PUBLIC_KEY = 3


# How SKEYID is made, by RFC 2409 base method (section 5): 1 pre-shared key; 2 DSS, 3 RSA
# signatures; 4 RSA encryption, 5 revised RSA encryption. XAUTH and hybrid methods derive
# SKEYID like their base method (registry BASE_AUTHENTICATION_METHOD).
_FAMILY_OF_BASE_METHOD = {
    1: AuthFamily.PRESHARED,
    2: AuthFamily.SIGNATURE,
    3: AuthFamily.SIGNATURE,
    4: AuthFamily.PUBLIC_KEY,
    5: AuthFamily.PUBLIC_KEY,
}


def auth_family(auth_method: int) -> AuthFamily | None:
    return _FAMILY_OF_BASE_METHOD.get(BASE_AUTHENTICATION_METHOD.get(auth_method, auth_method))


class Phase1Policy(NamedTuple):
    """The transform the responder accepted, as the numbers the key schedule needs."""

    encryption_algorithm: int
    hash_algorithm: int
    auth_method: int
    group: int | None
    key_length_bits: int | None

    @property
    def auth_family(self) -> AuthFamily | None:
        return auth_family(self.auth_method)

    @classmethod
    def from_attributes(cls, attributes: dict[int, int | bytes]) -> Phase1Policy | None:
        enc, hsh, auth, group, key_length = (
            _number(attributes.get(ENCRYPTION_ALGORITHM)),
            _number(attributes.get(HASH_ALGORITHM)),
            _number(attributes.get(AUTHENTICATION_METHOD)),
            _number(attributes.get(GROUP_DESCRIPTION)),
            _number(attributes.get(KEY_LENGTH)),
        )
        if enc is None or hsh is None or auth is None:
            return None
        return cls(enc, hsh, auth, group, key_length)


def _number(value: int | bytes | None) -> int | None:
    """An attribute's value as a number (a variable-length value is big-endian, RFC 2408 3.3)."""
    if isinstance(value, bytes):
        return int.from_bytes(value, "big") if value else None
    return value


class KeyCandidate(NamedTuple):
    """One way the phase-1 keys could be, with the origin of each input (a record made once per
    candidate, hence a tuple: the engine compares candidates by identity)."""

    encryption_key: bytes
    skeyid: bytes | None = None
    skeyid_d: bytes | None = None
    skeyid_a: bytes | None = None
    skeyid_e: bytes | None = None
    dh_secret: bytes | None = None
    psk_origin: str | None = None
    dh_origin: str | None = None
    key_origin: str | None = None
    dh_confirmed: bool = False  # g^xy computed from a private value whose public value is in the capture

    def describe(self) -> str:
        parts = [p for p in (self.psk_origin, self.dh_origin, self.key_origin) if p]
        return " + ".join(parts) if parts else "given keys"


class ClearMaterial(NamedTuple):
    """What phase 1 carries in clear text and the key schedule needs."""

    initiator_cookie: bytes
    responder_cookie: bytes
    g_xi: bytes
    g_xr: bytes
    ni_b: bytes
    nr_b: bytes
    initiator: str
    responder: str
    identities: tuple[str, ...] = ()  # ID payload texts known so far (aggressive mode: in clear)


# ``KeyCandidate(...)`` with every field, through ``tuple.__new__`` (a NamedTuple's own constructor
# is a Python function)
_key_candidate = functools.partial(tuple.__new__, KeyCandidate)


def dh_secret_candidates(
    keyring: KeyRing,
    policy: Phase1Policy,
    clear: ClearMaterial,
    private_secrets: DhPrivateSecrets | None = None,
    given_keys: list[Phase1KeyMaterial] | None = None,
) -> tuple[list[tuple[bytes, str, bool]], list[str]]:
    """Candidate g^xy values for an IKE SA: (value, origin, confirmed), plus notes on rejects.

    g^xy from private values comes from ``private_secrets`` (the engine's, which indexes them by
    public value and may have computed ahead); without it, from a new in-line one. ``given_keys``:
    ``keyring.phase1_keys_for`` the SA's cookies, when the caller has them already.
    """
    out: list[tuple[bytes, str, bool]] = []
    notes: list[str] = []
    expected_length = dh.GROUPS[policy.group].secret_length if policy.group in dh.GROUPS else None
    for s in keyring.dh_secrets_for(clear.initiator_cookie):
        if s.message_id is None:
            out.append((s.value, s.origin, False))
            if expected_length is not None and len(s.value) != expected_length:
                notes.append(
                    f"{s.origin} has {len(s.value)} bytes; DH group {policy.group} "
                    f"gives {expected_length}-byte secrets"
                )
    if keyring.dh_privates and policy.group is None:
        notes += [f"{p.origin}: the accepted transform names no DH group" for p in keyring.dh_privates]
    elif keyring.dh_privates:
        assert policy.group is not None
        secrets = private_secrets if private_secrets is not None else DhPrivateSecrets(keyring.dh_privates)
        for found in secrets.outcomes(policy.group, clear.g_xi, clear.g_xr):
            if found.failure is not None:
                notes.append(f"{found.private.origin}: {found.failure}")
            elif found.secret is not None:
                out.append((found.secret, f"{found.private.origin} ({found.side})", True))
    if given_keys is None:
        given_keys = keyring.phase1_keys_for(clear.initiator_cookie, clear.responder_cookie)
    for k in given_keys:
        if k.dh_secret is not None:
            out.append((k.dh_secret, k.origin, False))
    return out, notes


def skeyid_candidates(
    keyring: KeyRing, policy: Phase1Policy, clear: ClearMaterial, g_xy: bytes | None
) -> list[tuple[bytes, str | None]]:
    """SKEYID values by authentication method (RFC 2409 section 5)."""
    family = policy.auth_family
    if family is AuthFamily.PRESHARED:
        return [
            (keyderiv.skeyid_preshared(policy.hash_algorithm, k.secret, clear.ni_b, clear.nr_b), k.origin)
            for k in keyring.psks_for((clear.initiator, clear.responder), clear.identities)
        ]
    if family is AuthFamily.SIGNATURE and g_xy is not None:
        return [(keyderiv.skeyid_signature(policy.hash_algorithm, clear.ni_b, clear.nr_b, g_xy), None)]
    if family is AuthFamily.PUBLIC_KEY:
        return [
            (
                keyderiv.skeyid_public_key(
                    policy.hash_algorithm,
                    clear.ni_b,
                    clear.nr_b,
                    clear.initiator_cookie,
                    clear.responder_cookie,
                ),
                None,
            )
        ]
    return []


def build_candidates(
    keyring: KeyRing,
    policy: Phase1Policy,
    clear: ClearMaterial,
    key_length: int,
    psk_origin_filter: str | None = None,
    private_secrets: DhPrivateSecrets | None = None,
) -> tuple[list[KeyCandidate], list[str]]:
    """Every combination of the user's keys that could be this SA's phase-1 keys.

    ``psk_origin_filter`` narrows preshared keys to the one already proven (aggressive mode's
    HASH_R verifies before any encrypted message).
    """
    candidates: list[KeyCandidate] = []
    cky_i, cky_r, hash_id = clear.initiator_cookie, clear.responder_cookie, policy.hash_algorithm
    given = keyring.phase1_keys_for(cky_i, cky_r)
    dh_values, notes = dh_secret_candidates(keyring, policy, clear, private_secrets, given)
    for g_xy, dh_origin, confirmed in dh_values:
        for skeyid, psk_origin in skeyid_candidates(keyring, policy, clear, g_xy):
            if psk_origin_filter is not None and psk_origin != psk_origin_filter:
                continue
            skeyid_d, skeyid_a, skeyid_e, encryption_key = keyderiv.phase1_key_chain(
                hash_id, skeyid, g_xy, cky_i, cky_r, key_length
            )
            candidates.append(
                _key_candidate(
                    (
                        encryption_key,
                        skeyid,
                        skeyid_d,
                        skeyid_a,
                        skeyid_e,
                        g_xy,
                        psk_origin,
                        dh_origin,
                        None,
                        confirmed,
                    )
                )
            )
    for k in given:
        if k.skeyid_e is not None:
            enc = keyderiv.expand_encryption_key(hash_id, k.skeyid_e, key_length)
            candidates.append(
                KeyCandidate(
                    encryption_key=enc,
                    skeyid=k.skeyid,
                    skeyid_d=k.skeyid_d,
                    skeyid_a=k.skeyid_a,
                    skeyid_e=k.skeyid_e,
                    key_origin=k.origin,
                )
            )
        elif k.encryption_key is not None:
            candidates.append(KeyCandidate(encryption_key=k.encryption_key, key_origin=k.origin))
    return candidates, notes
