"""IKEv2 registries (IANA "Internet Key Exchange Version 2 (IKEv2) Parameters") as data.

Names are spelled as IANA spells them; short names (``Registry.short``) are the compact forms the
reports use. Sources: RFC 7296 3.1-3.16 and its IANA registries, RFC 4555 (MOBIKE), RFC 4739
(multiple auth), RFC 5685 (redirect), RFC 5723 (resumption), RFC 6989, RFC 7383 (fragmentation),
RFC 7427 (signature authentication), RFC 7670 (raw public keys), RFC 8019 (puzzles), RFC 8784
(PPK), RFC 9242 (IKE_INTERMEDIATE), RFC 9370 (additional key exchanges), RFC 9593, RFC 9611,
RFC 9827 (sequence numbers), draft-ietf-ipsecme-ikev2-mlkem (ML-KEM). Unlisted values are named by
their range or as ``UNKNOWN (n)`` (``Registry.name``): never dropped.
"""

from __future__ import annotations

from ikedecode.ike.registry.core import Registry
from ikedecode.ike.registry.ikev2_values import (  # noqa: F401 - re-exported: one place to import from
    CONFIGURATION_ATTRIBUTE_FORMATS,
    CONFIGURATION_ATTRIBUTES,
    CONFIGURATION_TYPES,
    EAP_CODES,
    EAP_IDENTITY,
    EAP_METHOD_TYPES,
)

# RFC 7296 3.1, RFC 5723, RFC 9242, RFC 9370, G-IKEv2 (39-41)
EXCHANGE_TYPES = Registry(
    "IKEv2 exchange type",
    {
        34: "IKE_SA_INIT",
        35: "IKE_AUTH",
        36: "CREATE_CHILD_SA",
        37: "INFORMATIONAL",
        38: "IKE_SESSION_RESUME",
        39: "GSA_AUTH",
        40: "GSA_REGISTRATION",
        41: "GSA_REKEY",
        43: "IKE_INTERMEDIATE",
        44: "IKE_FOLLOWUP_KE",
    },
    ranges=((0, 33, "Reserved"), (42, 42, "Unassigned"), (45, 239, "Unassigned"), (240, 255, "Private use")),
)
IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL = 34, 35, 36, 37
IKE_SESSION_RESUME, IKE_INTERMEDIATE, IKE_FOLLOWUP_KE = 38, 43, 44

# RFC 7296 3.2 and later
PAYLOAD_TYPES = Registry(
    "IKEv2 payload type",
    {
        0: ("No Next Payload", "NONE"),
        33: ("Security Association", "SA"),
        34: ("Key Exchange", "KE"),
        35: ("Identification - Initiator", "IDi"),
        36: ("Identification - Responder", "IDr"),
        37: ("Certificate", "CERT"),
        38: ("Certificate Request", "CERTREQ"),
        39: ("Authentication", "AUTH"),
        40: ("Nonce", "No"),
        41: ("Notify", "N"),
        42: ("Delete", "D"),
        43: ("Vendor ID", "V"),
        44: ("Traffic Selector - Initiator", "TSi"),
        45: ("Traffic Selector - Responder", "TSr"),
        46: ("Encrypted and Authenticated", "SK"),
        47: ("Configuration", "CP"),
        48: ("Extensible Authentication", "EAP"),
        49: ("Generic Secure Password Methods", "GSPM"),
        50: ("Group Identification", "IDg"),
        51: ("Group Security Association", "GSA"),
        52: ("Key Download", "KD"),
        53: ("Encrypted and Authenticated Fragment", "SKF"),
        54: ("Puzzle Solution", "PS"),
    },
    ranges=((1, 32, "Reserved"), (55, 127, "Unassigned"), (128, 255, "Private use")),
)
(PT_SA, PT_KE, PT_IDI, PT_IDR, PT_CERT, PT_CERTREQ, PT_AUTH, PT_NONCE, PT_NOTIFY, PT_DELETE,
 PT_VENDOR_ID, PT_TSI, PT_TSR, PT_SK, PT_CP, PT_EAP) = range(33, 49)  # fmt: skip
PT_SKF = 53

# RFC 7296 3.3.2, RFC 9370 (ADDKE), G-IKEv2 (13, 14)
TRANSFORM_TYPES = Registry(
    "IKEv2 transform type",
    {
        1: ("Encryption Algorithm (ENCR)", "ENCR"),
        2: ("Pseudorandom Function (PRF)", "PRF"),
        3: ("Integrity Algorithm (INTEG)", "INTEG"),
        4: ("Key Exchange Method (KE)", "KE"),
        5: ("Sequence Numbers (SN)", "SN"),
        **{5 + n: (f"Additional Key Exchange {n} (ADDKE{n})", f"ADDKE{n}") for n in range(1, 8)},
        13: ("Key Wrap Algorithm (KWA)", "KWA"),
        14: ("Group Controller Authentication Method (GCAUTH)", "GCAUTH"),
    },
    ranges=((0, 0, "Reserved"), (15, 240, "Unassigned"), (241, 255, "Private use")),
)
TRANSFORM_ENCR, TRANSFORM_PRF, TRANSFORM_INTEG, TRANSFORM_KE, TRANSFORM_SN = 1, 2, 3, 4, 5
ADDITIONAL_KE_TRANSFORMS = frozenset(range(6, 13))

ENCRYPTION_ALGORITHMS = Registry(
    "IKEv2 encryption algorithm (transform type 1)",
    {
        1: "ENCR_DES_IV64",
        2: ("ENCR_DES", "des"),
        3: ("ENCR_3DES", "3des"),
        4: "ENCR_RC5",
        5: "ENCR_IDEA",
        6: ("ENCR_CAST", "cast"),
        7: ("ENCR_BLOWFISH", "blowfish"),
        8: "ENCR_3IDEA",
        9: "ENCR_DES_IV32",
        10: "Reserved",
        11: ("ENCR_NULL", "null"),
        12: ("ENCR_AES_CBC", "aes-cbc"),
        13: ("ENCR_AES_CTR", "aes-ctr"),
        14: ("ENCR_AES_CCM_8", "aes-ccm8"),
        15: ("ENCR_AES_CCM_12", "aes-ccm12"),
        16: ("ENCR_AES_CCM_16", "aes-ccm16"),
        18: ("ENCR_AES_GCM_8", "aes-gcm8"),
        19: ("ENCR_AES_GCM_12", "aes-gcm12"),
        20: ("ENCR_AES_GCM_16", "aes-gcm16"),
        21: ("ENCR_NULL_AUTH_AES_GMAC", "aes-gmac"),
        22: "Reserved for IEEE P1619 XTS-AES",
        23: ("ENCR_CAMELLIA_CBC", "camellia-cbc"),
        24: ("ENCR_CAMELLIA_CTR", "camellia-ctr"),
        25: ("ENCR_CAMELLIA_CCM_8", "camellia-ccm8"),
        26: ("ENCR_CAMELLIA_CCM_12", "camellia-ccm12"),
        27: ("ENCR_CAMELLIA_CCM_16", "camellia-ccm16"),
        28: ("ENCR_CHACHA20_POLY1305", "chacha20poly1305"),
        29: "ENCR_AES_CCM_8_IIV",
        30: "ENCR_AES_GCM_16_IIV",
        31: "ENCR_CHACHA20_POLY1305_IIV",
        32: "ENCR_KUZNYECHIK_MGM_KTREE",
        33: "ENCR_MAGMA_MGM_KTREE",
        34: "ENCR_KUZNYECHIK_MGM_MAC_KTREE",
        35: "ENCR_MAGMA_MGM_MAC_KTREE",
    },
    ranges=(
        (0, 0, "Reserved"),
        (17, 17, "Unassigned"),
        (36, 1023, "Unassigned"),
        (1024, 65535, "Private use"),
    ),
)
# RFC 5282 / RFC 4309 / RFC 7634: combined-mode (AEAD) ciphers carry their own integrity
AEAD_ENCRYPTION = frozenset({14, 15, 16, 18, 19, 20, 21, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35})

PSEUDORANDOM_FUNCTIONS = Registry(
    "IKEv2 pseudorandom function (transform type 2)",
    {
        1: ("PRF_HMAC_MD5", "prfmd5"),
        2: ("PRF_HMAC_SHA1", "prfsha1"),
        3: "PRF_HMAC_TIGER",
        4: ("PRF_AES128_XCBC", "prfaesxcbc"),
        5: ("PRF_HMAC_SHA2_256", "prfsha256"),
        6: ("PRF_HMAC_SHA2_384", "prfsha384"),
        7: ("PRF_HMAC_SHA2_512", "prfsha512"),
        8: ("PRF_AES128_CMAC", "prfaescmac"),
        9: "PRF_HMAC_STREEBOG_512",
    },
    ranges=((0, 0, "Reserved"), (10, 1023, "Unassigned"), (1024, 65535, "Private use")),
)

INTEGRITY_ALGORITHMS = Registry(
    "IKEv2 integrity algorithm (transform type 3)",
    {
        0: ("NONE", "none"),
        1: ("AUTH_HMAC_MD5_96", "md5"),
        2: ("AUTH_HMAC_SHA1_96", "sha1"),
        3: "AUTH_DES_MAC",
        4: "AUTH_KPDK_MD5",
        5: ("AUTH_AES_XCBC_96", "aesxcbc"),
        6: ("AUTH_HMAC_MD5_128", "md5_128"),
        7: ("AUTH_HMAC_SHA1_160", "sha1_160"),
        8: ("AUTH_AES_CMAC_96", "aescmac"),
        9: ("AUTH_AES_128_GMAC", "aes128gmac"),
        10: ("AUTH_AES_192_GMAC", "aes192gmac"),
        11: ("AUTH_AES_256_GMAC", "aes256gmac"),
        12: ("AUTH_HMAC_SHA2_256_128", "sha256"),
        13: ("AUTH_HMAC_SHA2_384_192", "sha384"),
        14: ("AUTH_HMAC_SHA2_512_256", "sha512"),
    },
    ranges=((15, 1023, "Unassigned"), (1024, 65535, "Private use")),
)

# Transform type 4 (and 6-12): RFC 7296, RFC 5903, RFC 5114, RFC 6954, RFC 8031, RFC 9385, ML-KEM
KEY_EXCHANGE_METHODS = Registry(
    "IKEv2 key exchange method (transform type 4)",
    {
        0: ("NONE", "none"),
        1: ("768-bit MODP Group", "modp768"),
        2: ("1024-bit MODP Group", "modp1024"),
        5: ("1536-bit MODP Group", "modp1536"),
        14: ("2048-bit MODP Group", "modp2048"),
        15: ("3072-bit MODP Group", "modp3072"),
        16: ("4096-bit MODP Group", "modp4096"),
        17: ("6144-bit MODP Group", "modp6144"),
        18: ("8192-bit MODP Group", "modp8192"),
        19: ("256-bit random ECP group", "ecp256"),
        20: ("384-bit random ECP group", "ecp384"),
        21: ("521-bit random ECP group", "ecp521"),
        22: ("1024-bit MODP Group with 160-bit Prime Order Subgroup", "modp1024s160"),
        23: ("2048-bit MODP Group with 224-bit Prime Order Subgroup", "modp2048s224"),
        24: ("2048-bit MODP Group with 256-bit Prime Order Subgroup", "modp2048s256"),
        25: ("192-bit Random ECP Group", "ecp192"),
        26: ("224-bit Random ECP Group", "ecp224"),
        27: ("brainpoolP224r1", "ecp224bp"),
        28: ("brainpoolP256r1", "ecp256bp"),
        29: ("brainpoolP384r1", "ecp384bp"),
        30: ("brainpoolP512r1", "ecp512bp"),
        31: ("Curve25519", "curve25519"),
        32: ("Curve448", "curve448"),
        33: ("GOST3410_2012_256", "gost256"),
        34: ("GOST3410_2012_512", "gost512"),
        35: ("ml-kem-512", "mlkem512"),
        36: ("ml-kem-768", "mlkem768"),
        37: ("ml-kem-1024", "mlkem1024"),
    },
    ranges=(
        (3, 4, "Reserved"),
        (6, 13, "Unassigned"),
        (38, 1023, "Unassigned"),
        (1024, 65535, "Private use"),
    ),
)

# Transform type 5 (RFC 7296 "Extended Sequence Numbers", renamed by RFC 9827)
SEQUENCE_NUMBERS = Registry(
    "IKEv2 sequence numbers (transform type 5)",
    {
        0: ("32-bit Sequential Numbers", "no-esn"),
        1: ("Partially Transmitted 64-bit Sequential Numbers", "esn"),
        2: ("Unspecified Sequence Numbers", "unspecified-sn"),
    },
    ranges=((3, 65535, "Unassigned"),),
)

TRANSFORM_IDS_BY_TYPE: dict[int, Registry] = {
    TRANSFORM_ENCR: ENCRYPTION_ALGORITHMS,
    TRANSFORM_PRF: PSEUDORANDOM_FUNCTIONS,
    TRANSFORM_INTEG: INTEGRITY_ALGORITHMS,
    TRANSFORM_KE: KEY_EXCHANGE_METHODS,
    TRANSFORM_SN: SEQUENCE_NUMBERS,
    **{t: KEY_EXCHANGE_METHODS for t in ADDITIONAL_KE_TRANSFORMS},
}

# RFC 7296 3.3.5
TRANSFORM_ATTRIBUTE_TYPES = Registry(
    "IKEv2 transform attribute type",
    {14: "Key Length (in bits)"},
    ranges=(
        (0, 13, "Reserved"),
        (15, 17, "Reserved"),
        (18, 16383, "Unassigned"),
        (16384, 32767, "Private use"),
    ),
)
KEY_LENGTH_ATTRIBUTE = 14

# RFC 7296 3.3.1 (and the IKEv2 "Security Protocol Identifiers" registry)
PROTOCOL_IDS = Registry(
    "IKEv2 security protocol identifier",
    {1: ("IKE", "IKE"), 2: ("AH", "AH"), 3: ("ESP", "ESP"), 4: "FC_ESP_HEADER", 5: "FC_CT_AUTHENTICATION"},
    ranges=((0, 0, "Reserved"), (6, 200, "Unassigned"), (201, 255, "Private use")),
)
PROTOCOL_IKE, PROTOCOL_AH, PROTOCOL_ESP = 1, 2, 3

# RFC 7296 3.5
ID_TYPES = Registry(
    "IKEv2 identification type",
    {
        1: "ID_IPV4_ADDR",
        2: "ID_FQDN",
        3: "ID_RFC822_ADDR",
        5: "ID_IPV6_ADDR",
        9: "ID_DER_ASN1_DN",
        10: "ID_DER_ASN1_GN",
        11: "ID_KEY_ID",
        12: "ID_FC_NAME",
        13: "ID_NULL",
    },
    ranges=(
        (0, 0, "Reserved"),
        (4, 4, "Reserved"),
        (6, 8, "Reserved"),
        (14, 200, "Unassigned"),
        (201, 255, "Private use"),
    ),  # fmt: skip
)

# RFC 7296 3.6 / 3.7
CERTIFICATE_ENCODINGS = Registry(
    "IKEv2 certificate encoding",
    {
        1: "PKCS #7 wrapped X.509 certificate",
        2: "PGP Certificate",
        3: "DNS Signed Key",
        4: "X.509 Certificate - Signature",
        6: "Kerberos Token",
        7: "Certificate Revocation List (CRL)",
        8: "Authority Revocation List (ARL)",
        9: "SPKI Certificate",
        10: "X.509 Certificate - Attribute",
        11: "Raw RSA Key (deprecated)",
        12: "Hash and URL of X.509 certificate",
        13: "Hash and URL of X.509 bundle",
        14: "OCSP Content",
        15: "Raw Public Key",
    },
    ranges=((0, 0, "Reserved"), (5, 5, "Reserved"), (16, 200, "Unassigned"), (201, 255, "Private use")),
)
CERT_X509_SIGNATURE = 4

# RFC 7296 3.8, RFC 4754 (9-11), RFC 6467 (12), RFC 7619 (13), RFC 7427 (14)
AUTH_METHODS = Registry(
    "IKEv2 authentication method",
    {
        1: ("RSA Digital Signature", "rsa-sig"),
        2: ("Shared Key Message Integrity Code", "psk"),
        3: ("DSS Digital Signature", "dss"),
        9: ("ECDSA with SHA-256 on the P-256 curve", "ecdsa-256"),
        10: ("ECDSA with SHA-384 on the P-384 curve", "ecdsa-384"),
        11: ("ECDSA with SHA-512 on the P-521 curve", "ecdsa-521"),
        12: ("Generic Secure Password Authentication Method", "gspam"),
        13: ("NULL Authentication", "null"),
        14: ("Digital Signature", "digital-signature"),
    },
    ranges=((0, 0, "Reserved"), (4, 8, "Unassigned"), (15, 200, "Unassigned"), (201, 255, "Private use")),
)
AUTH_RSA_SIG, AUTH_SHARED_KEY, AUTH_DSS_SIG = 1, 2, 3
AUTH_ECDSA_SHA256_P256, AUTH_ECDSA_SHA384_P384, AUTH_ECDSA_SHA512_P521 = 9, 10, 11
AUTH_NULL, AUTH_DIGITAL_SIGNATURE = 13, 14

# RFC 7296 3.10.1 and later (error types 0-16383, status types 16384-65535)
NOTIFY_TYPES = Registry(
    "IKEv2 notify message type",
    {
        1: "UNSUPPORTED_CRITICAL_PAYLOAD",
        4: "INVALID_IKE_SPI",
        5: "INVALID_MAJOR_VERSION",
        7: "INVALID_SYNTAX",
        9: "INVALID_MESSAGE_ID",
        11: "INVALID_SPI",
        14: "NO_PROPOSAL_CHOSEN",
        17: "INVALID_KE_PAYLOAD",
        24: "AUTHENTICATION_FAILED",
        34: "SINGLE_PAIR_REQUIRED",
        35: "NO_ADDITIONAL_SAS",
        36: "INTERNAL_ADDRESS_FAILURE",
        37: "FAILED_CP_REQUIRED",
        38: "TS_UNACCEPTABLE",
        39: "INVALID_SELECTORS",
        40: "UNACCEPTABLE_ADDRESSES",
        41: "UNEXPECTED_NAT_DETECTED",
        42: "USE_ASSIGNED_HoA",
        43: "TEMPORARY_FAILURE",
        44: "CHILD_SA_NOT_FOUND",
        45: "INVALID_GROUP_ID",
        46: "AUTHORIZATION_FAILED",
        47: "STATE_NOT_FOUND",
        48: "TS_MAX_QUEUE",
        16384: "INITIAL_CONTACT",
        16385: "SET_WINDOW_SIZE",
        16386: "ADDITIONAL_TS_POSSIBLE",
        16387: "IPCOMP_SUPPORTED",
        16388: "NAT_DETECTION_SOURCE_IP",
        16389: "NAT_DETECTION_DESTINATION_IP",
        16390: "COOKIE",
        16391: "USE_TRANSPORT_MODE",
        16392: "HTTP_CERT_LOOKUP_SUPPORTED",
        16393: "REKEY_SA",
        16394: "ESP_TFC_PADDING_NOT_SUPPORTED",
        16395: "NON_FIRST_FRAGMENTS_ALSO",
        16396: "MOBIKE_SUPPORTED",
        16397: "ADDITIONAL_IP4_ADDRESS",
        16398: "ADDITIONAL_IP6_ADDRESS",
        16399: "NO_ADDITIONAL_ADDRESSES",
        16400: "UPDATE_SA_ADDRESSES",
        16401: "COOKIE2",
        16402: "NO_NATS_ALLOWED",
        16403: "AUTH_LIFETIME",
        16404: "MULTIPLE_AUTH_SUPPORTED",
        16405: "ANOTHER_AUTH_FOLLOWS",
        16406: "REDIRECT_SUPPORTED",
        16407: "REDIRECT",
        16408: "REDIRECTED_FROM",
        16409: "TICKET_LT_OPAQUE",
        16410: "TICKET_REQUEST",
        16411: "TICKET_ACK",
        16412: "TICKET_NACK",
        16413: "TICKET_OPAQUE",
        16414: "LINK_ID",
        16415: "USE_WESP_MODE",
        16416: "ROHC_SUPPORTED",
        16417: "EAP_ONLY_AUTHENTICATION",
        16418: "CHILDLESS_IKEV2_SUPPORTED",
        16419: "QUICK_CRASH_DETECTION",
        16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
        16421: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
        16422: "IKEV2_MESSAGE_ID_SYNC",
        16423: "IPSEC_REPLAY_COUNTER_SYNC",
        16424: "SECURE_PASSWORD_METHODS",
        16425: "PSK_PERSIST",
        16426: "PSK_CONFIRM",
        16427: "ERX_SUPPORTED",
        16428: "IFOM_CAPABILITY",
        16429: "SENDER_REQUEST_ID",
        16430: "IKEV2_FRAGMENTATION_SUPPORTED",
        16431: "SIGNATURE_HASH_ALGORITHMS",
        16432: "CLONE_IKE_SA_SUPPORTED",
        16433: "CLONE_IKE_SA",
        16434: "PUZZLE",
        16435: "USE_PPK",
        16436: "PPK_IDENTITY",
        16437: "NO_PPK_AUTH",
        16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
        16439: "IP4_ALLOWED",
        16440: "IP6_ALLOWED",
        16441: "ADDITIONAL_KEY_EXCHANGE",
        16442: "USE_AGGFRAG",
        16443: "SUPPORTED_AUTH_METHODS",
        16444: "SA_RESOURCE_INFO",
    },
    ranges=(
        (0, 0, "Reserved"),
        (2, 47, "Reserved"),  # the gaps among the error types (2, 3, 6, 8, ...)
        (49, 8191, "Unassigned"),
        (8192, 16383, "Private use - errors"),
        (16445, 40959, "Unassigned"),
        (40960, 65535, "Private use - status"),
    ),
)
NOTIFY_ERROR_MAX = 16383
N_INVALID_KE_PAYLOAD, N_NAT_DETECTION_SOURCE_IP, N_NAT_DETECTION_DESTINATION_IP = 17, 16388, 16389
N_COOKIE, N_REKEY_SA, N_REDIRECT, N_REDIRECTED_FROM = 16390, 16393, 16407, 16408
N_SIGNATURE_HASH_ALGORITHMS, N_ADDITIONAL_KEY_EXCHANGE, N_USE_PPK = 16431, 16441, 16435
N_PPK_IDENTITY, N_NO_PPK_AUTH, N_SET_WINDOW_SIZE, N_AUTH_LIFETIME = 16436, 16437, 16385, 16403
N_USE_TRANSPORT_MODE, N_ADDITIONAL_IP4_ADDRESS, N_ADDITIONAL_IP6_ADDRESS = 16391, 16397, 16398
N_SUPPORTED_AUTH_METHODS, N_IKEV2_FRAGMENTATION_SUPPORTED = 16443, 16430
N_NO_PROPOSAL_CHOSEN, N_STATE_NOT_FOUND, N_INTERMEDIATE_EXCHANGE_SUPPORTED = 14, 47, 16438  # 7296/9370/9242
N_INVALID_SPI, N_AUTHENTICATION_FAILED, N_TS_UNACCEPTABLE, N_TEMPORARY_FAILURE = 11, 24, 38, 43

# RFC 5685 9: gateway identity types of REDIRECT / REDIRECTED_FROM
GATEWAY_IDENTITY_TYPES = Registry(
    "IKEv2 gateway identity type",
    {
        1: "IPv4 address of the new VPN gateway",
        2: "IPv6 address of the new VPN gateway",
        3: "FQDN of the new VPN gateway",
    },
    ranges=((0, 0, "Reserved"), (4, 240, "Unassigned"), (241, 255, "Private use")),
)

# RFC 7296 3.13.1, RFC 4595 (9), RFC 9478 (10)
TS_TYPES = Registry(
    "IKEv2 traffic selector type",
    {7: "TS_IPV4_ADDR_RANGE", 8: "TS_IPV6_ADDR_RANGE", 9: "TS_FC_ADDR_RANGE", 10: "TS_SECLABEL"},
    ranges=((0, 6, "Reserved"), (11, 240, "Unassigned"), (241, 255, "Private use")),
)
TS_IPV4_ADDR_RANGE, TS_IPV6_ADDR_RANGE, TS_FC_ADDR_RANGE, TS_SECLABEL = 7, 8, 9, 10

# RFC 7427 7: hash algorithms of SIGNATURE_HASH_ALGORITHMS
HASH_ALGORITHMS = Registry(
    "IKEv2 hash algorithm",
    {
        1: "SHA1",
        2: "SHA2-256",
        3: "SHA2-384",
        4: "SHA2-512",
        5: "Identity",
        6: "STREEBOG_256",
        7: "STREEBOG_512",
    },
    ranges=((0, 0, "Reserved"), (8, 1023, "Unassigned"), (1024, 65535, "Private use")),
)

# RFC 7427 A, RFC 8420, RFC 4055 (PSS), FIPS 204 OIDs: signature AlgorithmIdentifier of AUTH method 14
SIGNATURE_ALGORITHM_OIDS: dict[str, str] = {
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10040.4.3": "dsa-with-sha1",
    "2.16.840.1.101.3.4.3.2": "dsa-with-sha256",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    "2.16.840.1.101.3.4.3.17": "id-ml-dsa-44",
    "2.16.840.1.101.3.4.3.18": "id-ml-dsa-65",
    "2.16.840.1.101.3.4.3.19": "id-ml-dsa-87",
}


def is_error_notify(notify_type: int) -> bool:
    """RFC 7296 3.10.1: types below 16384 are errors, the rest status."""
    return notify_type <= NOTIFY_ERROR_MAX
