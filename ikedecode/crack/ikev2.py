"""IKEv2 shared-key AUTH payloads as cracking targets (RFC 7296 section 2.15).

    AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
    SignedOctets = RealMessage | Nonce(peer) | prf(SK_p, IDx')

The AUTH payload travels inside the encrypted IKE_AUTH exchange and the signed octets need SK_pi /
SK_pr, so unlike aggressive mode's HASH_R (``params``) an IKEv2 PSK cannot be attacked from a
capture alone: only with one side's DH secret, DH private key or session keys (a daemon log). The
engine records each AUTH it could open with its signed octets (``Ikev2Facts.psk_auth``); for an
HMAC PRF the test is the same two nested HMACs as HASH_R's, so ``search`` runs it unchanged
(``nonces`` = the key pad, ``message`` = the signed octets, ``hash_r`` = the AUTH data).
"""

from __future__ import annotations

from dataclasses import dataclass

from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.records import IkeSa, Ikev2PskAuth
from ikedecode.ike.v2.auth import KEY_PAD, psk_auth_data
from ikedecode.ike.v2.transforms import prf_params

PRF_NAMES = {1: "PRF_HMAC_MD5", 2: "PRF_HMAC_SHA1", 4: "PRF_AES128_XCBC", 5: "PRF_HMAC_SHA2_256",
             6: "PRF_HMAC_SHA2_384", 7: "PRF_HMAC_SHA2_512", 8: "PRF_AES128_CMAC"}  # fmt: skip
NOT_ATTACKABLE = (
    "IKEv2 PSKs cannot be attacked passively: the AUTH payload is encrypted and the octets it signs "
    "need SK_pi/SK_pr, so a word list can be tried only with one side's DH secret (--dh-secret), DH "
    "private key (--dh-private) or session keys (a daemon log, --keylog)"
)


@dataclass(frozen=True, slots=True)
class Ikev2AuthParams:
    """One IKEv2 shared-key AUTH with what it signs: the same reading interface as ``PskParams``."""

    prf_id: int
    signed_octets: bytes
    auth_data: bytes
    source: str  # "IKEv2 SA <SPIs>, AUTH of the initiator, frame 5"

    @property
    def nonces(self) -> bytes:  # the message of the inner prf (HASH_R's Ni_b | Nr_b)
        return KEY_PAD

    @property
    def message(self) -> bytes:
        return self.signed_octets

    @property
    def hash_r(self) -> bytes:  # the target
        return self.auth_data

    @property
    def hash_name(self) -> str:
        return PRF_NAMES.get(self.prf_id, f"PRF {self.prf_id}")

    @property
    def hashlib_name(self) -> str | None:
        """The hash of an HMAC PRF (RFC 2104 as ``search`` computes it); None for AES-XCBC/CMAC."""
        try:
            name = prf_params(self.prf_id).hash_name
        except UnsupportedAlgorithm:
            return None
        return name or None

    def verify(self, psk: bytes) -> bool:
        return psk_auth_data(self.prf_id, psk, self.signed_octets) == self.auth_data


def params_of_ikev2_sa(sa: IkeSa) -> list[Ikev2AuthParams]:
    """Each side's shared-key AUTH of an IKEv2 SA whose signed octets the engine could compute."""
    if sa.version != 2 or sa.ikev2 is None:
        return []
    return [_params(sa, target) for target in sa.ikev2.psk_auth]


def _params(sa: IkeSa, target: Ikev2PskAuth) -> Ikev2AuthParams:
    source = f"IKEv2 SA {sa.cookies}, AUTH of the {target.side}, frame {target.frame}"
    return Ikev2AuthParams(target.prf_id, target.signed_octets, target.auth_data, source)


def params_of_ikev2_sas(sas: list[IkeSa]) -> list[Ikev2AuthParams]:
    return [p for sa in sas for p in params_of_ikev2_sa(sa)]


def sealed_ikev2_sas(sas: list[IkeSa]) -> list[IkeSa]:
    """IKEv2 SAs whose IKE_AUTH could not be opened: their AUTH (PSK or not) is out of reach."""
    return [
        sa
        for sa in sas
        if sa.version == 2
        and any(m.exchange == "IKE_AUTH" and m.encrypted and not m.decrypted for m in sa.messages)
        and not (sa.ikev2 is not None and sa.ikev2.psk_auth)
    ]
