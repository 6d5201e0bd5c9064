"""The verdict (analysis/verdict.py): one account of each capture, the same in every format, on the
bundled captures with their keys, without keys and with a wrong --psk."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.analysis.diagnose import aggregate
from ikedecode.cli import main
from ikedecode.findings import SEVERITY_ORDER, finding

from .capture_edits import read_frames, write_frames
from .labs import CAPTURES_DIR, KEYS_DIR

CAPTURES = sorted(p.name for p in CAPTURES_DIR.glob("*.pcap"))
KEY_CHOICES = ("nokeys", "keys", "wrong-psk")


def _args(capture: str, keys: str) -> list[str]:
    path = str(CAPTURES_DIR / capture)
    key_file = KEYS_DIR / f"{capture.removesuffix('.pcap')}.toml"
    if keys == "keys":
        return [path, "--keys", str(key_file)] if key_file.exists() else [path]
    if keys == "wrong-psk":
        return [path, "--psk", "not-the-lab-psk"]
    return [path]


def _run(args: list[str], fmt: str, columns: int = 80) -> str:
    result = CliRunner().invoke(main, [*args, "-q", "--format", fmt], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _text_code(text: str) -> str:
    m = re.search(r"^Top finding: (?:none|\w+ ([a-z0-9-]+):)", text, re.MULTILINE)
    assert m, text[:2000]
    return m.group(1) or "none"


def _markdown_code(text: str) -> str:
    m = re.search(r"^\*\*Top finding:\*\* (?:none\.|\w+ `([a-z0-9-]+)`)", text, re.MULTILINE)
    assert m, text[:2000]
    return m.group(1) or "none"


def _html_code(text: str) -> str:
    m = re.search(
        r'<p class="top"><b>Top finding:</b> (?:none\.|<span[^>]*>\w+</span> <code>([a-z0-9-]+)</code>)', text
    )
    assert m, text[:2000]
    return m.group(1) or "none"


@pytest.mark.parametrize("keys", KEY_CHOICES)
@pytest.mark.parametrize("capture", CAPTURES)
def test_every_format_names_the_same_top_finding_and_the_first_screen_shows_the_verdict(capture, keys):
    args = _args(capture, keys)
    text = _run(args, "text")
    code = _text_code(text)
    assert _markdown_code(_run(args, "markdown")) == code
    assert _html_code(_run(args, "html")) == code
    verdict = json.loads(_run(args, "json"))["verdict"]
    assert (verdict["finding"] or {}).get("code", "none") == code
    for columns in (80, 120):
        screen = _run(args, "text", columns).splitlines()[:24]
        assert any(line.startswith("Verdict: ") for line in screen)
        assert any(line.startswith("Top finding: ") for line in screen)
        assert verdict["line"].split()[0] in " ".join(screen)


def _verdict(capture: str, keys: str = "keys", extra: list[str] | None = None) -> dict:
    return json.loads(_run([*_args(capture, keys), *(extra or [])], "json"))


def test_a_dead_peer_after_the_tunnel_came_up_is_not_a_green_tunnel():
    doc = _verdict("dpd-timeout.pcap")
    assert doc["verdict"]["outcome"] == "partly"
    assert doc["verdict"]["finding"]["code"] == "dpd-timeout"
    markdown = _run(_args("dpd-timeout.pcap", "keys"), "markdown")
    assert "**Verdict: The tunnel came up partly" in markdown and "`dpd-timeout`" in markdown
    html = _run(_args("dpd-timeout.pcap", "keys"), "html")
    assert 'class="verdict partly"' in html


def test_a_psk_mismatch_without_keys_is_named_in_the_summary():
    markdown = _run(_args("fail-psk-mismatch.pcap", "nokeys"), "markdown")
    summary = markdown.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "`psk-mismatch`" in summary
    assert "(encrypted: no keys)" not in summary


@pytest.mark.parametrize(
    ("capture", "code"),
    [
        ("fail-pfs-mismatch.pcap", "pfs-mismatch"),
        ("fail-ts-mismatch.pcap", "proxy-id-mismatch"),
        ("fail-esp-proposal.pcap", "p2-proposal-mismatch"),
    ],
)
def test_phase2_failures_name_the_specific_cause(capture, code):
    assert _verdict(capture)["verdict"]["finding"]["code"] == code
    summary = _run(_args(capture, "keys"), "markdown").split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "SPI 00000000" not in summary and f"`{code}`" in summary


def test_a_wrong_psk_on_aggressive_mode_is_about_the_key_not_the_tunnel():
    doc = _verdict("am-aes128-sha1-modp2048.pcap", "wrong-psk")
    verdict = doc["verdict"]
    assert verdict["outcome"] == "up"
    assert [k["code"] for k in verdict["key_material"]] == ["given-psk-wrong"]
    assert not [f for f in doc["findings"] if f["severity"] == "error"]
    assert "psk-mismatch" not in {f["code"] for f in doc["findings"]}
    text = _run(_args("am-aes128-sha1-modp2048.pcap", "wrong-psk"), "text")
    flat = " ".join(text.split())
    assert "Keys: The pre-shared key given does not verify (given-psk-wrong); the peers agreed." in flat
    summary = _run(_args("am-aes128-sha1-modp2048.pcap", "wrong-psk"), "markdown").split("\n## IKE SA")[0]
    assert "What went wrong" not in summary  # the tunnel is fine
    assert "- About the keys given: given-psk-wrong:" in summary
    assert "- Worth checking: aggressive-mode-psk:" in summary


def test_a_wrong_psk_on_main_mode_with_the_right_dh_secret_is_about_the_key(tmp_path: Path):
    lab = tomllib.loads((KEYS_DIR / "mm-aes128-sha1-modp2048.toml").read_text())
    (ike_sa,) = lab["ike_sa"]
    edited = (  # the peers' DH secret, a PSK that is not theirs, nothing derived from theirs
        '[[psk]]\nsecret = "not-the-lab-psk"\npeer = "192.0.2.2"\n\n[[ike_sa]]\n'
        + "".join(
            f'{name} = "{ike_sa[name]}"\n' for name in ("initiator_cookie", "responder_cookie", "dh_secret")
        )
    )
    key_file = tmp_path / "wrong.toml"
    key_file.write_text(edited)
    doc = json.loads(
        _run([str(CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap"), "--keys", str(key_file)], "json")
    )
    assert doc["verdict"]["outcome"] == "up"
    assert {k["code"] for k in doc["verdict"]["key_material"]} & {"given-psk-wrong", "wrong-keys"}
    assert "psk-mismatch" not in {f["code"] for f in doc["findings"]}
    assert not [f for f in doc["findings"] if f["severity"] == "error"]  # the tunnel is fine
    (wrong,) = [f for f in doc["findings"] if f["code"] == "wrong-keys"]
    assert "MM6 (frame 6)" in wrong["evidence"]["peers_went_on"]


def test_esp_without_keys_is_counted_and_drawn():
    doc = _verdict("mm-aes128-sha1-modp2048.pcap", "nokeys")
    assert doc["verdict"]["ike_sas"][0]["packets"] == 16
    assert doc["verdict"]["ike_sas"][0]["traffic"] == "both-ways"
    markdown = _run(_args("mm-aes128-sha1-modp2048.pcap", "nokeys"), "markdown")
    assert "0 ESP/AH packets seen" not in markdown and "16 ESP/AH packets seen" in markdown
    assert re.search(r"I-\)R: \+[\d.]+s ESP 0x[0-9a-f]{8}: 8 packets", markdown)


@pytest.mark.parametrize("capture", CAPTURES)
def test_findings_come_errors_first(capture):
    for keys in ("nokeys", "keys"):
        findings = _verdict(capture, keys)["findings"]
        ranks = [SEVERITY_ORDER[f["severity"]] for f in findings]
        assert ranks == sorted(ranks, reverse=True)


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize(
    "capture", ["am-aes128-sha1-modp2048.pcap", "fail-psk-mismatch.pcap", "dpd-timeout.pcap"]
)
def test_the_text_report_fits_the_terminal_and_breaks_no_command(capture, columns):
    text = _run(_args(capture, "keys"), "text", columns)
    assert max(len(line) for line in text.splitlines()) <= columns
    assert not re.search(r"[a-z]-$", text, re.MULTILINE)  # no word cut at a hyphen
    if capture.startswith("am-"):
        assert "crypto isakmp aggressive-mode disable" in " ".join(text.split())
    timeline = _run(_args(capture, "keys"), "timeline", columns)
    assert max(len(line) for line in timeline.splitlines()) <= columns


def test_no_esp_only_for_completed_quick_modes_and_quick_answers_are_not_a_slow_peer():
    for keys in ("nokeys", "keys"):
        codes = {f["code"] for f in _verdict("qm-transport-refused.pcap", keys)["findings"]}
        assert "no-esp" not in codes and "qm2-rejected" in codes
    doc = _verdict("libreswan-pluto.pcap")
    assert "no-esp" not in {f["code"] for f in doc["findings"]}
    (retransmission,) = [f for f in doc["findings"] if f["code"] == "retransmission"]
    assert "each copy of QM1 from 192.0.2.1 was answered within 9 ms" in retransmission["message"]
    assert "slowly" not in retransmission["hint"]
    text = _run(_args("qm-transport-refused.pcap", "keys"), "text", 200)
    assert "QM 0x0c52ccbd (not completed: never installed)" in text
    assert "and 1 more" in retransmission["message"]  # QM2's 7 frames: the first 6 named


@pytest.mark.parametrize("capture", ["esp-rekey-delete.pcap", "mm-delete.pcap"])
def test_sa_deleted_by_a_rekey_or_after_traffic_is_clean_up(capture):
    (deleted,) = [f for f in _verdict(capture)["findings"] if f["code"] == "sa-deleted"]
    assert deleted["evidence"]["timing"] == "later"
    assert "refused" not in deleted["hint"]


def test_sa_deleted_right_after_a_refused_setup_points_to_the_policy():
    (early,) = [f for f in _verdict("fail-esp-proposal.pcap")["findings"] if f["code"] == "sa-deleted"]
    assert early["evidence"]["timing"] == "right-after-setup" and "refused" in early["hint"]


def test_identical_findings_of_many_sas_become_one_with_a_count():
    many = [
        finding(
            "no-pfs",
            f"quick mode 0x{i:08x} without PFS: the IPsec keys derive from the phase-1 DH secret only",
            {"ike_sa": f"{i:016x}/{i + 1:016x}", "count": 1},
        )
        for i in range(3000)
    ]
    (one,) = aggregate(many)
    assert one.evidence["aggregated"]["count"] == 3000
    assert "(and the same in 2999 more IKE SA(s))" in one.message


def _stray_refusal(tmp_path: Path, keep: int | None = None) -> str:
    """mm-aes128-sha1-modp2048.pcap with fail-ike-proposal's NO-PROPOSAL-CHOSEN (its frame 2), the
    cookies set to this SA's, arriving right after MM2; ``keep``: only that many frames in all."""
    _, refusal_frames = read_frames(CAPTURES_DIR / "fail-ike-proposal.pcap")
    _, frames = read_frames(CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap")
    isakmp = 14 + 20 + 8  # Ethernet, IPv4, UDP
    cookies = frames[1][1][isakmp : isakmp + 16]  # MM2: initiator and responder cookie
    ts, refusal = refusal_frames[1]
    assert b"\x00\x0e" in refusal[isakmp:]  # NO-PROPOSAL-CHOSEN (14)
    refusal = refusal[:isakmp] + cookies + refusal[isakmp + 16 :]
    edited = [*frames[:2], ((frames[1][0] + frames[2][0]) / 2, refusal), *frames[2:]]
    linktype, _ = read_frames(CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap")
    path = write_frames(tmp_path / "stray-refusal.pcap", linktype, edited[:keep] if keep else edited)
    return str(path)


def test_a_later_success_supersedes_an_earlier_no_proposal_chosen(tmp_path: Path):
    keys = ["--keys", str(KEYS_DIR / "mm-aes128-sha1-modp2048.toml")]
    doc = json.loads(_run([_stray_refusal(tmp_path), *keys], "json"))
    assert doc["verdict"]["outcome"] == "up"
    assert not {"p1-proposal-mismatch", "error-notify"} & {f["code"] for f in doc["findings"]}
    # the same refusal with nothing after it is still the refusal that ended phase 1
    cut = json.loads(_run([_stray_refusal(tmp_path, keep=3), *keys], "json"))
    assert cut["verdict"]["finding"]["code"] == "p1-proposal-mismatch"


def test_a_key_file_of_another_capture_gets_a_note():
    args = [
        str(CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap"),
        "--keys",
        str(KEYS_DIR / "esp-aes128gcm16.toml"),
    ]
    doc = json.loads(_run(args, "json"))
    (note,) = [f for f in doc["findings"] if f["code"] == "keys-unmatched"]
    assert note["evidence"]["count"] >= 1 and "esp-aes128gcm16.toml" in note["message"]
    assert "keys-unmatched" in [k["code"] for k in doc["verdict"]["key_material"]]
    assert "Keys: Keys given match nothing in this capture" in _run(args, "text", 120)
    own = _verdict("mm-aes128-sha1-modp2048.pcap")  # its own key file matches
    assert "keys-unmatched" not in {f["code"] for f in own["findings"]}


@pytest.mark.parametrize("capture", [c for c in CAPTURES if c.startswith("ikev2-")])
def test_an_sa_this_version_does_not_decode_is_not_called_a_failure(capture):
    doc = _verdict(capture)
    counted_only = "ikev2-not-decoded" in {f["code"] for f in doc["findings"]}  # one per SA when so
    for sa, verdict in zip(doc["ike_sas"], doc["verdict"]["ike_sas"], strict=True):
        if counted_only:
            assert verdict["outcome"] == "unknown" and "did not come up" not in verdict["line"]
        else:  # decoded (ike/v2): the verdict answers for it like for IKEv1, unless IKE_AUTH is unreadable
            assert verdict["outcome"] in ("up", "partly", "down") or (
                verdict["outcome"] == "unknown" and verdict["line"].endswith("(give the keys).")
            )
        assert sa["version"] == verdict["version"] == 2


def test_a_completed_quick_mode_without_esp_is_no_esp_and_still_up(tmp_path: Path):
    linktype, frames = read_frames(CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap")
    ike_only = frames[:9] + frames[25:]  # frames 10-25 are its ESP (UDP 4500, no non-ESP marker)
    capture = write_frames(tmp_path / "no-esp.pcap", linktype, ike_only)
    doc = json.loads(_run([str(capture), "--keys", str(KEYS_DIR / "mm-aes128-sha1-modp2048.toml")], "json"))
    (no_esp,) = [f for f in doc["findings"] if f["code"] == "no-esp"]
    assert "quick mode 0xc538ec71 between 192.0.2.1 and 192.0.2.2 completed" in no_esp["message"]
    (sa,) = doc["verdict"]["ike_sas"]
    assert (sa["outcome"], sa["traffic"], sa["packets"]) == ("up", "none", 0)
    assert "no ESP/AH seen" in sa["line"]


def test_a_retransmission_storm_names_a_few_frames_and_counts_the_rest(tmp_path: Path):
    linktype, frames = read_frames(CAPTURES_DIR / "fail-unreachable.pcap")
    mm1 = frames[0]  # sent again 200 times, unanswered
    storm = [mm1, *[(mm1[0] + 0.5 * i, mm1[1]) for i in range(1, 201)]]
    capture = write_frames(tmp_path / "storm.pcap", linktype, storm)
    doc = json.loads(_run([str(capture)], "json"))
    (found,) = [f for f in doc["findings"] if f["code"] == "retransmission"]
    assert (
        "MM1 from 192.0.2.1 sent 201 times (frames 1, 2, 3, 4, 5, 6 and 195 more over 100.0 s)"
        in found["message"]
    )
    assert len(found["evidence"]["messages"][0]["frames"]) <= 20
    (stall,) = [f for f in doc["findings"] if f["code"] == "no-response"]
    assert "and 195 more" in stall["message"] and len(stall["message"]) < 300
    assert doc["verdict"]["finding"]["more_frames"] == 201 - 5


def test_merged_captures_give_one_finding_per_story_with_a_count():
    names = ["mm-aes128-sha1-modp2048", "mm-aes256-sha256-modp2048", "mm-delete", "esp-aes128gcm16"]
    args = [
        a for n in names for a in (str(CAPTURES_DIR / f"{n}.pcap"), "--keys", str(KEYS_DIR / f"{n}.toml"))
    ]
    doc = json.loads(_run(args, "json"))
    assert doc["verdict"]["line"] == "All 4 IKE SAs came up."
    (no_pfs,) = [f for f in doc["findings"] if f["code"] == "no-pfs"]
    assert no_pfs["evidence"]["aggregated"]["count"] == 4
    assert len(no_pfs["evidence"]["aggregated"]["ike_sas"]) == 4
    assert no_pfs["message"].endswith("(and the same in 3 more IKE SA(s))")
    assert len([f for f in doc["findings"] if f["code"] == "natt-forced"]) == 2  # initiator, responder


def test_a_peer_whose_id_is_its_wire_address_forces_encapsulation_it_is_not_natted():
    doc = _verdict("libreswan-pluto.pcap")
    nat = {(f["code"], f["evidence"]["peer"]) for f in doc["findings"] if f["code"].startswith("nat")}
    assert nat == {("natt-forced", "initiator"), ("natt-forced", "responder")}
    (responder,) = [
        f for f in doc["findings"] if f["code"] == "natt-forced" and f["evidence"]["peer"] == "responder"
    ]
    assert (
        responder["evidence"]["identity"] == "192.0.2.2" and responder["evidence"]["wire"] == "192.0.2.2:500"
    )
    nat_t = {
        (f["code"], f["evidence"]["peer"]) for f in _verdict("nat-t.pcap")["findings"] if "nat" in f["code"]
    }
    assert (
        "nat-detected",
        "initiator",
    ) in nat_t  # a real NAT (ID 198.51.100.1, wire 203.0.113.254) stays one
