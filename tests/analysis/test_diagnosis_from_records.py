"""Diagnosis behaviours no lab capture shows, from engine records built by hand (records.py)."""

from __future__ import annotations

import hashlib
import ipaddress

from ikedecode.analysis.diagnose import diagnose
from ikedecode.findings import Severity
from ikedecode.ike.records import Protection

from .records import (
    INIT,
    RESP,
    delete,
    esp_sa,
    established_main_mode,
    ike_sa,
    ipv4_subnet,
    isakmp_transform,
    ke,
    msg,
    natd,
    notify,
    report,
    vendor,
)

OK = Protection.VERIFIED
QM = {"exchange": "quick", "message_id": 0x0A0B0C0D, "protection": OK}


def _codes(findings):  # noqa: ANN001, ANN202
    return [f.code for f in findings]


def _one(findings, code):  # noqa: ANN001, ANN202
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, _codes(findings)
    return found[0]


def test_invalid_spi_names_the_spi_and_whether_it_was_deleted():
    info = {"exchange": "informational", "protection": OK}
    sa = ike_sa(
        *established_main_mode(),
        msg(7, 1.0, "INFO", INIT, delete(3, bytes.fromhex("c0ffee01")), message_id=1, **info),
        msg(8, 5.0, "INFO", INIT, notify(11, 3, bytes.fromhex("c0ffee01")), message_id=2, **info),
        established=True,
    )
    findings = diagnose(report(sa))
    found = _one(findings, "invalid-spi")
    assert found.severity is Severity.ERROR
    assert found.evidence["deleted_before"] is True
    assert "0xc0ffee01" in found.message and "had deleted it" in found.message
    assert "error-notify" not in _codes(findings)


def test_other_error_notifies_are_grouped_by_sender_and_type():
    info = {"exchange": "informational"}
    sa = ike_sa(
        msg(1, 0.0, "MM1"),
        msg(2, 0.1, "MM2", RESP),
        msg(3, 0.2, "MM3"),
        msg(4, 0.3, "INFO", RESP, notify(17, 1), message_id=9, **info),
        msg(5, 2.3, "INFO", RESP, notify(17, 1), message_id=10, **info),
    )
    found = _one(diagnose(report(sa)), "error-notify")
    assert "INVALID-KEY-INFORMATION" in found.message and "2 times" in found.message
    assert [n["frame"] for n in found.evidence["notifies"]] == [4, 5]
    assert "DH group" in found.hint


def _natd_for(address: str, port: int) -> bytes:
    cookies = bytes.fromhex("1111111111111111") + bytes.fromhex("2222222222222222")
    return hashlib.sha1(cookies + ipaddress.ip_address(address).packed + port.to_bytes(2, "big")).digest()


def test_nat_without_nat_t_vendor_ids_is_natt_not_negotiated():
    # the initiator (10.0.0.5 behind a NAT) hashes its private address; no NAT-T vendor ID; IKE stays on 500
    mm3 = msg(3, 0.02, "MM3", INIT, natd(_natd_for(RESP, 500)), natd(_natd_for("10.0.0.5", 500)), sport=40001)
    mm4 = msg(4, 0.03, "MM4", RESP, natd(_natd_for(INIT, 40001)), natd(_natd_for(RESP, 500)))
    messages = established_main_mode()
    messages[0] = msg(1, 0.0, "MM1", INIT, vendor("XAUTH"), sport=40001)
    messages[2], messages[3] = mm3, mm4
    findings = diagnose(report(ike_sa(*messages, established=True, vendor_ids={"initiator": ["XAUTH"]})))
    nat = _one(findings, "nat-detected")
    assert nat.evidence["peer"] == "initiator" and nat.evidence["own_hash_mismatch_frames"] == [3]
    problem = _one(findings, "natt-not-negotiated")
    assert problem.severity is Severity.ERROR
    assert problem.evidence["missing_vendor_id"] == ["initiator", "responder"]
    assert "IKE never moved to UDP 4500" in problem.message


def test_matching_natd_hashes_mean_no_nat():
    mm3 = msg(3, 0.02, "MM3", INIT, natd(_natd_for(RESP, 500)), natd(_natd_for(INIT, 500)))
    mm4 = msg(4, 0.03, "MM4", RESP, natd(_natd_for(INIT, 500)), natd(_natd_for(RESP, 500)))
    messages = established_main_mode()
    messages[2], messages[3] = mm3, mm4
    findings = diagnose(report(ike_sa(*messages, established=True)))
    assert not {"nat-detected", "natt-forced", "natt-not-negotiated"} & set(_codes(findings))


def test_a_large_unanswered_mm5_is_an_ip_fragmentation_problem():
    messages = established_main_mode()[:4]
    mm5 = {"protection": Protection.NO_KEYS, "length": 2140, "frames": (5, 6)}
    messages += [
        msg(6, 0.04, "MM5", INIT, **mm5),
        msg(8, 2.04, "MM5", INIT, retransmission_of=6, **mm5),
    ]
    sa = ike_sa(*messages, chosen=isakmp_transform((3, 3)))  # RSA sig
    findings = diagnose(report(sa, last_time=20.0))
    found = _one(findings, "ip-fragmentation")
    assert "2140 bytes in 2 IP fragments" in found.message
    assert _one(findings, "no-response").evidence["state"] == "MM_WAIT_MSG6"
    assert "psk-mismatch" not in _codes(findings)  # signatures: no PSK to blame


def test_responder_lowered_lifetime_is_reported():
    lifetime = (1, 1), (2, 3600)  # SA-Life-Type seconds, SA-Life-Duration
    qm1 = msg(7, 0.1, "QM1", INIT, esp_sa(*lifetime), **QM)
    qm2 = msg(8, 0.2, "QM2", RESP, esp_sa((1, 1), (2, 1800)), notify(24576, 3), **QM)
    qm3 = msg(9, 0.3, "QM3", INIT, **QM)
    findings = diagnose(report(ike_sa(*established_main_mode(), qm1, qm2, qm3, established=True)))
    found = _one(findings, "lifetime-mismatch")
    assert found.severity is Severity.INFO
    assert "RESPONDER-LIFETIME" in found.message
    assert found.evidence["offered"] == [{"seconds": 3600}]
    assert found.evidence["accepted"] == [{"seconds": 1800}]


def test_ke_on_one_side_only_is_a_pfs_mismatch():
    qm1 = msg(7, 0.1, "QM1", INIT, esp_sa((3, 14)), ke(256), **QM)
    qm2 = msg(8, 0.2, "QM2", RESP, esp_sa(), **QM)
    qm3 = msg(9, 0.3, "QM3", INIT, **QM)
    found = _one(
        diagnose(report(ike_sa(*established_main_mode(), qm1, qm2, qm3, established=True))), "pfs-mismatch"
    )
    assert found.evidence["pfs"] == {"initiator": 256, "responder": None}
    assert "192.0.2.1 sent a KE payload (PFS) and 192.0.2.2 did not" in found.message


def test_responder_answering_other_proxy_identities_is_a_warning_of_its_own():
    ids_i = ipv4_subnet("10.1.0.0/255.255.255.0"), ipv4_subnet("10.2.0.0/255.255.255.0")
    ids_r = ipv4_subnet("10.1.0.0/255.255.255.0"), ipv4_subnet("10.2.5.0/255.255.255.0")
    qm1 = msg(7, 0.1, "QM1", INIT, esp_sa(), *ids_i, **QM)
    qm2 = msg(8, 0.2, "QM2", RESP, esp_sa(), *ids_r, **QM)
    qm3 = msg(9, 0.3, "QM3", INIT, **QM)
    found = _one(
        diagnose(report(ike_sa(*established_main_mode(), qm1, qm2, qm3, established=True))),
        "proxy-id-changed",
    )
    assert found.severity is Severity.WARNING
    assert found.evidence["responder_proxy_ids"]["remote"] == "10.2.5.0/255.255.255.0"


def test_refused_proxy_ids_are_compared_with_the_responders_own_proposal():
    ids_i = ipv4_subnet("10.1.0.0/255.255.255.0"), ipv4_subnet("10.2.0.0/255.255.255.0")
    ids_r = ipv4_subnet("10.3.0.0/255.255.255.0"), ipv4_subnet("10.1.0.0/255.255.255.0")  # RESP's own QM1
    info = {"exchange": "informational", "protection": OK}
    sa = ike_sa(
        *established_main_mode(),
        msg(7, 0.1, "QM1", INIT, esp_sa(), *ids_i, **QM),
        msg(8, 0.2, "INFO", RESP, notify(18), message_id=5, **info),
        msg(9, 0.3, "QM1", RESP, esp_sa(), *ids_r, exchange="quick", message_id=6, protection=OK),
        msg(10, 0.4, "INFO", INIT, notify(18), message_id=7, **info),
        established=True,
    )
    findings = [f for f in diagnose(report(sa)) if f.code == "proxy-id-mismatch"]
    assert len(findings) == 2
    first = findings[0]
    assert first.evidence["responder_proxy_ids"] == {
        "local": "10.3.0.0/255.255.255.0",
        "remote": "10.1.0.0/255.255.255.0",
    }
    assert first.evidence["mirror"] is False and "not a mirror image" in first.message


def test_chosen_transform_that_was_not_offered_is_reported():
    other = isakmp_transform((1, 5))  # 3DES-CBC
    sa = ike_sa(msg(1, 0.0, "MM1"), msg(2, 0.1, "MM2", RESP), chosen=other)
    found = _one(diagnose(report(sa)), "p1-chosen-not-offered")
    assert "3DES-CBC" in found.message and "did not offer" in found.message


def test_aggressive_mode_answered_with_an_auth_failure_is_a_psk_mismatch():
    sa = ike_sa(
        msg(1, 0.0, "AM1", exchange="aggressive"),
        msg(2, 0.1, "AM2", RESP, exchange="aggressive"),
        msg(3, 0.2, "INFO", INIT, notify(24, 1), exchange="informational", message_id=3),
        exchange="aggressive",
    )
    findings = diagnose(report(sa))
    found = _one(findings, "psk-mismatch")
    assert found.evidence["refused_by"] == INIT and "AUTHENTICATION-FAILED" in found.message
    assert "error-notify" not in _codes(findings) and "no-response" not in _codes(findings)


def test_findings_come_errors_first():
    sa = ike_sa(
        msg(1, 0.0, "MM1"), msg(3, 2.0, "MM1", retransmission_of=1), msg(5, 6.0, "MM1", retransmission_of=1)
    )
    findings = diagnose(report(sa, last_time=20.0))
    assert _codes(findings)[:2] == ["no-response", "retransmission"]
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    ranks = [order[f.severity] for f in findings]
    assert ranks == sorted(ranks)


def test_a_quick_mode_refused_again_and_again_is_one_finding():
    messages = established_main_mode()
    for i in range(50):
        q = {"exchange": "quick", "message_id": 0x100 + i, "protection": OK}
        info = {"exchange": "informational", "message_id": 0x9000 + i, "protection": OK}
        messages += [
            msg(7 + 2 * i, 1.0 + i, "QM1", INIT, esp_sa(), **q),
            msg(8 + 2 * i, 1.01 + i, "INFO", RESP, notify(14), **info),
        ]
    findings = diagnose(report(ike_sa(*messages, established=True)))
    found = _one(findings, "p2-proposal-mismatch")
    assert found.evidence["repeated"] == 50 and found.evidence["also_quick_modes"][0] == "0x00000101"
    assert "the same for 49 more quick mode(s), the last 0x00000131" in found.message


def test_many_deletes_are_summed_up():
    info = {"exchange": "informational", "protection": OK}
    deletes = [
        msg(7 + i, 1.0 + i, "INFO", INIT, delete(3, bytes([0, 0, 1, i])), message_id=0x500 + i, **info)
        for i in range(30)
    ]
    found = _one(diagnose(report(ike_sa(*established_main_mode(), *deletes, established=True))), "sa-deleted")
    assert found.message == "192.0.2.1 deleted 30 ESP SAs (frames 7 to 36)"
    assert found.evidence["count"] == 30 and len(found.evidence["deletes"]) == 20
