"""The plain TOML of big key files, read line by line without ``tomllib``.

A key file with the g^xy of 10,000 IKE SAs is 30,000 long hex strings; ``tomllib`` reads a basic
string one character at a time (0.5 s for such a file). The files ikedecode and the lab tools
write use a small part of TOML: comments, ``[[table]]`` headers and ``key = value`` lines whose
value is a basic string without escapes, a decimal or hex integer, or a boolean.
``read_simple_toml`` reads exactly that subset, giving the dict ``tomllib.loads`` gives, and
returns None for a text with anything else in it (an escape, an array, a dotted key, a duplicate
key, a line it does not recognise), which ``tomllib`` then reads, or rejects with its own message.
The commonest line, ``key = "hex digits"``, is read with str methods instead of a regular
expression (whose step per character made it 3 of the 5 us an IKE SA's entry took).
"""

from __future__ import annotations

import re
from typing import Any

# TOML 1.0: whitespace is space and tab; a comment may hold any character but the ASCII controls
# other than tab; a basic string neither, nor '"' or '\' (an escape: left to tomllib).
_SPACE = r"[ \t]*"
_COMMENT = r"(?:#[^\x00-\x08\x0a-\x1f\x7f]*)?"
_BARE_KEY = r"[A-Za-z0-9_-]+"
_BLANK = re.compile(_SPACE + _COMMENT + r"\r?")
_TABLE_ARRAY = re.compile(
    _SPACE + r"\[\[" + _SPACE + f"({_BARE_KEY})" + _SPACE + r"\]\]" + _SPACE + _COMMENT + r"\r?"
)
_KEY_VALUE = re.compile(
    _SPACE
    + f"({_BARE_KEY})"
    + _SPACE
    + "="
    + _SPACE
    + r'(?:"([^"\\\x00-\x08\x0a-\x1f\x7f]*)"|(-?(?:0|[1-9][0-9]*))|0x([0-9A-Fa-f]+)|(true|false))'
    + _SPACE
    + _COMMENT
    + r"\r?"
)


_BARE_KEY_LINE = re.compile(_BARE_KEY)
# bytes a basic string may not hold (an escape is left to tomllib): what _KEY_VALUE's string excludes
_NOT_IN_STRINGS = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F]) + b'"\\'


def read_simple_toml(text: str) -> dict[str, Any] | None:
    """``tomllib.loads(text)`` for the subset above, or None when ``text`` leaves it."""
    if text.endswith("\r"):
        return None  # a carriage return not ending a line
    doc: dict[str, Any] = {}
    table = doc  # where key = value lines go: the root, then the last [[table]] opened
    bare_keys: set[str] = set()  # the keys of ``key = "string"`` lines found bare so far
    headers: dict[str, str] = {}  # [[table]] lines read so far -> the table's name
    for line in text.split("\n"):
        if not line:
            continue
        before, equals, rest = line.partition("=")
        if equals and rest[-1:] == '"' and line.isascii():
            # ``key = "string"``, the commonest line (hex values), read with str methods: what
            # _KEY_VALUE reads exactly, without its regular expression's step per character
            key = before.strip(" \t")
            string = rest.lstrip(" \t")
            value = string[1:-1]
            if (
                len(string) >= 2
                and string[0] == '"'
                and (key in bare_keys or _bare_key(key, bare_keys))
                and ((encoded := value.encode()).isalnum() or _plain_string(encoded))
            ):
                if key in table:
                    return None  # a duplicate key: tomllib says so
                table[key] = value
                continue
        if not equals:
            name = headers.get(line)  # a [[table]] line seen before
            if name is None:
                if _BLANK.fullmatch(line):
                    continue
                header = _TABLE_ARRAY.fullmatch(line)
                if header is None:
                    return None
                name = headers[line] = header[1]
            tables = doc.setdefault(name, [])
            if not isinstance(tables, list):
                return None  # the name is a key of the root already
            table = {}
            tables.append(table)
            continue
        if _BLANK.fullmatch(line):
            continue
        pair = _KEY_VALUE.fullmatch(line)
        if pair is None:
            return None
        key, string, decimal, hexadecimal, boolean = pair.groups()
        if key in table:
            return None  # a duplicate key: tomllib says so
        if string is not None:
            table[key] = string
        elif decimal is not None:
            table[key] = int(decimal)
        elif hexadecimal is not None:
            table[key] = int(hexadecimal, 16)
        else:
            table[key] = boolean == "true"
    return doc


def _bare_key(key: str, bare_keys: set[str]) -> bool:
    if _BARE_KEY_LINE.fullmatch(key) is None:
        return False
    bare_keys.add(key)
    return True


def _plain_string(value: bytes) -> bool:
    """Whether ASCII ``value`` may stand between the quotes of a basic string without an escape."""
    return len(value.translate(None, _NOT_IN_STRINGS)) == len(value)
