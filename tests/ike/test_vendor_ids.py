"""Vendor ID recognition. Values derived from public texts (MD5 of a name) are compared with the
hex that RFCs and the reference captures publish, so a wrong derivation cannot pass."""

from __future__ import annotations

import hashlib
import struct

import pytest

from ikedecode.ike.vendor_ids import KNOWN_VENDOR_IDS, lookup_vendor_id, vendor_id_name


@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        # RFC 3947 section 3: md5("RFC 3947")
        ("4a131c81070358455c5728f20e95452f", "RFC 3947 NAT-T"),
        # RFC 3706 section 5.1 prints these 16 bytes (DPD version 1.0)
        ("afcad71368a1f1c96b8696fc77570100", "RFC 3706 DPD v1.0"),
        # in ikev1-bug-12610 frame 1 (tshark: XAUTH, CISCO-UNITY 1.0, Cisco Fragmentation)
        ("09002689dfd6b712", "XAUTH"),
        ("12f5f28c457168a9702d9fe274cc0100", "Cisco Unity 1.0"),
        ("4048b7d56ebce88525e7de7f00d6c2d380000000", "Cisco Fragmentation"),
        ("4048b7d56ebce88525e7de7f00d6c2d3", "FRAGMENTATION"),
        ("cd60464335df21f87cfdb2fc68b6a448", "draft-ietf-ipsec-nat-t-ike-02"),
        ("90cb80913ebb696e086381b5ec427b1f", "draft-ietf-ipsec-nat-t-ike-02 (newline variant)"),
        ("4485152d18b6bbcd0be8a8469579ddcc", "draft-ietf-ipsec-nat-t-ike-00"),
        ("7d9419a65310ca6f2c179d9215529d56", "draft-ietf-ipsec-nat-t-ike-03"),
        ("27bab5dc01ea0760ea4e3190ac27c0d0", "draft-stenberg-ipsec-nat-traversal-01"),
        ("6105c422e76847e43f9684801292aecd", "draft-stenberg-ipsec-nat-traversal-02"),
        # ike-scan check-decode: Netscreen-15, HeartBeat_Notify, Firewall-1 NGX
        ("166f932d55eb64d8e4df4fd37e2313f0d0fd84510000000000000000", "Netscreen-15"),
        ("4865617274426561745f4e6f74696679386b0100", "HeartBeat_Notify"),
        ("699369228741c6d4ca094c93e242c9de19e7b7c60000000500000500", "Netscreen-6"),
        ("882fe56d6fd20dbc2251613b2ebe5beb", "strongSwan"),
        ("1e2b516905991c7d7c96fcbfb587e46100000004", "MS NT5 ISAKMPOAKLEY (Windows 2003 / XP SP2)"),
        ("fb1de3cdf341b7ea16b7e5be0855f120", "MS-Negotiation Discovery Capable"),
        ("26244d38eddb61b3172a36e3d0cfb819", "Microsoft Vid-Initial-Contact"),
        ("e3a5966a76379fe707228231e5ce8652", "IKE CGA version 1"),
        ("1f07f70eaa6514d3b0fa96542a500407", "Cisco VPN Concentrator"),
    ],
)
def test_published_vendor_ids(hex_value, expected):
    assert lookup_vendor_id(bytes.fromhex(hex_value)) == expected


def test_md5_derived_entries_match_their_texts():
    by_name = {entry.name: entry.prefix for entry in KNOWN_VENDOR_IDS}
    assert by_name["RFC 3947 NAT-T"] == hashlib.md5(b"RFC 3947").digest()
    assert by_name["Cisco Unity"] == hashlib.md5(b"CISCO-UNITY").digest()[:14]
    assert by_name["XAUTH"] == hashlib.md5(b"draft-ietf-ipsra-isakmp-xauth-06.txt").digest()[:8]
    with_newline = hashlib.md5(b"draft-ietf-ipsec-nat-t-ike-02\n").digest()
    assert by_name["draft-ietf-ipsec-nat-t-ike-02 (newline variant)"] == with_newline


def check_point_vid(product: int, version: int, timestamp: int) -> bytes:
    prefix = bytes.fromhex("f4ed19e0c114eb516faaac0ee37daf2807b4381f")
    return prefix + struct.pack("!IIIII", product, version, timestamp, 0, 0x18000000)


def test_check_point_version_decoding():
    # ike-scan's check-decode sample: version 0x138d with a timestamp is NGX
    assert lookup_vendor_id(check_point_vid(1, 5005, 0x459BECD7)) == "Check Point Firewall-1 NGX"
    assert lookup_vendor_id(check_point_vid(1, 5005, 0)) == "Check Point Firewall-1 NG AI R55"
    assert lookup_vendor_id(check_point_vid(2, 5002, 0)) == "Check Point SecuRemote/SecureClient NG FP2"
    assert lookup_vendor_id(check_point_vid(1, 9999, 0)) == "Check Point Firewall-1 version 9999"
    assert lookup_vendor_id(check_point_vid(1, 5002, 0)[:20]) == "Check Point"


def test_openswan_self_identifying_vendor_id():
    # ikev1-certs frame 1 (OpenSwan): 12 bytes, "OE" then ASCII-fied hash
    assert lookup_vendor_id(b"OEhyLdACecfa") == "Openswan/FreeS/WAN (OEhyLdACecfa)"
    assert lookup_vendor_id(b"OEhyLdACec\x01a") is None
    assert lookup_vendor_id(b"OEhyLdACecfaX") is None


def test_longest_prefix_wins_and_exact_entries_need_exact_bytes():
    fragmentation = hashlib.md5(b"FRAGMENTATION").digest()
    assert lookup_vendor_id(fragmentation) == "FRAGMENTATION"
    assert lookup_vendor_id(fragmentation + b"\xc0\x00\x00\x00") == "Cisco Fragmentation"
    dpd_prefix = bytes.fromhex("afcad71368a1f1c96b8696fc7757")
    assert lookup_vendor_id(dpd_prefix) == "RFC 3706 DPD"


def test_unknown_vendor_id_is_shown_as_hex():
    unknown = bytes.fromhex("deadbeef00112233")
    assert lookup_vendor_id(unknown) is None
    assert vendor_id_name(unknown) == "deadbeef00112233"
    assert lookup_vendor_id(b"") is None


def test_table_has_no_duplicate_values():
    keys = [(entry.prefix, entry.exact) for entry in KNOWN_VENDOR_IDS]
    assert len(keys) == len(set(keys))
