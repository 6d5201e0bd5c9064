"""Per-SA timelines (analysis/timeline.py) on real lab captures.

Acceptance: the timeline of ``esp-rekey-delete`` shows the old and the new IPsec SAs, the delete,
and the traffic moving from one to the other (captures/README.md: quick mode 0x33e1503d, rekey
0xea520561 at 20 s, west deletes the old SA at 30 s; 39 then 27 pings each way).
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from ikedecode.analysis.timeline import build_timeline
from ikedecode.keys.loader import load_key_file
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path

OLD, NEW = 0x33E1503D, 0xEA520561


@lru_cache(maxsize=8)
def _timeline(name: str, with_keys: bool = True):  # noqa: ANN202
    keyring = load_key_file(str(KEYS_DIR / f"{name}.toml")) if with_keys else None
    return build_timeline(analyze_path(CAPTURES_DIR / f"{name}.pcap", keyring))


def test_rekey_shows_old_and_new_sas_the_delete_and_the_traffic_moving():
    ike = _timeline("esp-rekey-delete").ike_sas[0]
    children = {c.message_id: c for c in ike.children}
    old, new = children[OLD], children[NEW]
    assert [(d.src, f"{d.spi:08x}", d.packets) for d in old.directions] == [
        ("192.0.2.1", "a44e5e36", 39),
        ("192.0.2.2", "eb54990a", 39),
    ]
    assert [(d.src, f"{d.spi:08x}", d.packets) for d in new.directions] == [
        ("192.0.2.1", "ae3fdace", 27),
        ("192.0.2.2", "0cbb53d8", 27),
    ]
    assert old.replaced_by == [NEW] and new.replaces == [OLD]
    assert old.lifetime_seconds == 30 and new.lifetime_seconds == 30  # SA-Life-Duration of the proposal
    assert [(d.sender, d.protocol, d.spis, d.frame) for d in old.deletes] == [
        ("192.0.2.1", "ESP", ["eb54990a"], 129)
    ]
    switches = [e for e in ike.events if e.kind == "traffic-switch"]
    assert [(e.details["direction"], e.details["from"], e.details["to"]) for e in switches] == [
        ("I->R", "0xa44e5e36", "0xae3fdace"),
        ("R->I", "0xeb54990a", "0x0cbb53d8"),
    ]
    # the old SA's last packet comes before the new SA's first, and both after the rekey's QM3
    for d_old, d_new in zip(old.directions, new.directions, strict=True):
        assert new.created < d_new.first_seen and d_old.last_seen < d_new.first_seen
    kinds = [e.kind for e in ike.events]
    assert kinds.index("rekey") < kinds.index("traffic-switch") < kinds.index("delete")
    rekey = next(e for e in ike.events if e.kind == "rekey")
    assert rekey.frame == 90 and rekey.offset == pytest.approx(20.032, abs=0.001)


def test_events_are_in_time_order_with_absolute_and_relative_times():
    ike = _timeline("esp-rekey-delete").ike_sas[0]
    times = [e.time for e in ike.events]
    assert times == sorted(times)
    assert all(e.offset == pytest.approx(e.time - ike.start) for e in ike.events)
    assert ike.events[0].frame == 1 and ike.events[0].offset == 0.0
    assert ike.events[-1].kind == "capture-end"


def test_phase1_complete_and_ike_lifetime_against_the_capture_end():
    ike = _timeline("case-3des-sha1-modp768").ike_sas[0]
    assert ike.lifetime_seconds == 86400 and ike.lifetime_kilobytes is None
    assert ike.phase1_complete is not None and ike.phase1_complete - ike.start == pytest.approx(
        0.011, abs=0.001
    )
    live = _timeline("dpd-timeout").ike_sas[0]
    end = [e for e in live.events if e.kind == "capture-end"][0]
    assert "IKE SA lifetime 14400 s, 14391.1 s left" in end.text
    assert "quick mode 0x2d41a643 lifetime 3600 s, 3591.1 s left" in end.text


def test_retransmissions_carry_the_gap_before_each_copy():
    ike = _timeline("fail-psk-mismatch").ike_sas[0]
    copies = [e for e in ike.events if e.kind == "retransmission"]
    assert [(e.frame, e.details["copy"], e.details["retransmission_of"]) for e in copies] == [
        (7, 2, 5),
        (9, 3, 5),
    ]
    assert copies[0].details["gap"] == pytest.approx(2.000, abs=0.01)  # west's timers: 2 s, then 2.8 s
    assert copies[1].details["gap"] == pytest.approx(2.800, abs=0.01)
    assert ike.phase1_complete is None and not ike.established


def test_dpd_probes_without_answer():
    ike = _timeline("dpd-timeout").ike_sas[0]
    probes = [e for e in ike.events if e.kind == "dpd"]
    assert [e.frame for e in probes] == [26, 36, 43]
    assert all(e.sender == "initiator" and e.details["answered"] is False for e in probes)
    assert all(e.details["notify"] == "R-U-THERE" for e in probes)


def test_simultaneous_rekey_makes_one_generation_of_two_quick_modes():
    ike = _timeline("esp-rekey-simultaneous").ike_sas[0]
    first = ike.children[0]
    assert first.message_id == 0xD865F5EA
    assert sorted(first.replaced_by) == sorted([0x6665BF29, 0x4F625BAC])
    initiators = {c.message_id: c.initiated_by for c in ike.children}
    assert initiators[0x4F625BAC] == "192.0.2.2"  # the IKE responder started this quick mode


def test_without_keys_quick_modes_are_known_and_the_esp_in_clear_joins_them():
    ike = _timeline("esp-rekey-delete", with_keys=False).ike_sas[0]
    assert [c.message_id for c in ike.children] == [OLD, NEW]
    directions = [d for c in ike.children for d in c.directions]
    assert directions and not any(d.keys_known for d in directions)  # SPIs from the ESP headers
    assert "(encrypted: no keys)" in next(e.text for e in ike.events if e.frame == 129)


def test_json_report_has_the_timeline(captures_dir, keys_dir):
    import json

    from click.testing import CliRunner

    from ikedecode.cli import main

    capture, keys = captures_dir / "esp-rekey-delete.pcap", keys_dir / "esp-rekey-delete.toml"
    result = CliRunner().invoke(main, [str(capture), "--keys", str(keys), "--format", "json"])
    timeline = json.loads(result.stdout)["timeline"]
    ike = timeline["ike_sas"][0]
    assert ike["cookies"] == "3b0877b781bb9ab2/e50e27807e685216"
    old = next(c for c in ike["ipsec_sas"] if c["quick_mode"] == "0x33e1503d")
    assert old["replaced_by"] == ["0xea520561"] and old["deletes"][0]["spis"] == ["eb54990a"]
    assert {e["kind"] for e in ike["events"]} >= {
        "message",
        "phase1-complete",
        "rekey",
        "delete",
        "traffic-switch",
    }
