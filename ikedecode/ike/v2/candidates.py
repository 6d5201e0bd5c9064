"""IKEv2 key candidates: one key set to try on an SA's messages, made from g^ir or given directly
(Wireshark's ikev2_decryption_table, charon logs, tcpdump -E), with where it came from and the RFC
9370 key stage it belongs to. ``keying`` tries them; the first whose ICV verifies is adopted."""

from __future__ import annotations

from dataclasses import dataclass

from ikedecode.ike.records import Ikev2DerivedKeys
from ikedecode.ike.v2 import keymat
from ikedecode.ike.v2.payloads import Ikev2Proposal
from ikedecode.keys.keyring import Ikev2KeyMaterial

# project algorithm names (keys/wireshark_names.py, keys/charon_log.py) -> IKEv2 transform IDs
ENCRYPTION_IDS = {
    "des-cbc": 2, "3des-cbc": 3, "cast-cbc": 6, "blowfish-cbc": 7, "null": 11, "aes-cbc": 12, "aes-ctr": 13,
    "aes-ccm-8": 14, "aes-ccm-12": 15, "aes-ccm-16": 16, "aes-gcm-8": 18, "aes-gcm-12": 19, "aes-gcm-16": 20,
    "camellia-cbc": 23, "chacha20-poly1305": 28,
}  # fmt: skip
INTEGRITY_IDS = {
    "null": 0, "hmac-md5-96": 1, "hmac-sha1-96": 2, "aes-xcbc-mac-96": 5, "hmac-md5-128": 6,
    "hmac-sha1-160": 7, "aes-cmac-96": 8, "hmac-sha2-256-128": 12, "hmac-sha2-384-192": 13,
    "hmac-sha2-512-256": 14,
}  # fmt: skip
SALT = {13: 4, 14: 3, 15: 3, 16: 3, 18: 4, 19: 4, 20: 4, 28: 4}
CCM = frozenset({14, 15, 16})
CCM_FLAGS_L4 = 0x03  # RFC 3610 counter-block flags with a 4-byte counter (RFC 4309 / 5282)


@dataclass(slots=True)
class KeyCandidate:
    keys: keymat.Ikev2Keys
    origin: str
    dh_secret: bytes | None = None
    dh_origin: str | None = None
    key_origin: str | None = None
    icv_unchecked: bool = False  # from a source whose tool skips the ICV (tcpdump -E)
    stage: int = 0  # RFC 9370 key stage: 0 from IKE_SA_INIT, n after the n-th additional exchange

    def record(self) -> Ikev2DerivedKeys:
        k = self.keys
        # positionally, in Ikev2DerivedKeys' field order (ike/records.py): one per adopted candidate
        return Ikev2DerivedKeys(
            k.sk_d or None, k.sk_ai, k.sk_ar, k.sk_ei, k.sk_er, k.sk_pi or None, k.sk_pr or None,
            k.skeyseed or None, self.dh_secret, None, self.dh_origin, self.key_origin,
        )  # fmt: skip


def from_material(material: Ikev2KeyMaterial, chosen: Ikev2Proposal | None) -> KeyCandidate | None:
    """A candidate from SK_* keys given directly; the transforms from the chosen proposal when the
    capture has it, else from the key source's algorithm names."""
    sk_ei, sk_er = material.sk_ei, material.sk_er
    encr_id = ENCRYPTION_IDS.get(material.encryption or "")
    integ_id: int | None = INTEGRITY_IDS.get(material.integrity or "")
    prf_id = 0
    key_bits: int | None = None
    if chosen is not None and chosen.encryption is not None:
        wanted = chosen.encryption.transform_id
        if (
            wanted in CCM
            and encr_id == 13
            and len(sk_ei) == len(sk_er)
            and sk_ei[-4:-3] == sk_er[-4:-3] == b"\x03"
        ):
            # Wireshark decrypts CCM as CTR: the CTR nonce is CCM's flags byte (L = 4) and salt
            sk_ei, sk_er = sk_ei[:-4] + sk_ei[-3:], sk_er[:-4] + sk_er[-3:]
        encr_id, key_bits = wanted, chosen.encryption.key_length
        integ = chosen.integrity
        integ_id = integ.transform_id if integ is not None and integ.transform_id else None
        prf_id = chosen.prf.transform_id if chosen.prf is not None else 0
    elif encr_id is not None:
        key_bits = (len(sk_ei) - SALT.get(encr_id, 0)) * 8 or None
    if encr_id is None:
        return None
    keys = keymat.Ikev2Keys(
        prf_id=prf_id,
        encr_id=encr_id,
        encr_key_bits=key_bits,
        integ_id=integ_id or None,
        skeyseed=b"",
        sk_d=material.sk_d or b"",
        sk_ai=material.sk_ai,
        sk_ar=material.sk_ar,
        sk_ei=sk_ei,
        sk_er=sk_er,
        sk_pi=material.sk_pi or b"",
        sk_pr=material.sk_pr or b"",
    )
    return KeyCandidate(
        keys,
        material.origin,
        key_origin=material.origin,
        icv_unchecked=material.icv_unchecked,
        stage=material.stage,
    )
