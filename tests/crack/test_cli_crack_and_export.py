"""--crack, --export-psk-params, --export-hashcat from the command line: notes on stderr, findings in
the report, the key only with --show-keys, one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ikedecode.cli import main

from .wordlists import CAPTURES_DIR, PROBE, PROBE_PSK, write_word_list


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, [*args], catch_exceptions=False)


def test_crack_reports_the_line_and_keeps_the_key_secret(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 2_000, {1_500: PROBE_PSK})
    result = run(str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(words), "--format", "json")
    assert result.exit_code == 0
    assert f"at {words} line 1500, rule as-is (--show-keys prints it); 1,500 candidates" in result.stderr
    assert PROBE_PSK.decode() not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    codes = [f["code"] for f in report["findings"]]
    assert "psk-cracked" in codes and "psk-verified" in codes  # analysed again with the found key
    cracked = next(f for f in report["findings"] if f["code"] == "psk-cracked")
    assert (cracked["evidence"]["line"], cracked["evidence"]["rule"]) == (1500, "as-is")


def test_crack_with_show_keys_prints_the_key_as_text_on_stderr_and_in_the_report(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 100, {3: PROBE_PSK})
    result = run(str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(words), "--show-keys")
    key = PROBE_PSK.decode()
    assert f"PSK found for IKE SA 98e72c5e5a51642c/0d792ee3f11c9662, AM2 frame 2: {key} (" in result.stderr
    assert "b'" not in result.stderr  # not Python's bytes repr
    assert "psk-cracked" in result.stdout  # the key in the report: next test, format by format


def test_the_found_key_is_in_every_format_with_show_keys_only(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 100, {3: PROBE_PSK})
    key = PROBE_PSK.decode()
    for fmt in ("json", "markdown", "html"):
        shown = run(
            str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(words), "--show-keys", "--format", fmt
        )
        hidden = run(str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(words), "--format", fmt)
        assert key in shown.stdout, fmt
        assert key not in hidden.stdout + hidden.stderr, fmt
    report = json.loads(
        run(
            str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(words), "--show-keys", "--format", "json"
        ).stdout
    )
    cracked = next(f for f in report["findings"] if f["code"] == "psk-cracked")
    assert cracked["evidence"]["psk"] == key


def test_crack_says_up_front_how_many_candidates_and_how_long(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 1_000, {})
    result = run(str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(words), "--format", "json")
    first = result.stderr.splitlines()[0]
    # rules 'all': the word, 3 other cases, 4 forms x (10 + 100) digit suffixes = 444 per word
    assert "1,000 words, rules all: up to 444,000 candidates (444 per word); about " in first
    assert "/s on " in first and "PSK not found" in result.stderr.splitlines()[-1]


def test_quiet_silences_every_note_of_the_psk_tools(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 100, {3: PROBE_PSK})
    result = run(
        str(CAPTURES_DIR / f"{PROBE}.pcap"),
        "--crack",
        str(words),
        "--export-psk-params",
        str(tmp_path / "p.txt"),
        "--show-keys",
        "-q",
        "--format",
        "json",
    )
    assert result.exit_code == 0 and result.stderr == ""
    assert (tmp_path / "p.txt").exists()
    assert "psk-cracked" in [f["code"] for f in json.loads(result.stdout)["findings"]]


def test_a_key_not_in_the_list_is_an_info_finding(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 10, {})
    result = run(
        str(CAPTURES_DIR / f"{PROBE}.pcap"),
        "--crack",
        str(words),
        "--crack-rules",
        "none",
        "--format",
        "json",
    )
    assert result.exit_code == 0 and "PSK not found" in result.stderr
    assert "psk-not-cracked" in [f["code"] for f in json.loads(result.stdout)["findings"]]


def test_exports_match_ike_scan_and_hashcat_formats(tmp_path):
    psk_file, hc_file = tmp_path / "p.txt", tmp_path / "h.txt"
    result = run(
        str(CAPTURES_DIR / f"{PROBE}.pcap"),
        "--export-psk-params",
        str(psk_file),
        "--export-hashcat",
        str(hc_file),
    )
    assert result.exit_code == 0
    ike_scan = (CAPTURES_DIR / "lab/runs" / PROBE / "psk-crack.txt").read_text()
    assert psk_file.read_text() == ike_scan == hc_file.read_text()
    assert "wrote 1 hashcat line(s)" in result.stderr


def test_hashcat_export_of_a_group_14_exchange_is_a_one_line_error(tmp_path):
    result = run(
        str(CAPTURES_DIR / "am-aes128-sha1-modp2048.pcap"), "--export-hashcat", str(tmp_path / "h.txt")
    )
    assert result.exit_code == 2
    assert "at most 512 bytes" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "h.txt").exists()


def test_nothing_to_crack_is_a_usage_error(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 10, {})
    result = run(str(CAPTURES_DIR / "mm-delete.pcap"), "--crack", str(words))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "ikedecode: no aggressive-mode exchange with a pre-shared key in the capture "
        "(needs AM1 and AM2 with HASH_R)"
    ]


def test_an_unreadable_word_list_is_a_usage_error(tmp_path):
    result = run(str(CAPTURES_DIR / f"{PROBE}.pcap"), "--crack", str(tmp_path / "missing.txt"))
    assert result.exit_code == 2 and "cannot read the word list" in result.stderr
