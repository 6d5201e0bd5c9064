"""IKEv2 registries of payload contents: Configuration payload types and attributes (RFC 7296
3.15 and later) and the EAP codes and method types an EAP payload carries (RFC 3748, IANA "Method
Types"). Imported through ``ikedecode.ike.registry.ikev2``."""

from __future__ import annotations

from ikedecode.ike.registry.core import Registry

# RFC 7296 3.15
CONFIGURATION_TYPES = Registry(
    "IKEv2 configuration payload CFG type",
    {1: "CFG_REQUEST", 2: "CFG_REPLY", 3: "CFG_SET", 4: "CFG_ACK"},
    ranges=((0, 0, "Reserved"), (5, 127, "Unassigned"), (128, 255, "Private use")),
)

# RFC 7296 3.15.1 and later (RFC 5739, RFC 5996, RFC 6153, RFC 7651, RFC 8598, RFC 9464)
CONFIGURATION_ATTRIBUTES = Registry(
    "IKEv2 configuration payload attribute type",
    {
        1: "INTERNAL_IP4_ADDRESS",
        2: "INTERNAL_IP4_NETMASK",
        3: "INTERNAL_IP4_DNS",
        4: "INTERNAL_IP4_NBNS",
        5: "Reserved",
        6: "INTERNAL_IP4_DHCP",
        7: "APPLICATION_VERSION",
        8: "INTERNAL_IP6_ADDRESS",
        9: "Reserved",
        10: "INTERNAL_IP6_DNS",
        11: "Reserved",
        12: "INTERNAL_IP6_DHCP",
        13: "INTERNAL_IP4_SUBNET",
        14: "SUPPORTED_ATTRIBUTES",
        15: "INTERNAL_IP6_SUBNET",
        16: "MIP6_HOME_PREFIX",
        17: "INTERNAL_IP6_LINK",
        18: "INTERNAL_IP6_PREFIX",
        19: "HOME_AGENT_ADDRESS",
        20: "P_CSCF_IP4_ADDRESS",
        21: "P_CSCF_IP6_ADDRESS",
        22: "FTT_KAT",
        23: "EXTERNAL_SOURCE_IP4_NAT_INFO",
        24: "TIMEOUT_PERIOD_FOR_LIVENESS_CHECK",
        25: "INTERNAL_DNS_DOMAIN",
        26: "INTERNAL_DNSSEC_TA",
        27: "ENCDNS_IP4",
        28: "ENCDNS_IP6",
        29: "ENCDNS_DIGEST_INFO",
    },
    ranges=((0, 0, "Reserved"), (30, 16383, "Unassigned"), (16384, 32767, "Private use")),
)
# how each attribute's value reads (RFC 7296 3.15.1): address kinds, text, or a list of types
CONFIGURATION_ATTRIBUTE_FORMATS: dict[int, str] = {
    1: "ip4", 2: "ip4", 3: "ip4", 4: "ip4", 6: "ip4", 20: "ip4", 19: "ip6-or-ip4",
    8: "ip6-prefix", 10: "ip6", 12: "ip6", 21: "ip6", 17: "hex", 18: "ip6-prefix", 16: "hex",
    13: "ip4-subnet", 15: "ip6-prefix", 7: "text", 25: "text", 14: "types",
}  # fmt: skip

# RFC 3748 4.1 (1-4), RFC 6696 (5, 6)
EAP_CODES = Registry(
    "EAP code",
    {1: "Request", 2: "Response", 3: "Success", 4: "Failure", 5: "Initiate", 6: "Finish"},
    ranges=((0, 0, "Unassigned"), (7, 255, "Unassigned")),
)

# IANA "Method Types" (RFC 3748 and later)
EAP_METHOD_TYPES = Registry(
    "EAP method type",
    {
        1: "Identity",
        2: "Notification",
        3: "Legacy Nak",
        4: "MD5-Challenge",
        5: "One-Time Password (OTP)",
        6: "Generic Token Card (GTC)",
        9: "RSA Public Key Authentication",
        10: "DSS Unilateral",
        11: "KEA",
        12: "KEA-VALIDATE",
        13: "EAP-TLS",
        14: "Defender Token (AXENT)",
        15: "RSA Security SecurID EAP",
        16: "Arcot Systems EAP",
        17: "EAP-Cisco Wireless",
        18: "GSM Subscriber Identity Modules (EAP-SIM)",
        19: "SRP-SHA1",
        21: "EAP-TTLS",
        22: "Remote Access Service",
        23: "EAP-AKA Authentication",
        24: "EAP-3Com Wireless",
        25: "PEAP",
        26: "MS-EAP-Authentication",
        27: "Mutual Authentication w/Key Exchange (MAKE)",
        28: "CRYPTOCard",
        29: "EAP-MSCHAP-V2",
        30: "DynamID",
        31: "Rob EAP",
        32: "Protected One-Time Password",
        33: "MS-Authentication-TLV",
        34: "SentriNET",
        35: "EAP-Actiontec Wireless",
        36: "Cogent Systems Biometrics Authentication EAP",
        37: "AirFortress EAP",
        38: "EAP-HTTP Digest",
        39: "SecureSuite EAP",
        40: "DeviceConnect EAP",
        41: "EAP-SPEKE",
        42: "EAP-MOBAC",
        43: "EAP-FAST",
        44: "ZoneLabs EAP (ZLXEAP)",
        45: "EAP-Link",
        46: "EAP-PAX",
        47: "EAP-PSK",
        48: "EAP-SAKE",
        49: "EAP-IKEv2",
        50: "EAP-AKA'",
        51: "EAP-GPSK",
        52: "EAP-pwd",
        53: "EAP-EKE Version 1",
        54: "EAP Method Type for PT-EAP",
        55: "TEAP",
        56: "EAP-NOOB",
        254: "Reserved for the Expanded Type",
        255: "Experimental",
    },
    ranges=(
        (0, 0, "Reserved"),
        (7, 8, "Unassigned"),
        (20, 20, "Unassigned"),
        (57, 191, "Unassigned"),
        (192, 253, "Reserved"),
    ),  # fmt: skip
)
EAP_IDENTITY = 1
