"""What an aggressive-mode HASH_R depends on besides the pre-shared key (RFC 2409 section 5).

    SKEYID = prf(PSK, Ni_b | Nr_b)
    HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)

AM1 (SA, KE, Ni, IDii) and AM2 (SA, KE, Nr, IDir, HASH_R) carry every input in clear text, so a
PSK guess can be tested without any Diffie-Hellman secret. ``PskParams`` holds them in the order
ike-scan's ``--pskcrack`` writes them; ``params_of_sa`` reads them from a decoded IKE SA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.registries import AUTHENTICATION_METHOD, HASH_ALGORITHM, HASH_ALGORITHMS
from ikedecode.ike.v1.authhash import hash_r
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.keyderiv import skeyid_preshared
from ikedecode.ike.v1.payloads import HashPayload, IdPayload, KePayload, NoncePayload, SaPayload, Transform
from ikedecode.ike.v1.phase1 import AuthFamily, auth_family

# IKE hash algorithm -> hashlib name (RFC 2409 Appendix A, RFC 4868); Tiger is not in hashlib
HASHLIB_NAMES = {1: "md5", 2: "sha1", 4: "sha256", 5: "sha384", 6: "sha512"}
HASH_ID_BY_DIGEST_LENGTH = {16: 1, 20: 2, 32: 4, 48: 5, 64: 6}


@dataclass(frozen=True, slots=True)
class PskParams:
    g_xr: bytes
    g_xi: bytes
    cky_r: bytes
    cky_i: bytes
    sai_b: bytes  # body of the initiator's SA payload
    idir_b: bytes  # body of the responder's ID payload
    ni_b: bytes
    nr_b: bytes
    hash_r: bytes
    hash_id: int  # IKE hash algorithm: 1 MD5, 2 SHA, 4/5/6 SHA2-256/384/512
    source: str = ""  # where they came from: "IKE SA <cookies>, AM2 frame 2" or "<file>:<line>"

    @property
    def message(self) -> bytes:
        """The data HASH_R is the prf of: g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b."""
        return self.g_xr + self.g_xi + self.cky_r + self.cky_i + self.sai_b + self.idir_b

    @property
    def nonces(self) -> bytes:
        return self.ni_b + self.nr_b

    @property
    def hash_name(self) -> str:
        return HASH_ALGORITHMS.name(self.hash_id)

    @property
    def hashlib_name(self) -> str | None:
        return HASHLIB_NAMES.get(self.hash_id)

    def verify(self, psk: bytes) -> bool:
        """Whether ``psk`` gives this HASH_R (no DH secret needed)."""
        skeyid = skeyid_preshared(self.hash_id, psk, self.ni_b, self.nr_b)
        expected = hash_r(
            self.hash_id, skeyid, self.g_xi, self.g_xr, self.cky_i, self.cky_r, self.sai_b, self.idir_b
        )
        return expected == self.hash_r


_P = TypeVar("_P")


def _first(msg: IkeMessage | None, kind: type[_P]) -> _P | None:
    if msg is None:
        return None
    return next((p for p in msg.payloads if isinstance(p, kind)), None)


def _chosen_value(sa: IkeSa, attribute: int) -> int | None:
    if not isinstance(sa.chosen, Transform):
        return None
    for a in sa.chosen.attributes:
        if a.type == attribute and isinstance(a.value, int):
            return a.value
    return None


def params_of_sa(sa: IkeSa) -> PskParams | None:
    """The HASH_R inputs of an aggressive-mode PSK exchange, or None when AM1/AM2 are incomplete."""
    if sa.version != 1 or sa.exchange != "aggressive" or sa.responder_cookie is None:
        return None
    method, hash_id = _chosen_value(sa, AUTHENTICATION_METHOD), _chosen_value(sa, HASH_ALGORITHM)
    if method is None or hash_id is None or auth_family(method) is not AuthFamily.PRESHARED:
        return None
    originals = [m for m in sa.messages if m.retransmission_of is None]
    am1 = next((m for m in originals if m.label == Label.AM1), None)
    am2 = next((m for m in originals if m.label == Label.AM2), None)
    sa_i, ke_i, n_i = _first(am1, SaPayload), _first(am1, KePayload), _first(am1, NoncePayload)
    ke_r, n_r, id_r = _first(am2, KePayload), _first(am2, NoncePayload), _first(am2, IdPayload)
    hash_payload = _first(am2, HashPayload)
    if (
        am2 is None
        or sa_i is None
        or ke_i is None
        or n_i is None
        or ke_r is None
        or n_r is None
        or id_r is None
        or hash_payload is None
    ):
        return None
    return PskParams(
        g_xr=ke_r.data,
        g_xi=ke_i.data,
        cky_r=sa.responder_cookie,
        cky_i=sa.initiator_cookie,
        sai_b=sa_i.body,
        idir_b=id_r.body,
        ni_b=n_i.data,
        nr_b=n_r.data,
        hash_r=hash_payload.data,
        hash_id=hash_id,
        source=f"IKE SA {sa.cookies}, AM2 frame {am2.frame}",
    )


def params_of_sas(sas: list[IkeSa]) -> list[PskParams]:
    return [p for p in (params_of_sa(sa) for sa in sas) if p is not None]
