"""Path problems (loss, duplication, corruption, delay, silence) on real traffic.

Each test takes a healthy lab capture and changes which packets arrive, or when - never their
bytes, except the one test that corrupts a packet - and checks the finding that names it.
Frame numbers below are those of captures/README.md (1-based); the lists are 0-based.
"""

from __future__ import annotations

from dataclasses import replace

from ikedecode.findings import Severity
from ikedecode.keys.keyring import KeyRing

from .capture_edits import edited
from .labs import CAPTURES_DIR, codes, lab_keyring, lab_report, only

MM = "mm-aes128-sha1-modp2048"  # frames 10-25: ESP, west 0xf096db6e / east 0x70cb4aa4
WEST_ESP = [9, 11, 13, 15, 17, 20, 22, 24]  # 0-based indexes of west -> east ESP frames
EAST_ESP = [10, 12, 14, 16, 18, 19, 21, 23]


def _edit(tmp_path, name, edit):  # noqa: ANN001, ANN202
    return edited(CAPTURES_DIR / f"{name}.pcap", tmp_path / f"{name}-edited.pcap", edit)


def test_esp_in_one_direction_only(tmp_path):
    capture = _edit(tmp_path, MM, lambda fr: [f for i, f in enumerate(fr) if i not in EAST_ESP])
    found = only(lab_report(MM, keys=False, capture=capture), "esp-one-way")
    assert (found.evidence["from"], found.evidence["to"], found.evidence["packets"]) == (
        "192.0.2.1",
        "192.0.2.2",
        8,
    )
    assert found.evidence["spis"] == ["0xf096db6e"]


def test_a_duplicated_esp_packet_is_a_replay(tmp_path):
    capture = _edit(tmp_path, MM, lambda fr: fr[:12] + [fr[11]] + fr[12:])
    found = only(lab_report(MM, capture=capture), "esp-replay")
    assert found.evidence["replays"] == 1 and "0xf096db6e" in found.evidence["sa"]


def test_a_lost_esp_packet_is_a_sequence_gap(tmp_path):
    capture = _edit(tmp_path, MM, lambda fr: [f for i, f in enumerate(fr) if i != WEST_ESP[3]])
    found = only(lab_report(MM, capture=capture), "esp-sequence-gap")
    assert (found.evidence["gaps"], found.evidence["seq_min"], found.evidence["seq_max"]) == (1, 1, 8)
    assert found.severity is Severity.INFO


def test_one_corrupted_esp_packet_fails_its_icv(tmp_path):
    def corrupt(frames):  # noqa: ANN001, ANN202
        ts, buf = frames[WEST_ESP[2]]
        frames[WEST_ESP[2]] = (ts, buf[:-1] + bytes([buf[-1] ^ 0x01]))  # last ICV byte
        return frames

    found = only(lab_report(MM, capture=_edit(tmp_path, MM, corrupt)), "icv-failure-partial")
    assert (found.evidence["icv_failed"], found.evidence["verified"]) == (1, 7)
    assert "corruption" in found.message


def test_a_wrong_integrity_key_fails_every_icv_of_its_sa():
    good = lab_keyring(MM)
    ring = KeyRing(ipsec_sas=good.ipsec_sas)  # ESP keys only: no IKE SA re-derives the right ones
    at = next(i for i, s in enumerate(ring.ipsec_sas) if s.spi == 0x70CB4AA4)
    sa = ring.ipsec_sas[at]
    ring.ipsec_sas[at] = replace(sa, integrity_key=bytes(b ^ 0xFF for b in sa.integrity_key))
    found = only(lab_report(MM, ring=ring), "icv-failure")
    assert (found.evidence["icv_failed"], found.evidence["verified"]) == (8, 0)
    assert "integrity key is wrong" in found.message


def test_esp_after_its_spi_was_deleted(tmp_path):
    name = "mm-delete"  # frame 16: 192.0.2.1 deletes its inbound SPI 0x551961df; ESP in frames 10-15

    def delete_first(frames):  # noqa: ANN001, ANN202
        ike, esp, tail = frames[:9], frames[9:15], frames[15:]
        moved = [(ike[-1][0] + 0.01, tail[0][1])]
        late = [(ts + 2.0, buf) for ts, buf in esp]
        return ike + moved + late + [(ts + 2.0, buf) for ts, buf in tail[1:]]

    found = only(lab_report(name, capture=_edit(tmp_path, name, delete_first)), "esp-after-delete")
    assert found.evidence["flow"] == "ESP SPI 0x551961df 192.0.2.2 -> 192.0.2.1"
    assert found.evidence["delete"]["sender"] == "192.0.2.1"


def test_traffic_past_the_negotiated_lifetime(tmp_path):
    capture = _edit(tmp_path, MM, lambda fr: fr[:9] + [(ts + 3700.0, buf) for ts, buf in fr[9:]])
    report = lab_report(MM, capture=capture)
    found = [f for f in report.all_findings() if f.code == "sa-lifetime-exceeded"]
    assert len(found) == 2  # both directions of quick mode 0xc538ec71
    assert all(f.evidence["lifetime"] == {"seconds": 3600} for f in found)


def test_many_retransmissions_are_a_storm(tmp_path):
    name = "fail-unreachable"  # MM1 in frames 1, 3, 5, 7
    capture = _edit(tmp_path, name, lambda fr: fr + [(fr[-1][0] + i, fr[0][1]) for i in range(1, 9)])
    found = only(lab_report(name, keys=False, capture=capture), "retransmission")
    assert found.evidence["retransmissions"] == 11
    assert found.message.startswith("retransmission storm")


def test_a_single_unanswered_mm1_at_the_end_of_a_short_capture_is_only_a_warning(tmp_path):
    name = "fail-unreachable"
    found = only(
        lab_report(name, keys=False, capture=_edit(tmp_path, name, lambda fr: fr[:1])), "no-response"
    )
    assert found.severity is Severity.WARNING
    assert "the capture ends" in found.message


def test_stall_after_mm3_is_mm_wait_msg4(tmp_path):
    capture = _edit(
        tmp_path, MM, lambda fr: fr[:3] + [(fr[2][0] + 2.0, fr[2][1]), (fr[2][0] + 4.8, fr[2][1])]
    )
    found = only(lab_report(MM, keys=False, capture=capture), "no-response")
    assert found.evidence["state"] == "MM_WAIT_MSG4"
    assert found.severity is Severity.ERROR


def test_unanswered_quick_mode_is_qm_wait_msg2(tmp_path):
    capture = _edit(tmp_path, MM, lambda fr: fr[:7] + [(fr[6][0] + 3.0, fr[6][1])])
    report = lab_report(MM, capture=capture)
    found = only(report, "no-response")
    assert found.evidence["state"] == "QM_WAIT_MSG2"
    assert [c["frame"] for c in found.evidence["copies"]] == [7, 8]
    assert "qm-refused" not in codes(report)
