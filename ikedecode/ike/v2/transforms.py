"""IKEv2 transform parameters as data: what each negotiated number means to the cryptography.

Keys are the IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" values of Transform Type 1
(Encryption Algorithm, ENCR), Type 2 (Pseudorandom Function, PRF) and Type 3 (Integrity Algorithm,
INTEG). These tables carry only cryptographic parameters; the names of the transforms live in the
IKEv2 name registry (one place for names), the comments here say which is which.

Type 1 numbers are shared by the IKE SA (SK payload, RFC 7296 section 3.14) and by ESP Child SAs;
``ike_sa`` says whether an algorithm is defined for protecting IKE messages.

Sizes are in bytes. ``key_sizes`` lists the cipher key lengths a Key Length attribute may choose
(bits / 8), the first one being the only one for fixed-key ciphers; ``salt_size`` is the
keying-material tail after the cipher key (RFC 5930 nonce for CTR, RFC 5282 salt for GCM/CCM,
RFC 7634 salt for ChaCha20-Poly1305), so SK_ei / SK_er are ``key + salt`` bytes long (RFC 7296
section 2.14, RFC 5282 section 7.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ikedecode.ike.crypto_errors import InvalidKeyMaterial, UnsupportedAlgorithm

__all__ = [
    "ENCR",
    "INTEG",
    "PRF",
    "CipherMode",
    "EncrParams",
    "IntegParams",
    "MacKind",
    "PrfParams",
    "encr_keymat_size",
    "encr_params",
    "integ_params",
    "prf_params",
]


class CipherMode(StrEnum):
    CBC = "cbc"
    CTR = "ctr"  # RFC 5930 for IKEv2
    CCM = "ccm"  # RFC 5282
    GCM = "gcm"  # RFC 5282
    GMAC = "gmac"  # RFC 4543, ESP only
    CHACHA20_POLY1305 = "chacha20-poly1305"  # RFC 7634
    NULL = "null"  # RFC 2410, ESP only


class MacKind(StrEnum):
    HMAC = "hmac"  # RFC 2104 over a hash
    XCBC = "xcbc"  # AES-XCBC-MAC (RFC 3566) / AES-XCBC-PRF-128 (RFC 4434)
    CMAC = "cmac"  # AES-CMAC (RFC 4493) / AES-CMAC-PRF-128 (RFC 4615)


@dataclass(frozen=True, slots=True)
class EncrParams:
    transform_id: int
    mode: CipherMode
    primitive: str  # "aes", "3des", "des", "camellia", "cast5", "blowfish", "chacha20", ""
    key_sizes: tuple[int, ...]  # allowed cipher key lengths (without salt); first = default
    variable_key: bool  # takes the Key Length attribute (RFC 7296 section 3.3.5)
    block_size: int  # cipher block size; the padding unit of the SK payload (1 for stream modes)
    iv_size: int  # IV bytes carried in every SK payload
    salt_size: int = 0
    icv_size: int = 0  # AEAD tag length; 0 when a separate INTEG transform supplies the ICV
    aead: bool = False
    ike_sa: bool = True  # defined for the IKE SA's SK payload (not only for ESP)
    rfc: str = ""


@dataclass(frozen=True, slots=True)
class PrfParams:
    transform_id: int
    kind: MacKind
    hash_name: str  # hashlib name for HMAC PRFs, "" otherwise
    output_size: int
    key_size: int  # preferred key length: the size of SK_d, SK_pi, SK_pr (RFC 7296 section 2.14)
    fixed_key: bool  # XCBC/CMAC: the SKEYSEED key is Ni[:8] | Nr[:8] (RFC 7296 section 2.14)
    rfc: str = ""


@dataclass(frozen=True, slots=True)
class IntegParams:
    transform_id: int
    kind: MacKind
    hash_name: str  # hashlib name for HMACs, "" otherwise
    key_size: int  # SK_ai / SK_ar length
    icv_size: int  # truncated output carried after the encrypted data
    rfc: str = ""


_AES = (16, 24, 32)
_B = 1  # block size of counter and stream modes


def _aes_aead(tid: int, mode: CipherMode, salt: int, icv: int, rfc: str) -> EncrParams:
    return EncrParams(tid, mode, "aes", _AES, True, _B, 8, salt, icv, True, rfc=rfc)


# IANA IKEv2 Transform Type 1.
ENCR: dict[int, EncrParams] = {
    p.transform_id: p
    for p in (
        EncrParams(2, CipherMode.CBC, "des", (8,), False, 8, 8, rfc="RFC 2405"),  # ENCR_DES
        EncrParams(3, CipherMode.CBC, "3des", (24,), False, 8, 8, rfc="RFC 2451"),  # ENCR_3DES
        EncrParams(6, CipherMode.CBC, "cast5", (16,) + tuple(range(5, 16)), True, 8, 8, rfc="RFC 2451"),
        EncrParams(7, CipherMode.CBC, "blowfish", (16,) + tuple(range(5, 57)), True, 8, 8, rfc="RFC 2451"),
        EncrParams(11, CipherMode.NULL, "", (0,), False, _B, 0, ike_sa=False, rfc="RFC 2410"),  # ENCR_NULL
        EncrParams(12, CipherMode.CBC, "aes", _AES, True, 16, 16, rfc="RFC 3602"),  # ENCR_AES_CBC
        EncrParams(13, CipherMode.CTR, "aes", _AES, True, _B, 8, 4, rfc="RFC 5930"),  # ENCR_AES_CTR
        _aes_aead(14, CipherMode.CCM, 3, 8, "RFC 5282"),  # ENCR_AES_CCM_8
        _aes_aead(15, CipherMode.CCM, 3, 12, "RFC 5282"),  # ENCR_AES_CCM_12
        _aes_aead(16, CipherMode.CCM, 3, 16, "RFC 5282"),  # ENCR_AES_CCM_16
        _aes_aead(18, CipherMode.GCM, 4, 8, "RFC 5282"),  # ENCR_AES_GCM_8
        _aes_aead(19, CipherMode.GCM, 4, 12, "RFC 5282"),  # ENCR_AES_GCM_12
        _aes_aead(20, CipherMode.GCM, 4, 16, "RFC 5282"),  # ENCR_AES_GCM_16
        EncrParams(  # ENCR_NULL_AUTH_AES_GMAC: integrity only, defined for ESP (RFC 4543)
            21, CipherMode.GMAC, "aes", _AES, True, _B, 8, 4, 16, True, ike_sa=False, rfc="RFC 4543"
        ),
        EncrParams(23, CipherMode.CBC, "camellia", _AES, True, 16, 16, rfc="RFC 5529"),  # ENCR_CAMELLIA_CBC
        EncrParams(  # ENCR_CHACHA20_POLY1305
            28, CipherMode.CHACHA20_POLY1305, "chacha20", (32,), False, _B, 8, 4, 16, True, rfc="RFC 7634"
        ),
    )
}

# IANA IKEv2 Transform Type 2.
PRF: dict[int, PrfParams] = {
    p.transform_id: p
    for p in (
        PrfParams(1, MacKind.HMAC, "md5", 16, 16, False, "RFC 2104"),  # PRF_HMAC_MD5
        PrfParams(2, MacKind.HMAC, "sha1", 20, 20, False, "RFC 2104"),  # PRF_HMAC_SHA1
        PrfParams(4, MacKind.XCBC, "", 16, 16, True, "RFC 4434"),  # PRF_AES128_XCBC
        PrfParams(5, MacKind.HMAC, "sha256", 32, 32, False, "RFC 4868"),  # PRF_HMAC_SHA2_256
        PrfParams(6, MacKind.HMAC, "sha384", 48, 48, False, "RFC 4868"),  # PRF_HMAC_SHA2_384
        PrfParams(7, MacKind.HMAC, "sha512", 64, 64, False, "RFC 4868"),  # PRF_HMAC_SHA2_512
        PrfParams(8, MacKind.CMAC, "", 16, 16, True, "RFC 4615"),  # PRF_AES128_CMAC
    )
}

# IANA IKEv2 Transform Type 3.
INTEG: dict[int, IntegParams] = {
    p.transform_id: p
    for p in (
        IntegParams(1, MacKind.HMAC, "md5", 16, 12, "RFC 2403"),  # AUTH_HMAC_MD5_96
        IntegParams(2, MacKind.HMAC, "sha1", 20, 12, "RFC 2404"),  # AUTH_HMAC_SHA1_96
        IntegParams(5, MacKind.XCBC, "", 16, 12, "RFC 3566"),  # AUTH_AES_XCBC_96
        IntegParams(6, MacKind.HMAC, "md5", 16, 16, "RFC 4595"),  # AUTH_HMAC_MD5_128
        IntegParams(7, MacKind.HMAC, "sha1", 20, 20, "RFC 4595"),  # AUTH_HMAC_SHA1_160
        IntegParams(8, MacKind.CMAC, "", 16, 12, "RFC 4494"),  # AUTH_AES_CMAC_96
        IntegParams(12, MacKind.HMAC, "sha256", 32, 16, "RFC 4868"),  # AUTH_HMAC_SHA2_256_128
        IntegParams(13, MacKind.HMAC, "sha384", 48, 24, "RFC 4868"),  # AUTH_HMAC_SHA2_384_192
        IntegParams(14, MacKind.HMAC, "sha512", 64, 32, "RFC 4868"),  # AUTH_HMAC_SHA2_512_256
    )
}


def encr_params(transform_id: int) -> EncrParams:
    """Parameters of an ENCR transform, or ``UnsupportedAlgorithm``."""
    params = ENCR.get(transform_id) if isinstance(transform_id, int) else None
    if params is None:
        raise UnsupportedAlgorithm(f"IKEv2 encryption transform {transform_id!r} is not supported")
    return params


def prf_params(transform_id: int) -> PrfParams:
    """Parameters of a PRF transform, or ``UnsupportedAlgorithm``."""
    params = PRF.get(transform_id) if isinstance(transform_id, int) else None
    if params is None:
        raise UnsupportedAlgorithm(f"IKEv2 PRF transform {transform_id!r} is not supported")
    return params


def integ_params(transform_id: int) -> IntegParams:
    """Parameters of an INTEG transform, or ``UnsupportedAlgorithm`` (NONE = 0 is not in the table)."""
    params = INTEG.get(transform_id) if isinstance(transform_id, int) else None
    if params is None:
        raise UnsupportedAlgorithm(f"IKEv2 integrity transform {transform_id!r} is not supported")
    return params


def encr_keymat_size(transform_id: int, key_length_bits: int | None = None) -> int:
    """Bytes of keying material one direction of an ENCR transform takes: key + salt.

    ``key_length_bits`` is the Key Length attribute (RFC 7296 section 3.3.5); it must be absent
    or equal to the key size for fixed-key ciphers. For variable-key ciphers an absent attribute
    means the default (first) size; RFC 7296 makes the attribute mandatory for AES, and
    implementations that omit it use 128 bits.
    """
    params = encr_params(transform_id)
    if key_length_bits is None:
        key = params.key_sizes[0]
    elif key_length_bits % 8 == 0 and key_length_bits // 8 in params.key_sizes:
        key = key_length_bits // 8
    else:
        raise InvalidKeyMaterial(
            f"key length {key_length_bits!r} bits is not valid for encryption transform {transform_id}"
        )
    return key + params.salt_size
