"""The ``Registry`` type: one numbered protocol registry as data.

A ``Registry`` is a ``dict[int, str]`` (value -> full name, spelled as IANA / Wireshark spell it)
that also carries

* ``short``: short lower-case names for compact output (``3des``, ``sha1``, ``modp1024``), and
* ``ranges``: ``(low, high, label)`` tuples naming blocks of unassigned or private values.

Entries are written ``{5: "3DES-CBC"}`` or, with a short name, ``{5: ("3DES-CBC", "3des")}``.
``name(table, value)`` never fails: an unlisted value gives its range label
(``"private use (9101)"``) or ``"UNKNOWN (123)"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Entry = str | tuple[str, str]


class Registry(dict[int, str]):
    """Numbered names: ``registry[value]`` is the full name; see module docstring."""

    def __init__(
        self,
        title: str,
        entries: Mapping[int, Entry],
        ranges: Iterable[tuple[int, int, str]] = (),
    ) -> None:
        names: dict[int, str] = {}
        short: dict[int, str] = {}
        for value, entry in entries.items():
            if isinstance(entry, tuple):
                names[value], short[value] = entry
            else:
                names[value] = entry
        super().__init__(names)
        self.title = title
        self.short: dict[int, str] = short
        self.ranges: tuple[tuple[int, int, str], ...] = tuple(ranges)

    def range_label(self, value: int) -> str | None:
        for low, high, label in self.ranges:
            if low <= value <= high:
                return label
        return None

    def name(self, value: int) -> str:
        """Full name, or the range label / ``UNKNOWN`` with the number in parentheses."""
        known = self.get(value)
        if known is not None:
            return known
        label = self.range_label(value)
        return f"{label} ({value})" if label else f"UNKNOWN ({value})"

    def short_name(self, value: int) -> str:
        """Short name where one is defined, else the full name (or range / unknown text)."""
        return self.short.get(value) or self.name(value)

    def value_of(self, text: str) -> int | None:
        """Reverse lookup by full or short name (case-insensitive); ``None`` when unknown."""
        wanted = text.lower()
        for value, full in self.items():
            if full.lower() == wanted or self.short.get(value, "").lower() == wanted:
                return value
        return None

    def __repr__(self) -> str:
        return f"Registry({self.title!r}, {len(self)} entries)"


def name(table: Mapping[int, str], value: int) -> str:
    """Name of ``value`` in ``table`` (a ``Registry`` or a plain ``dict[int, str]``)."""
    if isinstance(table, Registry):
        return table.name(value)
    known = table.get(value)
    return known if known is not None else f"UNKNOWN ({value})"


def short_name(table: Mapping[int, str], value: int) -> str:
    """Short name of ``value`` where the table has one, else ``name(table, value)``."""
    if isinstance(table, Registry):
        return table.short_name(value)
    return name(table, value)
