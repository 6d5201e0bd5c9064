"""Post-quantum IKEv2 key stages: RFC 9370 additional key exchanges, RFC 9242 IntAuth, RFC 8784 PPK.

* RFC 9370 section 2.2.2: after the n-th additional key exchange (an IKE_INTERMEDIATE exchange
  with KE payloads) every IKE SA key changes: SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr) and
  {SK_d, SK_ai, ..., SK_pr}(n) = prf+(SKEYSEED(n), Ni | Nr | SPIi | SPIr). The exchange's own
  messages are protected by stage n-1; the next message by stage n.
* RFC 9370 section 2.2.4 (CREATE_CHILD_SA with IKE_FOLLOWUP_KE): the new keys take every shared
  secret in order, the additional ones after the nonces: KEYMAT = prf+(SK_d, SK(0) | Ni | Nr |
  SK(1) | ... | SK(n)), a rekeyed IKE SA's SKEYSEED = prf(SK_d (old), SK(0) | Ni | Nr | SK(1) | ...
  | SK(n)) (strongSwan 6.0.6's keys agree, tests/lab).
* Inputs of a stage: SK(n) given (``--dh-secret COOKIE:n=HEX``, a key file's
  ``additional_secrets``), a DH stage's g^ir from a private value, or an ML-KEM shared secret
  decapsulated from the responder's ciphertext with the initiator's decapsulation key (or its
  64-byte seed, FIPS 203 (d, z)); or the stage's SK_* from a daemon's log (strongSwan logs each).
* RFC 8784 section 3: with a PPK, SK_d' = prf+(PPK, SK_d), SK_pi' = prf+(PPK, SK_pi),
  SK_pr' = prf+(PPK, SK_pr), each as long as the key it replaces; SK_e*/SK_a* do not change.
"""

from __future__ import annotations

from typing import Any

from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2 import keymat
from ikedecode.ike.v2.payloads import Ikev2KePayload, Ikev2NotifyPayload, Ikev2Proposal
from ikedecode.ike.v2.prf import prf_plus

# ML-KEM key exchange methods (draft-ietf-ipsecme-ikev2-mlkem, IANA 35-37): name, sizes of the
# encapsulation key (initiator's KE), the ciphertext (responder's KE) and the decapsulation key
ML_KEM = {35: ("ML-KEM-512", 800, 768, 1632), 36: ("ML-KEM-768", 1184, 1088, 2400),
          37: ("ML-KEM-1024", 1568, 1568, 3168)}  # fmt: skip
ML_KEM_SEED_SIZE = 64  # FIPS 203: d | z
ADDKE_FIRST_TYPE = 6  # RFC 9370 section 2.1.1: transform types 6..12 = ADDKE1..ADDKE7


def additional_methods(chosen: Ikev2Proposal | None) -> list[tuple[int, int]]:
    """(ADDKE number, key exchange method) of each additional key exchange the chosen proposal
    asks for, in ADDKE order; a NONE (0) transform is no exchange (RFC 9370 section 2.1.2)."""
    if chosen is None:
        return []
    first: dict[int, int] = {}  # ADDKE number -> the ID of the first transform of its type
    for transform in chosen.transforms:  # one pass: most proposals have no ADDKE transform at all
        n = transform.transform_type - ADDKE_FIRST_TYPE + 1
        if 1 <= n <= 7 and n not in first:
            first[n] = transform.transform_id
    return [(n, first[n]) for n in sorted(first) if first[n]] if first else []


def method_name(group: int) -> str:
    return reg.KEY_EXCHANGE_METHODS.name(group)


def mlkem_decapsulate(group: int, private: bytes, ciphertext: bytes) -> bytes | str:
    """The ML-KEM shared secret, or why not: ``private`` is the decapsulation key or its seed."""
    from cryptography.hazmat.primitives.asymmetric import mlkem  # cryptography >= 46

    classes = {36: "MLKEM768PrivateKey", 37: "MLKEM1024PrivateKey"}
    name = classes.get(group)
    key_class = getattr(mlkem, name, None) if name else None
    if key_class is None:
        return f"{method_name(group)}: this cryptography build cannot decapsulate it"
    if len(private) != ML_KEM_SEED_SIZE:
        return f"an ML-KEM private key is given as its {ML_KEM_SEED_SIZE}-byte seed, not {len(private)} bytes"
    try:
        return bytes(key_class.from_seed_bytes(bytes(private)).decapsulate(bytes(ciphertext)))
    except ValueError as exc:
        return f"{method_name(group)} decapsulation failed: {exc}"


def mlkem_owns(group: int, seed: bytes, encapsulation_key: bytes) -> bool:
    """Whether the seed's encapsulation key is the one the initiator's KE payload carried."""
    from cryptography.hazmat.primitives.asymmetric import mlkem

    key_class = getattr(mlkem, {36: "MLKEM768PrivateKey", 37: "MLKEM1024PrivateKey"}.get(group, ""), None)
    if key_class is None or len(seed) != ML_KEM_SEED_SIZE:
        return False
    return bool(
        key_class.from_seed_bytes(bytes(seed)).public_key().public_bytes_raw() == bytes(encapsulation_key)
    )


def ke_pair(request: list[Any], response: list[Any]) -> tuple[Ikev2KePayload, Ikev2KePayload] | None:
    ke_req = next((p for p in request if isinstance(p, Ikev2KePayload)), None)
    ke_resp = next((p for p in response if isinstance(p, Ikev2KePayload)), None)
    return (ke_req, ke_resp) if ke_req is not None and ke_resp is not None else None


def has_notify(payloads: list[Any], notify_type: int) -> Ikev2NotifyPayload | None:
    for p in payloads:  # a loop, not next(generator): asked several times of every IKE_AUTH message
        if isinstance(p, Ikev2NotifyPayload) and p.notify_type == notify_type:
            return p
    return None


def next_stage_keys(
    current: keymat.Ikev2Keys, secret: bytes, ni: bytes, nr: bytes, spi_i: bytes, spi_r: bytes
) -> keymat.Ikev2Keys:
    """Stage n's keys from stage n-1's and SK(n) (RFC 9370 section 2.2.2)."""
    skeyseed = keymat.stage_skeyseed(current.prf_id, current.sk_d, secret, ni, nr)
    return keymat.ike_sa_keys_from_skeyseed(
        skeyseed, ni, nr, spi_i, spi_r,
        prf_id=current.prf_id, encr_id=current.encr_id, encr_key_bits=current.encr_key_bits,
        integ_id=current.integ_id,
    )  # fmt: skip


def ppk_keys(keys: keymat.Ikev2Keys, ppk: bytes) -> keymat.Ikev2Keys:
    """RFC 8784 section 3: SK_d, SK_pi, SK_pr mixed with the PPK."""

    def mix(key: bytes) -> bytes:
        return prf_plus(keys.prf_id, bytes(ppk), key, len(key)) if key else key

    return keys._replace(sk_d=mix(keys.sk_d), sk_pi=mix(keys.sk_pi), sk_pr=mix(keys.sk_pr))


def ppk_identity(notify: Ikev2NotifyPayload) -> bytes:
    """PPK_ID of a PPK_IDENTITY notify: its data after the PPK_ID Type octet (RFC 8784 3)."""
    return bytes(notify.data[1:]) if notify.data else b""


def intermediate_a_part(header: bytes, sk_offset: int, first_inner: int, plaintext_length: int) -> bytes:
    """IntAuth_*A of a message (RFC 9242 section 3.3.2) as if it were not encrypted nor fragmented:
    the IKE header and the Encrypted payload's generic header, lengths of the plain message."""
    a_part = bytearray(header[:sk_offset] + bytes(4))
    if sk_offset == 28:
        a_part[16] = reg.PT_SK  # a fragment's IKE header names SKF: the whole message has SK
    a_part[24:28] = (sk_offset + 4 + plaintext_length).to_bytes(4, "big")
    a_part[sk_offset] = first_inner
    a_part[sk_offset + 2 : sk_offset + 4] = (4 + plaintext_length).to_bytes(2, "big")
    return bytes(a_part)
