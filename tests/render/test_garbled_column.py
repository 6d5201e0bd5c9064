"""A garbled column in the human IPsec SA tables (text, timeline, Markdown, HTML): packets that
decrypt to noise (esp/plaintext.py) are neither verified nor failed, and the tables say how many.
The column appears only when some SA has garbled packets: the text table is already wider than 120
columns, and every format must keep fitting 80 and 120 (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from tests.conftest import CAPTURES_DIR, KEYS_DIR

CAPTURE = CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap"
_BLOCK = re.compile(r"^\[\[ipsec_sa\]\]\n(?:(?!\n\n|\n#|\n\[).)*", re.M | re.S)
HUMAN_FORMATS = ("text", "timeline", "markdown", "html")


def _key_file(tmp_path: Path, wrong: bool) -> str:
    """The capture's two [[ipsec_sa]] blocks alone; ``wrong``: the first one's encryption key with
    its first byte changed, so its 8 packets decrypt to noise while the other SA's verify."""
    first, second = _BLOCK.findall((KEYS_DIR / "mm-aes128-sha1-modp2048.toml").read_text())
    if wrong:
        match = re.search(r'^encryption_key = "([0-9a-f]{2})', first, re.M)
        assert match is not None
        first = first[: match.start(1)] + f"{int(match[1], 16) ^ 0x5A:02x}" + first[match.end(1) :]
    path = tmp_path / ("wrong.toml" if wrong else "right.toml")
    path.write_text(f"{first}\n\n{second}\n")
    return str(path)


def _run(key_file: str, fmt: str, columns: int = 80) -> str:
    result = CliRunner().invoke(
        main, [str(CAPTURE), "--keys", key_file, "-q", "--format", fmt], env={"COLUMNS": str(columns)}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _ipsec_table(text: str) -> str:
    return text[text.index("IPsec SAs\n") :].split("\n\n")[0]


@pytest.mark.parametrize("columns", [80, 120, 250])
def test_text_table_counts_garbled_packets_and_still_fits(tmp_path: Path, columns: int):
    text = _run(_key_file(tmp_path, wrong=True), "text", columns)
    assert max(len(line) for line in text.splitlines()) <= columns
    assert "esp-encryption-key-wrong" in text
    table = " ".join(_ipsec_table(text).split())
    if columns == 250:  # wide enough for a table: the column sits after "ICV fail"
        assert "ICV fail garbled replays" in table
        rows = re.findall(r"ESP 0x(\w+) .*? (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) /", table)
        assert [(spi, int(garbled)) for spi, _, _, _, _, garbled, *_ in rows] == [
            ("f096db6e", 8),
            ("70cb4aa4", 0),
        ]
    else:  # one block per SA
        assert re.search(r"0xf096db6e .*? verified 0; no ICV 0; ICV fail 0; garbled 8;", table)
        assert re.search(r"0x70cb4aa4 .*? verified 8; no ICV 0; ICV fail 0; garbled 0;", table)
    assert "garbled: decrypted to noise" in table


@pytest.mark.parametrize("fmt", ["timeline", "markdown", "html"])
def test_timeline_markdown_and_html_tables_count_garbled_packets(tmp_path: Path, fmt: str):
    key_file = _key_file(tmp_path, wrong=True)
    report = _run(key_file, fmt, 250)
    if fmt == "timeline":
        narrow = _run(key_file, fmt, 80)  # one block per direction: the table does not fit
        assert max(len(line) for line in narrow.splitlines()) <= 80
        assert re.search(r"ESP 0xf096db6e .*?ICV fail 0; garbled 8; gaps 0", " ".join(narrow.split()))
        report = _run(key_file, fmt, 120)  # a table
        assert max(len(line) for line in report.splitlines()) <= 120
        header = next(line for line in report.splitlines() if "ICV fail" in line and "garbled" in line)
        assert header.split()[-3:] == ["fail", "garbled", "gaps"]
        row = next(line for line in report.splitlines() if "ESP 0xf096db6e" in line)
        assert row.split()[-3:] == ["0", "8", "0"]  # ICV fail, garbled, gaps
    elif fmt == "markdown":
        assert "| ICV fail | garbled | gaps | fate |" in report
        assert re.search(r"\| 0xf096db6e \|[^\n]*\| 0 \| 8 \| 0 \|", report)
        assert re.search(r"\| 0x70cb4aa4 \|[^\n]*\| 0 \| 0 \| 0 \|", report)
    else:
        assert "<th>ICV fail</th><th>garbled</th><th>gaps</th>" in report
        row = report[report.index("<code>0xf096db6e</code>") :].split("</tr>")[0]
        assert "<td class=num>0</td><td class=num>8</td><td class=num>0</td>" in row


@pytest.mark.parametrize("fmt", HUMAN_FORMATS)
def test_no_garbled_column_when_no_packet_is_garbled(tmp_path: Path, fmt: str):
    report = _run(_key_file(tmp_path, wrong=False), fmt, 250)
    assert "ICV fail" in report  # the table is there
    assert not re.search(r"\bgarbled\b", report)  # (the tmp path holds "_garbled_")
