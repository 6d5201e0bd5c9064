"""From a completed quick mode to the key material of its IPsec SAs (RFC 2409 section 5.5).

For every proposal the responder accepted (one per protocol: an SA bundle carries AH and ESP),
two SAs are keyed, one per direction. The SPI in each KEYMAT seed is the one chosen by the SA's
receiver: the responder's SPI (from QM2) keys initiator->responder traffic, the initiator's SPI
(from QM1) keys responder->initiator traffic. KEYMAT = K1 | K2 | ... is prefix-stable: each SA
computes only the blocks its transform's keys take (``Keymat.prefix``), when the ESP layer asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from ikedecode.ike.dh_work import DhPrivateSecrets
from ikedecode.ike.registries import IPSEC_GROUP_DESCRIPTION
from ikedecode.ike.v1 import keyderiv
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import KePayload, NoncePayload, SaPayload
from ikedecode.keys.keyring import KeyRing

# Longest KEYMAT any IKEv1 transform pair needs: AES-256 + salt (36) with HMAC-SHA2-512 (64) = 100.
KEYMAT_LENGTH = 128
# enum members as module names: ``Label.QM1`` costs ten times as much to read (CPython 3.11)
QM1, QM2 = Label.QM1, Label.QM2


class Keymat(NamedTuple):
    """The KEYMAT of one IPsec SA direction (RFC 2409 section 5.5), computed as far as asked:
    ``prefix(n)`` is the first n bytes of the same KEYMAT whatever n (one prf call per block).
    Made twice per quick mode, hence a tuple; its repr leaves the secrets out."""

    hash_id: int
    skeyid_d: bytes
    seed: bytes  # keyderiv.quick_mode_seed

    def prefix(self, length: int = KEYMAT_LENGTH) -> bytes:
        return keyderiv.keymat_from_seed(self.hash_id, self.skeyid_d, self.seed, length)

    def __repr__(self) -> str:
        return f"Keymat(hash_id={self.hash_id!r})"


class ChildSaKeys(NamedTuple):
    """Key material for one direction of one IPsec SA, as negotiated by a quick mode (made twice
    per quick mode, hence a tuple)."""

    protocol_id: int  # 2 AH, 3 ESP (RFC 2407 4.4.1)
    spi: bytes
    src: str  # sender of the traffic this SA protects
    dst: str
    transform_id: int
    attributes: dict[int, int | bytes]  # IPsec DOI attributes of the accepted transform
    keymat: Keymat
    ike_cookies: str
    message_id: int
    dh_origin: str | None = None  # PFS: where g(qm)^xy came from

    @property
    def origin(self) -> str:
        pfs = f", PFS secret from {self.dh_origin}" if self.dh_origin else ""
        return f"quick mode 0x{self.message_id:08x} of IKE SA {self.ike_cookies}{pfs}"


# ``ChildSaKeys(...)``, ``Keymat(...)`` as ``_tuple_new(ChildSaKeys, (...))`` (every field given): a
# NamedTuple's own constructor is a Python function, and every quick mode makes two of each (a
# functools.partial of tuple.__new__ costs about 15% more than calling it)
_tuple_new = tuple.__new__


@dataclass(slots=True)
class QuickModeMaterial:
    """What QM1 and QM2 carried that the key schedule needs."""

    message_id: int
    initiator: str  # the quick mode's initiator (either phase-1 peer may start one)
    responder: str
    offer: SaPayload | None = None
    accepted: SaPayload | None = None
    ni_b: bytes | None = None
    nr_b: bytes | None = None
    ke_i: bytes | None = None
    ke_r: bytes | None = None

    def absorb(self, label: str, payloads: list[Any]) -> None:
        if label == QM1:
            offer = True
        elif label == QM2:
            offer = False
        else:  # QM3 and other messages carry nothing the key schedule needs
            return
        for p in payloads:  # (by exact type: no payload record has subclasses; one call a payload)
            kind = type(p)
            if kind is SaPayload:
                if offer:
                    self.offer = p
                else:
                    self.accepted = p
            elif kind is NoncePayload:
                if offer:
                    self.ni_b = p.data
                else:
                    self.nr_b = p.data
            elif kind is KePayload:
                if offer:
                    self.ke_i = p.data
                else:
                    self.ke_r = p.data

    @property
    def complete(self) -> bool:
        # (``is``: ``None in`` a tuple would compare the SA payload records by their __eq__)
        return (
            self.offer is not None
            and self.accepted is not None
            and self.ni_b is not None
            and self.nr_b is not None
        )


def pfs_secrets(
    keyring: KeyRing,
    qm: QuickModeMaterial,
    initiator_cookie: bytes,
    group: int | None,
    private_secrets: DhPrivateSecrets | None = None,
) -> list[tuple[bytes, str]]:
    """Candidate g(qm)^xy values for a quick mode with KE payloads (PFS).

    Private values are matched to the KE payloads through ``private_secrets`` (the engine's index;
    without it, a new in-line one); those that do not fit the group are skipped.
    """
    out: list[tuple[bytes, str]] = [
        (s.value, s.origin)
        for s in keyring.dh_secrets_for(initiator_cookie, qm.message_id)
        if s.message_id == qm.message_id or s.message_id is None
    ]
    if group is not None and qm.ke_i and qm.ke_r and keyring.dh_privates:
        secrets = private_secrets if private_secrets is not None else DhPrivateSecrets(keyring.dh_privates)
        for found in secrets.outcomes(group, qm.ke_i, qm.ke_r):
            if found.secret is not None:
                out.append((found.secret, f"{found.private.origin} (quick-mode {found.side})"))
    return out


def child_sa_keys(
    qm: QuickModeMaterial,
    hash_id: int,
    skeyid_d: bytes,
    keyring: KeyRing,
    initiator_cookie: bytes,
    ike_cookies: str,
    private_secrets: DhPrivateSecrets | None = None,
) -> list[ChildSaKeys]:
    """Both directions of every accepted proposal; with PFS one set per g(qm)^xy candidate."""
    if not qm.complete:
        return []
    assert qm.accepted is not None and qm.offer is not None and qm.ni_b is not None and qm.nr_b is not None
    out: list[ChildSaKeys] = []
    for accepted in qm.accepted.proposals:
        if not accepted.transforms:
            continue
        for offered in qm.offer.proposals:
            if offered.protocol_id == accepted.protocol_id:
                break
        else:
            continue
        transform = accepted.transforms[0]
        attributes = {a.type: a.value for a in transform.attributes}
        if qm.ke_i and qm.ke_r:
            group = attributes.get(IPSEC_GROUP_DESCRIPTION)
            secrets: list[tuple[bytes | None, str | None]] = list(
                pfs_secrets(
                    keyring, qm, initiator_cookie, group if isinstance(group, int) else None, private_secrets
                )
            )
        else:
            secrets = [(None, None)]
        directions = (
            (accepted.spi, qm.initiator, qm.responder),  # responder's SPI: initiator -> responder
            (offered.spi, qm.responder, qm.initiator),  # initiator's SPI: responder -> initiator
        )
        for g_qm_xy, dh_origin in secrets:
            for spi, src, dst in directions:
                if len(spi) != 4:
                    continue
                seed = keyderiv.quick_mode_seed(accepted.protocol_id, spi, qm.ni_b, qm.nr_b, g_qm_xy)
                out.append(
                    _tuple_new(
                        ChildSaKeys,
                        (
                            accepted.protocol_id,
                            spi,
                            src,
                            dst,
                            transform.transform_id,
                            attributes,
                            _tuple_new(Keymat, (hash_id, skeyid_d, seed)),
                            ike_cookies,
                            qm.message_id,
                            dh_origin,
                        ),
                    )
                )
    return out
