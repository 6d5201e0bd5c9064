"""The report formats (``--format``), their renderers imported on first use, and writing the
chosen one: streamed to the output as it is made (large JSON reports), or made whole, escaped for a
terminal, and printed or written through ``terminal.output``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ikedecode.terminal.output import UserError, create, echo_report, write_streamed

if TYPE_CHECKING:
    from ikedecode.analysis.report import Report

# format -> "module:function", imported when used: start-up pays only for the renderer it needs
RENDERERS: dict[str, Any] = {
    "text": "ikedecode.render.text:render_text",
    "json": "ikedecode.render.json_report:render_json",
    "cisco": "ikedecode.render.cisco.debug:render_cisco",
    "show": "ikedecode.render.show:render_show",
    "timeline": "ikedecode.render.timeline:render_timeline",
    "markdown": "ikedecode.render.markdown:render_markdown",
    "html": "ikedecode.render.html:render_html",
}
# formats written to the output as they are made (large reports)
STREAMED: dict[str, Any] = {"json": "ikedecode.render.json_report:write_json"}
# -o FILE picks the format from its extension unless --format is given
EXTENSION_FORMATS = {
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".txt": "text",
}
ON_EVERY_CORE = frozenset({"text", "json"})  # formats whose renderer takes map_in_order=
PERSPECTIVE_FORMATS = frozenset({"cisco", "show"})  # formats written from one peer's side (--as)


def loaded(table: dict[str, Any], fmt: str) -> Callable[..., Any]:
    """The renderer for ``fmt`` from ``table`` (imported on first use)."""
    entry = table[fmt]
    if isinstance(entry, str):
        module, name = entry.split(":")
        entry = table[fmt] = getattr(importlib.import_module(module), name)
    return entry


def write_report(
    report: Report, fmt: str, output: str | None, show_keys: bool, extra: dict[str, Any]
) -> None:
    """The report in ``fmt`` to ``output`` (a path; standard output when empty), with the
    renderer's ``extra`` options (``perspective``, ``map_in_order``)."""
    if fmt in STREAMED:
        write_streamed(
            output,
            lambda stream: loaded(STREAMED, fmt)(report, stream, show_keys=show_keys, **extra),
            secret=show_keys,
        )
    else:
        # wire text (peer IDs...) never drives the terminal: control characters escaped
        from ikedecode.render.escape import terminal_safe

        text = terminal_safe(loaded(RENDERERS, fmt)(report, show_keys=show_keys, **extra))
        if output:
            try:
                with create(output, show_keys) as stream:
                    stream.write(text)
            except OSError as exc:
                raise UserError(f"{output}: cannot write the report: {exc.strerror or exc}") from None
        else:
            echo_report(text, fmt)
