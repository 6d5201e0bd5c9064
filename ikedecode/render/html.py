"""``--format html``: the annotated report as one self-contained HTML file.

Same content as ``--format markdown`` (summary, per IKE SA a ladder diagram, every message with
its payloads and a sentence, IPsec SAs, findings); the ladder is inline SVG, the style inline CSS.
No script and no external resource: the file opens offline and can be mailed as it is.
"""

from __future__ import annotations

from html import escape

from ikedecode import __version__
from ikedecode.analysis.report import Report
from ikedecode.analysis.timeline_records import ChildSaTimeline
from ikedecode.render.ladder import INITIATOR, Arrow, Ladder, Note, build_ladder
from ikedecode.render.markdown import (
    MAX_LADDER_ITEMS,
    PROBLEM,
    DocumentSummary,
    SaSummary,
    came_up_text,
    document_summary,
)
from ikedecode.render.sources import source_lines, sources_heading

STYLE = """
body { font: 15px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d232a;
       margin: 0 auto; max-width: 1080px; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; border-bottom: 2px solid #d9e2ec; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; color: #334e68; }
.meta, .facts { color: #52606d; font-size: 13px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f0f4f8;
       padding: 1px 4px; border-radius: 3px; }
.verdict { font-size: 18px; font-weight: 600; padding: 10px 14px; border-radius: 6px; margin: 8px 0 12px; }
.verdict.ok { background: #e3f9e5; color: #0e5814; border-left: 5px solid #31b237; }
.verdict.bad { background: #ffe3e3; color: #8a041a; border-left: 5px solid #e12d39; }
.verdict.partly { background: #fff3c4; color: #8d2b0b; border-left: 5px solid #f0b429; }
.verdict.info { background: #f0f4f8; color: #334e68; border-left: 5px solid #9fb3c8; }
.top { margin: 4px 0 12px; }
.keys { margin: 4px 0 12px; color: #8d2b0b; }
.summary li { margin: 4px 0; }
.problem { color: #8a041a; }
.note { color: #8d2b0b; }
ol.messages { padding-left: 0; list-style: none; }
ol.messages > li { border-left: 3px solid #9fb3c8; padding: 4px 10px; margin: 8px 0; background: #f8fafc; }
ol.messages > li.retransmission { border-left-color: #f0b429; }
ol.messages > li.unreadable { border-left-color: #e12d39; }
.label { font-weight: 700; font-family: ui-monospace, Menlo, Consolas, monospace; }
ul.payloads { margin: 2px 0 2px 18px; padding: 0; font: 12.5px ui-monospace, Menlo, Consolas, monospace;
              color: #334e68; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 12px; }
th, td { border: 1px solid #d9e2ec; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev-error { color: #8a041a; font-weight: 700; }
.sev-warning { color: #8d2b0b; font-weight: 700; }
.sev-info { color: #334e68; }
svg.ladder { display: block; margin: 6px 0 10px; max-width: 100%; height: auto; }
footer { margin-top: 40px; color: #829ab1; font-size: 12px; }
"""

# ladder geometry (SVG user units)
WIDTH, TIME_X, LEFT_X, RIGHT_X = 980, 8, 250, 900
TOP, ROW, HEAD = 70, 30, 40
MAX_LABEL = 92
COLOURS = {"ike": "#1f4e79", "retransmission": "#cb6e17", "unreadable": "#c81e1e", "esp": "#207a3c"}


def render_html(report: Report, *, show_keys: bool = False) -> str:
    """The HTML report; ``show_keys`` is accepted for symmetry (no key material is written)."""
    doc = document_summary(report)
    e = escape
    body: list[str] = [
        "<header>",
        f"<h1>IKE/IPsec report: {e(doc.capture)}</h1>",
        f'<p class="meta">{e(doc.counts)}; {e(doc.span)}</p>',
        *_sources(report),
        "</header>",
        '<section class="summary">',
        "<h2>Summary</h2>",
        f'<p class="verdict {_verdict_class(doc)}">Verdict: {e(doc.verdict)}</p>',
        _top_html(doc),
        *_keys_html(doc),
        "<ul>",
    ]
    for s in doc.sas:
        body.append(f"<li><b>IKE SA {s.number}</b>, {e(s.peers)}: {e(s.negotiated)}.<ul>")
        body.append(f"<li>{came_up_text(s)}: {e(s.outcome)}.</li>")
        for kind, problem in s.problems:
            css = "problem" if kind == PROBLEM else "note"
            body.append(f'<li class="{css}">{e(kind)}: {e(problem)}</li>')
        body.append("</ul></li>")
    body.append(
        f"<li>Findings: {len(doc.findings) or 'none'}{' (listed at the end)' if doc.findings else ''}.</li>"
    )
    body.append("</ul></section>")
    for s in doc.sas:
        body.extend(_sa_section(s))
    if doc.timeline.unattached:
        body.append("<section><h2>IPsec SAs without an IKE negotiation in the capture</h2>")
        body.extend(_child_table(doc.timeline.unattached, doc.timeline.capture_start or 0.0))
        body.append("</section>")
    body.append("<section><h2>Findings</h2>")
    if doc.findings:
        body.append("<table><tr><th>severity</th><th>code</th><th>finding</th><th>what to check</th></tr>")
        for f in doc.findings:
            body.append(
                f'<tr><td class="sev-{e(f.severity.value)}">{e(f.severity.value)}</td>'
                f"<td><code>{e(f.code)}</code></td><td>{e(f.message)}</td><td>{e(f.hint)}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append("<p>None.</p>")
    body.append("</section>")
    body.append(f"<footer>Made by ikedecode {e(__version__)}. Times are UTC (capture clock).</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>IKE/IPsec report: {e(doc.capture)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _sources(report: Report) -> list[str]:
    """The input files of a merged report (nothing for a single file)."""
    heading = sources_heading(report)
    if heading is None:
        return []
    intro = escape(heading).replace("`mergecap -w merged.pcapng`", "<code>mergecap -w merged.pcapng</code>")
    items = "".join(f"<li>{escape(line)}</li>" for line in source_lines(report))
    return [f'<p class="meta">{intro}</p>', f'<ul class="meta sources">{items}</ul>']


def _verdict_class(doc: DocumentSummary) -> str:
    outcome = doc.capture_verdict.outcome.value if doc.capture_verdict else "down"
    return {"up": "ok", "partly": "partly", "unknown": "info", "none": "info"}.get(outcome, "bad")


def _top_html(doc: DocumentSummary) -> str:
    top = doc.capture_verdict.finding if doc.capture_verdict else None
    if top is None:
        return '<p class="top"><b>Top finding:</b> none.</p>'
    frames = f" ({escape(top.frames_text)})" if top.frames_text and "frame" not in top.message else ""
    return (
        f'<p class="top"><b>Top finding:</b> <span class="sev-{escape(top.severity.value)}">'
        f"{escape(top.severity.value)}</span> <code>{escape(top.code)}</code>: "
        f"{escape(top.message)}{frames}</p>"
    )


def _keys_html(doc: DocumentSummary) -> list[str]:
    line = doc.capture_verdict.key_line if doc.capture_verdict else ""
    return [f'<p class="keys"><b>Keys:</b> {escape(line)}</p>'] if line else []


def _sa_section(s: SaSummary) -> list[str]:
    e = escape
    sa, t = s.sa, s.timeline
    facts = [f"cookies <code>{e(sa.cookies)}</code>", e(s.negotiated)]
    if sa.identities:
        facts.append(
            "identities " + ", ".join(f"{e(role)} {e(text)}" for role, text in sa.identities.items())
        )
    if sa.keys is not None:
        origins = [o for o in (sa.keys.psk_origin, sa.keys.dh_origin, sa.keys.key_origin) if o]
        facts.append("keys from " + e(" + ".join(origins)))
    ladder = build_ladder(sa, t)
    out = [
        f'<section class="sa" id="sa{s.number}">',
        f"<h2>IKE SA {s.number}: {e(sa.initiator)} and {e(sa.responder)}</h2>",
        f'<p class="facts">{"; ".join(facts)}.</p>',
        "<h3>Ladder</h3>",
        ladder_svg(ladder, f"sa{s.number}"),
        "<h3>Messages</h3>",
        '<ol class="messages">',
    ]
    for item in ladder.items:
        if not isinstance(item, Arrow) or item.kind == "esp":
            continue
        direction = "initiator → responder" if item.source == INITIATOR else "responder → initiator"
        out.append(
            f'<li class="{e(item.kind)}"><span class="label">{e(item.label)}</span> '
            f'<span class="meta">frame {item.frame} · +{item.offset:.3f} s · {direction}</span>'
            f"<div>{e(item.sentence)}</div>"
        )
        lines = list(item.payloads)
        if item.kind == "unreadable" and not lines:
            lines.append("encrypted: the keys given do not decrypt it")
        if lines:
            out.append('<ul class="payloads">' + "".join(f"<li>{e(x)}</li>" for x in lines) + "</ul>")
        out.append("</li>")
    out.append("</ol>")
    if t.children:
        out.append("<h3>IPsec SAs</h3>")
        out.extend(_child_table(t.children, t.start))
    out.append("</section>")
    return out


def _child_table(children: list[ChildSaTimeline], start: float) -> list[str]:
    e = escape
    # a garbled column only when some SA has garbled packets, as in the text report (text.py)
    garbled = any(d.garbled for child in children for d in child.directions)
    out = [
        "<table><tr><th>SA</th><th>direction</th><th>SPI</th><th>transform</th><th>packets</th><th>bytes</th>"
        "<th>first</th><th>last</th><th>ICV fail</th>"
        + ("<th>garbled</th>" if garbled else "")
        + "<th>gaps</th><th>fate</th></tr>"
    ]
    for child in children:
        fate = []
        if child.replaced_by:
            fate.append("replaced by " + ", ".join(f"0x{m:08x}" for m in child.replaced_by))
        fate += [f"deleted by {d.sender} at +{d.time - start:.3f} s" for d in child.deletes]
        if not child.complete and child.message_id is not None:
            fate.append("quick mode not completed")
        for d in child.directions:
            first = "-" if d.first_seen is None else f"+{d.first_seen - start:.3f}"
            last = "-" if d.last_seen is None else f"+{d.last_seen - start:.3f}"
            out.append(
                f"<tr><td>{e(child.name)}</td><td>{e(f'{d.src} → {d.dst}')}</td>"
                f"<td><code>0x{d.spi:08x}</code></td>"
                f"<td>{e(child.transform)}</td><td class=num>{d.packets}</td><td class=num>{d.bytes}</td>"
                f"<td class=num>{first}</td><td class=num>{last}</td><td class=num>{d.icv_failed}</td>"
                + (f"<td class=num>{d.garbled}</td>" if garbled else "")
                + f"<td class=num>{d.gaps}</td><td>{e('; '.join(fate))}</td></tr>"
            )
        if not child.directions:
            out.append(
                f"<tr><td>{e(child.name)}</td><td colspan={10 if garbled else 9}>SPIs unknown</td>"
                f"<td>{e('; '.join(fate))}</td></tr>"
            )
    out.append("</table>")
    return out


def ladder_svg(ladder: Ladder, prefix: str) -> str:
    """The ladder as inline SVG: two lifelines, one row per arrow or note, times on the left."""
    e = escape
    items = ladder.items[:MAX_LADDER_ITEMS]
    height = TOP + ROW * (len(items) + 1) + (ROW if len(ladder.items) > len(items) else 0)
    out = [
        f'<svg class="ladder" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12" '
        f'role="img" aria-label="ladder diagram of {e(ladder.title)}">',
        "<defs>",
    ]
    for kind, colour in COLOURS.items():
        out.append(
            f'<marker id="{prefix}-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
            f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    for x, name, address in (
        (LEFT_X, "Initiator", ladder.initiator),
        (RIGHT_X, "Responder", ladder.responder),
    ):
        out.append(
            f'<rect x="{x - 80}" y="8" width="160" height="{HEAD}" rx="5" fill="#f0f4f8" stroke="#627d98"/>'
        )
        out.append(f'<text x="{x}" y="24" text-anchor="middle" font-weight="bold">{name}</text>')
        out.append(f'<text x="{x}" y="40" text-anchor="middle">{e(address)}</text>')
        out.append(
            f'<line x1="{x}" y1="{8 + HEAD}" x2="{x}" y2="{height - 6}" stroke="#9fb3c8" stroke-width="2"/>'
        )
    out.append(f'<text x="{TIME_X}" y="{TOP - 8}" fill="#52606d" font-size="11">seconds</text>')
    for row, item in enumerate(items):
        y = TOP + ROW * row + ROW // 2
        out.append(f'<text x="{TIME_X}" y="{y + 4}" fill="#52606d" font-size="11">+{item.offset:.3f}</text>')
        out.append(_note(item, y) if isinstance(item, Note) else _arrow(item, y, prefix))
    if len(ladder.items) > len(items):
        y = TOP + ROW * len(items) + ROW // 2
        out.append(
            f'<text x="{(LEFT_X + RIGHT_X) // 2}" y="{y}" text-anchor="middle" fill="#52606d">'
            f"{len(ladder.items) - len(items)} more events not drawn</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def _note(note: Note, y: int) -> str:
    text = escape(note.text if len(note.text) <= MAX_LABEL else note.text[: MAX_LABEL - 1] + "…")
    return (
        f'<rect x="{LEFT_X - 30}" y="{y - 10}" width="{RIGHT_X - LEFT_X + 60}" height="20" rx="4" '
        f'fill="#fff8c5" stroke="#e0c45c"/>'
        f'<text x="{(LEFT_X + RIGHT_X) // 2}" y="{y + 4}" text-anchor="middle" fill="#5c4813">{text}</text>'
    )


def _arrow(arrow: Arrow, y: int, prefix: str) -> str:
    colour = COLOURS.get(arrow.kind, COLOURS["ike"])
    x1, x2 = (LEFT_X, RIGHT_X) if arrow.source == INITIATOR else (RIGHT_X, LEFT_X)
    dash = ' stroke-dasharray="6 4"' if arrow.kind == "retransmission" else ""
    dash = ' stroke-dasharray="2 3"' if arrow.kind == "esp" else dash
    width = 2.5 if arrow.kind == "esp" else 1.6
    label = arrow.text if len(arrow.text) <= MAX_LABEL else arrow.text[: MAX_LABEL - 1] + "…"
    cross = ""
    if arrow.kind == "unreadable":
        cx = x2 + (14 if x2 < x1 else -14)
        cross = f'<path d="M{cx - 5},{y + 3} l10,10 m0,-10 l-10,10" stroke="{colour}" stroke-width="2"/>'
    return (
        f"<g><title>{escape(arrow.text)}{(' - ' + escape(arrow.sentence)) if arrow.sentence else ''}</title>"
        f'<line x1="{x1}" y1="{y + 8}" x2="{x2}" y2="{y + 8}" stroke="{colour}" stroke-width="{width}"{dash} '
        f'marker-end="url(#{prefix}-{arrow.kind})"/>'
        f'<text x="{(LEFT_X + RIGHT_X) // 2}" y="{y + 2}" text-anchor="middle" fill="{colour}">'
        f"{escape(label)}</text>"
        f"{cross}</g>"
    )
