"""The plain TOML of big key files, read line by line without ``tomllib``.

A key file with the g^xy of 10,000 IKE SAs is 30,000 long hex strings; ``tomllib`` reads a basic
string one character at a time (0.5 s for such a file). The files ikedecode and the lab tools
write use a small part of TOML: comments, ``[[table]]`` headers and ``key = value`` lines whose
value is a basic string without escapes, a decimal or hex integer, or a boolean.
``read_simple_toml`` reads exactly that subset, giving the dict ``tomllib.loads`` gives, and
returns None for a text with anything else in it (an escape, an array, a dotted key, a duplicate
key, a line it does not recognise), which ``tomllib`` then reads, or rejects with its own message.
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


def read_simple_toml(text: str) -> dict[str, Any] | None:
    """``tomllib.loads(text)`` for the subset above, or None when ``text`` leaves it."""
    if text.endswith("\r"):
        return None  # a carriage return not ending a line
    doc: dict[str, Any] = {}
    table = doc  # where key = value lines go: the root, then the last [[table]] opened
    for line in text.split("\n"):
        if not line or _BLANK.fullmatch(line):
            continue
        if "=" not in line:
            header = _TABLE_ARRAY.fullmatch(line)
            if header is None:
                return None
            tables = doc.setdefault(header[1], [])
            if not isinstance(tables, list):
                return None  # the name is a key of the root already
            table = {}
            tables.append(table)
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
