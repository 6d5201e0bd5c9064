"""IKEv2 key derivation: SKEYSEED, the seven SK_* keys, IKE SA rekey, Child SA KEYMAT.

* RFC 7296 section 2.14: SKEYSEED = prf(Ni | Nr, g^ir);
  {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
  SK_d, SK_pi, SK_pr are the PRF's preferred key length; SK_a* the INTEG key length (absent with
  an AEAD cipher, RFC 5282 section 7.1); SK_e* the cipher key plus its salt / nonce.
  For a PRF with a fixed key size (AES-XCBC-PRF-128, AES-CMAC-PRF-128) the SKEYSEED key is the
  first half from Ni and the second from Nr: Ni[:8] | Nr[:8] ("taking the first bits of each").
* RFC 7296 section 2.18 (rekeying the IKE SA with CREATE_CHILD_SA):
  SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), computed with the OLD IKE SA's PRF; the seven
  keys then come from prf+ of the NEW SA's PRF over the new nonces and the new SPIs.
* RFC 9370 section 2.2.2 (additional key exchanges in IKE_INTERMEDIATE):
  SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr), the same formula with SK(n) in the place of
  g^ir; the keys are then recomputed with the IKE_SA_INIT nonces and the SA's SPIs. Section 2.2.4
  (CREATE_CHILD_SA + IKE_FOLLOWUP_KE): the later secrets follow the nonces,
  SKEYSEED = prf(SK_d, SK(0) | Ni | Nr | SK(1) | ... | SK(n)), KEYMAT likewise.
* RFC 7296 section 2.17 (Child SA): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); keys of the
  initiator-to-responder SA come first, each direction's encryption key before its integrity key.

Bad sizes and unknown algorithms raise ``InvalidKeyMaterial`` / ``UnsupportedAlgorithm``.
"""

from __future__ import annotations

from typing import NamedTuple

from ikedecode.ike.crypto_errors import InvalidKeyMaterial
from ikedecode.ike.v2.prf import prf, prf_plus
from ikedecode.ike.v2.transforms import encr_keymat_size, encr_params, integ_params, prf_params

__all__ = [
    "ChildSaKeys",
    "Ikev2Keys",
    "child_sa_keys",
    "derive_ike_sa_keys",
    "derive_rekeyed_ike_sa_keys",
    "ike_sa_keys_from_skeyseed",
    "initial_skeyseed",
    "rekey_skeyseed",
    "stage_skeyseed",
]

_SPI_SIZE = 8
_BYTES = (bytes, bytearray, memoryview)


def _secret(value: bytes) -> bytes:
    return bytes(value)


class Ikev2Keys(NamedTuple):
    """The keys of one IKE SA (RFC 7296 section 2.14) and the transforms they are for.

    ``sk_ai`` / ``sk_ar`` are empty for an AEAD cipher. ``encr_key_bits`` is the Key Length
    attribute as negotiated (``None`` when absent). Secrets are kept out of ``repr``. A NamedTuple:
    one or more per IKE SA, never changed (``_replace`` makes the PPK-mixed keys, RFC 8784).
    """

    prf_id: int
    encr_id: int
    encr_key_bits: int | None
    integ_id: int | None  # None (or 0 = NONE) with an AEAD cipher
    skeyseed: bytes
    sk_d: bytes
    sk_ai: bytes
    sk_ar: bytes
    sk_ei: bytes
    sk_er: bytes
    sk_pi: bytes
    sk_pr: bytes

    def sender_keys(self, from_initiator: bool) -> tuple[bytes, bytes]:
        """(SK_e, SK_a) protecting what the original initiator (I flag set) or responder sends."""
        return (self.sk_ei, self.sk_ai) if from_initiator else (self.sk_er, self.sk_ar)

    def __repr__(self) -> str:
        return (
            f"Ikev2Keys(prf_id={self.prf_id!r}, encr_id={self.encr_id!r}, "
            f"encr_key_bits={self.encr_key_bits!r}, integ_id={self.integ_id!r})"
        )


class ChildSaKeys(NamedTuple):
    """KEYMAT of one Child SA pair split per RFC 7296 section 2.17 (encryption keys include salt)."""

    encr_i: bytes  # initiator -> responder
    integ_i: bytes
    encr_r: bytes  # responder -> initiator
    integ_r: bytes

    def __repr__(self) -> str:
        return "ChildSaKeys()"


def _check_nonce(name: str, nonce: bytes) -> None:
    # RFC 7296 section 3.9: nonces are 16 to 256 bytes. Shorter ones are seen from broken
    # peers; the derivation still works as long as the fixed-key PRFs get their 8 bytes.
    if not isinstance(nonce, _BYTES) or len(nonce) == 0:
        raise InvalidKeyMaterial(f"{name} must be a non-empty byte string")


def _check_spis(spi_i: bytes, spi_r: bytes) -> None:
    if len(spi_i) != _SPI_SIZE or len(spi_r) != _SPI_SIZE:
        raise InvalidKeyMaterial(
            f"IKE SPIs must be {_SPI_SIZE} bytes each, got {len(spi_i)} and {len(spi_r)} bytes"
        )


def initial_skeyseed(prf_id: int, shared_secret: bytes, ni: bytes, nr: bytes) -> bytes:
    """SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 section 2.14), fixed-key PRFs keyed Ni[:8] | Nr[:8]."""
    _check_nonce("Ni", ni)
    _check_nonce("Nr", nr)
    if not shared_secret:
        raise InvalidKeyMaterial("the Diffie-Hellman shared secret g^ir is empty")
    params = prf_params(prf_id)
    if params.fixed_key:
        half = params.key_size // 2
        if len(ni) < half or len(nr) < half:
            raise InvalidKeyMaterial(f"nonces shorter than {half} bytes cannot key this PRF")
        key = bytes(ni[:half]) + bytes(nr[:half])
    else:
        key = bytes(ni) + bytes(nr)
    return prf(prf_id, key, shared_secret)


def rekey_skeyseed(
    old_prf_id: int, old_sk_d: bytes, shared_secret: bytes, ni: bytes, nr: bytes, additional: bytes = b""
) -> bytes:
    """SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old SA's PRF (RFC 7296 section 2.18).

    ``ni`` / ``nr`` are the nonces of the CREATE_CHILD_SA exchange that rekeys the IKE SA;
    ``additional`` is SK(1) | ... | SK(n) of its IKE_FOLLOWUP_KE exchanges (RFC 9370 section 2.2.4:
    SKEYSEED = prf(SK_d, SK(0) | Ni | Nr | SK(1) | ... | SK(n)), after the nonces).
    """
    _check_nonce("Ni", ni)
    _check_nonce("Nr", nr)
    if not old_sk_d:
        raise InvalidKeyMaterial("SK_d of the old IKE SA is empty")
    return prf(old_prf_id, old_sk_d, bytes(shared_secret) + bytes(ni) + bytes(nr) + bytes(additional))


def stage_skeyseed(prf_id: int, previous_sk_d: bytes, stage_secret: bytes, ni: bytes, nr: bytes) -> bytes:
    """SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr) (RFC 9370 section 2.2.2).

    ``stage_secret`` is SK(n), the shared secret of the n-th additional key exchange;
    ``previous_sk_d`` is SK_d(n-1); ``ni`` / ``nr`` are the IKE_SA_INIT nonces (or, for
    IKE_FOLLOWUP_KE after a rekey, the nonces of that CREATE_CHILD_SA). Same formula as the
    rekey of RFC 7296 section 2.18 with SK(n) in the place of g^ir.
    """
    if not stage_secret:
        raise InvalidKeyMaterial("the shared secret of the additional key exchange is empty")
    return rekey_skeyseed(prf_id, previous_sk_d, stage_secret, ni, nr)


def ike_sa_keys_from_skeyseed(
    skeyseed: bytes,
    ni: bytes,
    nr: bytes,
    spi_i: bytes,
    spi_r: bytes,
    *,
    prf_id: int,
    encr_id: int,
    encr_key_bits: int | None = None,
    integ_id: int | None = None,
) -> Ikev2Keys:
    """{SK_d, SK_ai, SK_ar, SK_ei, SK_er, SK_pi, SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)."""
    _check_nonce("Ni", ni)
    _check_nonce("Nr", nr)
    _check_spis(spi_i, spi_r)
    prf_key = prf_params(prf_id).key_size
    encr = encr_params(encr_id)
    e_size = encr_keymat_size(encr_id, encr_key_bits)
    if encr.aead:
        a_size = 0
    elif integ_id:
        a_size = integ_params(integ_id).key_size
    else:
        raise InvalidKeyMaterial(
            f"encryption transform {encr_id} is not AEAD and needs an integrity transform"
        )
    # SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr, in this order (RFC 7296 section 2.14)
    ai = prf_key
    ar = ai + a_size
    ei = ar + a_size
    er = ei + e_size
    pi = er + e_size
    pr = pi + prf_key
    stream = prf_plus(prf_id, skeyseed, bytes(ni) + bytes(nr) + bytes(spi_i) + bytes(spi_r), pr + prf_key)
    return Ikev2Keys(
        prf_id,
        encr_id,
        encr_key_bits,
        integ_id if not encr.aead else None,
        bytes(skeyseed),
        stream[:ai],
        stream[ai:ar],
        stream[ar:ei],
        stream[ei:er],
        stream[er:pi],
        stream[pi:pr],
        stream[pr:],
    )


def derive_ike_sa_keys(
    shared_secret: bytes,
    ni: bytes,
    nr: bytes,
    spi_i: bytes,
    spi_r: bytes,
    *,
    prf_id: int,
    encr_id: int,
    encr_key_bits: int | None = None,
    integ_id: int | None = None,
) -> Ikev2Keys:
    """The keys of an IKE SA made by IKE_SA_INIT (RFC 7296 section 2.14)."""
    skeyseed = initial_skeyseed(prf_id, shared_secret, ni, nr)
    return ike_sa_keys_from_skeyseed(
        skeyseed, ni, nr, spi_i, spi_r,
        prf_id=prf_id, encr_id=encr_id, encr_key_bits=encr_key_bits, integ_id=integ_id,
    )  # fmt: skip


def derive_rekeyed_ike_sa_keys(
    old: Ikev2Keys,
    shared_secret: bytes,
    ni: bytes,
    nr: bytes,
    new_spi_i: bytes,
    new_spi_r: bytes,
    *,
    prf_id: int,
    encr_id: int,
    encr_key_bits: int | None = None,
    integ_id: int | None = None,
    additional: bytes = b"",
) -> Ikev2Keys:
    """The keys of the IKE SA that a CREATE_CHILD_SA rekey makes (RFC 7296 section 2.18).

    ``prf_id`` & co. are the NEW SA's transforms; SKEYSEED uses ``old.prf_id`` and ``old.sk_d``.
    ``new_spi_i`` is the SPI of the rekey's initiator (which may be the original responder).
    """
    skeyseed = rekey_skeyseed(old.prf_id, old.sk_d, shared_secret, ni, nr, additional)
    return ike_sa_keys_from_skeyseed(
        skeyseed, ni, nr, new_spi_i, new_spi_r,
        prf_id=prf_id, encr_id=encr_id, encr_key_bits=encr_key_bits, integ_id=integ_id,
    )  # fmt: skip


def child_sa_keys(
    prf_id: int,
    sk_d: bytes,
    ni: bytes,
    nr: bytes,
    *,
    encr_keymat_size: int,
    integ_key_size: int,
    shared_secret: bytes = b"",
    additional: bytes = b"",
) -> ChildSaKeys:
    """KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), split per RFC 7296 section 2.17.

    ``encr_keymat_size`` is the cipher key plus salt (``transforms.encr_keymat_size``, the ENCR
    numbers are shared with ESP), ``integ_key_size`` the integrity key (0 with AEAD / NONE).
    ``ni`` / ``nr`` are the nonces of the exchange that made the Child SA (IKE_SA_INIT's for the
    first Child SA made by IKE_AUTH); ``shared_secret`` is the PFS g^ir of a CREATE_CHILD_SA,
    ``additional`` SK(1) | ... | SK(n) of its IKE_FOLLOWUP_KE exchanges (RFC 9370 section 2.2.4:
    KEYMAT = prf+(SK_d, SK(0) | Ni | Nr | SK(1) | ... | SK(n))).
    """
    _check_nonce("Ni", ni)
    _check_nonce("Nr", nr)
    if not sk_d:
        raise InvalidKeyMaterial("SK_d is empty")
    if encr_keymat_size < 0 or integ_key_size < 0:
        raise InvalidKeyMaterial("Child SA key sizes must not be negative")
    e, a = encr_keymat_size, integ_key_size
    seed = bytes(shared_secret) + bytes(ni) + bytes(nr) + bytes(additional)
    keymat = prf_plus(prf_id, sk_d, seed, 2 * (e + a))
    return ChildSaKeys(keymat[:e], keymat[e : e + a], keymat[e + a : 2 * e + a], keymat[2 * e + a :])
