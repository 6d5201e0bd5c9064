"""IKEv2 refusals the lab captures do not have (a CREATE_CHILD_SA refused, narrowed selectors, COOKIE,
REDIRECT, INVALID_SPI, EAP Failure), made by editing the decoded records of real captures: one
payload changed, everything else as the daemons sent it."""

from __future__ import annotations

import dataclasses

from ikedecode.analysis.diagnose import diagnose
from ikedecode.findings import Severity
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.payloads import Ikev2EapPayload, Ikev2NotifyPayload, Ikev2SaPayload, Ikev2TsPayload

from .labs import lab_report


def _one(found, code):  # noqa: ANN001, ANN202
    hits = [f for f in found if f.code == code]
    assert len(hits) == 1, [(f.code, f.message) for f in found]
    return hits[0]


def _notify(like: Ikev2NotifyPayload, notify_type: int, **decoded: object) -> Ikev2NotifyPayload:
    return dataclasses.replace(like, notify_type=notify_type, data=b"", decoded=dict(decoded))


def _frame(report, number):  # noqa: ANN001, ANN202
    return next(m for m in report.ike_sas[0].messages if m.frame == number)


def _any_notify(report) -> Ikev2NotifyPayload:  # noqa: ANN001
    return next(
        p for m in report.ike_sas[0].messages for p in m.payloads if isinstance(p, Ikev2NotifyPayload)
    )


def test_a_create_child_sa_refused_only_for_its_pfs_group_is_pfs_mismatch_with_the_side_by_side_offer():
    report = lab_report("ikev2-child-rekey-pfs")
    response = _frame(report, 16)
    response.payloads = [_notify(_any_notify(report), 14)]  # NO_PROPOSAL_CHOSEN instead of SA KE TS
    found = _one(diagnose(report), "pfs-mismatch")
    assert "accepted only by PFS (2048-bit MODP Group)" in found.message
    ev = found.evidence
    assert (ev["exchange"], ev["request"]["frame"], ev["refusal"]["frame"]) == ("CREATE_CHILD_SA", 15, 16)
    assert ev["pfs_group"] == "2048-bit MODP Group"
    assert ev["offered"][0]["KE"] == ["modp2048"] and ev["offered"][0]["KE payload"] == "2048-bit MODP Group"
    assert ev["accepted_before"][0]["ENCR"] == ["aes-cbc-128"] and "KE" not in ev["accepted_before"][0]
    assert (
        "with PFS (2048-bit MODP Group)" in found.message
        and "accepted before in this IKE SA" in found.message
    )


def test_a_create_child_sa_refused_with_other_transforms_is_p2_proposal_mismatch():
    report = lab_report("ikev2-child-rekey-pfs")
    request = _frame(report, 15)
    sa_payload = next(p for p in request.payloads if isinstance(p, Ikev2SaPayload))
    transforms = sa_payload.proposals[0].transforms  # the message's own list of immutable records
    for i, t in enumerate(transforms):
        if t.transform_type == reg.TRANSFORM_INTEG:
            transforms[i] = t._replace(transform_id=14)  # sha512: not what IKE_AUTH's child accepted
    _frame(report, 16).payloads = [_notify(_any_notify(report), 14)]
    found = _one(diagnose(report), "p2-proposal-mismatch")
    assert found.evidence["offered"][0]["INTEG"] == ["sha512"] and found.evidence["pfs_group"]
    assert "pfs-mismatch" not in {f.code for f in diagnose(report)}


def test_selectors_narrowed_by_the_responder_are_proxy_id_changed():
    report = lab_report("ikev2-child-rekey-pfs")
    response = _frame(report, 4)
    for i, p in enumerate(response.payloads):
        if isinstance(p, Ikev2TsPayload) and p.type == reg.PT_TSR:
            narrowed = dataclasses.replace(p.selectors[0], start_address="10.2.0.0", end_address="10.2.0.127")
            response.payloads[i] = dataclasses.replace(p, selectors=[narrowed])
    found = _one(diagnose(report), "proxy-id-changed")
    assert found.severity is Severity.WARNING
    assert found.evidence["proposed"] == {"TSi": "10.1.0.0/24", "TSr": "10.2.0.0/24"}
    assert found.evidence["accepted"] == {"TSi": "10.1.0.0/24", "TSr": "10.2.0.0/25"}


def test_a_cookie_answer_is_a_cookie_challenge_and_not_an_error():
    report = lab_report("ikev2-invalid-ke", keys=False)
    response = _frame(report, 2)
    response.payloads = [_notify(response.payloads[0], reg.N_COOKIE)]
    found = diagnose(report)
    cookie = _one(found, "cookie-challenge")
    assert (cookie.evidence["request"]["frame"], cookie.evidence["challenge"]["frame"]) == (1, 2)
    assert not [f for f in found if f.severity is Severity.ERROR]


def test_a_redirect_names_the_gateway():
    report = lab_report("ikev2-invalid-ke", keys=False)
    response = _frame(report, 2)
    response.payloads = [_notify(response.payloads[0], reg.N_REDIRECT, gateway="198.51.100.7")]
    found = _one(diagnose(report), "redirect")
    assert found.evidence["gateway"] == "198.51.100.7" and "to gateway 198.51.100.7" in found.message


def test_invalid_spi_in_an_informational_is_invalid_spi():
    report = lab_report("ikev2-child-rekey-pfs")
    informational = _frame(report, 17)
    informational.payloads = [_notify(_any_notify(report), 11, spi="deadbeef")]
    found = _one(diagnose(report), "invalid-spi")
    assert (found.evidence["spi"], found.evidence["message"]["frame"]) == ("deadbeef", 17)
    assert "INVALID_SPI for SPI 0xdeadbeef (frame 17)" in found.message


def test_authentication_failed_after_an_eap_failure_is_auth_failed_naming_eap():
    report = lab_report("ikev2-auth-failed")
    sa = report.ike_sas[0]
    assert sa.ikev2 is not None
    sa.ikev2.psk_checks.clear()  # as with EAP: no shared-key AUTH to check
    eap_failure = Ikev2EapPayload(
        type=reg.PT_EAP, offset=0, raw=b"", next_payload=0, code=4, identifier=1, eap_length=4,
        method_type=None, data=b"",
    )  # fmt: skip
    _frame(report, 4).payloads.insert(0, eap_failure)
    found = _one(diagnose(report), "auth-failed")
    assert found.evidence["eap_failure"] is True and found.evidence["refused_by"] == "responder"
    assert "EAP Failure" in found.message
    assert "psk-mismatch" not in {f.code for f in diagnose(report)}


def test_weak_transforms_the_responder_accepted_are_weak_crypto():
    report = lab_report("ikev2-psk-aes-cbc-sha256", keys=False)
    response = _frame(report, 2)
    sa_payload = next(p for p in response.payloads if isinstance(p, Ikev2SaPayload))
    weakened = {reg.TRANSFORM_KE: 2, reg.TRANSFORM_INTEG: 1}
    transforms = sa_payload.proposals[0].transforms
    for i, t in enumerate(transforms):
        transforms[i] = t._replace(transform_id=weakened.get(t.transform_type, t.transform_id))
    found = _one(diagnose(report), "weak-crypto")
    assert [i["what"] for i in found.evidence["weak"]] == ["HMAC-MD5", "DH group 2 (1024-bit MODP)"]
    assert "IKE SA (IKE_SA_INIT, frame 2)" in found.message


def _both_rekeys_succeed(report):  # noqa: ANN001, ANN202
    """ikev2-child-rekey-collision with frame 19 answering the second rekey like frame 16 answered
    the first (another SPI) instead of TEMPORARY_FAILURE."""
    answer = _frame(report, 16)
    sa_payload = next(p for p in answer.payloads if isinstance(p, Ikev2SaPayload))
    other = dataclasses.replace(
        sa_payload, proposals=[dataclasses.replace(sa_payload.proposals[0], spi=bytes.fromhex("0badcafe"))]
    )
    _frame(report, 19).payloads = [other if p is sa_payload else p for p in answer.payloads]


def test_two_successful_rekeys_of_one_child_with_the_redundant_one_deleted_are_a_resolved_collision():
    report = lab_report("ikev2-child-rekey-collision")
    _both_rekeys_succeed(report)
    found = _one(diagnose(report), "rekey-collision")
    assert found.severity is Severity.INFO
    assert (found.evidence["request"]["frame"], found.evidence["other_rekey"]["frame"]) == (15, 17)
    assert found.evidence["deleted"]["frame"] == 31 and found.evidence["deleted"]["spi"] == "e114ae1a"


def test_two_successful_rekeys_of_one_child_and_no_delete_leave_a_duplicate():
    report = lab_report("ikev2-child-rekey-collision")
    _both_rekeys_succeed(report)
    for frame in (31, 32):
        _frame(report, frame).payloads = []
    found = _one(diagnose(report), "rekey-collision")
    assert found.severity is Severity.WARNING
    assert sorted(found.evidence["duplicate_spis"]) == ["0badcafe", "bd080118", "e114ae1a", "fbb8bcc1"]
    assert "a duplicate Child SA is left over" in found.message


def test_an_ike_auth_lost_in_ip_fragments_without_ike_fragmentation_is_the_mtu_failure():
    report = lab_report("ikev2-rsa-cert", keys=False)
    sa = report.ike_sas[0]
    for m in sa.messages[:2]:  # IKE_SA_INIT without IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 2.3)
        m.payloads = [
            p for p in m.payloads if not (isinstance(p, Ikev2NotifyPayload) and p.notify_type == 16430)
        ]
    request = sa.messages[2]
    assert request.label == "IKE_AUTH request"
    request.frames = (request.frame - 1, request.frame)
    copies = [
        dataclasses.replace(request, frame=100 + 2 * i, time=request.time + 2.0 * (i + 1),
                            frames=(99 + 2 * i, 100 + 2 * i), retransmission_of=request.frame)
        for i in range(2)
    ]  # fmt: skip
    sa.messages = [*sa.messages[:3], *copies]
    report.ipsec_sas, report.unknown_spis = [], []
    found = _one(diagnose(report), "ip-fragmentation")
    assert found.evidence["ike_fragmentation_negotiated"] is False and found.evidence["copies"] == [100, 102]
    assert "IKE fragmentation (RFC 7383) was not negotiated" in found.message
    assert "no-response" not in {f.code for f in diagnose(report)}
