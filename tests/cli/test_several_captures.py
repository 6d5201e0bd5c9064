"""``ikedecode CAPTURE...``: files, directories and glob patterns merged into one report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from ikedecode.cli import main

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
KEYS = ROOT / "keys"
PAIR = ["mm-aes128-sha1-modp2048", "esp-rekey-delete"]


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, [*args], catch_exceptions=False)


def keys_for(*names: str) -> list[str]:
    return [arg for name in names for arg in ("--keys", str(KEYS / f"{name}.toml"))]


def copy_pair(target: Path) -> list[Path]:
    target.mkdir(exist_ok=True)
    return [Path(shutil.copy(CAPTURES / f"{name}.pcap", target / f"{name}.pcap")) for name in PAIR]


def test_two_files_make_one_report_with_both_negotiations():
    files = [str(CAPTURES / f"{name}.pcap") for name in PAIR]
    result = run(*files, *keys_for(*PAIR), "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["capture"]["packets"] == 27 + 147
    assert len(report["ike_sas"]) == 2 and all(sa["authenticated"] for sa in report["ike_sas"])
    assert [s["name"] for s in report["sources"]] == files
    assert [s["frames"] for s in report["sources"]] == [27, 147]
    frames = [m["frame"] for sa in report["ike_sas"] for m in sa["messages"]]
    assert max(frames) > 27  # the second file's messages are numbered after the first file's frames


def test_a_directory_is_every_capture_in_it_and_other_files_are_skipped_with_a_note(tmp_path):
    copy_pair(tmp_path / "d")
    (tmp_path / "d" / "README.txt").write_text("captures of the west tunnel\n")
    (tmp_path / "d" / ".hidden.pcap").write_text("ignored\n")
    (tmp_path / "d" / "sub").mkdir()
    shutil.copy(CAPTURES / "nat-t.pcap", tmp_path / "d" / "sub" / "nat-t.pcap")  # not recursive
    result = run(str(tmp_path / "d"), *keys_for(*PAIR), "--format", "json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert [Path(s["name"]).name for s in report["sources"]] == sorted(f"{n}.pcap" for n in PAIR)
    notes = result.stderr.strip().splitlines()
    assert notes == [
        f"ikedecode: note: skipped {tmp_path / 'd' / 'README.txt'} (in a directory, not a capture): "
        "not a pcap or pcapng file (starts with 63 61 70 74)"
    ]
    assert run(str(tmp_path / "d"), "--quiet").stderr == ""


def test_a_quoted_glob_is_expanded_by_ikedecode(tmp_path):
    copy_pair(tmp_path / "d")
    (tmp_path / "d" / "notes.pcap").write_text("not a capture\n")
    result = run(str(tmp_path / "d" / "*.pcap"), "--format", "json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["sources"]) == 2
    assert "skipped" in result.stderr and "notes.pcap (matches the pattern, not a capture)" in result.stderr
    deep = run(str(tmp_path / "**" / "esp-*.pcap"), "--format", "json")
    assert [Path(s["name"]).name for s in json.loads(deep.stdout)["sources"]] == ["esp-rekey-delete.pcap"]


def test_missing_inputs_are_one_line_errors_with_status_2(tmp_path):
    cases = {
        str(tmp_path / "missing.pcap"): "no such file",
        str(tmp_path / "*.pcapng"): "no file matches this pattern",
        str(tmp_path): "no capture file in this directory",
    }
    for argument, message in cases.items():
        result = run(str(CAPTURES / "nat-t.pcap"), argument)
        assert result.exit_code == 2
        assert result.stderr == f"ikedecode: {argument}: {message}\n"
    (tmp_path / "notes.txt").write_text("x\n")
    result = run(str(tmp_path / "*.txt"))
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        2,
        f"ikedecode: {tmp_path / '*.txt'}: no capture file among the 1 matches",
    )
    named = run(str(CAPTURES / "nat-t.pcap"), str(tmp_path / "notes.txt"))  # named: must be a capture
    assert named.exit_code == 2 and "notes.txt: not a pcap or pcapng file" in named.stderr


def test_a_file_given_twice_is_read_once(tmp_path):
    (one,) = [CAPTURES / "nat-t.pcap"]
    result = run(str(one), str(CAPTURES / "." / "nat-t.pcap"), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["capture"]["packets"] == 27
    assert "read once" in result.stderr


def test_text_markdown_and_html_list_the_files_and_one_file_shows_none():
    files = [str(CAPTURES / f"{name}.pcap") for name in PAIR]
    text = run(*files).stdout
    assert "Merged from 2 files by capture time" in text
    assert f"    {files[0]}: pcap, 27 frames, 2026-11-22 07:59:17.646 to 07:59:20.938 UTC" in text
    markdown = run(*files, "--format", "markdown").stdout
    assert "`mergecap -w merged.pcapng`" in markdown and "- " + files[1].replace("_", "\\_") in markdown
    html = run(*files, "--format", "html").stdout
    assert '<ul class="meta sources">' in html and "147 frames" in html
    for fmt in ("text", "markdown", "html"):
        single = run(files[0], "--format", fmt).stdout
        assert "Merged from" not in single and "sources" not in single


def test_crack_reanalyses_every_input(tmp_path):
    from tests.capture.splitting import split_at, split_pcap
    from tests.crack.wordlists import PROBE, PROBE_PSK, write_word_list

    parts = split_pcap(CAPTURES / f"{PROBE}.pcap", tmp_path, 2, split_at(1))
    words = write_word_list(tmp_path / "words.txt", 50, {20: PROBE_PSK})
    result = run(*map(str, parts), "--crack", str(words), "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    codes = [f["code"] for f in report["findings"]]
    assert "psk-cracked" in codes and "psk-verified" in codes  # the second analysis read both files
    assert len(report["sources"]) == 2


def test_dask_and_write_decrypted_together_are_refused(tmp_path):
    result = run(
        str(CAPTURES / "nat-t.pcap"), "--dask", "local", "--write-decrypted", str(tmp_path / "o.pcap")
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == "ikedecode: --write-decrypted cannot be combined with --dask (run it without --dask)\n"
    )


def test_dask_without_the_extra_installed_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dask", None)  # makes "import dask..." fail as if not installed
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    result = run(str(CAPTURES / "nat-t.pcap"), "--dask", "local")
    assert result.exit_code == 2
    assert result.stderr == "ikedecode: --dask needs Dask: pip install 'ikedecode[dask]'\n"
