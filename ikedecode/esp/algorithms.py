"""ESP/AH encryption and integrity algorithms as data.

Every algorithm has one canonical name used across the project (key files, JSON, reports);
``resolve_encryption`` / ``resolve_integrity`` also accept the spellings of Wireshark's
``esp_sa`` table, strongSwan proposal keywords and ``ip xfrm`` algorithm names.

What a negotiated IKE transform ID means in these names, and how its KEYMAT splits, is in
``esp/transforms.py``.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Literal


class UnknownAlgorithm(ValueError):
    """A name or transform number that this table does not know."""


CipherMode = Literal["null", "cbc", "ctr", "gcm", "gmac", "ccm", "chacha20-poly1305"]
IntegrityKind = Literal["null", "hmac", "xcbc", "cmac", "unchecked"]


@dataclass(frozen=True, slots=True)
class EncryptionAlgorithm:
    name: str
    mode: CipherMode
    primitive: str  # block cipher / stream cipher family ("aes", "3des", "chacha20", "" for null)
    block_size: int  # cipher block size; 1 for stream and counter modes
    iv_size: int  # bytes of explicit IV carried in every ESP packet
    key_sizes: tuple[int, ...]  # cipher key lengths in bytes, without salt/nonce
    salt_size: int = (
        0  # KEYMAT bytes after the cipher key: nonce (RFC 3686) or salt (RFC 4106/4309/4543/7634)
    )
    icv_size: int = 0  # ICV of a combined mode; 0 when a separate integrity algorithm supplies it
    combined: bool = False  # AEAD: the algorithm itself authenticates (no separate integrity algorithm)
    confidential: bool = True  # False for null and AES-GMAC (RFC 4543): payload travels in clear
    supported: bool = True  # False when the crypto backend lacks the cipher: SAs are reported, not decrypted
    rfc: str = ""

    @property
    def default_key_size(self) -> int:
        return self.key_sizes[0] if self.key_sizes else 0

    @property
    def pad_alignment(self) -> int:
        """The padding boundary of RFC 4303 section 2.4: block size, at least 4 bytes."""
        return max(self.block_size, 4)


@dataclass(frozen=True, slots=True)
class IntegrityAlgorithm:
    name: str
    kind: IntegrityKind
    key_size: int  # KEYMAT bytes (the key length RFC 2404 & co. mandate); 0 = no key
    icv_size: int  # truncated ICV carried in the packet
    hash_name: str = ""  # hashlib / cryptography name for HMACs
    supported: bool = True
    rfc: str = ""

    @property
    def checks(self) -> bool:
        return self.kind not in ("null", "unchecked")


_AES = (16, 24, 32)
_BLOWFISH = tuple(range(5, 57))  # RFC 2451: 40 to 448 bits, default 128
_CAST = tuple(range(5, 17))  # RFC 2144 / 2451: 40 to 128 bits, default 128


def _aes_aead(name: str, mode: CipherMode, salt: int, icv: int, rfc: str) -> EncryptionAlgorithm:
    return EncryptionAlgorithm(
        name, mode, "aes", 1, 8, _AES, salt_size=salt, icv_size=icv, combined=True, rfc=rfc
    )


ENCRYPTION_ALGORITHMS: dict[str, EncryptionAlgorithm] = {
    alg.name: alg
    for alg in (
        EncryptionAlgorithm("null", "null", "", 1, 0, (0,), confidential=False, rfc="RFC 2410"),
        EncryptionAlgorithm("des-cbc", "cbc", "des", 8, 8, (8,), rfc="RFC 2405"),
        EncryptionAlgorithm("3des-cbc", "cbc", "3des", 8, 8, (24,), rfc="RFC 2451"),
        EncryptionAlgorithm("aes-cbc", "cbc", "aes", 16, 16, (16, 24, 32), rfc="RFC 3602"),
        EncryptionAlgorithm("aes-ctr", "ctr", "aes", 1, 8, (16, 24, 32), salt_size=4, rfc="RFC 3686"),
        _aes_aead("aes-ccm-8", "ccm", 3, 8, "RFC 4309"),
        _aes_aead("aes-ccm-12", "ccm", 3, 12, "RFC 4309"),
        _aes_aead("aes-ccm-16", "ccm", 3, 16, "RFC 4309"),
        _aes_aead("aes-gcm-8", "gcm", 4, 8, "RFC 4106"),
        _aes_aead("aes-gcm-12", "gcm", 4, 12, "RFC 4106"),
        _aes_aead("aes-gcm-16", "gcm", 4, 16, "RFC 4106"),
        EncryptionAlgorithm(
            "aes-gmac",
            "gmac",
            "aes",
            1,
            8,
            _AES,
            salt_size=4,
            icv_size=16,
            combined=True,
            confidential=False,
            rfc="RFC 4543",
        ),
        EncryptionAlgorithm(
            "chacha20-poly1305",
            "chacha20-poly1305",
            "chacha20",
            1,
            8,
            (32,),
            salt_size=4,
            icv_size=16,
            combined=True,
            rfc="RFC 7634",
        ),
        EncryptionAlgorithm("blowfish-cbc", "cbc", "blowfish", 8, 8, _BLOWFISH, rfc="RFC 2451"),
        EncryptionAlgorithm("cast-cbc", "cbc", "cast5", 8, 8, _CAST, rfc="RFC 2144, RFC 2451"),
        EncryptionAlgorithm("camellia-cbc", "cbc", "camellia", 16, 16, _AES, rfc="RFC 4312"),
        # Known so that key files naming them load and the SAs are counted, but no backend cipher:
        EncryptionAlgorithm("twofish-cbc", "cbc", "twofish", 16, 16, _AES, supported=False),
        EncryptionAlgorithm("serpent-cbc", "cbc", "serpent", 16, 16, _AES, supported=False),
    )
}

_RIPEMD160 = "ripemd160" in hashlib.algorithms_available

INTEGRITY_ALGORITHMS: dict[str, IntegrityAlgorithm] = {
    alg.name: alg
    for alg in (
        IntegrityAlgorithm("null", "null", 0, 0),
        IntegrityAlgorithm("hmac-md5-96", "hmac", 16, 12, "md5", rfc="RFC 2403"),
        IntegrityAlgorithm("hmac-sha1-96", "hmac", 20, 12, "sha1", rfc="RFC 2404"),
        IntegrityAlgorithm(
            "hmac-sha2-256-96", "hmac", 32, 12, "sha256", rfc="draft-ietf-ipsec-ciph-sha-256-00"
        ),
        IntegrityAlgorithm("hmac-sha2-256-128", "hmac", 32, 16, "sha256", rfc="RFC 4868"),
        IntegrityAlgorithm("hmac-sha2-384-192", "hmac", 48, 24, "sha384", rfc="RFC 4868"),
        IntegrityAlgorithm("hmac-sha2-512-256", "hmac", 64, 32, "sha512", rfc="RFC 4868"),
        IntegrityAlgorithm(
            "hmac-ripemd160-96", "hmac", 20, 12, "ripemd160", supported=_RIPEMD160, rfc="RFC 2857"
        ),
        IntegrityAlgorithm("aes-xcbc-mac-96", "xcbc", 16, 12, rfc="RFC 3566"),
        IntegrityAlgorithm("aes-cmac-96", "cmac", 16, 12, rfc="RFC 4494"),
        # Wireshark's "ANY n bit authentication [no checking]": an ICV of that size is present but unchecked.
        *(IntegrityAlgorithm(f"any-{bits}", "unchecked", 0, bits // 8) for bits in (64, 96, 128, 192, 256)),
    )
}

# --- aliases -------------------------------------------------------------------------------------
# alias (lower case) -> (canonical name, cipher key size in bytes or None = given by the key)

_WIRESHARK_ENCRYPTION = {
    "null": "null",
    "tripledes-cbc [rfc2451]": "3des-cbc",
    "aes-cbc [rfc3602]": "aes-cbc",
    "aes-ctr [rfc3686]": "aes-ctr",
    "des-cbc [rfc2405]": "des-cbc",
    "cast5-cbc [rfc2144]": "cast-cbc",
    "blowfish-cbc [rfc2451]": "blowfish-cbc",
    "twofish-cbc": "twofish-cbc",
    # deprecated Wireshark entry without an ICV length; 16 bytes is what IKE negotiates in practice
    "aes-gcm [rfc4106]": "aes-gcm-16",
    "aes-gcm with 8 octet icv [rfc4106]": "aes-gcm-8",
    "aes-gcm with 12 octet icv [rfc4106]": "aes-gcm-12",
    "aes-gcm with 16 octet icv [rfc4106]": "aes-gcm-16",
}

_XFRM_ENCRYPTION = {
    "ecb(cipher_null)": "null",
    "cipher_null": "null",
    "cbc(des)": "des-cbc",
    "cbc(des3_ede)": "3des-cbc",
    "cbc(aes)": "aes-cbc",
    "rfc3686(ctr(aes))": "aes-ctr",
    "cbc(cast5)": "cast-cbc",
    "cbc(blowfish)": "blowfish-cbc",
    "cbc(camellia)": "camellia-cbc",
    "cbc(twofish)": "twofish-cbc",
    "cbc(serpent)": "serpent-cbc",
    "rfc4543(gcm(aes))": "aes-gmac",
    "rfc7539esp(chacha20,poly1305)": "chacha20-poly1305",
}

# Families whose ICV length comes as a separate parameter (``ip xfrm ... aead NAME KEY ICV-BITS``).
_AEAD_FAMILIES = {
    "rfc4106(gcm(aes))": "aes-gcm",
    "rfc4309(ccm(aes))": "aes-ccm",
    "aes-gcm": "aes-gcm",
    "aes-ccm": "aes-ccm",
    "gcm": "aes-gcm",
    "ccm": "aes-ccm",
}

_WIRESHARK_INTEGRITY = {
    "null": "null",
    "hmac-sha-1-96 [rfc2404]": "hmac-sha1-96",
    "hmac-sha-256-96 [draft-ietf-ipsec-ciph-sha-256-00]": "hmac-sha2-256-96",
    "hmac-sha-256-128 [rfc4868]": "hmac-sha2-256-128",
    "hmac-sha-384-192 [rfc4868]": "hmac-sha2-384-192",
    "hmac-sha-512-256 [rfc4868]": "hmac-sha2-512-256",
    "hmac-md5-96 [rfc2403]": "hmac-md5-96",
    "mac-ripemd-160-96 [rfc2857]": "hmac-ripemd160-96",
    "aes-xcbc-mac-96 [rfc3566]": "aes-xcbc-mac-96",
    **{f"any {bits} bit authentication [no checking]": f"any-{bits}" for bits in (64, 96, 128, 192, 256)},
}

# ``ip xfrm`` auth names; with ``auth-trunc`` the truncation length picks the variant.
_XFRM_INTEGRITY = {
    "digest_null": "null",
    "hmac(md5)": "hmac-md5-96",
    "hmac(sha1)": "hmac-sha1-96",
    "hmac(sha256)": "hmac-sha2-256-128",
    "hmac(sha384)": "hmac-sha2-384-192",
    "hmac(sha512)": "hmac-sha2-512-256",
    "hmac(rmd160)": "hmac-ripemd160-96",
    "xcbc(aes)": "aes-xcbc-mac-96",
    "cmac(aes)": "aes-cmac-96",
}

# (HMAC hash, ICV bytes) -> canonical name, for explicit truncation lengths
_HMAC_BY_TRUNCATION = {
    (alg.hash_name, alg.icv_size): alg.name for alg in INTEGRITY_ALGORITHMS.values() if alg.kind == "hmac"
}

_STRONGSWAN_INTEGRITY = {
    "md5": "hmac-md5-96",
    "sha1": "hmac-sha1-96",
    "sha": "hmac-sha1-96",
    "sha256": "hmac-sha2-256-128",
    "sha2_256": "hmac-sha2-256-128",
    "sha256_96": "hmac-sha2-256-96",
    "sha2_256_96": "hmac-sha2-256-96",
    "sha384": "hmac-sha2-384-192",
    "sha2_384": "hmac-sha2-384-192",
    "sha512": "hmac-sha2-512-256",
    "sha2_512": "hmac-sha2-512-256",
    "aesxcbc": "aes-xcbc-mac-96",
    "aescmac": "aes-cmac-96",
    "none": "null",
}


def _strongswan_encryption() -> dict[str, tuple[str, int | None]]:
    """strongSwan ESP keywords: aes128, aes256ctr, aes128gcm16 (= aes128gcm128), 3des, ..."""
    table: dict[str, tuple[str, int | None]] = {
        "null": ("null", None),
        "des": ("des-cbc", 8),
        "3des": ("3des-cbc", 24),
        "cast128": ("cast-cbc", 16),
        "chacha20poly1305": ("chacha20-poly1305", 32),
        "aes": ("aes-cbc", 16),
        "blowfish": ("blowfish-cbc", 16),
        "camellia": ("camellia-cbc", 16),
        "twofish": ("twofish-cbc", 16),
        "serpent": ("serpent-cbc", 16),
    }
    for family in ("aes", "blowfish", "camellia", "twofish", "serpent"):
        for bits in (128, 192, 256):
            table[f"{family}{bits}"] = (f"{family}-cbc", bits // 8)
    for bits in (128, 192, 256):
        table[f"aes{bits}ctr"] = ("aes-ctr", bits // 8)
        table[f"aes{bits}gmac"] = ("aes-gmac", bits // 8)
        for icv in (8, 12, 16):
            for mode in ("gcm", "ccm"):
                table[f"aes{bits}{mode}{icv}"] = (f"aes-{mode}-{icv}", bits // 8)
                table[f"aes{bits}{mode}{icv * 8}"] = (f"aes-{mode}-{icv}", bits // 8)
    return table


def _project_encryption() -> dict[str, tuple[str, int | None]]:
    """Canonical names, plus ``aes128-cbc`` / ``aes-128-cbc`` style spellings with a key size."""
    table: dict[str, tuple[str, int | None]] = {name: (name, None) for name in ENCRYPTION_ALGORITHMS}
    for name, alg in ENCRYPTION_ALGORITHMS.items():
        family, _, rest = name.partition("-")
        if alg.primitive in ("aes", "camellia", "twofish", "serpent"):
            for size in alg.key_sizes:
                table[f"{family}{size * 8}-{rest}"] = (name, size)
                table[f"{family}-{size * 8}-{rest}"] = (name, size)
                table[f"{family}-{rest}-{size * 8}"] = (name, size)
    table["3des"] = ("3des-cbc", 24)
    table["des"] = ("des-cbc", 8)
    table["cast5-cbc"] = ("cast-cbc", None)
    table["aes-null-gmac"] = ("aes-gmac", None)
    table["null-aes-gmac"] = ("aes-gmac", None)
    return table


ENCRYPTION_ALIASES: dict[str, tuple[str, int | None]] = {
    **_strongswan_encryption(),
    **{alias: (name, None) for alias, name in _XFRM_ENCRYPTION.items()},
    **{alias: (name, None) for alias, name in _WIRESHARK_ENCRYPTION.items()},
    **_project_encryption(),
}

INTEGRITY_ALIASES: dict[str, str] = {
    **_STRONGSWAN_INTEGRITY,
    **_XFRM_INTEGRITY,
    **_WIRESHARK_INTEGRITY,
    **{name: name for name in INTEGRITY_ALGORITHMS},
    "hmac-sha256-128": "hmac-sha2-256-128",
    "hmac-sha384-192": "hmac-sha2-384-192",
    "hmac-sha512-256": "hmac-sha2-512-256",
    "hmac-sha-1-96": "hmac-sha1-96",
    "aes-xcbc-96": "aes-xcbc-mac-96",
    "aes-xcbc-mac": "aes-xcbc-mac-96",
}


def _normalise(name: str) -> str:
    return " ".join(name.strip().lower().split())


@functools.lru_cache(maxsize=256)  # pure: every IPsec SA of a capture asks for the same few names
def resolve_encryption(name: str, icv_size: int | None = None) -> tuple[EncryptionAlgorithm, int | None]:
    """Algorithm and the cipher key size the name implies (``aes256`` -> 32; ``aes-cbc`` -> None).

    ``icv_size`` (bytes) selects the variant of an AEAD family named without it
    (``rfc4106(gcm(aes))`` with ``ip xfrm``'s ICV length 64/96/128 bits -> 8/12/16 bytes).
    """
    key = _normalise(name)
    family = _AEAD_FAMILIES.get(key)
    if family is not None:
        icv = 16 if icv_size is None else icv_size
        canonical = f"{family}-{icv}"
        if canonical not in ENCRYPTION_ALGORITHMS:
            raise UnknownAlgorithm(f"{name!r} has no variant with a {icv}-byte ICV")
        return ENCRYPTION_ALGORITHMS[canonical], None
    try:
        canonical, key_size = ENCRYPTION_ALIASES[key]
    except KeyError:
        raise UnknownAlgorithm(f"unknown ESP encryption algorithm {name!r}") from None
    return ENCRYPTION_ALGORITHMS[canonical], key_size


def encryption_algorithm(name: str) -> EncryptionAlgorithm:
    return resolve_encryption(name)[0]


@functools.lru_cache(maxsize=256)
def resolve_integrity(name: str, icv_size: int | None = None) -> IntegrityAlgorithm:
    """Integrity algorithm by any known spelling; ``icv_size`` (bytes) picks an HMAC truncation."""
    try:
        alg = INTEGRITY_ALGORITHMS[INTEGRITY_ALIASES[_normalise(name)]]
    except KeyError:
        raise UnknownAlgorithm(f"unknown ESP/AH integrity algorithm {name!r}") from None
    if icv_size is None or icv_size == alg.icv_size:
        return alg
    truncated = _HMAC_BY_TRUNCATION.get((alg.hash_name, icv_size)) if alg.kind == "hmac" else None
    if truncated is None:
        raise UnknownAlgorithm(f"{name!r} with a {icv_size}-byte ICV is not a known algorithm")
    return INTEGRITY_ALGORITHMS[truncated]


def integrity_algorithm(name: str) -> IntegrityAlgorithm:
    return resolve_integrity(name)
