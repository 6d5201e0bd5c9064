"""The JSON writer gives ``json.dumps(value, indent=2, default=...)`` byte for byte, streamed.

``--format json`` is written SA by SA with ``ikedecode.render.json_writer`` instead of one
``json.dumps`` of the whole report (docs/performance.md, "IKE at scale"): random documents with
every kind of value the standard library accepts (subclasses of str and int, non-string keys,
tuples, NaN, values only ``default`` knows), and the report of every real capture, written whole,
streamed, and with the IKE SAs made on two processes, must all give the standard library's text.
"""

from __future__ import annotations

import enum
import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikedecode.capture import open_capture
from ikedecode.keys.loader import load_key_file
from ikedecode.parallel import render_work
from ikedecode.pipeline import analyze
from ikedecode.render import json_writer
from ikedecode.render.json_report import _default, render_json, report_to_dict, write_json
from ikedecode.render.json_writer import Deferred, Encoded, Lazy
from tests.conftest import CAPTURES_DIR, KEYS_DIR, LAB_CAPTURES


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 5


def _default_for_tests(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, frozenset):
        return sorted(value)
    return str(value)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included
    st.text(),
    st.just(Colour.RED),
    st.just(Level.HIGH),
    st.binary(max_size=4),
    st.frozensets(st.integers(), max_size=3),
)
_keys = st.one_of(st.text(max_size=5), st.integers(), st.floats(), st.booleans(), st.none())
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(_keys, inner, max_size=4)
    ),
    max_leaves=30,
)


def _lazy(value: object) -> object:
    """The same document with every list made while it is written."""
    if isinstance(value, list):
        return Lazy(_lazy(item) for item in value)
    if isinstance(value, dict):
        return {key: _lazy(item) for key, item in value.items()}
    return value


@settings(max_examples=400, deadline=None)
@given(_documents)
def test_random_documents_are_written_as_json_dumps_writes_them(document: object):
    want = json.dumps(document, indent=2, default=_default_for_tests)
    assert json_writer.dumps(document, default=_default_for_tests) == want
    assert json_writer.dumps(_lazy(document), default=_default_for_tests) == want
    pieces: list[str] = []
    json_writer.write(_lazy(document), pieces.append, default=_default_for_tests)
    assert "".join(pieces) == want


@pytest.mark.parametrize("indent", [0, 1, 4])
def test_other_indentations(indent: int):
    document = {"a": [1, {"b": [], "c": {}}, [2.5, None]], 3: (True, "x\u00e9\n"), "d": {"e": math.inf}}
    assert json_writer.dumps(document, indent=indent) == json.dumps(document, indent=indent)


def test_deferred_encoded_and_nested_levels():
    inner = {"x": [1, 2], "y": {"z": None}}
    document = {
        "first": Deferred(lambda: [inner]),
        "second": Lazy([Encoded(json_writer.dumps(inner, level=2))]),
    }
    assert json_writer.dumps(document) == json.dumps({"first": [inner], "second": [inner]}, indent=2)
    assert json_writer.dumps(Lazy([])) == "[]"


def test_unserialisable_values_and_keys_fail_as_in_json_dumps():
    with pytest.raises(TypeError):
        json_writer.dumps({"a": object()})
    with pytest.raises(TypeError):
        json_writer.dumps({(1, 2): 1})


CASES = [
    (path.name, KEYS_DIR / f"{path.stem}.toml")
    for path in LAB_CAPTURES
    if (KEYS_DIR / f"{path.stem}.toml").exists()
]
assert len(CASES) > 20, "captures/ and keys/ ship with the project"


@pytest.mark.parametrize(("capture", "keys"), CASES, ids=[name for name, _ in CASES])
@pytest.mark.parametrize("show_keys", [False, True], ids=["redacted", "show-keys"])
def test_streamed_json_of_real_captures_is_the_whole_document_json(capture, keys, show_keys, monkeypatch):
    with open_capture(str(CAPTURES_DIR / capture)) as reader:
        report = analyze(reader, load_key_file(str(keys)))
    whole = json.dumps(report_to_dict(report, show_keys=show_keys), indent=2, default=_default) + "\n"
    assert render_json(report, show_keys=show_keys) == whole
    stream = io.StringIO()
    write_json(report, stream, show_keys=show_keys)
    assert stream.getvalue() == whole
    monkeypatch.setattr(render_work, "MIN_ITEMS", 0)  # worker processes even for a few SAs
    monkeypatch.setattr(render_work, "CHUNK", 1)
    stream = io.StringIO()
    write_json(report, stream, show_keys=show_keys, map_in_order=render_work.map_in_order(2))
    assert stream.getvalue() == whole
