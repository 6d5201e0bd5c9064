"""IOS XE's words for IKEv2 (``debug crypto ikev2``, ``show crypto ikev2 sa``), as data.

Payload names, transform names and transform-set words follow the shapes of Cisco's public
documents listed in docs/cisco.md ("IKEv2"); names IOS was not seen printing are synthesised in
the same style (marked below).
"""

from __future__ import annotations

from ikedecode.ike.v2.payloads.sa import Ikev2Transform

# RFC 7296 3.2 payload types -> the token IOS prints under "Payload contents:"
PAYLOAD_TOKENS: dict[int, str] = {
    33: "SA",
    34: "KE",
    35: "IDi",
    36: "IDr",
    37: "CERT",
    38: "CERTREQ",
    39: "AUTH",
    40: "N",
    41: "NOTIFY",  # printed NOTIFY(<type name>)
    42: "DELETE",
    43: "VID",
    44: "TSi",
    45: "TSr",
    46: "ENCR",
    47: "CFG",
    48: "EAP",
    53: "SKF",  # synthesised: RFC 7383 fragments
}

# RFC 7296 3.3.2 transform types: 1 ENCR, 2 PRF, 3 INTEG, 4 KE, 5 ESN
ENCR, PRF, INTEG, KE, ESN = 1, 2, 3, 4, 5
ESN_WORDS = {0: "Don't use ESN", 1: "Use ESN"}

# transform IDs -> IOS's proposal words (``AES-CBC``, ``SHA256``, ``DH_GROUP_2048_MODP/Group 14``)
ENCRYPTION = {
    3: "3DES",
    12: "AES-CBC",
    13: "AES-CTR",
    18: "AES-GCM",
    19: "AES-GCM",
    20: "AES-GCM",
    28: "CHACHA20-POLY1305",
}
PRF_NAMES = {1: "MD5", 2: "SHA1", 4: "AES-XCBC", 5: "SHA256", 6: "SHA384", 7: "SHA512"}
INTEGRITY = {1: "MD596", 2: "SHA96", 5: "AES-XCBC-96", 12: "SHA256", 13: "SHA384", 14: "SHA512"}
DH_GROUPS = {
    1: "DH_GROUP_768_MODP/Group 1",
    2: "DH_GROUP_1024_MODP/Group 2",
    5: "DH_GROUP_1536_MODP/Group 5",
    14: "DH_GROUP_2048_MODP/Group 14",
    15: "DH_GROUP_3072_MODP/Group 15",
    16: "DH_GROUP_4096_MODP/Group 16",
    19: "DH_GROUP_256_ECP/Group 19",
    20: "DH_GROUP_384_ECP/Group 20",
    21: "DH_GROUP_521_ECP/Group 21",
    24: "DH_GROUP_2048_MODP_256_SUBGROUP/Group 24",
    31: "DH_GROUP_CURVE25519/Group 31",  # synthesised in the same style
}

# ESP transform-set words (``esp-aes 256 esp-sha256-hmac``), as ``show crypto ipsec sa`` prints them
ESP_ENCRYPTION = {
    3: "esp-3des",
    12: "esp-aes",
    18: "esp-gcm",
    19: "esp-gcm",
    20: "esp-gcm",
    28: "esp-chacha20-poly1305",
}
ESP_INTEGRITY = {
    1: "esp-md5-hmac",
    2: "esp-sha-hmac",
    12: "esp-sha256-hmac",
    13: "esp-sha384-hmac",
    14: "esp-sha512-hmac",
}

# RFC 7296 3.8 authentication methods -> ``Auth sign``/``Auth verify`` and the debug's words
AUTH_METHODS = {1: "RSA", 2: "PSK", 3: "DSS", 9: "ECDSA", 10: "ECDSA", 11: "ECDSA", 14: "RSA"}  # 14: RFC 7427

# synthesised: IOS's own state, not in the capture (docs/cisco.md)
FIRST_SESSION_ID = 1
FIRST_IPSEC_CONN_ID = 2000
DEFAULT_IKE_LIFETIME = 86400
DEFAULT_CHILD_LIFETIME_SECONDS = 3600
DEFAULT_CHILD_LIFETIME_KILOBYTES = 4608000
DEFAULT_WINDOW = 5
VRF = "VRF i0:f0"


def transform_word(t: Ikev2Transform) -> str:
    """One transform of ``IKE Proposal: 1, ... Num. transforms: 4`` in IOS's words."""
    table = {ENCR: ENCRYPTION, PRF: PRF_NAMES, INTEG: INTEGRITY, KE: DH_GROUPS, ESN: ESN_WORDS}.get(
        t.transform_type
    )
    word = table.get(t.transform_id) if table is not None else None
    return word or t.id_name


def encryption_with_keysize(transforms: list[Ikev2Transform]) -> tuple[str, int | None]:
    for t in transforms:
        if t.transform_type == ENCR:
            return transform_word(t), t.key_length
    return "NULL", None


def esp_transform_set(transforms: list[Ikev2Transform]) -> str:
    """``esp-aes 256 esp-sha256-hmac`` (128-bit AES is plain ``esp-aes``, as IOS prints it)."""
    words: list[str] = []
    for t in transforms:
        if t.transform_type == ENCR:
            word = ESP_ENCRYPTION.get(t.transform_id, t.id_name.lower())
            if t.key_length and t.key_length != 128 and t.transform_id != 28:
                word += f" {t.key_length}"
            words.append(word)
        elif t.transform_type == INTEG and t.transform_id:
            words.append(ESP_INTEGRITY.get(t.transform_id, t.id_name.lower()))
    return " ".join(words) or "esp-null"
