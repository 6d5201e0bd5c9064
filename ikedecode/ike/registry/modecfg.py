"""Mode-config and XAUTH (draft-dukes-ike-mode-cfg-02 / draft-ietf-ipsec-isakmp-mode-cfg-05,
draft-beaulieu-ike-xauth-02) and the Cisco Unity attributes, as Wireshark names them.

Attributes payloads (payload type 14) carry these inside Transaction exchanges (type 6).
"""

from __future__ import annotations

from ikedecode.ike.registry.core import Registry

# mode-cfg 3.2 "Attribute Payload" type field
CFG_TYPES = Registry(
    "Mode-config message type",
    {
        1: ("ISAKMP_CFG_REQUEST", "request"),
        2: ("ISAKMP_CFG_REPLY", "reply"),
        3: ("ISAKMP_CFG_SET", "set"),
        4: ("ISAKMP_CFG_ACK", "ack"),
    },
    ranges=((0, 0, "reserved"), (5, 127, "reserved"), (128, 255, "private use")),
)

# mode-cfg 3.2 (1-15), xauth-02 7.1 (16520-16529), Check Point and Cisco Unity private values.
CFG_ATTRIBUTE_TYPES = Registry(
    "Mode-config attribute",
    {
        1: "INTERNAL_IP4_ADDRESS",
        2: "INTERNAL_IP4_NETMASK",
        3: "INTERNAL_IP4_DNS",
        4: "INTERNAL_IP4_NBNS",
        5: "INTERNAL_ADDRESS_EXPIRY",
        6: "INTERNAL_IP4_DHCP",
        7: "APPLICATION_VERSION",
        8: "INTERNAL_IP6_ADDRESS",
        9: "INTERNAL_IP6_NETMASK",
        10: "INTERNAL_IP6_DNS",
        11: "INTERNAL_IP6_NBNS",
        12: "INTERNAL_IP6_DHCP",
        13: "INTERNAL_IP4_SUBNET",
        14: "SUPPORTED_ATTRIBUTES",
        15: "INTERNAL_IP6_SUBNET",
        16387: "CHKPT_DEF_DOMAIN",
        16388: "CHKPT_MAC_ADDRESS",
        16389: "CHKPT_MARCIPAN_REASON_CODE",
        16520: "XAUTH_TYPE",
        16521: "XAUTH_USER_NAME",
        16522: "XAUTH_USER_PASSWORD",
        16523: "XAUTH_PASSCODE",
        16524: "XAUTH_MESSAGE",
        16525: "XAUTH_CHALLENGE",
        16526: "XAUTH_DOMAIN",
        16527: "XAUTH_STATUS",
        16528: "XAUTH_NEXT_PIN",
        16529: "XAUTH_ANSWER",
        28672: "UNITY_BANNER",
        28673: "UNITY_SAVE_PASSWD",
        28674: "UNITY_DEF_DOMAIN",
        28675: "UNITY_SPLIT_DOMAIN",
        28676: "UNITY_SPLIT_INCLUDE",
        28677: "UNITY_NATT_PORT",
        28678: "UNITY_SPLIT_EXCLUDE",
        28679: "UNITY_PFS",
        28680: "UNITY_FW_TYPE",
        28681: "UNITY_BACKUP_SERVERS",
        28682: "UNITY_DDNS_HOSTNAME",
    },
    ranges=((0, 0, "reserved"), (16, 16383, "reserved"), (16384, 32767, "private use")),
)

XAUTH_TYPE = 16520
XAUTH_USER_NAME = 16521
XAUTH_USER_PASSWORD = 16522
XAUTH_PASSCODE = 16523
XAUTH_STATUS = 16527

# xauth-02 7.1 "XAUTH-TYPE"
XAUTH_TYPES = Registry(
    "XAUTH type",
    {0: ("Generic", "generic"), 1: ("RADIUS-CHAP", "radius-chap"), 2: ("OTP", "otp"), 3: ("S/KEY", "skey")},
    ranges=((4, 32767, "reserved"), (32768, 65535, "private use")),
)

# xauth-02 7.1 "XAUTH-STATUS"
XAUTH_STATUS_VALUES = Registry("XAUTH status", {0: ("FAIL", "fail"), 1: ("OK", "ok")})

CFG_ATTRIBUTE_VALUES: dict[int, Registry] = {XAUTH_TYPE: XAUTH_TYPES, XAUTH_STATUS: XAUTH_STATUS_VALUES}

# Variable-length attributes that are numbers (seconds, port, flags)
CFG_INTEGER_ATTRIBUTES = frozenset({5, 28673, 28677, 28679})

# How attribute values read as text: the renderer shows these instead of hex.
CFG_IPV4_ATTRIBUTES = frozenset({1, 2, 3, 4, 6})
CFG_IPV6_ATTRIBUTES = frozenset({10, 11, 12})
CFG_TEXT_ATTRIBUTES = frozenset(
    {7, 16387, 16521, 16522, 16523, 16524, 16525, 16526, 16528, 16529, 28672, 28674, 28675, 28682}
)
CFG_SPLIT_NETWORK_ATTRIBUTES = frozenset({28676, 28678})
