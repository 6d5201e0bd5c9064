"""Text that fits the terminal: the width to write for, paragraphs wrapped at word boundaries, and
tables whose text columns are narrowed (widest first) until the table fits.

Words, addresses and configuration commands are never split: text wraps at spaces only (never at
hyphens: "aggressive-mode" stays whole); only a single token longer than its whole column is cut.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

DEFAULT_WIDTH = 120  # written to a file or a pipe, without COLUMNS
MIN_WIDTH = 40
MIN_COLUMN = 8  # a text column is never narrowed below this
SEPARATOR = 2  # tabulate's "simple" format puts two spaces between columns
HEADER_PADDING = 2  # and makes each column at least its header plus two wide (tabulate.MIN_PADDING)


def terminal_width() -> int:
    """COLUMNS when set, else the terminal's width, else DEFAULT_WIDTH (a file or a pipe)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    try:
        if os.isatty(1):
            return max(os.get_terminal_size(1).columns, MIN_WIDTH)
    except OSError:
        pass
    return max(shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, MIN_WIDTH)


def wrap(text: str, width: int, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken at spaces only."""
    return textwrap.wrap(
        text,
        width=max(width, 1),
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=True,  # a single token longer than the whole line: nothing else fits
    ) or [first if first is not None else indent]


def _cell_width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _longest_token(rows: Sequence[Sequence[Any]], headers: Sequence[str], column: int) -> int:
    tokens = [
        len(t) for row in rows if column < len(row) for t in str(row[column]).replace("/", "/ ").split()
    ]
    return max([len(headers[column]) + HEADER_PADDING, *tokens])


def column_widths(
    rows: Sequence[Sequence[Any]], headers: Sequence[str], width: int, wrappable: Sequence[int]
) -> list[int | None]:
    """Per column, the width to wrap it to (None: leave it as it is) so that the table fits
    ``width``; only the ``wrappable`` columns are narrowed, the widest first."""
    natural = [len(h) + HEADER_PADDING for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            if i < len(natural):
                natural[i] = max(natural[i], _cell_width(str(cell)))
    target = list(natural)
    total = sum(target) + SEPARATOR * (len(target) - 1)
    floor = {i: min(natural[i], max(MIN_COLUMN, _longest_token(rows, headers, i))) for i in wrappable}
    while total > width:
        candidates = [i for i in wrappable if target[i] > floor[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: target[i])
        others = [target[i] for i in candidates if i != widest]
        step = max(1, min(total - width, target[widest] - max(others + [floor[widest]])))
        target[widest] -= step
        total -= step
    return [target[i] if i in wrappable and target[i] < natural[i] else None for i in range(len(natural))]


def wrap_cells(rows: list[list[Any]], widths: Sequence[int | None]) -> list[list[Any]]:
    """The rows with each narrowed column's text wrapped (each distinct text once)."""
    done: dict[tuple[str, int], str] = {}
    out = []
    for row in rows:
        new = list(row)
        for i, w in enumerate(widths):
            if w is None or i >= len(row):
                continue
            cell = str(row[i])
            key = (cell, w)
            text = done.get(key)
            if text is None:
                if len(cell) > w and " " not in cell:
                    cell = cell.replace("/", "/ ")  # a cookie pair or a path: wrap after a slash
                text = done[key] = "\n".join(
                    line for paragraph in cell.splitlines() for line in wrap(paragraph, w)
                )
            new[i] = text
        out.append(new)
    return out


def fits(
    widths: Sequence[int | None], rows: Sequence[Sequence[Any]], headers: Sequence[str], width: int
) -> bool:
    natural = [len(h) + HEADER_PADDING for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            if i < len(natural):
                natural[i] = max(natural[i], _cell_width(str(cell)))
    used = [w if w is not None else n for w, n in zip(widths, natural, strict=False)]
    return sum(used) + SEPARATOR * (len(used) - 1) <= width


def records(rows: Sequence[Sequence[Any]], headers: Sequence[str], width: int, title_columns: int = 1) -> str:
    """A table too wide for ``width`` as one block per row: the first ``title_columns`` cells as its
    title, the others as "header value" pairs wrapped under it."""
    out: list[str] = []
    for row in rows:
        title = "  ".join(str(c).replace("\n", " ") for c in row[:title_columns])
        pairs = [
            f"{h} {' '.join(str(c).split())}"
            for h, c in zip(headers[title_columns:], row[title_columns:], strict=False)
            if str(c).strip() not in ("", "-")
        ]
        out.extend(wrap("; ".join(pairs), width, indent="    ", first=title + "  "))
    return "\n".join(out)
