"""Negotiated IPsec transforms: IKE transform IDs to the algorithms of ``esp/algorithms.py``.

The IKEv1 tables turn a negotiated IPsec transform (RFC 2407 section 4.4.4 transform ID, Key
Length attribute, Authentication Algorithm attribute) into algorithm names and into the KEYMAT
lengths each side needs (RFC 2409 section 5.5); the IKEv2 ones do the same for a Child SA's
ENCR/INTEG transforms (RFC 7296 section 3.3.2). KEYMAT is split encryption key first (including
any salt/nonce), integrity key second, which is what Linux, strongSwan, libreswan and racoon do.
"""

from __future__ import annotations

from dataclasses import dataclass

from ikedecode.esp.algorithms import (
    ENCRYPTION_ALGORITHMS,
    INTEGRITY_ALGORITHMS,
    EncryptionAlgorithm,
    UnknownAlgorithm,
)

# --- IKEv1 (RFC 2407 section 4.4.4 / 4.5, IANA "IPSEC ESP Transform Identifiers") ----------------

IKEV1_ESP_TRANSFORMS: dict[int, str] = {
    2: "des-cbc",
    3: "3des-cbc",
    6: "cast-cbc",
    7: "blowfish-cbc",
    11: "null",
    12: "aes-cbc",
    13: "aes-ctr",
    14: "aes-ccm-8",
    15: "aes-ccm-12",
    16: "aes-ccm-16",
    18: "aes-gcm-8",
    19: "aes-gcm-12",
    20: "aes-gcm-16",
    22: "camellia-cbc",
    23: "aes-gmac",  # ESP_NULL_AUTH_AES_GMAC (RFC 4543)
}

# Transform IDs that exist but that this project cannot decrypt: named in error messages.
IKEV1_ESP_TRANSFORM_NAMES: dict[int, str] = {
    1: "ESP_DES_IV64",
    4: "ESP_RC5",
    5: "ESP_IDEA",
    8: "ESP_3IDEA",
    9: "ESP_DES_IV32",
    10: "ESP_RC4",
    21: "ESP_SEED_CBC",
}

# IPsec DOI Authentication Algorithm attribute (RFC 2407 section 4.5, IANA)
IKEV1_AUTH_ALGORITHMS: dict[int, str] = {
    1: "hmac-md5-96",
    2: "hmac-sha1-96",
    5: "hmac-sha2-256-128",  # RFC 4868 section 2.4
    6: "hmac-sha2-384-192",
    7: "hmac-sha2-512-256",
    8: "hmac-ripemd160-96",
    9: "aes-xcbc-mac-96",
}

# AH transform IDs (RFC 2407 section 4.4.3, IANA)
IKEV1_AH_TRANSFORMS: dict[int, str] = {
    2: "hmac-md5-96",
    3: "hmac-sha1-96",
    5: "hmac-sha2-256-128",
    6: "hmac-sha2-384-192",
    7: "hmac-sha2-512-256",
    8: "hmac-ripemd160-96",
    9: "aes-xcbc-mac-96",
}

# Key Length attribute absent: the fixed or conventional default (RFC 2451 section 2.2: 128 bits)
_DEFAULT_KEY_BITS = {
    "aes": 128,
    "blowfish": 128,
    "cast5": 128,
    "camellia": 128,
    "twofish": 128,
    "serpent": 128,
}


def transform_text(encryption: str, integrity: str, key_bits: int | None = None) -> str:
    """The one spelling of an IPsec transform in the reports: the ESP layer's algorithm names, the
    cipher's key size in bits where it has several ("aes-cbc-128"), then "/" and the integrity
    algorithm unless it is null: "aes-cbc-128/hmac-sha1-96", "aes-gcm-16-256", "3des-cbc/hmac-md5-96".
    An unknown cipher keeps the name it was given."""
    alg = ENCRYPTION_ALGORITHMS.get(encryption)
    cipher = encryption
    if alg is not None and len(alg.key_sizes) > 1:
        bits = key_bits or _DEFAULT_KEY_BITS.get(alg.primitive, alg.default_key_size * 8)
        cipher = f"{encryption}-{bits}"
    return cipher if integrity == "null" else f"{cipher}/{integrity}"


@dataclass(frozen=True, slots=True)
class IpsecTransform:
    """What a negotiated transform needs: algorithm names and KEYMAT lengths in split order."""

    encryption: str
    integrity: str
    encryption_key_length: int  # bytes of KEYMAT for the cipher, salt/nonce included
    integrity_key_length: int

    @property
    def keymat_length(self) -> int:
        return self.encryption_key_length + self.integrity_key_length

    def split_keymat(self, keymat: bytes) -> tuple[bytes, bytes]:
        """(encryption key, integrity key) from KEYMAT (RFC 2409 section 5.5), encryption key first."""
        enc_end = self.encryption_key_length
        end = enc_end + self.integrity_key_length  # ``keymat_length``
        if len(keymat) < end:
            raise ValueError(f"KEYMAT has {len(keymat)} bytes, {end} needed")
        return bytes(keymat[:enc_end]), bytes(keymat[enc_end:end])


def encryption_key_length(alg: EncryptionAlgorithm, key_bits: int | None = None) -> int:
    """KEYMAT bytes for ``alg`` with a Key Length attribute of ``key_bits`` (None = default)."""
    if alg.mode == "null":
        return 0
    if key_bits is None:
        size = _DEFAULT_KEY_BITS.get(alg.primitive, alg.default_key_size * 8) // 8
    else:
        if key_bits % 8:
            raise UnknownAlgorithm(f"{alg.name}: key length {key_bits} bits is not a whole number of bytes")
        size = key_bits // 8
    if size not in alg.key_sizes:
        raise UnknownAlgorithm(f"{alg.name}: no {size * 8}-bit key variant")
    return size + alg.salt_size


def ikev1_esp_transform(
    transform_id: int, key_length_bits: int | None = None, auth_algorithm: int | None = None
) -> IpsecTransform:
    """An IKEv1 ESP transform (ID, Key Length attribute, Authentication Algorithm attribute)."""
    name = IKEV1_ESP_TRANSFORMS.get(transform_id)
    if name is None:
        label = IKEV1_ESP_TRANSFORM_NAMES.get(transform_id, "unassigned")
        raise UnknownAlgorithm(f"ESP transform {transform_id} ({label}) is not supported")
    enc = ENCRYPTION_ALGORITHMS[name]
    if auth_algorithm is None or enc.combined:
        # RFC 4106 section 8.4 / RFC 4543 section 9: combined modes take no authentication algorithm
        integ = INTEGRITY_ALGORITHMS["null"]
    else:
        try:
            integ = INTEGRITY_ALGORITHMS[IKEV1_AUTH_ALGORITHMS[auth_algorithm]]
        except KeyError:
            raise UnknownAlgorithm(
                f"IPsec authentication algorithm {auth_algorithm} is not supported"
            ) from None
    return IpsecTransform(enc.name, integ.name, encryption_key_length(enc, key_length_bits), integ.key_size)


def ikev1_ah_transform(transform_id: int, auth_algorithm: int | None = None) -> IpsecTransform:
    """An IKEv1 AH transform; the Authentication Algorithm attribute wins when present (RFC 2407 4.5)."""
    name = IKEV1_AUTH_ALGORITHMS.get(auth_algorithm) if auth_algorithm is not None else None
    if name is None:
        name = IKEV1_AH_TRANSFORMS.get(transform_id)
    if name is None:
        raise UnknownAlgorithm(f"AH transform {transform_id} / authentication algorithm {auth_algorithm}")
    integ = INTEGRITY_ALGORITHMS[name]
    return IpsecTransform("null", integ.name, 0, integ.key_size)


# --- IKEv2 (RFC 7296 section 3.3.2, IANA "Transform Type 1 / 3") -----------------------------------

IKEV2_ENCRYPTION_TRANSFORMS: dict[int, str] = {
    2: "des-cbc",
    3: "3des-cbc",
    6: "cast-cbc",
    7: "blowfish-cbc",
    11: "null",
    12: "aes-cbc",
    13: "aes-ctr",
    14: "aes-ccm-8",
    15: "aes-ccm-12",
    16: "aes-ccm-16",
    18: "aes-gcm-8",
    19: "aes-gcm-12",
    20: "aes-gcm-16",
    21: "aes-gmac",
    23: "camellia-cbc",
    28: "chacha20-poly1305",
}

IKEV2_INTEGRITY_TRANSFORMS: dict[int, str] = {
    0: "null",
    1: "hmac-md5-96",
    2: "hmac-sha1-96",
    5: "aes-xcbc-mac-96",
    8: "aes-cmac-96",
    12: "hmac-sha2-256-128",
    13: "hmac-sha2-384-192",
    14: "hmac-sha2-512-256",
}


def ikev2_child_transform(
    encryption_id: int, key_length_bits: int | None = None, integrity_id: int | None = None
) -> IpsecTransform:
    """An IKEv2 Child SA transform pair and its KEYMAT lengths (RFC 7296 section 2.17)."""
    try:
        enc = ENCRYPTION_ALGORITHMS[IKEV2_ENCRYPTION_TRANSFORMS[encryption_id]]
        integ = INTEGRITY_ALGORITHMS[IKEV2_INTEGRITY_TRANSFORMS[integrity_id or 0]]
    except KeyError:
        raise UnknownAlgorithm(f"IKEv2 transforms ENCR {encryption_id} / INTEG {integrity_id}") from None
    return IpsecTransform(enc.name, integ.name, encryption_key_length(enc, key_length_bits), integ.key_size)
