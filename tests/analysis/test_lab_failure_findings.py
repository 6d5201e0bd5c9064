"""Each real failure capture is named by the finding a VPN engineer would give it, with its evidence.

The captures are strongSwan 5.9.8 peers in network namespaces (captures/README.md). Where the
failure shows without keys, the test runs without keys too: the diagnosis must not depend on them
for what the packets' shape already proves.
"""

from __future__ import annotations

import tomllib

import pytest

from ikedecode.findings import Severity
from ikedecode.keys.keyring import DhSecret, KeyRing, PresharedKey

from .capture_edits import edited
from .labs import CAPTURES_DIR, KEYS_DIR, codes, lab_report, only

HEALTHY = [
    "mm-3des-md5-modp1024",
    "mm-aes128-sha1-modp2048",
    "mm-aes256-sha256-modp2048",
    "mm-delete",
    "qm-pfs-modp2048",
    "esp-aes128gcm16",
    "esp-rekey-delete",
    "esp-rekey-simultaneous",
    "case-3des-sha1-modp768",
]


@pytest.mark.parametrize("keys", [True, False], ids=["keys", "no-keys"])
@pytest.mark.parametrize("name", HEALTHY)
def test_a_healthy_negotiation_has_no_error_finding(name, keys):
    report = lab_report(name, keys)
    assert report.ike_sas and report.ike_sas[0].established
    errors = [(f.code, f.message) for f in report.all_findings() if f.severity is Severity.ERROR]
    assert errors == []
    assert "diagnosis-error" not in codes(report)


def test_icmp_port_unreachable_answering_every_mm1_says_nothing_listens():
    report = lab_report("fail-unreachable", keys=False)
    found = only(report, "port-unreachable")
    assert found.severity is Severity.ERROR
    assert [c["frame"] for c in found.evidence["copies"]] == [1, 3, 5, 7]
    assert [(n["frame"], n["reporter"], n["port"]) for n in found.evidence["icmp"]] == [
        (2, "192.0.2.2", 500), (4, "192.0.2.2", 500), (6, "192.0.2.2", 500), (8, "192.0.2.2", 500)
    ]  # fmt: skip
    assert "nothing listens on UDP 500 at 192.0.2.2" in found.message
    assert "no-response" not in codes(report)
    assert report.stats.other == 4  # the ICMP frames stay "other"; the capture keeps a note of them


def test_one_mm1_without_its_icmp_answer_is_no_response(tmp_path):
    capture = edited(
        CAPTURES_DIR / "fail-unreachable.pcap", tmp_path / "x.pcap", lambda fr: fr[:-1]
    )  # the last ICMP lost: not every copy was refused, the silence is not explained
    report = lab_report("fail-unreachable", keys=False, capture=capture)
    assert "port-unreachable" not in codes(report) and "no-response" in codes(report)


def test_unreachable_responder_is_no_response_in_mm_wait_msg2(tmp_path):
    capture = edited(  # MM1 in frames 1, 3, 5, 7; the ICMP answers (2, 4, 6, 8) taken out
        CAPTURES_DIR / "fail-unreachable.pcap", tmp_path / "silent.pcap", lambda fr: fr[0::2]
    )
    report = lab_report("fail-unreachable", keys=False, capture=capture)
    found = only(report, "no-response")
    assert found.severity is Severity.ERROR
    assert found.evidence["state"] == "MM_WAIT_MSG2"
    assert [c["frame"] for c in found.evidence["copies"]] == [1, 2, 3, 4]
    assert (found.evidence["waiting"], found.evidence["silent"]) == ("192.0.2.1", "192.0.2.2")
    assert "UDP 500" in found.hint
    assert only(report, "retransmission").evidence["retransmissions"] == 3


def test_phase1_proposal_mismatch_lists_the_offer_and_the_refusal():
    found = only(lab_report("fail-ike-proposal", keys=False), "p1-proposal-mismatch")
    assert found.severity is Severity.ERROR
    assert found.evidence["offered"] == ["AES-CBC-128, SHA, Pre-shared key, group 14, 14400 seconds"]
    refusal = found.evidence["refusal"][0]
    assert (refusal["notify"], refusal["frame"], refusal["sender"]) == ("NO-PROPOSAL-CHOSEN", 2, "192.0.2.2")
    assert "no-response" not in codes(lab_report("fail-ike-proposal", keys=False))


def test_psk_mismatch_without_keys_is_the_mm5_pattern():
    report = lab_report("fail-psk-mismatch", keys=False)
    found = only(report, "psk-mismatch")
    assert found.evidence["state"] == "MM_WAIT_MSG6"
    assert [m["frame"] for m in found.evidence["mm5"]] == [5, 7, 9]
    assert [m["frame"] for m in found.evidence["responder_messages"]] == [6, 8, 10]
    assert "proof" not in found.evidence
    assert "no-response" not in codes(report)


def _one_psk_ring(secret: str) -> KeyRing:
    dh = bytes.fromhex(
        tomllib.loads((KEYS_DIR / "fail-psk-mismatch.toml").read_text())["ike_sa"][0]["dh_secret"]
    )
    return KeyRing(
        psks=[PresharedKey(secret.encode(), "--psk #1")], dh_secrets=[DhSecret(dh, "--dh-secret #1")]
    )


def test_psk_mismatch_with_the_initiators_psk_proves_the_responder_differs():
    ring = _one_psk_ring("ikedecode-lab-psk-fail-psk-mismatch")
    found = only(lab_report("fail-psk-mismatch", ring=ring), "psk-mismatch")
    assert found.evidence["proof"]["initiator_psk"] == "--psk #1"
    assert found.evidence["proof"]["responder_psk"] is None
    assert "the responder uses another PSK" in found.message


def test_psk_mismatch_with_the_responders_psk_proves_the_initiator_differs():
    ring = _one_psk_ring("ikedecode-lab-psk-not-the-same")
    report = lab_report("fail-psk-mismatch", ring=ring)
    found = only(report, "psk-mismatch")
    assert found.evidence["proof"]["responder_psk"] == "--psk #1"
    assert {n["notify"] for n in found.evidence["notifies"]} == {"PAYLOAD-MALFORMED"}
    assert "error-notify" not in codes(report)  # the PAYLOAD-MALFORMED notifies are explained


def test_psk_mismatch_with_both_keys_keeps_the_engines_single_finding():
    report = lab_report("fail-psk-mismatch")
    assert codes(report).count("psk-mismatch") == 1
    assert "error-notify" not in codes(report)


def test_phase2_proposal_mismatch_with_keys_shows_the_offered_transforms():
    found = only(lab_report("fail-esp-proposal"), "p2-proposal-mismatch")
    assert found.evidence["quick_mode"] == "0x3641e456"
    assert found.evidence["offered"] == ["ESP_AES-CBC-128, HMAC-SHA, UDP-Encapsulated-Tunnel, 3600 seconds"]
    assert found.evidence["refusal"][0]["notify"] == "NO-PROPOSAL-CHOSEN"
    assert found.evidence["refusal"][0]["frame"] == 8


@pytest.mark.parametrize("name", ["fail-esp-proposal", "fail-ts-mismatch", "fail-pfs-mismatch"])
def test_a_refused_quick_mode_without_keys_is_qm_refused(name):
    report = lab_report(name, keys=False)
    found = only(report, "qm-refused")
    assert found.severity is Severity.ERROR
    assert [a["frame"] for a in found.evidence["answers"]] == [8]
    assert not {"p2-proposal-mismatch", "proxy-id-mismatch", "pfs-mismatch", "no-response"} & set(
        codes(report)
    )


def test_proxy_identity_mismatch_names_the_refused_selectors():
    found = only(lab_report("fail-ts-mismatch"), "proxy-id-mismatch")
    assert found.severity is Severity.ERROR
    assert found.evidence["initiator_proxy_ids"] == {
        "local": "10.1.0.0/255.255.255.0",
        "remote": "10.2.0.0/255.255.255.0",
    }
    assert found.evidence["refusal"][0]["notify"] == "INVALID-ID-INFORMATION"
    assert found.evidence["mirror"] is None  # the responder proposed nothing itself
    assert "mirror image" in found.hint


def test_pfs_requested_and_refused_is_pfs_mismatch():
    report = lab_report("fail-pfs-mismatch")
    found = only(report, "pfs-mismatch")
    assert found.evidence["pfs"] == {"initiator": 256, "groups": [14]}
    assert "p2-proposal-mismatch" not in codes(report)


def test_initiator_refusing_qm2_is_reported_as_such():
    report = lab_report("qm-transport-refused")
    found = only(report, "qm2-rejected")
    assert "answered QM2 with NO-PROPOSAL-CHOSEN" in found.message
    assert found.evidence["accepted"] == [
        "ESP_AES-CBC-128, HMAC-SHA, UDP-Encapsulated-Transport, 3600 seconds"
    ]
    assert "no-response" not in codes(report)


def test_dpd_timeout_with_keys_lists_the_unanswered_r_u_theres():
    found = only(lab_report("dpd-timeout"), "dpd-timeout")
    assert found.severity is Severity.ERROR
    assert [r["frame"] for r in found.evidence["r_u_there"]] == [26, 36, 43]
    assert (found.evidence["sender"], found.evidence["peer"]) == ("192.0.2.1", "192.0.2.2")
    assert found.evidence["acks_before"] == 0
    assert found.evidence["esp_still_sent"] == ["ESP SPI 0x3b8fd67a 192.0.2.1 -> 192.0.2.2"]


def test_dpd_timeout_without_keys_is_the_periodic_informational_shape():
    found = only(lab_report("dpd-timeout", keys=False), "dpd-timeout")
    assert found.severity is Severity.WARNING
    assert [m["frame"] for m in found.evidence["informationals"]] == [26, 36, 43]


def test_a_burst_of_deletes_is_not_mistaken_for_dpd():
    assert "dpd-timeout" not in codes(lab_report("esp-rekey-simultaneous", keys=False))


def test_nat_in_front_of_the_initiator_from_natd_hashes():
    report = lab_report("nat-t")
    nat = only(report, "nat-detected")
    assert nat.evidence["peer"] == "initiator"
    assert nat.evidence["wire"] == "203.0.113.254:40260"
    assert nat.evidence["identity"] == "198.51.100.1"
    assert nat.evidence["own_hash_mismatch_frames"] == [3]
    assert "natt-not-negotiated" not in codes(report)  # NAT-T VIDs, NAT-D and the float to 4500 are there


def test_nat_is_seen_without_keys_from_the_rewritten_port():
    report = lab_report("nat-t", keys=False)
    initiator = [
        f for f in report.all_findings() if f.code == "nat-detected" and f.evidence["peer"] == "initiator"
    ]
    assert len(initiator) == 1 and initiator[0].evidence["ambiguous"] is False


def test_forced_encapsulation_is_told_apart_from_nat_with_address_ids():
    report = lab_report("mm-aes128-sha1-modp2048")
    assert codes(report).count("natt-forced") == 2
    assert "nat-detected" not in codes(report)


def test_aggressive_mode_psk_shows_hash_r_and_the_verified_psk():
    report = lab_report("am-aes128-sha1-modp2048")
    found = only(report, "aggressive-mode-psk")
    assert found.evidence["hash_r"].startswith("ce3eea8525922e93")
    assert found.evidence["hash_algorithm"] == "SHA"
    assert found.evidence["psk_verified"] is True
    assert "[[psk]] #1" in only(report, "psk-verified").message


def test_ike_scan_probe_is_an_aggressive_mode_warning_not_an_error():
    report = lab_report("ikescan-aggressive-pskcrack", keys=False)
    assert {"aggressive-mode-psk", "weak-crypto"} <= set(codes(report))
    assert not [f for f in report.all_findings() if f.severity is Severity.ERROR]
    assert only(report, "weak-crypto").evidence["weak"] == [
        {"where": "phase 1", "what": "DH group 2 (1024-bit MODP)", "source": "chosen"}
    ]


def test_weak_crypto_names_md5_and_group_2_of_both_phases():
    found = only(lab_report("mm-3des-md5-modp1024"), "weak-crypto")
    assert [(w["where"], w["what"]) for w in found.evidence["weak"]] == [
        ("phase 1", "MD5"),
        ("phase 1", "DH group 2 (1024-bit MODP)"),
        ("quick mode 0x367cfd75", "HMAC-MD5"),
    ]


def test_deletes_say_who_deleted_what():
    found = only(lab_report("mm-delete"), "sa-deleted")
    assert [(d["sender"], d["protocol"], d["frame"]) for d in found.evidence["deletes"]] == [
        ("192.0.2.1", "ESP", 16),
        ("192.0.2.1", "ISAKMP", 17),
    ]


def test_quick_modes_without_pfs_are_reported_once_per_ike_sa():
    assert only(lab_report("esp-rekey-delete"), "no-pfs").evidence["quick_modes"] == [
        "0x33e1503d",
        "0xea520561",
    ]
    assert "no-pfs" not in codes(lab_report("qm-pfs-modp2048"))
