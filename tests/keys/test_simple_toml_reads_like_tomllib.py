"""The line reader for plain key files gives what tomllib gives, and leaves the rest to tomllib."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikedecode.keys.simple_toml import read_simple_toml
from tests.conftest import KEYS_DIR, shipped


@pytest.mark.parametrize("path", shipped(KEYS_DIR, "*.toml"), ids=lambda p: p.name)
def test_shipped_key_files_read_as_tomllib_reads_them(path):
    text = path.read_text(encoding="utf-8")
    fast = read_simple_toml(text)
    if fast is not None:  # a file beyond the subset goes to tomllib whole
        assert fast == tomllib.loads(text)


READ_FAST = [
    'a = "x"  # comment',
    'a="x"#c',
    "a = -0\nb = 0x1F\nc = 12",
    "[[t]]\na = 1\n[[t]]\na = 2",
    "[[ t ]] # c\r\nb = true\r\nc = false\r\n",
    '[[psk]]\nsecret = "é\t"\n\n# done',
    "",
    "  \t \n# only a comment",
    'a = "x\ty"\nb = ""\n c\t=\t"0f"',  # a tab and an empty string on the str-method path
    'a = "x" # b = "y"\n# c = "d"',  # '=' and quotes in comments
    '[[t]]\nkey = "00ff"\n[[t]]\nkey = "11"',  # the same key in another table
]


@pytest.mark.parametrize("text", READ_FAST)
def test_plain_lines_give_the_tomllib_document(text):
    assert read_simple_toml(text) == tomllib.loads(text)


BEYOND_THE_SUBSET = [
    "[t]\na = 1",  # a plain table
    "a.b = 1",  # a dotted key
    '"a" = 1',  # a quoted key
    "a = [1]",
    "a = 1.0",
    "a = +1",
    "a = 1_000",
    'a = "x\\ty"',  # an escape
    "[[t]] # a = b",
    'a = "x\\\\"',  # an escaped backslash
]


@pytest.mark.parametrize("text", BEYOND_THE_SUBSET)
def test_valid_toml_beyond_the_subset_is_left_to_tomllib(text):
    tomllib.loads(text)  # valid TOML
    assert read_simple_toml(text) is None


INVALID = [
    "a = 01",
    "a = 0X1F",
    "a = True",
    "[[t]]\na = 1\na = 2",  # a duplicate key
    "a = 1\n[[a]]",  # a key, then a table of that name
    'a = "\x01"',
    "# \x01",
    "a = 1\r",
    "a = 1\rb = 2",
    '\ufeffa = "x"',
    'a = "x" b',
    "[[t]]]",
    'a = "\x7f"',
    'a = "x"\na = "y"',  # a duplicate key, both on the str-method path
    ' = "x"',
    'a b = "x"',
    'a = "x"y"',
    'a = "',
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_toml_is_left_to_tomllib_to_reject(text):
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    assert read_simple_toml(text) is None


LINE_PARTS = st.sampled_from(
    ['a = "', 'b="', "a", " ", "\t", "=", '"', "#", "\\", "\x01", "\x7f", "é", "0f", "[[", "]]", "\r"]
)


@given(st.lists(st.lists(LINE_PARTS, max_size=8).map("".join), max_size=5).map("\n".join))
def test_any_text_reads_as_tomllib_reads_it_or_is_left_to_it(text):
    fast = read_simple_toml(text)
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assert fast is None
    else:
        assert fast is None or fast == expected
