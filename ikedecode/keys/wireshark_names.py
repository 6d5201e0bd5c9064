"""Wireshark's algorithm names in its key tables (UAT files), as data.

Wireshark 4.0: ``esp_sa`` names in epan/dissectors/packet-ipsec.c (``esp_encryption_type_vals``,
``esp_authentication_type_vals``); ``ikev2_decryption_table`` names in packet-isakmp.c
(``vs_ikev2_encr_algs``, ``vs_ikev2_auth_algs``). Wireshark matches them exactly, so exports
use these spellings; reading accepts them case-insensitively.
"""

from __future__ import annotations

# project name -> esp_sa "Encryption" field
ESP_ENCRYPTION_NAMES = {
    "null": "NULL",
    "3des-cbc": "TripleDES-CBC [RFC2451]",
    "aes-cbc": "AES-CBC [RFC3602]",
    "aes-ctr": "AES-CTR [RFC3686]",
    "des-cbc": "DES-CBC [RFC2405]",
    "cast-cbc": "CAST5-CBC [RFC2144]",
    "blowfish-cbc": "BLOWFISH-CBC [RFC2451]",
    "twofish-cbc": "TWOFISH-CBC",
    "aes-gcm-8": "AES-GCM with 8 octet ICV [RFC4106]",
    "aes-gcm-12": "AES-GCM with 12 octet ICV [RFC4106]",
    "aes-gcm-16": "AES-GCM with 16 octet ICV [RFC4106]",
}

# project name -> esp_sa "Authentication" field
ESP_INTEGRITY_NAMES = {
    "null": "NULL",
    "hmac-sha1-96": "HMAC-SHA-1-96 [RFC2404]",
    "hmac-sha2-256-96": "HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]",
    "hmac-sha2-256-128": "HMAC-SHA-256-128 [RFC4868]",
    "hmac-sha2-384-192": "HMAC-SHA-384-192 [RFC4868]",
    "hmac-sha2-512-256": "HMAC-SHA-512-256 [RFC4868]",
    "hmac-md5-96": "HMAC-MD5-96 [RFC2403]",
    "hmac-ripemd160-96": "MAC-RIPEMD-160-96 [RFC2857]",
    **{f"any-{bits}": f"ANY {bits} bit authentication [no checking]" for bits in (64, 96, 128, 192, 256)},
}


def _ikev2_encryption() -> dict[str, tuple[str, int]]:
    """ikev2 table name -> (project name, cipher key bytes without salt)."""
    table = {"NULL [RFC2410]": ("null", 0), "3DES [RFC2451]": ("3des-cbc", 24)}
    for bits in (128, 192, 256):
        table[f"AES-CBC-{bits} [RFC3602]"] = ("aes-cbc", bits // 8)
        table[f"AES-CTR-{bits} [RFC5930]"] = ("aes-ctr", bits // 8)
        for icv in (8, 12, 16):
            table[f"AES-GCM-{bits} with {icv} octet ICV [RFC5282]"] = (f"aes-gcm-{icv}", bits // 8)
            table[f"AES-CCM-{bits} with {icv} octet ICV [RFC5282]"] = (f"aes-ccm-{icv}", bits // 8)
    return table


IKEV2_ENCRYPTION_NAMES = _ikev2_encryption()

# ikev2 table name -> (project name, key bytes; None = any length)
IKEV2_INTEGRITY_NAMES: dict[str, tuple[str, int | None]] = {
    "NONE [RFC4306]": ("null", 0),
    "HMAC_MD5_96 [RFC2403]": ("hmac-md5-96", 16),
    "HMAC_SHA1_96 [RFC2404]": ("hmac-sha1-96", 20),
    "HMAC_MD5_128 [RFC4595]": ("hmac-md5-128", 16),
    "HMAC_SHA1_160 [RFC4595]": ("hmac-sha1-160", 20),
    "HMAC_SHA2_256_96 [draft-ietf-ipsec-ciph-sha-256-00]": ("hmac-sha2-256-96", 32),
    "HMAC_SHA2_256_128 [RFC4868]": ("hmac-sha2-256-128", 32),
    "HMAC_SHA2_384_192 [RFC4868]": ("hmac-sha2-384-192", 48),
    "HMAC_SHA2_512_256 [RFC4868]": ("hmac-sha2-512-256", 64),
    **{
        f"ANY {bits}-bits of Authentication [No Checking]": (f"any-{bits}", None)
        for bits in (64, 96, 128, 160, 192, 256)
    },
}

# salt/nonce bytes after the cipher key (RFC 5930 CTR: 4, RFC 5282 GCM: 4, CCM: 3)
IKEV2_SALT = {
    "aes-ctr": 4,
    **{f"aes-gcm-{i}": 4 for i in (8, 12, 16)},
    **{f"aes-ccm-{i}": 3 for i in (8, 12, 16)},
}


def ikev2_encryption_name(name: str, sk_e_length: int) -> str | None:
    """The ikev2 table spelling for a project name and an SK_e length (salt included)."""
    key_bytes = sk_e_length - IKEV2_SALT.get(name, 0)
    for wireshark, (project, size) in IKEV2_ENCRYPTION_NAMES.items():
        if project == name and (size == key_bytes or project == "null"):
            return wireshark
    return None


def ikev2_integrity_name(name: str) -> str | None:
    return next((w for w, (project, _) in IKEV2_INTEGRITY_NAMES.items() if project == name), None)
