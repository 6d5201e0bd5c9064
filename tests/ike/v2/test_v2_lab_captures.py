"""The lab's strongSwan IKEv2 captures (shipped in captures/): decoded without keys (every payload
named), decrypted and verified with their key files, and the SA story each scenario tells."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from ikedecode.capture import open_capture
from ikedecode.capture.datagram import Kind
from ikedecode.ike.events import FindingRaised, MessageDecoded
from ikedecode.ike.header import parse_header
from ikedecode.ike.records import Protection
from ikedecode.ike.registry.ikev2 import EXCHANGE_TYPES
from ikedecode.ike.v2.engine import Ikev2Engine
from ikedecode.ike.v2.payloads import Ikev2Payload, UnknownIkev2Payload
from ikedecode.ike.v2.payloads.decode import parse_ikev2_payloads
from ikedecode.keys.keyring import DhSecret
from tests.ike.v2.v2_captures import LAB_CAPTURES, PROJECT_ROOT, lab_keyring


def _capture(name: str):  # noqa: ANN202
    return PROJECT_ROOT / "captures" / f"{name}.pcap"


def test_the_lab_ships_ikev2_captures():
    assert len(LAB_CAPTURES) >= 14


@pytest.mark.parametrize("name", LAB_CAPTURES)
def test_lab_capture_decodes_without_keys_every_payload_named(name, run_pipeline):
    report = run_pipeline(_capture(name))
    assert report.ike_sas and all(sa.version == 2 for sa in report.ike_sas)
    for sa in report.ike_sas:
        for m in sa.messages:
            assert m.label.split()[0] in EXCHANGE_TYPES.values() and m.label.split()[1] in (
                "request",
                "response",
            )
            assert all(
                isinstance(p, Ikev2Payload) and not isinstance(p, UnknownIkev2Payload) for p in m.payloads
            )
            assert not [p.name for p in m.payloads if p.name.startswith(("UNKNOWN", "Unassigned"))]
            if m.encrypted:
                assert m.protection is Protection.NO_KEYS
            else:
                assert not m.problems, (m.frame, m.problems)
    assert not [f for f in report.all_findings() if f.code in ("decoder-error", "malformed-message")]


@pytest.mark.parametrize("name", LAB_CAPTURES)
def test_lab_capture_decrypts_and_verifies_with_its_key_file(name, run_pipeline):
    report = run_pipeline(_capture(name), lab_keyring(name))
    encrypted = [m for sa in report.ike_sas for m in sa.messages if m.encrypted]
    assert all(m.protection is Protection.VERIFIED and m.integrity_verified for m in encrypted)
    assert all(not m.problems for sa in report.ike_sas for m in sa.messages)
    codes = {f.code for f in report.all_findings()}
    assert not codes & {"decoder-error", "wrong-keys", "auth-mismatch", "icv-failure", "malformed-message"}
    for esp in report.ipsec_sas:
        if esp.ike_cookies:  # keyed by the IKEv2 engine: every packet's ICV verifies
            assert esp.counters.verified == esp.counters.packets, esp.origin
    auth = [m.auth_verified for sa in report.ike_sas for m in sa.messages if m.auth_verified is not None]
    assert all(auth)


def test_every_keyed_lab_capture_carries_decrypted_esp(run_pipeline):
    keyed = 0
    for name in LAB_CAPTURES:
        report = run_pipeline(_capture(name), lab_keyring(name))
        keyed += sum(1 for esp in report.ipsec_sas if esp.ike_cookies and esp.counters.verified)
    assert keyed >= 22  # two directions of each established scenario's Child SA


def test_invalid_ke_restart_is_one_sa_and_no_retransmission(run_pipeline):
    report = run_pipeline(_capture("ikev2-invalid-ke"), lab_keyring("ikev2-invalid-ke"))
    (sa,) = report.ike_sas
    assert len(sa.ikev2.restarts) == 1 and "INVALID_KE_PAYLOAD" in sa.ikev2.restarts[0]
    assert [m.retransmission for m in sa.messages[:4]] == [False] * 4
    assert sa.chosen.transforms[-1].id_name == "256-bit random ECP group"
    assert sa.established and sa.authenticated


def test_failures_are_told_by_the_sa_state(run_pipeline):
    refused = run_pipeline(_capture("ikev2-no-proposal")).ike_sas[0]
    assert refused.state == "IKE_SA_INIT refused: NO_PROPOSAL_CHOSEN" and not refused.established
    failed = run_pipeline(_capture("ikev2-auth-failed"), lab_keyring("ikev2-auth-failed")).ike_sas[0]
    assert failed.state == "AUTHENTICATION_FAILED" and failed.established is False
    assert failed.authenticated is False
    ts = run_pipeline(_capture("ikev2-ts-unacceptable"), lab_keyring("ikev2-ts-unacceptable")).ike_sas[0]
    assert ts.established and ts.ikev2.child_sas == [
        {"exchange": "IKE_AUTH", "message_id": "0x00000001", "refused": ["TS_UNACCEPTABLE"]}
    ]


def test_ike_sa_rekeys_both_ways_chain_three_sas(run_pipeline):
    report = run_pipeline(_capture("ikev2-ike-rekey"), lab_keyring("ikev2-ike-rekey"))
    first, second, third = report.ike_sas
    assert first.ikev2.rekeyed_into == [second.cookies] and second.ikev2.rekeyed_from == first.cookies
    assert second.ikev2.rekeyed_into == [third.cookies] and third.ikev2.rekeyed_from == second.cookies
    assert (second.initiator, third.initiator) == ("192.0.2.1", "192.0.2.2")  # the responder rekeyed second
    assert all(m.integrity_verified for m in second.messages + third.messages)
    assert "SK_d of" in (third.keys.key_origin or "")
    assert third.authenticated


def test_ikev2_fragments_are_reassembled(run_pipeline):
    report = run_pipeline(_capture("ikev2-fragments"), lab_keyring("ikev2-fragments"))
    messages = report.ike_sas[0].messages
    skf = [m for m in messages if m.payloads and m.payloads[0].short == "SKF"]
    assert len(skf) == 8  # fragments 1-4 of the request and of the response
    whole = [m for m in messages if "reassembled from 5 fragments" in m.note]
    assert len(whole) == 2 and all(m.auth_verified for m in whole)
    assert [p.short for p in whole[0].payloads][:2] == ["IDi", "CERT"]


def test_eap_identity_and_child_sa_of_the_last_ike_auth(run_pipeline):
    report = run_pipeline(_capture("ikev2-eap-mschapv2"), lab_keyring("ikev2-eap-mschapv2"))
    sa = report.ike_sas[0]
    assert sa.identities["eap"] == "labuser" and sa.established
    assert {esp.message_id for esp in report.ipsec_sas if esp.ike_cookies} == {5}


def test_pfs_child_rekey_needs_its_own_secret(run_pipeline):
    name = "ikev2-child-rekey-pfs"
    plain = run_pipeline(_capture(name), lab_keyring(name))
    assert len([esp for esp in plain.ipsec_sas if esp.ike_cookies]) == 2  # the PFS child is not keyed
    secret = re.search(r"PFS dh_secret = ([0-9a-f]+)", (PROJECT_ROOT / "keys" / f"{name}.toml").read_text())
    keyring = lab_keyring(name)
    spi_i = plain.ike_sas[0].initiator_cookie
    keyring.dh_secrets.append(DhSecret(bytes.fromhex(secret.group(1)), "test PFS", spi_i, 2))
    report = run_pipeline(_capture(name), keyring)
    rekeyed = [esp for esp in report.ipsec_sas if esp.message_id == 2]
    assert len(rekeyed) == 2 and all(esp.counters.verified == esp.counters.packets == 5 for esp in rekeyed)


def test_nat_traversal_moves_to_4500_and_the_hashes_are_recomputed(run_pipeline):
    report = run_pipeline(_capture("ikev2-nat-t-ecp"), lab_keyring("ikev2-nat-t-ecp"))
    sa = report.ike_sas[0]
    assert sa.initiator == "203.0.113.254" and sa.identities["initiator"] == "198.51.100.1"
    assert [m.dport for m in sa.messages[:2]][0] == 500 and sa.messages[
        1
    ].sport == 500  # the NAT moved the port
    assert all(m.udp_encapsulated and 4500 in (m.sport, m.dport) for m in sa.messages[2:])
    assert sa.ikev2.initiator_nat_detected  # the NAT rewrote the initiator's address
    assert all(check["destination_matches"] for check in sa.ikev2.nat_checks)


def test_a_datagram_seen_twice_is_a_retransmission():
    datagrams = [d for d in open_capture(_capture("ikev2-psk-aes-cbc-sha256")) if d.kind is Kind.IKE]
    engine = Ikev2Engine(lab_keyring("ikev2-psk-aes-cbc-sha256"))
    for d in [datagrams[0], datagrams[1], datagrams[2], datagrams[2]]:
        engine.receive(d, parse_header(d.payload))
    (closed,) = engine.finish()
    first, again = closed.sa.messages[2:4]
    assert again.retransmission_of == first.frame and again.payloads is first.payloads


def test_truncated_and_corrupted_messages_never_raise():
    datagrams = [d for d in open_capture(_capture("ikev2-aes-gcm")) if d.kind is Kind.IKE]
    engine = Ikev2Engine(lab_keyring("ikev2-aes-gcm"))
    events: list = []
    for d in datagrams:
        for cut in range(0, len(d.payload), 11):  # truncated: the engine reads the header itself
            events += engine.receive(replace(d, payload=d.payload[:cut]))
        for at in range(28, len(d.payload), 13):  # one byte flipped behind an intact header
            body = bytearray(d.payload)
            body[at] ^= 0xFF
            corrupted = replace(d, payload=bytes(body))
            events += engine.receive(corrupted, parse_header(corrupted.payload))
    assert len([e for e in events if isinstance(e, MessageDecoded)]) > 100 and engine.finish()
    assert not [e for e in events if isinstance(e, FindingRaised) and e.finding.code == "decoder-error"]


def test_timeline_puts_child_sas_and_their_esp_under_the_ikev2_sa(run_pipeline):
    from ikedecode.analysis.timeline import build_timeline

    name = "ikev2-child-rekey-pfs"
    report = run_pipeline(_capture(name), lab_keyring(name))
    (ike,) = build_timeline(report).ike_sas
    assert ike.phase1_complete is not None
    first, rekeyed = ike.children
    assert (first.message_id, rekeyed.message_id) == (1, 2)
    assert [d.packets for d in first.directions] == [5, 5]
    assert [d.keys_known for d in rekeyed.directions] == [False, False]  # PFS g^ir not in the key file


@pytest.mark.parametrize(
    ("name", "notify", "code", "severity"),
    [
        ("ikev2-auth-failed", "AUTHENTICATION_FAILED", "psk-mismatch", "error"),  # both PSKs in the key file
        ("ikev2-no-proposal", "NO_PROPOSAL_CHOSEN", "p1-proposal-mismatch", "error"),
        ("ikev2-ts-unacceptable", "TS_UNACCEPTABLE", "proxy-id-mismatch", "error"),
        ("ikev2-invalid-ke", "INVALID_KE_PAYLOAD", "invalid-ke", "info"),  # the retry succeeded
    ],
)
def test_ikev2_error_notifies_are_findings_by_cause_with_hints(name, notify, code, severity, run_pipeline):
    report = run_pipeline(_capture(name), lab_keyring(name))
    (found,) = [f for f in report.all_findings() if f.code == code]
    assert notify in found.message and found.evidence["notify"] == notify
    assert found.severity.value == severity and found.hint
    assert "error-notify" not in {f.code for f in report.all_findings()}  # explained once, by its cause


def test_unanswered_liveness_check_is_a_dpd_timeout(run_pipeline):
    name = "ikev2-dpd-liveness"
    report = run_pipeline(_capture(name), lab_keyring(name))
    (found,) = [f for f in report.all_findings() if f.code in ("dpd-timeout", "no-response")]
    assert found.code == "dpd-timeout" and len(found.evidence["copies"]) >= 2
    liveness = [ex for ex in report.ike_sas[0].phase2.values() if ex.summary.get("liveness_check")]
    assert len(liveness) >= 3
    for other in LAB_CAPTURES:
        if other != name:
            codes = {f.code for f in run_pipeline(_capture(other), lab_keyring(other)).all_findings()}
            assert not codes & {"dpd-timeout", "no-response"}, other


def test_an_sk_payload_is_the_last_of_a_message_and_never_inside_one():
    # RFC 7296 3.14: the chain walk stops after the SK payload of the lab's IKE_AUTH request; bytes
    # after it, or an SK payload in a decrypted chain, are problems (the shared chain walk's stop)
    datagrams = [d for d in open_capture(_capture("ikev2-psk-aes-cbc-sha256")) if d.kind is Kind.IKE]
    auth = next(d.payload for d in datagrams if d.payload[18] == 35)  # exchange type IKE_AUTH
    header = parse_header(auth)
    body = bytes(auth[28 : header.length])
    sound = parse_ikev2_payloads(header.next_payload, body)
    assert [p.type for p in sound.payloads] == [46] and sound.problems == [] and sound.trailing == b""
    extra = parse_ikev2_payloads(header.next_payload, body + b"\x00\x00\x00\x07")
    assert [p.type for p in extra.payloads] == [46] and extra.trailing == b"\x00\x00\x00\x07"
    assert extra.problems == ["Encrypted and Authenticated payload at offset 28 is not the last payload"]
    nested = parse_ikev2_payloads(header.next_payload, body, inner=True)
    assert nested.problems == ["Encrypted and Authenticated payload at offset 28 inside an encrypted payload"]
