"""The input files of a merged report, one line each, for the text, Markdown and HTML renderers.

A report made from one file shows nothing here (its header already names the file); a report
made from several lists them in the order given, which is also the order ``mergecap`` needs to
number frames the same way.
"""

from __future__ import annotations

from ikedecode.analysis.report import Report
from ikedecode.capture.sources import CaptureSource
from ikedecode.render.clock import utc_moment


def _moment(time: float | None, with_date: bool) -> str:
    if time is None:
        return "-"
    moment = utc_moment(time)
    text = moment.strftime("%H:%M:%S.%f")[:-3]
    return f"{moment:%Y-%m-%d} {text}" if with_date else text


def source_line(source: CaptureSource) -> str:
    """``name: pcap (gzip), 14 frames, 2026-11-22 07:59:17.646 to 07:59:20.938 UTC[, truncated: ...]``."""
    kind = source.format + (" (gzip)" if source.compressed else "")
    if source.frames and source.first_time is not None and source.last_time is not None:
        same_day = utc_moment(source.first_time).date() == utc_moment(source.last_time).date()
        span = f", {_moment(source.first_time, True)} to {_moment(source.last_time, not same_day)} UTC"
    else:
        span = ""
    line = f"{source.name}: {kind}, {source.frames} frame{'' if source.frames == 1 else 's'}{span}"
    if source.truncated:
        line += f", truncated: {source.truncated}"
    return line


def sources_heading(report: Report) -> str | None:
    """The sentence introducing the file list; None when the report comes from a single file."""
    if len(report.sources) < 2:
        return None
    return (
        f"Merged from {len(report.sources)} files by capture time; frame numbers are those of "
        "`mergecap -w merged.pcapng` given the files in this order:"
    )


def source_lines(report: Report) -> list[str]:
    """One line per input file of a merged report; empty for a single file."""
    if len(report.sources) < 2:
        return []
    return [source_line(source) for source in report.sources]
