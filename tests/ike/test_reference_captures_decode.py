"""The public IKEv1 reference captures decode without errors or unexplained findings (no keys)."""

from __future__ import annotations

import pytest

from ikedecode.findings import CATALOG, Severity
from ikedecode.ike.records import Protection

IKEV1_CAPTURES = {
    "wireshark/captures/ikev1-certs.pcap": ("main", "fafaeb49382a763c", 10),
    "wireshark/captures/ikev1-bug-12610.pcapng.gz": ("main", "ab3e0f1f8bc3be8e", 16),
    "wireshark/captures/ikev1-bug-12620.pcapng.gz": ("aggressive", "29f6006212625def", 10),
    "wireshark-wiki/ikev1_main_mode_nokeys/attachment_ikev1_main_mode.pcap": ("main", "b31615b5ec7a4faf", 12),
}

DIAGNOSIS = {code for code, kind in CATALOG.items() if kind.producer == "diagnosis"}


@pytest.mark.parametrize("path", sorted(IKEV1_CAPTURES))
def test_reference_ikev1_capture_decodes_cleanly_without_keys(path, reference_dir, run_pipeline):
    exchange, cookie, frames = IKEV1_CAPTURES[path]
    report = run_pipeline(reference_dir / path)
    assert report.stats.packets == frames == report.stats.ike
    assert [sa.initiator_cookie.hex() for sa in report.ike_sas] == [cookie]
    sa = report.ike_sas[0]
    assert sa.exchange == exchange
    # the diagnosis' advisories (weak-crypto, aggressive-mode-psk ...) are tested in tests/analysis
    decoder = [f for f in report.all_findings() if f.code not in DIAGNOSIS]
    assert not [f for f in decoder if f.severity is not Severity.INFO]
    for m in sa.messages:
        assert m.label != "?" and not m.problems, (m.frame, m.label, m.problems)
        if m.encrypted:
            assert m.protection is Protection.NO_KEYS and "no keys" in m.note
        else:
            assert m.payloads


def test_retransmitted_quick_mode_message_is_flagged_not_relabelled(reference_dir, run_pipeline):
    report = run_pipeline(reference_dir / "wireshark/captures/ikev1-certs.pcap")
    labels = [(m.frame, m.label, m.retransmission_of) for m in report.ike_sas[0].messages]
    assert labels[6:] == [(7, "QM1", None), (8, "QM1", 7), (9, "QM2", None), (10, "QM3", None)]


def test_xauth_capture_shows_offer_choice_and_exchanges(reference_dir, run_pipeline):
    report = run_pipeline(reference_dir / "wireshark/captures/ikev1-bug-12610.pcapng.gz")
    sa = report.ike_sas[0]
    assert len(sa.offered) == 12
    assert sa.chosen.describe().startswith("AES-CBC-256, SHA2-256, XAUTHInitPreShared, group 2")
    kinds = [(f"{mid:08x}", ex.exchange) for mid, ex in sa.phase2.items()]
    assert kinds == [
        ("248fb011", "transaction"),
        ("83e1ee0b", "informational"),
        ("e1971702", "transaction"),
        ("c214c33f", "transaction"),
        ("b1167ba3", "quick"),
    ]


def test_ikev2_capture_without_keys_is_decoded_and_says_no_keys(reference_dir, run_pipeline):
    report = run_pipeline(reference_dir / "wireshark/captures/ikev2-decrypt-aes256gcm16.pcap")
    assert [sa.version for sa in report.ike_sas] == [2]
    messages = report.ike_sas[0].messages
    assert [m.label for m in messages[:2]] == ["IKE_SA_INIT request", "IKE_SA_INIT response"]
    assert all(m.protection is Protection.NO_KEYS for m in messages[2:])
    assert not any(m.problems for m in messages)
