"""IPsec DOI SA attributes (RFC 2407 section 4.5 and the IANA "IPsec Security Association
Attributes" registry). They apply to transforms of AH, ESP and IPCOMP proposals (quick mode).
"""

from __future__ import annotations

from ikedecode.ike.registry.core import Registry
from ikedecode.ike.registry.ike_attributes import GROUP_DESCRIPTIONS, LIFE_TYPES

# RFC 2407 4.5 (1-9), RFC 3168 (10), RFC 4304 (11), RFC 4359 (12, 13), RFC 6407 (14, 15)
IPSEC_ATTRIBUTE_TYPES = Registry(
    "IPsec SA attribute",
    {
        1: ("SA-Life-Type", "life-type"),
        2: ("SA-Life-Duration", "life-duration"),
        3: ("Group-Description", "group"),
        4: ("Encapsulation-Mode", "mode"),
        5: ("Authentication-Algorithm", "auth"),
        6: ("Key-Length", "key-length"),
        7: ("Key-Rounds", "key-rounds"),
        8: ("Compress-Dictionary-Size", "comp-dict-size"),
        9: ("Compress-Private-Algorithm", "comp-private-alg"),
        10: ("ECN Tunnel", "ecn-tunnel"),
        11: ("Extended (64-bit) Sequence Number", "esn"),
        12: ("Authentication Key Length", "auth-key-length"),
        13: ("Signature Encoding Algorithm", "sig-encoding"),
        14: ("Address Preservation", "addr-preservation"),
        15: ("SA Direction", "sa-direction"),
    },
    ranges=((0, 0, "reserved"), (16, 32000, "unassigned"), (32001, 32767, "private use")),
)

SA_LIFE_TYPE = 1
SA_LIFE_DURATION = 2
IPSEC_GROUP_DESCRIPTION = 3
ENCAPSULATION_MODE = 4
AUTHENTICATION_ALGORITHM = 5
IPSEC_KEY_LENGTH = 6
KEY_ROUNDS = 7
COMPRESS_DICTIONARY_SIZE = 8
EXTENDED_SEQUENCE_NUMBER = 11
AUTHENTICATION_KEY_LENGTH = 12

# RFC 2407 4.5 (1, 2), RFC 3947 5.1 (3, 4), draft-ietf-ipsec-nat-t-ike-00..03 (61443, 61444)
ENCAPSULATION_MODES = Registry(
    "IPsec encapsulation mode",
    {
        1: ("Tunnel", "tunnel"),
        2: ("Transport", "transport"),
        3: ("UDP-Encapsulated-Tunnel", "udp-tunnel"),
        4: ("UDP-Encapsulated-Transport", "udp-transport"),
        61440: ("Check Point IPSec UDP Encapsulation", "checkpoint-udp"),
        61443: ("UDP-Encapsulated-Tunnel (draft)", "udp-tunnel-draft"),
        61444: ("UDP-Encapsulated-Transport (draft)", "udp-transport-draft"),
    },
    ranges=((0, 0, "reserved"), (5, 61439, "unassigned"), (61440, 65535, "private use")),
)

# Encapsulation modes that mean "ESP in UDP" (RFC 3948), standard or draft numbering.
UDP_ENCAPSULATION_MODES = frozenset({3, 4, 61443, 61444})

# RFC 2407 4.5 (1-4), RFC 4868 (5-7), RFC 2857 (8), RFC 3566 (9), RFC 4359 (10), RFC 4543 (11-13)
AUTHENTICATION_ALGORITHMS = Registry(
    "IPsec authentication algorithm",
    {
        1: ("HMAC-MD5", "md5"),
        2: ("HMAC-SHA", "sha1"),
        3: ("DES-MAC", "des-mac"),
        4: ("KPDK", "kpdk"),
        5: ("HMAC-SHA2-256", "sha256"),
        6: ("HMAC-SHA2-384", "sha384"),
        7: ("HMAC-SHA2-512", "sha512"),
        8: ("HMAC-RIPEMD", "ripemd"),
        9: ("AES-XCBC-MAC", "aesxcbc"),
        10: ("SIG-RSA", "sig-rsa"),
        11: ("AES-128-GMAC", "aes128gmac"),
        12: ("AES-192-GMAC", "aes192gmac"),
        13: ("AES-256-GMAC", "aes256gmac"),
    },
    ranges=((0, 0, "reserved"), (14, 61439, "unassigned"), (61440, 65535, "private use")),
)

# RFC 3168 9.2.1
ECN_TUNNEL = Registry("ECN tunnel", {1: ("Allowed", "allowed"), 2: ("Forbidden", "forbidden")})

# RFC 4304 2
EXTENDED_SEQUENCE_NUMBERS = Registry("Extended sequence number", {1: ("64-bit Sequence Number", "esn")})

# RFC 6407 5.3.1 / 5.3.2
ADDRESS_PRESERVATION = Registry(
    "Address preservation",
    {1: "None", 2: "Source-Only", 3: "Destination-Only", 4: "Source-and-Destination"},
)
SA_DIRECTIONS = Registry("SA direction", {1: "Sender-Only", 2: "Receiver-Only", 3: "Symmetric"})

IPSEC_ATTRIBUTE_VALUES: dict[int, Registry] = {
    SA_LIFE_TYPE: LIFE_TYPES,
    IPSEC_GROUP_DESCRIPTION: GROUP_DESCRIPTIONS,
    ENCAPSULATION_MODE: ENCAPSULATION_MODES,
    AUTHENTICATION_ALGORITHM: AUTHENTICATION_ALGORITHMS,
    10: ECN_TUNNEL,
    EXTENDED_SEQUENCE_NUMBER: EXTENDED_SEQUENCE_NUMBERS,
    14: ADDRESS_PRESERVATION,
    15: SA_DIRECTIONS,
}

IPSEC_INTEGER_ATTRIBUTES = frozenset(
    {SA_LIFE_DURATION, IPSEC_KEY_LENGTH, KEY_ROUNDS, COMPRESS_DICTIONARY_SIZE, AUTHENTICATION_KEY_LENGTH}
)
