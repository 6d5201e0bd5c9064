"""NAT-D hashes recomputed from the wire (RFC 3947 3.2) against the real NAT capture."""

from __future__ import annotations

import hashlib

from ikedecode.analysis.natd import check_natd, natd_hash
from ikedecode.ike.v1.payloads import NatDPayload

from .labs import lab_report


def test_natd_hash_is_the_negotiated_hash_of_cookies_address_and_port():
    cky_i, cky_r = bytes.fromhex("c9292878f0df71be"), bytes.fromhex("a7f6f927d239b6dd")
    expected = hashlib.sha1(cky_i + cky_r + bytes([203, 0, 113, 2]) + (500).to_bytes(2, "big")).digest()
    assert natd_hash(2, cky_i, cky_r, "203.0.113.2", 500) == expected
    v6 = hashlib.md5(
        cky_i + cky_r + bytes.fromhex("20010db8" + "0" * 23 + "1") + (4500).to_bytes(2, "big")
    ).digest()
    assert natd_hash(1, cky_i, cky_r, "2001:db8::1", 4500) == v6


def test_the_nat_capture_destination_hashes_match_the_wire():
    sa = lab_report("nat-t", keys=False).ike_sas[0]
    mm3, mm4 = (next(m for m in sa.messages if m.label == label) for label in ("MM3", "MM4"))
    hashes = [[p.data for p in m.payloads if isinstance(p, NatDPayload)] for m in (mm3, mm4)]
    cky = (sa.initiator_cookie, sa.responder_cookie)
    from_initiator = check_natd(2, *cky, hashes[0], 3, ("203.0.113.254", 40260), ("203.0.113.2", 500))
    from_responder = check_natd(2, *cky, hashes[1], 4, ("203.0.113.2", 500), ("203.0.113.254", 40260))
    assert from_initiator.receiver_matches  # west hashed east's address as it is on the wire
    assert from_responder.receiver_matches  # east hashed the NAT's outside address and port it saw
    # Both hashes of "self" match nothing: strongSwan with kernel-libipsec needs UDP encapsulation and
    # fakes them (RFC 3947 allows it); west's phase-1 ID (198.51.100.1) is what proves the real NAT.
    assert not from_initiator.sender_matches and not from_responder.sender_matches
    assert natd_hash(2, *cky, "198.51.100.1", 500) not in hashes[0]


def test_hashes_of_the_wrong_length_are_not_judged():
    assert check_natd(2, b"a" * 8, b"b" * 8, [b"x" * 16], 1, ("192.0.2.1", 500), ("192.0.2.2", 500)) is None
    assert check_natd(2, b"a" * 8, b"b" * 8, [], 1, ("192.0.2.1", 500), ("192.0.2.2", 500)) is None
