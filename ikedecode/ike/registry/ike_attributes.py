"""IKE (phase 1) SA attributes: RFC 2409 Appendix A and the IANA "IKE Attributes" registry.

These apply to transforms of proposals with protocol PROTO_ISAKMP. Hybrid authentication values
come from draft-ietf-ipsec-isakmp-hybrid-auth-05, XAUTH values from
draft-beaulieu-ike-xauth-02 section 7.2 (both in the private-use range).
"""

from __future__ import annotations

from ikedecode.ike.registry.core import Registry

# RFC 2409 Appendix A "Attribute Classes"; B = basic (TV) only, V = variable (TLV) allowed.
IKE_ATTRIBUTE_TYPES = Registry(
    "IKE attribute class",
    {
        1: ("Encryption-Algorithm", "enc"),
        2: ("Hash-Algorithm", "hash"),
        3: ("Authentication-Method", "auth"),
        4: ("Group-Description", "group"),
        5: ("Group-Type", "group-type"),
        6: ("Group-Prime", "group-prime"),
        7: ("Group-Generator-One", "group-gen1"),
        8: ("Group-Generator-Two", "group-gen2"),
        9: ("Group-Curve-A", "group-curve-a"),
        10: ("Group-Curve-B", "group-curve-b"),
        11: ("Life-Type", "life-type"),
        12: ("Life-Duration", "life-duration"),
        13: ("PRF", "prf"),
        14: ("Key-Length", "key-length"),
        15: ("Field-Size", "field-size"),
        16: ("Group-Order", "group-order"),
    },
    ranges=((0, 0, "reserved"), (17, 16383, "unassigned"), (16384, 32767, "private use")),
)

ENCRYPTION_ALGORITHM = 1
HASH_ALGORITHM = 2
AUTHENTICATION_METHOD = 3
GROUP_DESCRIPTION = 4
GROUP_TYPE = 5
LIFE_TYPE = 11
LIFE_DURATION = 12
PRF = 13
KEY_LENGTH = 14
FIELD_SIZE = 15
GROUP_ORDER = 16

# IANA "Encryption Algorithm" (IKEv1); 8: RFC 4312
ENCRYPTION_ALGORITHMS = Registry(
    "IKE encryption algorithm",
    {
        1: ("DES-CBC", "des"),
        2: ("IDEA-CBC", "idea"),
        3: ("BLOWFISH-CBC", "blowfish"),
        4: ("RC5-R16-B64-CBC", "rc5"),
        5: ("3DES-CBC", "3des"),
        6: ("CAST-CBC", "cast"),
        7: ("AES-CBC", "aes"),
        8: ("CAMELLIA-CBC", "camellia"),
    },
    ranges=((0, 0, "reserved"), (9, 65000, "unassigned"), (65001, 65535, "private use")),
)

# IANA "Hash Algorithm" (IKEv1); 4-6: RFC 4868
HASH_ALGORITHMS = Registry(
    "IKE hash algorithm",
    {
        1: ("MD5", "md5"),
        2: ("SHA", "sha1"),
        3: ("TIGER", "tiger"),
        4: ("SHA2-256", "sha256"),
        5: ("SHA2-384", "sha384"),
        6: ("SHA2-512", "sha512"),
    },
    ranges=((0, 0, "reserved"), (7, 65000, "unassigned"), (65001, 65535, "private use")),
)

# IANA "Authentication Method" (IKEv1); 9-11: RFC 4754; hybrid and XAUTH drafts (private use).
AUTHENTICATION_METHODS = Registry(
    "IKE authentication method",
    {
        1: ("Pre-shared key", "psk"),
        2: ("DSS signatures", "dss-sig"),
        3: ("RSA signatures", "rsa-sig"),
        4: ("Encryption with RSA", "rsa-encr"),
        5: ("Revised encryption with RSA", "rsa-rev-encr"),
        6: ("Reserved (was Encryption with El-Gamal)", "elgamal-encr"),
        7: ("Reserved (was Revised encryption with El-Gamal)", "elgamal-rev-encr"),
        8: ("Reserved (was ECDSA signatures)", "ecdsa-sig"),
        9: ("ECDSA with SHA-256 on the P-256 curve", "ecdsa256"),
        10: ("ECDSA with SHA-384 on the P-384 curve", "ecdsa384"),
        11: ("ECDSA with SHA-512 on the P-521 curve", "ecdsa521"),
        64221: ("HybridInitRSA", "hybrid-rsa-init"),
        64222: ("HybridRespRSA", "hybrid-rsa-resp"),
        64223: ("HybridInitDSS", "hybrid-dss-init"),
        64224: ("HybridRespDSS", "hybrid-dss-resp"),
        65001: ("XAUTHInitPreShared", "xauth-psk-init"),
        65002: ("XAUTHRespPreShared", "xauth-psk-resp"),
        65003: ("XAUTHInitDSS", "xauth-dss-init"),
        65004: ("XAUTHRespDSS", "xauth-dss-resp"),
        65005: ("XAUTHInitRSA", "xauth-rsa-init"),
        65006: ("XAUTHRespRSA", "xauth-rsa-resp"),
        65007: ("XAUTHInitRSAEncryption", "xauth-rsa-encr-init"),
        65008: ("XAUTHRespRSAEncryption", "xauth-rsa-encr-resp"),
        65009: ("XAUTHInitRSARevisedEncryption", "xauth-rsa-rev-encr-init"),
        65010: ("XAUTHRespRSARevisedEncryption", "xauth-rsa-rev-encr-resp"),
    },
    ranges=((0, 0, "reserved"), (12, 65000, "unassigned"), (65001, 65535, "private use")),
)

# The RFC 2409 method each XAUTH / hybrid method authenticates the phase-1 SA with
# (draft-beaulieu-ike-xauth-02 7.2, hybrid-auth-05 3.2.1): what key derivation must use.
BASE_AUTHENTICATION_METHOD: dict[int, int] = {
    64221: 3,
    64222: 3,
    64223: 2,
    64224: 2,
    65001: 1,
    65002: 1,
    65003: 2,
    65004: 2,
    65005: 3,
    65006: 3,
    65007: 4,
    65008: 4,
    65009: 5,
    65010: 5,
}

# IANA "Group Description" (RFC 2409 6.1/6.2/6.3/6.4, RFC 3526, RFC 5903, RFC 5114, RFC 6932,
# RFC 8031 for 31/32); Wireshark spelling; short names as strongSwan/ike-scan write them.
GROUP_DESCRIPTIONS = Registry(
    "Diffie-Hellman group",
    {
        1: ("Default 768-bit MODP group", "modp768"),
        2: ("Alternate 1024-bit MODP group", "modp1024"),
        3: ("EC2N group on GP[2^155] group", "ec2n155"),
        4: ("EC2N group on GP[2^185] group", "ec2n185"),
        5: ("1536 bit MODP group", "modp1536"),
        6: ("EC2N group over GF[2^163]", "ec2n163a"),
        7: ("EC2N group over GF[2^163]", "ec2n163b"),
        8: ("EC2N group over GF[2^283]", "ec2n283a"),
        9: ("EC2N group over GF[2^283]", "ec2n283b"),
        10: ("EC2N group over GF[2^409]", "ec2n409a"),
        11: ("EC2N group over GF[2^409]", "ec2n409b"),
        12: ("EC2N group over GF[2^571]", "ec2n571a"),
        13: ("EC2N group over GF[2^571]", "ec2n571b"),
        14: ("2048 bit MODP group", "modp2048"),
        15: ("3072 bit MODP group", "modp3072"),
        16: ("4096 bit MODP group", "modp4096"),
        17: ("6144 bit MODP group", "modp6144"),
        18: ("8192 bit MODP group", "modp8192"),
        19: ("256-bit random ECP group", "ecp256"),
        20: ("384-bit random ECP group", "ecp384"),
        21: ("521-bit random ECP group", "ecp521"),
        22: ("1024-bit MODP Group with 160-bit Prime Order Subgroup", "modp1024s160"),
        23: ("2048-bit MODP Group with 224-bit Prime Order Subgroup", "modp2048s224"),
        24: ("2048-bit MODP Group with 256-bit Prime Order Subgroup", "modp2048s256"),
        25: ("192-bit Random ECP Group", "ecp192"),
        26: ("224-bit Random ECP Group", "ecp224"),
        27: ("224-bit Brainpool ECP group", "ecp224bp"),
        28: ("256-bit Brainpool ECP group", "ecp256bp"),
        29: ("384-bit Brainpool ECP group", "ecp384bp"),
        30: ("512-bit Brainpool ECP group", "ecp512bp"),
        31: ("Curve25519", "curve25519"),
        32: ("Curve448", "curve448"),
    },
    ranges=((0, 0, "reserved"), (33, 32767, "unassigned"), (32768, 65535, "private use")),
)

# RFC 2409 Appendix A "Group Type"
GROUP_TYPES = Registry(
    "IKE group type",
    {1: ("MODP", "modp"), 2: ("ECP", "ecp"), 3: ("EC2N", "ec2n")},
    ranges=((0, 0, "reserved"), (4, 65000, "unassigned"), (65001, 65535, "private use")),
)

# RFC 2409 Appendix A "Life Type" (shared wording with RFC 2407 4.5 "SA Life Type")
LIFE_TYPES = Registry(
    "Life type",
    {1: ("Seconds", "seconds"), 2: ("Kilobytes", "kilobytes")},
    ranges=((0, 0, "reserved"), (3, 61439, "unassigned"), (61440, 65535, "private use")),
)

# Attribute class -> table naming its values (only enumerated classes are listed).
IKE_ATTRIBUTE_VALUES: dict[int, Registry] = {
    ENCRYPTION_ALGORITHM: ENCRYPTION_ALGORITHMS,
    HASH_ALGORITHM: HASH_ALGORITHMS,
    AUTHENTICATION_METHOD: AUTHENTICATION_METHODS,
    GROUP_DESCRIPTION: GROUP_DESCRIPTIONS,
    GROUP_TYPE: GROUP_TYPES,
    LIFE_TYPE: LIFE_TYPES,
}

# Classes whose value is a number even when sent in variable-length (TLV) form.
IKE_INTEGER_ATTRIBUTES = frozenset({LIFE_DURATION, KEY_LENGTH, FIELD_SIZE, GROUP_ORDER})
