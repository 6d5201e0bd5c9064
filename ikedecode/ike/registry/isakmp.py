"""ISAKMP registries: header and payload-level numbers.

Sources: RFC 2408 (ISAKMP) sections 3.1, 3.14.1; RFC 2407 (IPsec DOI) sections 4.2, 4.4, 4.6;
RFC 3947 (NAT-T); RFC 3706 (DPD); IANA "Internet Security Association and Key Management
Protocol (ISAKMP) Identifiers" and "Internet Key Exchange (IKE) Attributes"; RFC 4306 for the
IKEv2 numbers that are listed only so IKEv2 traffic can be recognised and named. Full names follow
Wireshark's spelling where Wireshark has the value.
"""

from __future__ import annotations

from ikedecode.ike.registry.core import Registry

# RFC 2408 3.1 (0-5, 6-31 reserved, 32-239 DOI specific, 240-255 private), RFC 2407 4.7 (32, 33),
# draft-ietf-ipsec-isakmp-mode-cfg (6), RFC 4306 3.1 (34-37), RFC 5723 (38).
EXCHANGE_TYPES = Registry(
    "ISAKMP exchange type",
    {
        0: ("NONE", "none"),
        1: ("Base", "base"),
        2: ("Identity Protection (Main Mode)", "main"),
        3: ("Authentication Only", "auth-only"),
        4: ("Aggressive", "aggressive"),
        5: ("Informational", "informational"),
        6: ("Transaction (Config Mode)", "transaction"),
        32: ("Quick Mode", "quick"),
        33: ("New Group Mode", "new-group"),
        34: ("IKE_SA_INIT", "ikev2-sa-init"),
        35: ("IKE_AUTH", "ikev2-auth"),
        36: ("CREATE_CHILD_SA", "ikev2-create-child-sa"),
        37: ("INFORMATIONAL", "ikev2-informational"),
        38: ("IKE_SESSION_RESUME", "ikev2-session-resume"),
    },
    ranges=((7, 31, "reserved"), (39, 239, "DOI-specific"), (240, 255, "private use")),
)

IKEV2_EXCHANGE_TYPES = frozenset({34, 35, 36, 37, 38})

# NAT-D and NAT-OA before RFC 3947 gave them 20 and 21: the later NAT-T drafts used 15 and 16 (which
# GDOI, RFC 3547, also uses for SA KEK / SA TEK), as Cisco IOS still does when both peers' NAT-T
# vendor ID is a draft one (decided per IKE SA: ``ike/v1/nat_t_numbers.py``). Drafts -01 to -03
# used the private numbers 130 and 131 (in ``PAYLOAD_TYPES``).
NAT_T_DRAFT_PAYLOAD_TYPES = {
    15: ("NAT-D (draft-ietf-ipsec-nat-t-ike, type 15)", "NAT-D"),
    16: ("NAT-OA (draft-ietf-ipsec-nat-t-ike, type 16)", "NAT-OA"),
}

# RFC 2408 3.1 (1-13), mode-cfg draft (14), RFC 3547 GDOI (15-19), RFC 3947 (20, 21),
# RFC 6407 (22), draft-ietf-ipsec-nat-t-ike-01..03 (130, 131), Cisco IKE fragmentation (132).
PAYLOAD_TYPES = Registry(
    "ISAKMP payload type",
    {
        0: ("NONE", "NONE"),
        1: ("Security Association", "SA"),
        2: ("Proposal", "P"),
        3: ("Transform", "T"),
        4: ("Key Exchange", "KE"),
        5: ("Identification", "ID"),
        6: ("Certificate", "CERT"),
        7: ("Certificate Request", "CR"),
        8: ("Hash", "HASH"),
        9: ("Signature", "SIG"),
        10: ("Nonce", "NONCE"),
        11: ("Notification", "NOTIFY"),
        12: ("Delete", "DELETE"),
        13: ("Vendor ID", "VID"),
        14: ("Attributes", "ATTR"),
        15: ("SA KEK Payload", "SAK"),
        16: ("SA TEK Payload", "SAT"),
        17: ("Key Download", "KD"),
        18: ("Sequence Number", "SEQ"),
        19: ("Proof of Possession", "POP"),
        20: ("NAT-D (RFC 3947)", "NAT-D"),
        21: ("NAT-OA (RFC 3947)", "NAT-OA"),
        22: ("Group Associated Policy", "GAP"),
        130: ("NAT-D (draft-ietf-ipsec-nat-t-ike-01 to 03)", "NAT-D"),
        131: ("NAT-OA (draft-ietf-ipsec-nat-t-ike-01 to 03)", "NAT-OA"),
        132: ("Cisco-Fragmentation", "FRAG"),
    },
    ranges=((23, 32, "reserved"), (54, 127, "reserved"), (128, 255, "private use")),
)

PAYLOAD_SA = 1
PAYLOAD_KE = 4
PAYLOAD_FRAGMENT = 132  # Cisco IKE fragmentation

# RFC 4306 3.2 / RFC 7296 3.2 and RFC 7383 (53): names only, for recognising IKEv2 chains.
IKEV2_PAYLOAD_TYPES = Registry(
    "IKEv2 payload type",
    {
        33: ("Security Association (IKEv2)", "SA"),
        34: ("Key Exchange (IKEv2)", "KE"),
        35: ("Identification - Initiator", "IDi"),
        36: ("Identification - Responder", "IDr"),
        37: ("Certificate (IKEv2)", "CERT"),
        38: ("Certificate Request (IKEv2)", "CERTREQ"),
        39: ("Authentication", "AUTH"),
        40: ("Nonce (IKEv2)", "Ni/Nr"),
        41: ("Notify (IKEv2)", "N"),
        42: ("Delete (IKEv2)", "D"),
        43: ("Vendor ID (IKEv2)", "V"),
        44: ("Traffic Selector - Initiator", "TSi"),
        45: ("Traffic Selector - Responder", "TSr"),
        46: ("Encrypted and Authenticated", "SK"),
        47: ("Configuration", "CP"),
        48: ("Extensible Authentication", "EAP"),
        49: ("Generic Secure Password Method", "GSPM"),
        53: ("Encrypted and Authenticated Fragment", "SKF"),
    },
)
IKEV2_PAYLOAD_ENCRYPTED = 46  # RFC 7296 3.14 (SK)

# RFC 2408 3.14.1 (1-30 errors, 16384 CONNECTED), RFC 2407 4.6.3 (24576-24578), RFC 3706 (36136/7),
# Cisco Unity (40501-40503, as Wireshark names them).
NOTIFY_TYPES = Registry(
    "ISAKMP notify message type",
    {
        1: "INVALID-PAYLOAD-TYPE",
        2: "DOI-NOT-SUPPORTED",
        3: "SITUATION-NOT-SUPPORTED",
        4: "INVALID-COOKIE",
        5: "INVALID-MAJOR-VERSION",
        6: "INVALID-MINOR-VERSION",
        7: "INVALID-EXCHANGE-TYPE",
        8: "INVALID-FLAGS",
        9: "INVALID-MESSAGE-ID",
        10: "INVALID-PROTOCOL-ID",
        11: "INVALID-SPI",
        12: "INVALID-TRANSFORM-ID",
        13: "ATTRIBUTES-NOT-SUPPORTED",
        14: "NO-PROPOSAL-CHOSEN",
        15: "BAD-PROPOSAL-SYNTAX",
        16: "PAYLOAD-MALFORMED",
        17: "INVALID-KEY-INFORMATION",
        18: "INVALID-ID-INFORMATION",
        19: "INVALID-CERT-ENCODING",
        20: "INVALID-CERTIFICATE",
        21: "CERT-TYPE-UNSUPPORTED",
        22: "INVALID-CERT-AUTHORITY",
        23: "INVALID-HASH-INFORMATION",
        24: "AUTHENTICATION-FAILED",
        25: "INVALID-SIGNATURE",
        26: "ADDRESS-NOTIFICATION",
        27: "NOTIFY-SA-LIFETIME",
        28: "CERTIFICATE-UNAVAILABLE",
        29: "UNSUPPORTED-EXCHANGE-TYPE",
        30: "UNEQUAL-PAYLOAD-LENGTHS",
        16384: "CONNECTED",
        24576: "RESPONDER-LIFETIME",
        24577: "REPLAY-STATUS",
        24578: "INITIAL-CONTACT",
        36136: "R-U-THERE",
        36137: "R-U-THERE-ACK",
        40501: "UNITY-LOAD-BALANCE",
        40502: "UNITY-UNKNOWN",
        40503: "UNITY-GROUP-HASH",
    },
    ranges=(
        (0, 0, "reserved"),
        (31, 8191, "reserved"),
        (8192, 16383, "private use"),
        (16385, 24575, "reserved"),
        (24576, 32767, "DOI-specific"),
        (32768, 40959, "private use"),
        (40960, 65535, "reserved"),
    ),
)
NO_PROPOSAL_CHOSEN = 14
INVALID_ID_INFORMATION = 18
RESPONDER_LIFETIME = 24576  # RFC 2407 4.6.3.1
REPLAY_STATUS = 24577  # RFC 2407 4.6.3.2
R_U_THERE = 36136  # RFC 3706 (DPD)
R_U_THERE_ACK = 36137

# Notify types below 16384 report errors (RFC 2408 3.14.1); the rest are status messages.
NOTIFY_ERROR_MAX = 16383

# RFC 2408 3.4 / IANA "Domain of Interpretation"
DOI = Registry(
    "Domain of Interpretation", {0: ("ISAKMP", "isakmp"), 1: ("IPSEC", "ipsec"), 2: ("GDOI", "gdoi")}
)

# RFC 2407 4.2: IPsec DOI situation bits
SITUATION_BITS = Registry(
    "IPsec situation bit",
    {0x01: "SIT_IDENTITY_ONLY", 0x02: "SIT_SECRECY", 0x04: "SIT_INTEGRITY"},
)

# RFC 2407 4.4.1 / IANA "IPSEC Security Protocol Identifier"
PROTOCOL_IDS = Registry(
    "Security protocol identifier",
    {
        0: ("RESERVED", "reserved"),
        1: ("PROTO_ISAKMP", "ISAKMP"),
        2: ("PROTO_IPSEC_AH", "AH"),
        3: ("PROTO_IPSEC_ESP", "ESP"),
        4: ("PROTO_IPCOMP", "IPCOMP"),
        5: ("GIGABEAM_RADIO", "GIGABEAM"),
    },
    ranges=((6, 248, "unassigned"), (249, 255, "private use")),
)

PROTO_ISAKMP = 1
PROTO_IPSEC_AH = 2
PROTO_IPSEC_ESP = 3
PROTO_IPCOMP = 4

# RFC 2407 4.4.2
ISAKMP_TRANSFORM_IDS = Registry(
    "ISAKMP transform identifier",
    {0: ("RESERVED", "reserved"), 1: ("KEY_IKE", "ike")},
    ranges=((2, 255, "reserved"),),
)

# RFC 2407 4.4.3 / IANA "IPSEC AH Transform Identifiers"
AH_TRANSFORM_IDS = Registry(
    "IPsec AH transform identifier",
    {
        2: ("AH_MD5", "md5"),
        3: ("AH_SHA", "sha1"),
        4: ("AH_DES", "des"),
        5: ("AH_SHA2-256", "sha256"),
        6: ("AH_SHA2-384", "sha384"),
        7: ("AH_SHA2-512", "sha512"),
        8: ("AH_RIPEMD", "ripemd"),
        9: ("AH_AES-XCBC-MAC", "aesxcbc"),
        10: ("AH_RSA", "rsa"),
        11: ("AH_AES-128-GMAC", "aes128gmac"),
        12: ("AH_AES-192-GMAC", "aes192gmac"),
        13: ("AH_AES-256-GMAC", "aes256gmac"),
    },
    ranges=((0, 1, "reserved"), (14, 248, "unassigned"), (249, 255, "private use")),
)

# RFC 2407 4.4.4 / IANA "IPSEC ESP Transform Identifiers" (RFC 3602, 3686, 4309, 4106, 4196,
# 4312, 4543)
ESP_TRANSFORM_IDS = Registry(
    "IPsec ESP transform identifier",
    {
        0: ("RESERVED", "reserved"),
        1: ("ESP_DES_IV64", "des-iv64"),
        2: ("ESP_DES", "des"),
        3: ("ESP_3DES", "3des"),
        4: ("ESP_RC5", "rc5"),
        5: ("ESP_IDEA", "idea"),
        6: ("ESP_CAST", "cast"),
        7: ("ESP_BLOWFISH", "blowfish"),
        8: ("ESP_3IDEA", "3idea"),
        9: ("ESP_DES_IV32", "des-iv32"),
        10: ("ESP_RC4", "rc4"),
        11: ("ESP_NULL", "null"),
        12: ("ESP_AES-CBC", "aes"),
        13: ("ESP_AES-CTR", "aesctr"),
        14: ("ESP_AES-CCM_8", "aesccm8"),
        15: ("ESP_AES-CCM_12", "aesccm12"),
        16: ("ESP_AES-CCM_16", "aesccm16"),
        18: ("ESP_AES-GCM_8", "aesgcm8"),
        19: ("ESP_AES-GCM_12", "aesgcm12"),
        20: ("ESP_AES-GCM_16", "aesgcm16"),
        21: ("ESP_SEED_CBC", "seed"),
        22: ("ESP_CAMELLIA", "camellia"),
        23: ("ESP_NULL_AUTH_AES-GMAC", "aesgmac"),
    },
    ranges=((17, 17, "unassigned"), (24, 248, "unassigned"), (249, 255, "private use")),
)

# RFC 2407 4.4.5 / IANA "IPSEC IPCOMP Transform Identifiers"
IPCOMP_TRANSFORM_IDS = Registry(
    "IPCOMP transform identifier",
    {
        1: ("IPCOMP_OUI", "oui"),
        2: ("IPCOMP_DEFLATE", "deflate"),
        3: ("IPCOMP_LZS", "lzs"),
        4: ("IPCOMP_LZJH", "lzjh"),
    },
    ranges=((0, 0, "reserved"), (5, 47, "unassigned"), (48, 63, "private use"), (64, 255, "unassigned")),
)

# The transform-ID table that applies to a proposal's protocol.
TRANSFORM_IDS_BY_PROTOCOL: dict[int, Registry] = {
    PROTO_ISAKMP: ISAKMP_TRANSFORM_IDS,
    PROTO_IPSEC_AH: AH_TRANSFORM_IDS,
    PROTO_IPSEC_ESP: ESP_TRANSFORM_IDS,
    PROTO_IPCOMP: IPCOMP_TRANSFORM_IDS,
}

# RFC 2407 4.6.2.1 / IANA "IPSEC Identification Type" (12: RFC 3554)
ID_TYPES = Registry(
    "IPsec identification type",
    {
        0: ("RESERVED", "reserved"),
        1: ("ID_IPV4_ADDR", "ipv4"),
        2: ("ID_FQDN", "fqdn"),
        3: ("ID_USER_FQDN", "user-fqdn"),
        4: ("ID_IPV4_ADDR_SUBNET", "ipv4-subnet"),
        5: ("ID_IPV6_ADDR", "ipv6"),
        6: ("ID_IPV6_ADDR_SUBNET", "ipv6-subnet"),
        7: ("ID_IPV4_ADDR_RANGE", "ipv4-range"),
        8: ("ID_IPV6_ADDR_RANGE", "ipv6-range"),
        9: ("ID_DER_ASN1_DN", "dn"),
        10: ("ID_DER_ASN1_GN", "gn"),
        11: ("ID_KEY_ID", "key-id"),
        12: ("ID_LIST", "list"),
    },
    ranges=((13, 248, "unassigned"), (249, 255, "private use")),
)

# RFC 2408 3.9 / IANA "Certificate Encoding" (IKEv1)
CERT_ENCODINGS = Registry(
    "Certificate encoding",
    {
        0: ("NONE", "none"),
        1: ("PKCS #7 wrapped X.509 certificate", "pkcs7"),
        2: ("PGP Certificate", "pgp"),
        3: ("DNS Signed Key", "dns"),
        4: ("X.509 Certificate - Signature", "x509-sig"),
        5: ("X.509 Certificate - Key Exchange", "x509-kex"),
        6: ("Kerberos Tokens", "kerberos"),
        7: ("Certificate Revocation List (CRL)", "crl"),
        8: ("Authority Revocation List (ARL)", "arl"),
        9: ("SPKI Certificate", "spki"),
        10: ("X.509 Certificate - Attribute", "x509-attr"),
    },
    ranges=((11, 255, "reserved"),),
)

# IP protocol numbers as they appear in ID payloads (IANA "Assigned Internet Protocol Numbers").
IP_PROTOCOLS = Registry(
    "IP protocol",
    {
        0: ("any", "any"),
        1: ("ICMP", "icmp"),
        4: ("IPv4", "ipip"),
        6: ("TCP", "tcp"),
        17: ("UDP", "udp"),
        41: ("IPv6", "ipv6"),
        47: ("GRE", "gre"),
        50: ("ESP", "esp"),
        51: ("AH", "ah"),
        58: ("IPv6-ICMP", "icmpv6"),
        89: ("OSPF", "ospf"),
        132: ("SCTP", "sctp"),
    },
)
