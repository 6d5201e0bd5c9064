"""NAT-D and NAT-OA under their draft numbers (15 and 16) where both peers sent a draft NAT-T
vendor ID: a Cisco IOS router's main mode (PacketLife's capture, shipped in tcpdump's tests:
tests/corpus/tcpdump/README.md) sends NAT-D as type 15 after agreeing on draft-ietf-ipsec-nat-t-ike-07.
"""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt

from ikedecode.analysis.natd import check_natd
from ikedecode.capture import open_capture
from ikedecode.esp.inner import ipv4_checksum
from ikedecode.ike.v1.nat_t_numbers import uses_draft_numbers
from ikedecode.ike.v1.payloads import NatDPayload, UnknownPayload
from ikedecode.keys.keyring import KeyRing
from ikedecode.pipeline import analyze
from tests.conftest import PROJECT_ROOT

TCPDUMP = PROJECT_ROOT / "tests" / "corpus" / "tcpdump"
IOS = TCPDUMP / "ISAKMP_sa_setup.pcap"
SHA1 = 2  # RFC 2409 Appendix A hash algorithm


def _report(path: Path = IOS):  # noqa: ANN202
    return analyze(open_capture(path), KeyRing())


def test_type_15_is_nat_d_when_both_sides_sent_a_draft_nat_t_vendor_id():
    (sa,) = _report().ike_sas
    assert uses_draft_numbers(sa.vendor_ids)
    for label in ("MM3", "MM4"):
        message = next(m for m in sa.messages if m.label == label)
        natd = [p for p in message.payloads if p.type == 15]
        assert len(natd) == 2 and all(isinstance(p, NatDPayload) for p in natd)
        assert natd[0].short == "NAT-D" and "draft" in natd[0].to_dict()["name"]
        # the hashes are RFC 3947 3.2's over the addresses and ports on the wire: the decoding is right
        check = check_natd(
            SHA1, sa.initiator_cookie, sa.responder_cookie, [p.data for p in natd], message.frame,
            (message.sender, message.sport), (message.receiver, message.dport),
        )  # fmt: skip
        assert check is not None and check.receiver_matches and check.sender_matches


def test_the_rfc_numbers_or_one_sided_drafts_leave_type_15_alone():
    both = ["RFC 3947 NAT-T", "draft-ietf-ipsec-nat-t-ike-02"]
    assert not uses_draft_numbers({"initiator": both, "responder": both})
    assert not uses_draft_numbers({"initiator": ["draft-ietf-ipsec-nat-t-ike-07"], "responder": ["XAUTH"]})
    assert not uses_draft_numbers({"initiator": ["draft-ietf-ipsec-nat-t-ike-07"]})
    (rfc,) = [sa for sa in _report(TCPDUMP / "isakmp4500.pcap").ike_sas if sa.vendor_ids]
    assert not uses_draft_numbers(rfc.vendor_ids)
    assert not any(isinstance(p, UnknownPayload) and p.type == 15 for m in rfc.messages for p in m.payloads)


def test_a_nat_in_front_of_the_router_is_detected_from_the_type_15_nat_d(tmp_path: Path):
    # The initiator's address rewritten on the way (as a NAT in front of it would): its NAT-D
    # hashes, computed over 10.0.0.1, no longer match what the capture shows.
    natted = tmp_path / "ios-behind-nat.pcap"
    with IOS.open("rb") as src, natted.open("wb") as dst:
        reader = dpkt.pcap.Reader(src)
        writer = dpkt.pcap.Writer(dst, linktype=reader.datalink())
        for ts, frame in reader:
            frame = bytearray(frame)
            for at in (26, 30):  # IPv4 source and destination behind the Ethernet header
                if frame[at : at + 4] == bytes([10, 0, 0, 1]):
                    frame[at : at + 4] = bytes([192, 0, 2, 99])
            frame[24:26] = b"\x00\x00"
            struct.pack_into("!H", frame, 24, ipv4_checksum(bytes(frame[14:34])))
            writer.writepkt(bytes(frame), ts)
    findings = {f.code: f for f in _report(natted).all_findings()}
    assert "nat-detected" in findings and "192.0.2.99" in findings["nat-detected"].message
    assert "nat-detected" not in {f.code for f in _report().all_findings()}
