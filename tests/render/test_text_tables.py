"""The text report's tables are tabulate's, byte for byte, however they are made faster.

``render/text.py`` skips tabulate's number parsing on columns it proves are text
(docs/performance.md, "IKE at scale"); the per-SA sections may be made on several processes.
Random tables (numbers as text, booleans as text, colour codes, blank and multi-line cells, long
hyphenated words) and the report of every real capture must come out as plain ``tabulate`` makes
them.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from ikedecode.capture import open_capture
from ikedecode.keys.loader import load_key_file
from ikedecode.parallel import render_work
from ikedecode.pipeline import analyze
from ikedecode.render import text
from tests.conftest import CAPTURES_DIR, KEYS_DIR, LAB_CAPTURES

_words = st.sampled_from(
    ["1", "-", "+2", "3.5", "1,000", "1e5", "inf", "nan", "True", "False", "0x1f", "1_0", " 7 ", "",
     "QM1", "I->R", "12:00:00.000", "decrypted", "\x1b[31m42\x1b[0m", "\x1b[1mbold\x1b[0m", "a-b-c",
     "very-long-hyphenated-word-that-needs-breaking", "/tmp/ikebench/x.dh-secret.toml", "\n", "é", "漢字"]
)  # fmt: skip
_cells = st.one_of(
    st.integers(-5, 5000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.lists(_words, min_size=1, max_size=12).map(" ".join),
    st.lists(_words, min_size=1, max_size=3).map("\n".join),
    st.text(max_size=8),
)


@st.composite
def _tables(draw: st.DrawFn) -> list[list[object]]:
    columns = draw(st.integers(1, 4))
    return draw(st.lists(st.lists(_cells, min_size=columns, max_size=columns), max_size=6))


@settings(max_examples=300, deadline=None)
@given(_tables())
def test_tables_are_tabulate_tables(rows: list[list[object]]):
    headers = [f"h{i}" for i in range(len(rows[0]))] if rows else []
    assert text._table(rows, headers) == tabulate(rows, headers=headers)


def _plain_table(rows, headers, **options):  # noqa: ANN001, ANN003, ANN202 - as text.py called tabulate
    return tabulate(rows, headers=headers, **options)


CASES = [
    (path.name, KEYS_DIR / f"{path.stem}.toml")
    for path in LAB_CAPTURES
    if (KEYS_DIR / f"{path.stem}.toml").exists()
]
assert len(CASES) > 20, "captures/ and keys/ ship with the project"


@pytest.mark.parametrize(("capture", "keys"), CASES, ids=[name for name, _ in CASES])
def test_text_report_of_real_captures_is_the_plain_tabulate_report(capture, keys, monkeypatch):
    with open_capture(str(CAPTURES_DIR / capture)) as reader:
        report = analyze(reader, load_key_file(str(keys)))
    fast = text.render_text(report)
    monkeypatch.setattr(render_work, "MIN_ITEMS", 0)  # worker processes even for a few SAs
    monkeypatch.setattr(render_work, "CHUNK", 1)
    assert text.render_text(report, map_in_order=render_work.map_in_order(2)) == fast
    monkeypatch.setattr(text, "_table", _plain_table)
    assert text.render_text(report) == fast
