"""Well-known ISAKMP Vendor IDs (RFC 2408 3.16) and how to name them.

A Vendor ID is opaque bytes; by convention many are the MD5 hash of a text, some followed by
version bytes. Where the convention is public the value is computed here from its text
(``_md5("RFC 3947")``), so the table documents itself; the other values are published hex
strings, each checked against at least two independent public sources (Wireshark's
packet-isakmp.c table and the decodes tshark 4.0 prints for the reference captures, ike-scan's
ike-vendor-ids file and check-decode expectations, Shrew Soft iked.h, the RFCs).

Matching: an entry matches when the Vendor ID equals its bytes (``exact``) or starts with them;
the longest match wins, and an entry may turn the bytes after its prefix into a version text.
Unknown Vendor IDs are shown as hex (``vendor_id_name``); Openswan/FreeS/WAN's self-identifying
12-byte IDs are recognised by their shape.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ikedecode.ike.wire_text import escape_controls


def _md5(text: str) -> bytes:
    return hashlib.md5(text.encode("ascii"), usedforsecurity=False).digest()


@dataclass(frozen=True, slots=True)
class KnownVendorId:
    name: str
    prefix: bytes
    exact: bool = False  # True: the whole Vendor ID must equal ``prefix``
    suffix: Callable[[bytes], str] | None = None  # text for the bytes after the prefix
    origin: str = ""  # how the value is derived / where it is published

    def matches(self, data: bytes) -> bool:
        return data == self.prefix if self.exact else data.startswith(self.prefix)

    def describe(self, data: bytes) -> str:
        if self.suffix is None:
            return self.name
        extra = self.suffix(data[len(self.prefix) :])
        return f"{self.name} {extra}" if extra else self.name


def _major_minor(rest: bytes) -> str:
    """RFC 3706 5 / Cisco Unity: two trailing bytes are major and minor version."""
    return f"{rest[0]}.{rest[1]}" if len(rest) >= 2 else ""


MS_NT5_VERSIONS = {2: "Windows 2000", 3: "Windows XP SP1", 4: "Windows 2003 / XP SP2", 5: "Windows Vista"}


def _ms_nt5_version(rest: bytes) -> str:
    if len(rest) < 4:
        return ""
    version = struct.unpack_from("!I", rest)[0]
    return f"({MS_NT5_VERSIONS.get(version, f'version {version}')})"


# Check Point VID layout (ike-scan ike-vendor-ids): 20-byte prefix, product (4), version (4),
# timestamp (4), reserved (4), features (4). Version numbers as Wireshark / ike-scan name them.
CHECK_POINT_PRODUCTS = {1: "Firewall-1", 2: "SecuRemote/SecureClient"}
CHECK_POINT_VERSIONS = {
    2: "4.1",
    3: "4.1 SP1",
    4002: "4.1 SP2-SP6",
    5000: "NG",
    5001: "NG FP1",
    5002: "NG FP2",
    5003: "NG FP3",
    5004: "NG AI R54",
    5005: "NG AI R55",
    5006: "NG AI R56",
}
CHECK_POINT_NGX_VERSION = 5005  # NGX keeps R55's number but sets the timestamp field


def _check_point(rest: bytes) -> str:
    if len(rest) < 12:
        return ""
    product, version, timestamp = struct.unpack_from("!III", rest)
    product_name = CHECK_POINT_PRODUCTS.get(product, f"product {product}")
    if version == CHECK_POINT_NGX_VERSION and timestamp:
        version_name = "NGX"
    else:
        version_name = CHECK_POINT_VERSIONS.get(version, f"version {version}")
    return f"{product_name} {version_name}"


KNOWN_VENDOR_IDS: tuple[KnownVendorId, ...] = (
    # NAT traversal: RFC 3947 section 3 and its drafts; VID = MD5 of the name
    KnownVendorId("RFC 3947 NAT-T", _md5("RFC 3947"), origin="md5('RFC 3947'), RFC 3947 3"),
    KnownVendorId("draft-ietf-ipsec-nat-t-ike", _md5("draft-ietf-ipsec-nat-t-ike")),
    *(
        KnownVendorId(f"draft-ietf-ipsec-nat-t-ike-{n:02d}", _md5(f"draft-ietf-ipsec-nat-t-ike-{n:02d}"))
        for n in range(10)
    ),
    KnownVendorId(
        "draft-ietf-ipsec-nat-t-ike-02 (newline variant)",  # in words: a literal "\\n" reads as an escape
        _md5("draft-ietf-ipsec-nat-t-ike-02\n"),
        origin="md5 of the name with a newline, as the draft's example computed it",
    ),
    KnownVendorId("Testing NAT-T RFC", _md5("Testing NAT-T RFC")),
    KnownVendorId("draft-stenberg-ipsec-nat-traversal-01", _md5("draft-stenberg-ipsec-nat-traversal-01")),
    KnownVendorId("draft-stenberg-ipsec-nat-traversal-02", _md5("draft-stenberg-ipsec-nat-traversal-02")),
    KnownVendorId("draft-huttunen-ipsec-esp-in-udp-00", _md5("draft-huttunen-ipsec-esp-in-udp-00.txt")),
    KnownVendorId("draft-huttunen-ipsec-esp-in-udp-01 (ESPThruNAT)", _md5("ESPThruNAT")),
    # RFC 3706 5.1 gives the bytes; the first 14 are md5('CISCO-DEAD-PEER-DETECTION'), then version
    KnownVendorId(
        "RFC 3706 DPD",
        _md5("CISCO-DEAD-PEER-DETECTION")[:14],
        suffix=lambda rest: f"v{_major_minor(rest)}" if len(rest) >= 2 else "",
        origin="RFC 3706 5.1 afcad71368a1f1c96b8696fc77570100",
    ),
    # draft-beaulieu-ike-xauth: first 8 bytes of md5('draft-ietf-ipsra-isakmp-xauth-06.txt')
    KnownVendorId("XAUTH", _md5("draft-ietf-ipsra-isakmp-xauth-06.txt")[:8]),
    # Cisco Unity: md5('CISCO-UNITY') with the last two bytes replaced by major/minor version
    KnownVendorId("Cisco Unity", _md5("CISCO-UNITY")[:14], suffix=_major_minor),
    # IKE fragmentation (Cisco, Microsoft): md5('FRAGMENTATION'); Cisco appends 4 flag bytes
    KnownVendorId("FRAGMENTATION", _md5("FRAGMENTATION"), exact=True),
    KnownVendorId("Cisco Fragmentation", _md5("FRAGMENTATION")),
    KnownVendorId("Cisco VPN Concentrator", bytes.fromhex("1f07f70eaa6514d3b0fa96542a")),
    # Microsoft
    KnownVendorId("MS NT5 ISAKMPOAKLEY", _md5("MS NT5 ISAKMPOAKLEY"), suffix=_ms_nt5_version),
    KnownVendorId("MS-Negotiation Discovery Capable", _md5("MS-Negotiation Discovery Capable")),
    KnownVendorId("Microsoft Vid-Initial-Contact", _md5("Vid-Initial-Contact")),
    KnownVendorId("IKE CGA version 1", _md5("IKE CGA version 1")),
    KnownVendorId("A GSS-API Authentication Method for IKE", _md5("A GSS-API Authentication Method for IKE")),
    KnownVendorId(
        "A GSS-API Authentication Method for IKE\\n", _md5("A GSS-API Authentication Method for IKE\n")
    ),
    KnownVendorId("GSSAPI", _md5("GSSAPI")),
    # Open-source implementations
    KnownVendorId("strongSwan", _md5("strongSwan")),
    KnownVendorId("KAME/racoon", _md5("KAME/racoon")),
    KnownVendorId("OpenPGP", b"OpenPGP"),
    # Check Point (published hex; product / version decoded from the following 16 bytes)
    KnownVendorId(
        "Check Point", bytes.fromhex("f4ed19e0c114eb516faaac0ee37daf2807b4381f"), suffix=_check_point
    ),
    # Juniper NetScreen (published hex, Wireshark and Shrew Soft agree), optional trailing data
    *(
        KnownVendorId(f"Netscreen-{number}", bytes.fromhex(value))
        for number, value in enumerate(
            (
                "299ee8289f40a8973bc78687e2e7226b532c3b76",
                "3a15e1f3cf2a63582e3ac82d1c64cbe3b6d779e7",
                "47d2b126bfcd83489760e2cf8c5d4d5a03497c15",
                "4a4340b543e02b84c88a8b96a8af9ebe77d9accc",
                "64405f46f03b7660a23be116a1975058e69e8387",
                "699369228741c6d4ca094c93e242c9de19e7b7c6",
                "8c0dc6cf62a0ef1b5c6eabd1b67ba69866adf16a",
                "92d27a9ecb31d99246986d3453d0c3d57a222a61",
                "9b096d9ac3275a7d6fe8b91c583111b09efed1a0",
                "bf03746108d746c904f1f3547de24f78479fed12",
                "c2e80500f4cc5fbf5daaeed3bb59abaeee56c652",
                "c8660a62b03b1b6130bf781608d32a6a8d0fb89f",
                "f885da40b1e7a9abd17655ec5bbec0f21f0ed52e",
                "2a2bcac19b8e91b426107807e02e7249569d6fd3",
                "166f932d55eb64d8e4df4fd37e2313f0d0fd8451",
                "a35bfd05ca1ac0b3d2f24e9e82bfcbff9c9e52b5",
            ),
            start=1,
        )
    ),
    # Netscreen heartbeat: ASCII 'HeartBeat_Notify', usually followed by 4 version bytes
    KnownVendorId("HeartBeat_Notify", b"HeartBeat_Notify"),
    KnownVendorId("SonicWall", bytes.fromhex("404bf439522ca3f6")),
    KnownVendorId("Nortel Contivity", b"BNES"),
    KnownVendorId("Timestep", b"TIMESTEP"),
    # SSH Communications Security: md5 of the product text
    KnownVendorId("SSH Sentinel", _md5("SSH Sentinel")),
    KnownVendorId(
        "IKE Challenge/Response", _md5("IKE Challenge/Response for Authenticated Cryptographic Keys")
    ),
)

# FreeS/WAN 2.x and Openswan send a 12-byte printable ID: "OE" (or "OSW") followed by a truncated
# MD5 hash with bit 7 cleared and bit 6 set in every byte, i.e. every byte is in 0x40..0x7f.
OPENSWAN_VID_LENGTH = 12


def _openswan_name(data: bytes) -> str | None:
    if len(data) != OPENSWAN_VID_LENGTH or not all(0x40 <= byte <= 0x7F for byte in data):
        return None
    if data.startswith(b"OSW"):
        return f"Openswan ({escape_controls(data.decode('ascii'))})"
    if data.startswith(b"OE"):
        return f"Openswan/FreeS/WAN ({escape_controls(data.decode('ascii'))})"
    return None


def lookup_vendor_id(data: bytes) -> str | None:
    """Name of a known Vendor ID (with version text where it carries one), else ``None``."""
    best: KnownVendorId | None = None
    for entry in KNOWN_VENDOR_IDS:
        if entry.matches(data) and (best is None or len(entry.prefix) > len(best.prefix)):
            best = entry
    if best is not None:
        return best.describe(data)
    return _openswan_name(data)


def vendor_id_name(data: bytes) -> str:
    """Name of a Vendor ID, or its lowercase hex when it is not known."""
    return lookup_vendor_id(data) or data.hex()
