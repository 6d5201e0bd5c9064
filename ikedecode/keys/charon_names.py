"""strongSwan's vocabulary in a charon debug log, mapped to this project's names: algorithm names
(libstrongswan crypto/crypters/crypter.c, signers/signer.c) and the labels of the hex dumps that
carry keys (keymat_v1.c, keymat_v2.c, child_sa.c). Data only; ``charon_log.py`` reads the log.
"""

from __future__ import annotations

# strongSwan algorithm name -> project name
STRONGSWAN_ENCRYPTION = {
    "NULL": "null",
    "DES_CBC": "des-cbc",
    "3DES_CBC": "3des-cbc",
    "CAST_CBC": "cast-cbc",
    "BLOWFISH_CBC": "blowfish-cbc",
    "AES_CBC": "aes-cbc",
    "AES_CTR": "aes-ctr",
    "AES_CCM_8": "aes-ccm-8",
    "AES_CCM_12": "aes-ccm-12",
    "AES_CCM_16": "aes-ccm-16",
    "AES_GCM_8": "aes-gcm-8",
    "AES_GCM_12": "aes-gcm-12",
    "AES_GCM_16": "aes-gcm-16",
    "NULL_AES_GMAC": "aes-gmac",
    "CAMELLIA_CBC": "camellia-cbc",
    "CHACHA20_POLY1305": "chacha20-poly1305",
    "TWOFISH_CBC": "twofish-cbc",
    "SERPENT_CBC": "serpent-cbc",
}
STRONGSWAN_INTEGRITY = {
    "UNDEFINED": "null",  # AEAD: no separate integrity algorithm
    "NONE": "null",
    "HMAC_MD5_96": "hmac-md5-96",
    "HMAC_SHA1_96": "hmac-sha1-96",
    "HMAC_MD5_128": "hmac-md5-128",  # IKEv2 only (RFC 4595)
    "HMAC_SHA1_160": "hmac-sha1-160",  # IKEv2 only (RFC 4595)
    "HMAC_SHA2_256_96": "hmac-sha2-256-96",
    "HMAC_SHA2_256_128": "hmac-sha2-256-128",
    "HMAC_SHA2_384_192": "hmac-sha2-384-192",
    "HMAC_SHA2_512_256": "hmac-sha2-512-256",
    "AES_XCBC_96": "aes-xcbc-mac-96",
    "AES_CMAC_96": "aes-cmac-96",
}

# dump label -> field, by what it keys
IKEV1_LABELS = {
    "shared Diffie Hellman secret": "dh_secret",
    "SKEYID": "skeyid",
    "SKEYID_d": "skeyid_d",
    "SKEYID_a": "skeyid_a",
    "SKEYID_e": "skeyid_e",
    "encryption key Ka": "encryption_key",
}
IKEV2_LABELS = {
    "SKEYSEED": "skeyseed",
    "Sk_d secret": "sk_d",
    "Sk_ai secret": "sk_ai",
    "Sk_ar secret": "sk_ar",
    "Sk_ei secret": "sk_ei",
    "Sk_er secret": "sk_er",
    "Sk_pi secret": "sk_pi",
    "Sk_pr secret": "sk_pr",
}
IKEV2_PSK_LABEL = "secret"  # keymat_v2.c get_psk_sig: the shared key an AUTH payload is made with
CHILD_LABELS = {
    "DH secret": ("pfs", ""),
    "initiator SA seed": ("seed", "initiator"),
    "responder SA seed": ("seed", "responder"),
    "encryption initiator key": ("encryption", "initiator"),
    "encryption responder key": ("encryption", "responder"),
    "integrity initiator key": ("integrity", "initiator"),
    "integrity responder key": ("integrity", "responder"),
}
IPSEC_PROTOCOL_IDS = {2: "ah", 3: "esp"}  # RFC 2407 section 4.4.1 (first byte of a KEYMAT seed)
