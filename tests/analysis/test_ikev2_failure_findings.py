"""Each IKEv2 lab failure capture is named by the finding a VPN engineer would give it, with the
evidence that proves it (frames, the notify, the offer, the selectors); healthy IKEv2 captures have
no error finding. The captures are strongSwan 5.9.8 peers (captures/README.md, IKEv2 part)."""

from __future__ import annotations

import pytest

from ikedecode.analysis.verdict import verdict_of
from ikedecode.findings import Severity

from .labs import CAPTURES_DIR, KEYS_DIR, codes, lab_report, only

IKEV2_FAILURES = {
    "ikev2-auth-failed",
    "ikev2-no-proposal",
    "ikev2-ts-unacceptable",
    "ikev2-dpd-liveness",
    "ikev2-pq-addke-unsupported",
    "ikev2-pq-init-fragments-lost",
}
IKEV2_HEALTHY = sorted(p.stem for p in CAPTURES_DIR.glob("ikev2-*.pcap") if p.stem not in IKEV2_FAILURES)


@pytest.mark.parametrize("keys", [True, False], ids=["keys", "no-keys"])
@pytest.mark.parametrize("name", IKEV2_HEALTHY)
def test_a_healthy_ikev2_capture_has_no_error_finding(name, keys):
    report = lab_report(name, keys)
    found = report.all_findings()
    errors = [(f.code, f.message) for f in found if f.severity is Severity.ERROR]
    assert errors == []
    assert "diagnosis-error" not in codes(report)


def test_auth_failed_with_both_psks_says_which_key_each_side_used():
    report = lab_report("ikev2-auth-failed")
    found = only(report, "psk-mismatch")
    assert found.severity is Severity.ERROR
    ev = found.evidence
    assert (ev["notify"], ev["refused_by"], ev["refusal"]["frame"], ev["auth_frame"]) == (
        "AUTHENTICATION_FAILED", "responder", 4, 3
    )  # fmt: skip
    assert ev["verified_with"].endswith("[[psk]] #1") and ev["refuser_key"].endswith("[[psk]] #2")
    assert (
        "192.0.2.2 (responder) refused the initiator's authentication with AUTHENTICATION_FAILED (frame 4)"
        in (found.message)
    )
    assert "the peers use different pre-shared keys" in found.message
    assert "ikedecode-lab-psk" not in found.message  # origins, never the secrets
    verdict = verdict_of(report)
    assert (
        verdict.outcome == "down" and verdict.finding is not None and verdict.finding.code == "psk-mismatch"
    )
    assert "error-notify" not in codes(report)


def test_auth_failed_with_only_the_initiators_psk_is_not_called_a_mismatch():
    from ikedecode.keys.keyring import KeyRing

    from .labs import lab_keyring

    ring = lab_keyring("ikev2-auth-failed")
    first = KeyRing(psks=[ring.psks[0]], dh_secrets=ring.dh_secrets)
    report = lab_report("ikev2-auth-failed", ring=first)
    found = only(report, "auth-failed")
    assert found.evidence["refused_by"] == "responder" and found.evidence["verified_with"].endswith("#1")
    assert (
        "the refused side's key is right, so the refuser holds another (or refuses the ID)" in found.message
    )


def test_auth_failed_with_only_the_responders_psk_is_a_mismatch():
    from ikedecode.keys.keyring import KeyRing

    from .labs import lab_keyring

    ring = lab_keyring("ikev2-auth-failed")
    second = KeyRing(psks=[ring.psks[1]], dh_secrets=ring.dh_secrets)
    found = only(lab_report("ikev2-auth-failed", ring=second), "psk-mismatch")
    assert found.evidence["verified_with"] is None and found.evidence["auth_frame"] == 3
    assert "verifies with none of the 1 pre-shared key(s) given" in found.message


@pytest.mark.parametrize("keys", [True, False], ids=["keys", "no-keys"])
def test_no_proposal_in_ike_sa_init_lists_the_offer_in_clear(keys):
    report = lab_report("ikev2-no-proposal", keys)
    found = only(report, "p1-proposal-mismatch")
    ev = found.evidence
    assert (ev["notify"], ev["request"]["frame"], ev["refusal"]["frame"]) == ("NO_PROPOSAL_CHOSEN", 1, 2)
    assert ev["offered"] == [
        {
            "proposal": 1,
            "protocol": "IKE",
            "ENCR": ["aes-cbc-128"],
            "INTEG": ["sha256"],
            "PRF": ["prfsha256"],
            "KE": ["modp2048"],
        }
    ]
    assert "NO_PROPOSAL_CHOSEN (frame 2)" in found.message and "ENCR aes-cbc-128" in found.message
    assert "error-notify" not in codes(report)
    assert verdict_of(report).finding.code == "p1-proposal-mismatch"


def test_a_refused_post_quantum_addke_offer_is_named_by_its_cause_once():
    report = lab_report("ikev2-pq-addke-unsupported", False)
    found = only(report, "ikev2-addke-unsupported")  # check_ikev2's RFC 9370 finding
    assert "p1-proposal-mismatch" not in codes(report) and "error-notify" not in codes(report)
    assert verdict_of(report).finding.code == found.code


@pytest.mark.parametrize("keys", [True, False], ids=["keys", "no-keys"])
def test_invalid_ke_names_the_group_asked_for_and_the_accepted_retry(keys):
    report = lab_report("ikev2-invalid-ke", keys)
    found = only(report, "invalid-ke")
    ev = found.evidence
    assert found.severity is Severity.INFO
    frames = (ev["refusal"]["frame"], ev["retry"]["frame"], ev["retry_answer"]["frame"])
    assert (ev["wanted_group"], frames) == (19, (2, 3, 4))
    assert ev["sent_group"] == "2048-bit MODP Group" and ev["retry"]["group"] == "256-bit random ECP group"
    assert "was accepted (frame 4)" in found.message
    assert verdict_of(report).outcome == "up"


def test_ts_unacceptable_gives_the_selectors_proposed():
    report = lab_report("ikev2-ts-unacceptable")
    found = only(report, "proxy-id-mismatch")
    ev = found.evidence
    assert (ev["notify"], ev["request"]["frame"], ev["refusal"]["frame"]) == ("TS_UNACCEPTABLE", 3, 4)
    assert ev["proposed"] == {"TSi": "10.1.0.0/24", "TSr": "10.2.0.0/24"}
    verdict = verdict_of(report)
    assert verdict.outcome == "partly" and verdict.finding.code == "proxy-id-mismatch"


def test_ts_unacceptable_without_keys_is_unknown_not_a_guess():
    report = lab_report("ikev2-ts-unacceptable", False)
    assert "proxy-id-mismatch" not in codes(report)
    assert verdict_of(report).outcome == "unknown"


def test_a_child_rekey_collision_is_named_with_both_rekeys():
    report = lab_report("ikev2-child-rekey-collision")
    found = only(report, "rekey-collision")
    ev = found.evidence
    assert found.severity is Severity.INFO  # the other rekey succeeded
    assert (ev["request"]["frame"], ev["request"]["rekey_of"], ev["refusal"]["frame"]) == (17, "15e6de29", 19)
    assert (ev["other_rekey"]["frame"], ev["other_rekey"]["rekey_of"], ev["notify"]) == (
        15, "5d788a5a", "TEMPORARY_FAILURE"
    )  # fmt: skip
    assert "error-notify" not in codes(report)
    assert verdict_of(report).outcome == "up"


def test_an_unanswered_empty_informational_is_a_dead_peer():
    report = lab_report("ikev2-dpd-liveness")
    found = only(report, "dpd-timeout")
    assert found.severity is Severity.ERROR
    assert (found.evidence["request"]["frame"], found.evidence["copies"]) == (25, [27, 29])
    assert "liveness check (empty INFORMATIONAL)" in found.message
    assert verdict_of(report).finding.code == "dpd-timeout"


def test_without_keys_the_unanswered_informational_is_a_probable_dead_peer():
    report = lab_report("ikev2-dpd-liveness", False)
    found = only(report, "dpd-timeout")
    assert found.severity is Severity.WARNING and found.evidence["request"]["frame"] == 25
    assert "no-response" not in codes(report)
    verdict = verdict_of(report)
    assert verdict.outcome == "partly" and verdict.finding.code == "dpd-timeout"


@pytest.mark.parametrize("keys", [True, False], ids=["keys", "no-keys"])
def test_an_ike_sa_init_lost_in_ip_fragments_is_named_once_by_its_post_quantum_cause(keys):
    report = lab_report("ikev2-pq-init-fragments-lost", keys)
    found = only(report, "ikev2-init-fragments-lost")
    assert found.evidence["request"]["ip_frames"] == [1, 2]
    assert "no-response" not in codes(report) and "ip-fragmentation" not in codes(report)
    verdict = verdict_of(report)
    assert verdict.outcome == "down" and verdict.finding.code == "ikev2-init-fragments-lost"


def test_an_ike_sa_init_with_a_classic_group_lost_in_ip_fragments_is_ip_fragmentation():
    report = lab_report("ikev2-pq-init-fragments-lost", False)
    sa = report.ike_sas[0]
    for m in sa.messages:  # the same request with a small (classic) KE: not the post-quantum case
        m.payloads = [p for p in m.payloads if type(p).__name__ != "Ikev2KePayload"]
    from ikedecode.analysis.diagnose import diagnose

    found = [f for f in diagnose(report) if f.code == "ip-fragmentation"]
    assert len(found) == 1 and found[0].evidence["ip_frames"] == [1, 2]
    assert "IKE_SA_INIT cannot use IKE fragmentation" in found[0].message


def test_nat_t_behind_a_real_nat_is_told_from_forced_encapsulation():
    report = lab_report("ikev2-nat-t-ecp")
    nat = only(report, "nat-detected")
    assert (nat.evidence["peer"], nat.evidence["identity"], nat.evidence["ambiguous"]) == (
        "initiator", "198.51.100.1", False
    )  # fmt: skip
    forced = only(report, "natt-forced")
    assert (forced.evidence["peer"], forced.evidence["address"]) == ("responder", "203.0.113.2")


def test_forced_encapsulation_with_keys_is_natt_forced_for_both_peers():
    found = [f for f in lab_report("ikev2-psk-aes-cbc-sha256").all_findings() if f.code == "natt-forced"]
    assert sorted(f.evidence["peer"] for f in found) == ["initiator", "responder"]


def test_without_ids_a_mismatching_nat_hash_is_ambiguous_once_per_sa():
    found = only(lab_report("ikev2-psk-aes-cbc-sha256", False), "nat-detected")
    assert found.evidence["ambiguous"] is True and len(found.evidence["peers"]) == 2


def test_ikev1_captures_get_the_rfc_9395_note_and_ikev2_captures_do_not():
    found = only(lab_report("mm-aes128-sha1-modp2048", False), "ikev1-in-use")
    assert found.severity is Severity.INFO and found.evidence["count"] == 1
    assert "ikev1-in-use" not in codes(lab_report("ikev2-psk-aes-cbc-sha256", False))


def _signed_ike_auth(name: str):  # noqa: ANN202
    from ikedecode.ike.v2.payloads import Ikev2CertPayload

    report = lab_report(name)
    sa = report.ike_sas[0]
    request, response = (
        next(m for m in sa.messages if m.exchange_type == 35 and m.response is flag and any(
            isinstance(p, Ikev2CertPayload) for p in m.payloads))
        for flag in (False, True)
    )  # fmt: skip
    return request, response


def _ca(name: str) -> list:
    from ikedecode.ike.certificates import load_certificates

    return load_certificates((KEYS_DIR / "ikev2-pki" / name).read_bytes())


def test_a_certificate_that_names_its_id_chains_to_the_ca_given_and_is_valid_has_no_problem():
    from ikedecode.analysis.checks.ikev2_failures import certificate_problems

    request, _ = _signed_ike_auth("ikev2-rsa-cert")
    assert certificate_problems(request, request.time, _ca("ca-rsa.crt")) == []


def test_certificate_problems_name_the_wrong_ca_the_expiry_and_an_id_the_certificate_does_not_name():
    import dataclasses

    from ikedecode.analysis.checks.ikev2_failures import certificate_problems
    from ikedecode.ike.v2.payloads import Ikev2IdPayload

    request, response = _signed_ike_auth("ikev2-rsa-cert")
    wrong_ca = certificate_problems(request, request.time, _ca("ca-ecdsa.crt"))
    assert len(wrong_ca) == 1 and wrong_ca[0].startswith("its chain: ")
    years_later = certificate_problems(request, request.time + 40 * 365 * 86400, [])
    assert len(years_later) == 1 and "is not valid at capture time" in years_later[0]
    east_id = next(p for p in response.payloads if isinstance(p, Ikev2IdPayload))
    swapped = dataclasses.replace(request, payloads=[east_id, *request.payloads])
    (mismatch,) = certificate_problems(swapped, request.time, [])
    assert "does not name the ID east.lab.example" in mismatch and "DNS:west.lab.example" in mismatch


def test_ca_option_reads_pem_and_refuses_a_file_that_is_not_a_certificate(tmp_path):
    from click.testing import CliRunner

    from ikedecode.cli import main

    capture = str(CAPTURES_DIR / "ikev2-rsa-cert.pcap")
    ok = CliRunner().invoke(main, [capture, "--ca", str(KEYS_DIR / "ikev2-pki" / "ca-rsa.crt"), "-q"])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    refused = CliRunner().invoke(main, [capture, "--ca", str(bad)])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert f"{bad}: not a PEM or DER certificate" in refused.output
