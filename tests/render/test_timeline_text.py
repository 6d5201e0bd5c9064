"""``--format timeline``: the per-SA story as text, with capture-clock and relative times."""

from __future__ import annotations

from ikedecode.keys.loader import load_key_file
from ikedecode.render.timeline import render_timeline
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path


def _text(name: str) -> str:
    report = analyze_path(CAPTURES_DIR / f"{name}.pcap", load_key_file(str(KEYS_DIR / f"{name}.toml")))
    return render_timeline(report, width=1000)  # one line per event: the lines are checked whole


def test_rekey_timeline_text():
    text = _text("esp-rekey-delete")
    lines = text.splitlines()
    assert lines[0] == (
        "Timeline of "
        + str(CAPTURES_DIR / "esp-rekey-delete.pcap")
        + ": 2026-11-22 08:00:14.782 to 08:00:50.198 UTC"
        " (35.415 s)"
    )
    rekey = next(line for line in lines if "rekey:" in line)
    # absolute clock, offset from the SA's first packet, frame, what happened
    assert rekey.split()[:3] == ["08:00:34.814", "+20.032", "90"]
    assert "replaces quick mode 0x33e1503d" in rekey and "ESP 0xae3fdace, ESP 0x0cbb53d8" in rekey
    assert any("traffic I->R moves from ESP 0xa44e5e36 to ESP 0xae3fdace" in line for line in lines)
    assert any("the initiator deletes ESP SA 0xeb54990a of quick mode 0x33e1503d" in line for line in lines)
    assert "    replaced by quick mode 0xea520561" in lines
    assert "    deleted by 192.0.2.1 (initiator) at +30.024 s, frame 129, ESP SPI 0xeb54990a" in lines


def test_failed_negotiation_timeline_shows_retransmission_gaps():
    text = _text("fail-unreachable")
    assert "phase 1 not complete" in text
    assert "MM1 I->R retransmitted by the initiator (copy 2, 2.000 s after the previous copy)" in text
    assert "(copy 4, 3.919 s after the previous copy)" in text
    assert "phase 1 never completed" in text
