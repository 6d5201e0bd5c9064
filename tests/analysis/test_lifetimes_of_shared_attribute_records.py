"""Lifetimes compared when the engine shares attribute records between transforms of the same
bytes: a transform answered with the very records offered accepted the offered lifetimes; other
records are compared by value as before, and RESPONDER-LIFETIME is reported either way."""

from __future__ import annotations

from ikedecode.analysis.diagnose import diagnose
from ikedecode.findings import Finding
from ikedecode.ike.records import Protection
from ikedecode.ike.v1.attributes import IKE_CONTEXT, IPSEC_CONTEXT, Attribute
from ikedecode.ike.v1.payloads import Proposal, SaPayload, Transform

from .records import INIT, RESP, established_main_mode, ike_sa, msg, notify, report

QM = {"exchange": "quick", "message_id": 0x0A0B0C0D, "protection": Protection.VERIFIED}
RESPONDER_LIFETIME = 24576


def ipsec_records(seconds: int) -> tuple[Attribute, ...]:  # SA-Life-Type seconds, SA-Life-Duration
    return (Attribute(1, 1, True, IPSEC_CONTEXT), Attribute(2, seconds, True, IPSEC_CONTEXT))


def esp(*records: tuple[Attribute, ...]) -> SaPayload:
    transforms = [Transform(n, 12, shared, protocol_id=3) for n, shared in enumerate(records, 1)]
    proposal = Proposal(1, 3, b"\x11\x22\x33\x44", transforms)
    return SaPayload(
        type=1, offset=28, raw=b"\0\0\0\x08abcd", next_payload=0, doi=1, situation=1, proposals=[proposal]
    )


def lifetime_findings(qm1_sa: SaPayload, qm2_sa: SaPayload, *qm2_more: object) -> list[Finding]:
    qm1 = msg(7, 0.1, "QM1", INIT, qm1_sa, **QM)  # type: ignore[arg-type]
    qm2 = msg(8, 0.2, "QM2", RESP, qm2_sa, *qm2_more, **QM)  # type: ignore[arg-type]
    qm3 = msg(9, 0.3, "QM3", INIT, **QM)  # type: ignore[arg-type]
    sa = ike_sa(*established_main_mode(), qm1, qm2, qm3, established=True)
    return [f for f in diagnose(report(sa)) if f.code == "lifetime-mismatch"]


def test_the_very_records_of_a_later_offer_are_no_mismatch():
    hour, day = ipsec_records(3600), ipsec_records(86400)
    assert lifetime_findings(esp(hour, day), esp(day)) == []


def test_other_records_with_another_lifetime_are_a_mismatch():
    hour = ipsec_records(3600)
    found = lifetime_findings(esp(hour), esp(ipsec_records(1800)))
    assert [f.evidence["accepted"] for f in found] == [[{"seconds": 1800}]]
    assert found[0].evidence["offered"] == [{"seconds": 3600}]


def test_other_records_with_an_offered_lifetime_are_no_mismatch():
    assert lifetime_findings(esp(ipsec_records(3600)), esp(ipsec_records(3600))) == []


def test_responder_lifetime_is_reported_with_the_very_records_offered():
    hour = ipsec_records(3600)
    found = lifetime_findings(esp(hour), esp(hour), notify(RESPONDER_LIFETIME, 3))
    assert len(found) == 1 and "RESPONDER-LIFETIME" in found[0].message


def isakmp(seconds: int) -> tuple[Attribute, ...]:
    pairs = (1, 7), (14, 128), (2, 2), (4, 14), (3, 1), (11, 1), (12, seconds)
    return tuple(Attribute(t, v, True, IKE_CONTEXT) for t, v in pairs)


def phase1_findings(offered: tuple[Attribute, ...], chosen: tuple[Attribute, ...]) -> list[Finding]:
    sa = ike_sa(*established_main_mode(), chosen=Transform(1, 1, chosen), established=True)
    sa.offered = [Transform(1, 1, offered)]
    return [f for f in diagnose(report(sa)) if f.code == "lifetime-mismatch"]


def test_phase1_chosen_with_the_very_records_offered_is_no_mismatch():
    shared = isakmp(28800)
    assert phase1_findings(shared, shared) == []


def test_phase1_chosen_with_other_records_and_another_lifetime_is_a_mismatch():
    found = phase1_findings(isakmp(28800), isakmp(3600))
    assert [(f.evidence["offered"], f.evidence["accepted"]) for f in found] == [
        ({"seconds": 28800}, {"seconds": 3600})
    ]


def test_phase1_records_of_a_later_offer_compare_with_the_first_offer_of_that_policy():
    """The policy decides which offer the lifetimes are compared with: the first with that policy,
    not the offer whose records the chosen transform shares."""
    later = isakmp(3600)
    sa = ike_sa(*established_main_mode(), chosen=Transform(1, 1, later), established=True)
    sa.offered = [Transform(1, 1, isakmp(28800)), Transform(2, 1, later)]
    found = [f for f in diagnose(report(sa)) if f.code in ("lifetime-mismatch", "p1-chosen-not-offered")]
    assert [(f.code, f.evidence["offered"], f.evidence["accepted"]) for f in found] == [
        ("lifetime-mismatch", {"seconds": 28800}, {"seconds": 3600})
    ]
