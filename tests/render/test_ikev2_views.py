"""IKEv2 in the Cisco-style views (``--format cisco``/``show``), the timeline and the ladders.

Key lines are compared with the capture's own records (SPIs, message IDs, exchanges, Child SA
SPIs), not with numbers written here.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pytest

from ikedecode.analysis.timeline import build_timeline
from ikedecode.keys.loader import load_key_file
from ikedecode.render.cisco import render_cisco
from ikedecode.render.html import render_html
from ikedecode.render.markdown import render_markdown
from ikedecode.render.show import render_show
from ikedecode.render.timeline import render_timeline, timeline_text
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path

IKEV2_CAPTURES = sorted(p.stem for p in CAPTURES_DIR.glob("ikev2-*.pcap"))
STAMP = re.compile(r"^\*\w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3}: ")
PACKET = re.compile(r"IKEv2:\(SESSION ID = \d+,SA ID = \d+\):(Sending|Received) Packet ")


@lru_cache(maxsize=64)
def _report(name: str, with_keys: bool = True):  # noqa: ANN202
    keys = KEYS_DIR / f"{name}.toml"
    keyring = load_key_file(str(keys)) if with_keys and keys.exists() else None
    return analyze_path(CAPTURES_DIR / f"{name}.pcap", keyring)


def _lines(text: str) -> list[str]:
    return [STAMP.sub("", line) for line in text.splitlines() if not line.startswith("!")]


def test_the_bundled_ikev2_captures_are_there():
    assert len(IKEV2_CAPTURES) >= 17


@pytest.mark.parametrize("name", IKEV2_CAPTURES)
@pytest.mark.parametrize("with_keys", [True, False])
def test_every_view_renders_every_ikev2_capture(name, with_keys):
    report = _report(name, with_keys)
    for side in ("initiator", "responder"):
        cisco = render_cisco(report, perspective=side)
        assert "IKEv2:(SESSION ID = 1,SA ID = 1):" in cisco
        assert "show crypto ikev2 sa detailed" in render_show(report, perspective=side)
    assert "IKEv2" in render_timeline(report)
    assert "sequenceDiagram" in render_markdown(report)
    assert "<svg" in render_html(report)


@pytest.mark.parametrize("side", ["initiator", "responder"])
def test_cisco_packet_lines_follow_the_capture(side):
    report = _report("ikev2-psk-aes-cbc-sha256")
    (sa,) = report.ike_sas
    local = sa.initiator if side == "initiator" else sa.responder
    out = _lines(render_cisco(report, perspective=side))
    packets = [(n, line) for n, line in enumerate(out) if PACKET.match(line)]
    assert len(packets) == len(sa.messages)
    ispi, rspi = sa.initiator_cookie.hex().upper(), sa.responder_cookie.hex().upper()
    for (n, line), m in zip(packets, sa.messages, strict=True):
        verb = "Sending" if m.sender == local else "Received"
        assert f"{verb} Packet" in line
        shown_rspi = "0" * 16 if m.exchange == "IKE_SA_INIT" and not m.response else rspi
        assert (
            out[n + 1] == f"Initiator SPI : {ispi} - Responder SPI : {shown_rspi} Message id: {m.message_id}"
        )
        assert out[n + 2].strip() == f"IKEv2 {m.exchange} Exchange {'RESPONSE' if m.response else 'REQUEST'}"


def test_cisco_creates_and_deletes_the_child_sa_spis():
    report = _report("ikev2-psk-aes-cbc-sha256")
    (sa,) = report.ike_sas
    (child,) = sa.ikev2.child_sas
    out = _lines(render_cisco(report, perspective="responder"))
    created = [out[n + 2].strip() for n, line in enumerate(out) if line == "IPSEC(create_sa): sa created,"]
    deleted = [out[n + 2].strip() for n, line in enumerate(out) if line == "IPSEC(delete_sa): deleting SA,"]
    # the responder's inbound SA is its own SPI, its outbound the initiator's (RFC 7296 3.3.1)
    expected = [
        f"sa_spi= 0x{int(s, 16):X}({int(s, 16)})," for s in (child["spi_responder"], child["spi_initiator"])
    ]
    assert created == expected
    assert deleted == expected
    assert "Verification of peer's authentication data PASSED" in " ".join(out)


def test_cisco_says_who_refused_authentication():
    report = _report("ikev2-auth-failed")
    initiator = _lines(render_cisco(report, perspective="initiator"))
    assert any(line.endswith("Received NOTIFY AUTHENTICATION_FAILED (24)") for line in initiator)
    assert not any("is UP" in line for line in initiator)


def test_cisco_without_keys_marks_the_encrypted_messages():
    report = _report("ikev2-psk-aes-cbc-sha256", with_keys=False)
    out = _lines(render_cisco(report, perspective="initiator"))
    encrypted = [m for m in report.ike_sas[0].messages if m.encrypted]
    assert sum(line.startswith("(encrypted: no keys)") for line in out) == len(encrypted)


def test_show_lists_the_live_ikev2_sa_and_its_child_sas():
    report = _report("ikev2-dpd-liveness")
    (sa,) = report.ike_sas
    (child,) = sa.ikev2.child_sas
    out = render_show(report, perspective="responder")
    ispi, rspi = sa.initiator_cookie.hex().upper(), sa.responder_cookie.hex().upper()
    assert f"Local spi: {rspi}       Remote spi: {ispi}" in out
    assert "Initiator of SA : No" in out
    assert (
        f"spi: 0x{int(child['spi_responder'], 16):X}("
        in out.split("inbound esp sas:")[1].split("outbound")[0]
    )
    assert f"spi: 0x{int(child['spi_initiator'], 16):X}(" in out.split("outbound esp sas:")[1]


def test_show_forgets_deleted_ikev2_sas():
    out = render_show(_report("ikev2-psk-aes-cbc-sha256"), perspective="initiator")
    assert "! no IKEv2 SA left at the end of the capture" in out
    assert "    spi: 0x" not in out  # its only Child SA was deleted before the end: counted, not listed


def test_timeline_shows_the_ike_rekey_chain():
    report = _report("ikev2-ike-rekey")
    by_cookies = {sa.cookies: sa for sa in report.ike_sas}
    first = next(sa for sa in report.ike_sas if sa.ikev2.rekeyed_from is None)
    chain = [first.cookies]
    while by_cookies[chain[-1]].ikev2.rekeyed_into:
        chain.append(by_cookies[chain[-1]].ikev2.rekeyed_into[0])
    assert len(chain) == 3
    text = timeline_text(build_timeline(report), "x")
    block = text.split("IKE SA chain (IKEv2 rekeys, old -> new SPIs):\n")[1].split("\n\n")[0].splitlines()
    assert [re.search(r"[0-9a-f]{16}/[0-9a-f]{16}", line).group(0) for line in block] == chain
    assert [line.lstrip().startswith("->") for line in block] == [False, True, True]


def test_timeline_follows_child_sas_through_rekey_and_delete():
    report = _report("ikev2-child-rekey-pfs")
    text = render_timeline(report)
    (sa,) = report.ike_sas
    first, second = sa.ikev2.child_sas
    assert f"Child SA CREATE_CHILD_SA {second['message_id']}" in text
    assert f"rekeys the Child SA of ESP 0x{second['rekey_of']}" in text
    assert f"replaced by CREATE_CHILD_SA {second['message_id']}" in text
    assert f"replaces IKE_AUTH {first['message_id']}" in text
    assert "quick mode" not in text


def test_timeline_reports_liveness_checks():
    text = render_timeline(_report("ikev2-dpd-liveness"))
    assert text.count(") answered in") == 2
    assert text.count("unanswered in the capture") == 1


def test_ladder_speaks_ikev2():
    report = _report("ikev2-psk-aes-cbc-sha256")
    out = render_markdown(report)
    ladder = out.split("### Ladder")[1].split("### Messages")[0]
    assert "Child SA IKE_AUTH 0x00000001" in ladder and "quick mode" not in ladder
    assert "IKE SA established" in ladder
    messages = out.split("### Messages")[1]
    assert "authenticates with" in messages and "verified" in messages
    assert "answers IKE\\_AUTH request 0x00000001 (frame 3)" in messages


def test_cisco_follows_the_ike_rekey_chain():
    report = _report("ikev2-ike-rekey")
    out = _lines(render_cisco(report, perspective="initiator"))
    rekeys = [line.rsplit(" ", 1)[-1] for line in out if "IKE SA rekeyed: new IKE SA " in line]
    assert rekeys == [into for sa in report.ike_sas for into in sa.ikev2.rekeyed_into]
    sessions = {m.group(1) for line in out if (m := re.match(r"IKEv2:\(SESSION ID = (\d+),", line))}
    assert sessions == {str(n) for n in range(1, len(report.ike_sas) + 1)}
    assert sum(line.endswith("):Deleting SA") for line in out) == len(report.ike_sas)


def test_cisco_responder_refuses_the_traffic_selectors():
    report = _report("ikev2-ts-unacceptable")
    responder = _lines(render_cisco(report, perspective="responder"))
    initiator = _lines(render_cisco(report, perspective="initiator"))
    assert any(line.endswith("Sending NOTIFY TS_UNACCEPTABLE (38)") for line in responder)
    assert any(line.endswith("Received NOTIFY TS_UNACCEPTABLE (38)") for line in initiator)
    assert "IPSEC(create_sa): sa created," not in responder + initiator


def test_cisco_processes_a_fragmented_message_once():
    report = _report("ikev2-fragments")
    (sa,) = report.ike_sas
    out = _lines(render_cisco(report, perspective="responder"))
    fragments = [m for m in sa.messages if m.payloads and all(p.short == "SKF" for p in m.payloads)]
    received = [m for m in fragments if m.sender == sa.initiator and m.retransmission_of is None]
    assert received  # the lab's IKE_AUTH request is fragmented (RFC 7383)
    assert sum(" fragment " in line and "Received" in line for line in out) == len(received)
    assert sum(line.endswith("Processing IKE_AUTH message") for line in out) == 1
