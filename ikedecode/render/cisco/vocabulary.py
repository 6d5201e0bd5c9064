"""Cisco IOS wording as data: how ``debug crypto isakmp`` / ``debug crypto ipsec`` and the ``show
crypto`` commands name attributes, transforms, notifications, vendor IDs and states.

Wordings marked "seed" are copied from the IOS output in the project's reference text (Examples
13-3, 13-5, 13-9, 13-12, 13-26, 13-28 of ../shared/seeds/004_*.txt); the others follow the same
IOS 12.x style and are listed in docs/cisco.md as not taken from the reference.
"""

from __future__ import annotations

from ikedecode.ike.registries import INVALID_ID_INFORMATION, NO_PROPOSAL_CHOSEN, R_U_THERE, R_U_THERE_ACK
from ikedecode.ike.v1.exchanges import PHASE1_SHAPES, Role

# --- values IOS would show that the capture cannot (docs/cisco.md "synthesised") --------------
POLICY_PRIORITY = 1  # "Checking ISAKMP transform 1 against priority 1 policy" (seed)
FIRST_IKE_CONN_ID = 1  # "ISAKMP (0:1)" (seed), one per IKE SA in capture order
FIRST_IPSEC_CONN_ID = 2000  # software crypto engine conn ids (seed: Example 13-26/13-28)
DEFAULT_LIFETIME_KILOBYTES = 4608000  # IOS global default when the proposal has no kilobyte lifetime
DEFAULT_LIFETIME_SECONDS = 3600  # IOS global default when the proposal has no lifetime in seconds
PATH_MTU = 1500  # "path mtu 1500, media mtu 1500" (seed)
SA_REQUEST_FLAGS = "0x400C"  # IPSEC(sa_request) flags (seed)
INBOUND_FLAGS, OUTBOUND_FLAGS = "4", "C"  # "has spi ... and flags 4" / "flags C" (seed)

# --- phase-1 attributes (RFC 2409 Appendix A numbers) -> "ISAKMP:      encryption 3DES-CBC" -----
IKE_ENCRYPTION = {1: "DES-CBC", 5: "3DES-CBC", 7: "AES-CBC"}  # seed: DES-CBC, 3DES-CBC
IKE_HASH = {1: "MD5", 2: "SHA", 4: "SHA256", 5: "SHA384", 6: "SHA512"}  # seed: SHA
IKE_AUTH = {  # seed: pre-share, RSA sig, RSA encr
    1: "pre-share",
    2: "DSS sig",
    3: "RSA sig",
    4: "RSA encr",
    5: "RSA encr",
    65001: "XAUTHInitPreShared",
    65002: "XAUTHRespPreShared",
    65005: "XAUTHInitRSA",
    65006: "XAUTHRespRSA",
}
# "SA is doing pre-shared key authentication using id type ID_IPV4_ADDR" (seed), per auth method
AUTH_DOING = {
    1: "pre-shared key",
    3: "RSA signature",
    4: "RSA encryption",
    5: "RSA encryption",
    65001: "pre-shared key",
    65002: "pre-shared key",
    65005: "RSA signature",
    65006: "RSA signature",
}
LIFE_UNITS = {1: "seconds", 2: "kilobytes"}

# --- IPsec transforms (RFC 2407 4.4.4 numbers) --------------------------------------------------
ESP_TRANSFORMS = {
    2: "ESP_DES",
    3: "ESP_3DES",
    11: "ESP_NULL",
    12: "ESP_AES",
    18: "ESP_GCM",
    19: "ESP_GCM",
    20: "ESP_GCM",
    23: "ESP_GMAC",
}  # seed: ESP_3DES, ESP_DES
AH_TRANSFORMS = {2: "AH_MD5_HMAC", 3: "AH_SHA_HMAC", 5: "AH_SHA256_HMAC"}  # seed: AH_SHA_HMAC
# transform-set keywords: "transform= esp-3des esp-md5-hmac" (seed)
ESP_CIPHER_KEYWORDS = {
    2: "esp-des",
    3: "esp-3des",
    11: "esp-null",
    12: "esp-aes",
    18: "esp-gcm",
    19: "esp-gcm",
    20: "esp-gcm",
    23: "esp-gmac",
}
ESP_AUTH_KEYWORDS = {
    1: "esp-md5-hmac",
    2: "esp-sha-hmac",
    5: "esp-sha256-hmac",
    6: "esp-sha384-hmac",
    7: "esp-sha512-hmac",
}
AH_KEYWORDS = {2: "ah-md5-hmac", 3: "ah-sha-hmac", 5: "ah-sha256-hmac"}
# "authenticator is HMAC-MD5" (seed, Example 13-3)
IPSEC_AUTHENTICATOR = {
    1: "HMAC-MD5",
    2: "HMAC-SHA",
    5: "HMAC-SHA256",
    6: "HMAC-SHA384",
    7: "HMAC-SHA512",
    9: "AES-XCBC-MAC",
}
IV_SIZE = {2: 8, 3: 8, 11: 0, 12: 16, 18: 8, 19: 8, 20: 8, 23: 8}  # "IV size: 8 bytes" (seed)
PROTOCOL_NUMBER = {"esp": 50, "ah": 51}  # "sa_prot= 50" (seed)
KEY_ENGINE_PROTOCOL = {"esp": 3, "ah": 2}  # "for prot 3" (seed)
# encapsulation mode -> show crypto ipsec sa "in use settings ={Tunnel, }" (seed: Tunnel)
IN_USE_SETTINGS = {
    1: "Tunnel",
    2: "Transport",
    3: "Tunnel UDP-Encaps",
    4: "Transport UDP-Encaps",
    61443: "Tunnel UDP-Encaps",
    61444: "Transport UDP-Encaps",
}

# --- notifications: IANA name -> IOS name ("processing NOTIFY INITIAL_CONTACT") ------------------
NOTIFY_NAMES = {
    INVALID_ID_INFORMATION: "INVALID_ID_INFO",
    NO_PROPOSAL_CHOSEN: "NO_PROPOSAL_CHOSEN",
    R_U_THERE: "R_U_THERE",
    R_U_THERE_ACK: "R_U_THERE_ACK",
}


def notify_name(notify_type: int, iana_name: str) -> str:
    return NOTIFY_NAMES.get(notify_type) or iana_name.upper().replace("-", "_").replace(" ", "_")


# --- vendor IDs: ikedecode's name prefix -> IOS wording after "processing vendor id payload" ----
VENDOR_WORDING = (  # seed: Unity, DPD
    ("Cisco Unity", "vendor ID is Unity"),
    ("RFC 3706 DPD", "vendor ID is DPD"),
    ("XAUTH", "vendor ID is XAUTH"),
    ("RFC 3947 NAT-T", "vendor ID is NAT-T RFC 3947"),
    ("draft-ietf-ipsec-nat-t-ike-02 (newline variant)", "vendor ID is NAT-T v2"),
    ("draft-ietf-ipsec-nat-t-ike-0", "vendor ID is NAT-T v{draft}"),
    ("Cisco IOS", "speaking to another IOS box!"),
)


def vendor_wording(name: str | None) -> str | None:
    if not name:
        return None
    for prefix, wording in VENDOR_WORDING:
        if name.startswith(prefix):
            if "{draft}" in wording:
                return wording.format(draft=name.rsplit("-", 1)[-1].lstrip("0") or "0")
            return wording
    return None


# --- phase-1 states: (label, local role) -> the state tag of "sending/received packet" --------
# Example 13-3 (initiator) and 13-5 (responder): the tag is the SA's state when the line is printed;
# the exchange table (ike/v1/exchanges.py) carries it per step and side.
I, R = Role.INITIATOR, Role.RESPONDER  # noqa: E741 - the table reads like Examples 13-3/13-5
PACKET_STATE: dict[tuple[str, Role], str] = {  # keyed by IkeMessage.label (a str; Label equals it)
    (step.label, side): step.ios_packet_state(side)
    for shape in PHASE1_SHAPES
    for step in shape.steps
    for side in (I, R)
}
# Internal IKE state names ("Old State = IKE_I_MM1 New State = IKE_I_MM2", seed)
ROLE_LETTER = {I: "I", R: "R"}


def ike_state(label: str, role: Role) -> str:
    """``IKE_I_MM3`` / ``IKE_R_AM2``: the state once ``label`` has been sent or received."""
    return f"IKE_{ROLE_LETTER[role]}_{label}"
