"""``json.dumps(value, indent=N, default=...)``, byte for byte, written to a stream as it goes.

The standard library encodes with its C accelerator only when there is no indentation; with
``indent`` it falls back to a pure-Python generator per nesting level, which spent about 20 s
on the 390 MB report of 10,000 IKE SAs (docs/performance.md, "IKE at scale"). This writer gives
the same text much faster:

* a container whose values are all plain scalars (``str``, ``int``, ``float``, ``bool``,
  ``None``: most of a report, e.g. every SA attribute) is encoded by one call of the C encoder,
  whose item separator carries the indentation of that depth;
* the other containers are walked here, with the standard library's rules: ``isinstance`` checks
  in its order, keys converted as it converts them, ``default`` for anything else;
* a list can be given as ``Lazy(iterable)``: its items are made while the text is written, and
  the text is handed to the stream after each item, so a report is never held whole in memory,
  neither as dicts nor as text.

tests/render/test_json_writer.py compares the output with ``json.dumps`` on random documents and
on the real captures.
"""

from __future__ import annotations

import json.encoder
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Deferred", "Encoded", "Lazy", "dumps", "write"]

_encode_str: Callable[[str], str] = json.encoder.encode_basestring_ascii  # ensure_ascii=True
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # None without the C accelerator
_PLAIN = frozenset({str, int, float, bool, type(None)})
_INT_REPR = int.__repr__
_FLOAT_REPR = float.__repr__
_FLUSH_PARTS = 4096  # pieces of text gathered before a Lazy list hands them to the sink


class Lazy:
    """A list whose items are produced while it is written (an iterable, consumed once)."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


class Encoded:
    """A value's text, already encoded at the nesting level where it is written."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Deferred:
    """A value made only when the writer reaches it (``make()``), e.g. after the lists before it."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _float(value: float) -> str:
    """As ``json.encoder`` writes a float with ``allow_nan=True``."""
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return _FLOAT_REPR(value)


def _scalar(value: Any) -> str:
    """One value of a type in ``_PLAIN`` (exact types)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return _INT_REPR(value)
    if kind is float:
        return _float(value)
    if value is None:
        return "null"
    return "true" if value else "false"


def _key(key: Any) -> str:
    """A dict key as ``json.encoder`` converts it (``skipkeys=False``)."""
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return _INT_REPR(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


class _Encoder:
    """Appends the text of values to ``self.parts``; ``flush`` hands it to ``self.sink``."""

    def __init__(self, indent: int, default: Callable[[Any], Any], sink: Callable[[str], object]) -> None:
        self.step = " " * indent
        self.default = default
        self.sink = sink
        self.parts: list[str] = []
        self.newlines: list[str] = []  # per level: "\n" and its indentation
        self.flat: list[Callable[[Any, int], Any] | None] = []  # per level: C encoder of plain items
        self._grow(8)

    def _grow(self, level: int) -> None:
        """Make ``newlines`` and ``flat`` reach ``level``."""
        while len(self.newlines) <= level:
            newline = "\n" + self.step * len(self.newlines)
            self.newlines.append(newline)
            self.flat.append(
                None
                if _c_make_encoder is None
                else _c_make_encoder(
                    None, self.default, _encode_str, None, ": ", "," + newline, False, False, True
                )
            )

    def flush(self) -> None:
        if self.parts:
            self.sink("".join(self.parts))
            self.parts.clear()

    def value(self, value: Any, level: int) -> None:
        """``value`` at nesting ``level`` (its first line is already indented)."""
        append = self.parts.append
        if isinstance(value, str):
            append(_encode_str(value))
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif isinstance(value, int):
            append(_INT_REPR(value))
        elif isinstance(value, float):
            append(_float(value))
        elif isinstance(value, list | tuple):
            self.sequence(value, level)
        elif isinstance(value, dict):
            self.mapping(value, level)
        elif isinstance(value, Lazy):
            self.lazy(value.items, level)
        elif isinstance(value, Encoded):
            append(value.text)
        elif isinstance(value, Deferred):
            self.value(value.make(), level)
        else:
            self.value(self.default(value), level)

    def sequence(self, items: list[Any] | tuple[Any, ...], level: int) -> None:
        append = self.parts.append
        if not items:
            append("[]")
            return
        inner = level + 1
        if inner >= len(self.newlines):
            self._grow(inner)
        newlines = self.newlines
        if self._all_plain(items, items, level, "[]"):
            return
        separator = "," + newlines[inner]
        append("[" + newlines[inner])
        first = True
        for item in items:
            if first:
                first = False
            else:
                append(separator)
            if type(item) in _PLAIN:
                append(_scalar(item))
            else:
                self.value(item, inner)
        append(newlines[level] + "]")

    def _all_plain(self, container: Any, values: Iterable[Any], level: int, brackets: str) -> bool:
        """A container whose values are all plain scalars, in one call of the C encoder (its item
        separator carries the indentation of ``level + 1``); False, writing nothing, otherwise."""
        encoder = self.flat[level + 1]
        if encoder is None or not _PLAIN.issuperset(map(type, values)):
            return False
        text = "".join(encoder(container, 0))
        newlines = self.newlines
        self.parts.append(brackets[0] + newlines[level + 1] + text[1:-1] + newlines[level] + brackets[1])
        return True

    def lazy(self, items: Iterable[Any], level: int) -> None:
        """A ``Lazy`` list: the text so far goes to the sink between items, once there is enough."""
        append = self.parts.append
        inner = level + 1
        if inner >= len(self.newlines):
            self._grow(inner)
        separator = "," + self.newlines[inner]
        first = True
        for item in items:
            if first:
                append("[" + self.newlines[inner])
                first = False
            else:
                append(separator)
            self.value(item, inner)
            if len(self.parts) >= _FLUSH_PARTS:
                self.flush()
        append("[]" if first else self.newlines[level] + "]")

    def mapping(self, mapping: dict[Any, Any], level: int) -> None:
        append = self.parts.append
        if not mapping:
            append("{}")
            return
        inner = level + 1
        if inner >= len(self.newlines):
            self._grow(inner)
        newlines = self.newlines
        if self._all_plain(mapping, mapping.values(), level, "{}"):
            return
        separator = "," + newlines[inner]
        first = True
        for key, item in mapping.items():
            head = _encode_str(key if type(key) is str else _key(key)) + ": "
            if first:
                append("{" + newlines[inner] + head)
                first = False
            else:
                append(separator + head)
            if type(item) in _PLAIN:
                append(_scalar(item))
            else:
                self.value(item, inner)
        append(newlines[level] + "}")


def _no_default(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def write(
    value: Any,
    sink: Callable[[str], object],
    *,
    indent: int = 2,
    default: Callable[[Any], Any] = _no_default,
    level: int = 0,
) -> None:
    """Hand ``json.dumps(value, indent=indent, default=default)`` to ``sink`` in pieces (``Lazy``
    lists and ``Deferred`` values are produced while writing and count as what they produce;
    ``Encoded`` text is written as it is). ``level``: the nesting at which ``value`` sits in a
    larger document (its inner lines are indented for it; its first line is not)."""
    encoder = _Encoder(indent, default, sink)
    encoder.value(value, level)
    encoder.flush()


def dumps(value: Any, *, indent: int = 2, default: Callable[[Any], Any] = _no_default, level: int = 0) -> str:
    """``json.dumps(value, indent=indent, default=default)``, as ``write`` writes it."""
    parts: list[str] = []
    write(value, parts.append, indent=indent, default=default, level=level)
    return "".join(parts)
