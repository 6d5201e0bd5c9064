"""``--format timeline``: each IKE SA's and IPsec SA's story in time order (analysis/timeline.py)."""

from __future__ import annotations

from tabulate import tabulate

from ikedecode.analysis.report import Report
from ikedecode.analysis.timeline import build_timeline
from ikedecode.analysis.timeline_records import ChildSaTimeline, IkeSaTimeline, Timeline
from ikedecode.render.clock import utc_moment
from ikedecode.render.fit import column_widths, fits, records, terminal_width, wrap, wrap_cells


def clock(time: float | None) -> str:
    """Capture-clock time as UTC ``HH:MM:SS.mmm``."""
    if time is None:
        return "-"
    return utc_moment(time).strftime("%H:%M:%S.%f")[:-3]


def relative(time: float | None, start: float) -> str:
    return "-" if time is None else f"+{time - start:.3f}"


def render_timeline(report: Report, *, show_keys: bool = False, width: int | None = None) -> str:
    """The timeline as text fitting ``width`` columns (default: the terminal's); ``show_keys`` is
    accepted for symmetry (no key material is shown)."""
    return timeline_text(build_timeline(report), report.capture_name, width or terminal_width())


def timeline_text(timeline: Timeline, name: str, width: int | None = None) -> str:
    columns = width or terminal_width()
    out: list[str] = []
    start, end = timeline.capture_start, timeline.capture_end
    if start is None or end is None:
        return f"Timeline of {name}: the capture holds no packets.\n"
    day = utc_moment(start).strftime("%Y-%m-%d")
    out.extend(
        wrap(
            f"Timeline of {name}: {day} {clock(start)} to {clock(end)} UTC ({end - start:.3f} s)",
            columns,
            "  ",
            "",
        )
    )
    out.append("")
    if not timeline.ike_sas and not timeline.unattached:
        out.append("No IKE SA and no IPsec SA in this capture.")
    out.extend(ikev2_chains(timeline.ike_sas))
    for n, ike in enumerate(timeline.ike_sas, 1):
        out.extend(_ike_sa_section(n, ike, columns))
    if timeline.unattached:
        out.append("IPsec SAs without an IKE negotiation in the capture")
        for child in timeline.unattached:
            out.extend(_child_section(child, start, columns))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def ikev2_chains(sas: list[IkeSaTimeline]) -> list[str]:
    """IKEv2 IKE SAs replaced by rekeying (RFC 7296 2.18): ``#1 a/b -> #2 c/d -> #3 e/f``."""
    number = {ike.cookies: n for n, ike in enumerate(sas, 1)}
    by_cookies = {ike.cookies: ike for ike in sas}
    out: list[str] = []
    for ike in sas:
        if ike.version != 2 or ike.rekeyed_from in by_cookies or not ike.rekeyed_into:
            continue
        chain, seen = [ike], {ike.cookies}
        while chain[-1].rekeyed_into and chain[-1].rekeyed_into[0] in by_cookies:
            nxt = by_cookies[chain[-1].rekeyed_into[0]]
            if nxt.cookies in seen:
                break
            chain.append(nxt)
            seen.add(nxt.cookies)
        out.append("IKE SA chain (IKEv2 rekeys, old -> new SPIs):")
        for k, link in enumerate(chain):
            made = _rekeyed_at(chain[k - 1], link.cookies) if k else None
            when = f"rekeyed in at {clock(made or link.start)}" if k else f"from {clock(link.start)}"
            out.append(f"  {'-> ' if k else '   '}IKE SA #{number[link.cookies]} {link.cookies} ({when})")
        out.append("")
    return out


def _rekeyed_at(old: IkeSaTimeline, new: str) -> float | None:
    return next((e.time for e in old.events if e.details.get("new_ike_sa") == new), None)


def _ike_sa_section(n: int, ike: IkeSaTimeline, width: int) -> list[str]:
    head = f"IKE SA #{n} {ike.cookies}: {ike.initiator} (initiator) <-> {ike.responder} (responder)"
    if ike.version == 2:
        head += ", IKEv2"
    elif ike.exchange:
        head += f", {ike.exchange} mode"
    out = wrap(head, width, indent="  ", first="")
    facts = []
    if ike.version == 2:
        if ike.rekeyed_from:
            facts.append(f"rekeyed from IKE SA {ike.rekeyed_from}")
        if ike.phase1_complete is not None:
            facts.append(f"established at {relative(ike.phase1_complete, ike.start)} s")
        else:
            facts.append("never established")
        facts.extend(f"rekeyed into IKE SA {into}" for into in ike.rekeyed_into)
    elif ike.phase1_complete is not None:
        facts.append(f"phase 1 complete at {relative(ike.phase1_complete, ike.start)} s")
    else:
        facts.append("phase 1 not complete")
    if ike.lifetime_seconds is not None:
        facts.append(f"lifetime {ike.lifetime_seconds} s")
    if ike.lifetime_kilobytes is not None:
        facts.append(f"lifetime {ike.lifetime_kilobytes} KB")
    out.extend(wrap("; ".join(facts), width, indent="  "))
    rows = [
        [clock(e.time), relative(e.time, ike.start), "" if e.frame is None else e.frame, e.text]
        for e in ike.events
    ]
    headers = ["time (UTC)", "+s", "frame", "event"]
    widths = column_widths(rows, headers, width - 2, [3])  # the event column wraps (2: the indent)
    if any(w is not None for w in widths):
        rows = wrap_cells(rows, widths)
    table = tabulate(rows, headers=headers, disable_numparse=True)
    out.extend("  " + line for line in table.splitlines())
    out.append("")
    if ike.children:
        out.append(f"  {'Child SAs' if ike.version == 2 else 'IPsec SAs'} of IKE SA #{n}")
        names = {c.message_id: c.name for c in ike.children}
        for child in ike.children:
            section = _child_section(child, ike.start, width - 2, names)
            out.extend("  " + line if line else line for line in section)
    return out


def _child_section(
    child: ChildSaTimeline, start: float, width: int, names: dict[int | None, str] | None = None
) -> list[str]:
    head = f"{child.name}"
    if child.initiated_by:
        head += f" (started by {child.initiated_by})"
    facts = []
    if child.complete and child.created is not None:
        facts.append(f"created at {relative(child.created, start)} s (frame {child.created_frame})")
    elif child.message_id is not None:
        facts.append("never completed")
    if child.transform:
        facts.append(child.transform)
    if child.proxies:
        facts.append(f"proxies {child.proxies[0]} <-> {child.proxies[1]}")
    if child.lifetime_seconds is not None:
        facts.append(f"lifetime {child.lifetime_seconds} s (ends {relative(child.expires, start)} s)")
    out = wrap(head + (": " + ", ".join(facts) if facts else ""), width, "  ", "")
    if child.directions:
        all_keyed = all(d.keys_known for d in child.directions)
        garbled = any(d.garbled for d in child.directions)  # a column only then (text.py)
        rows = [
            [
                f"{d.src or '*'} -> {d.dst or '*'}",
                d.label,
                d.packets,
                d.bytes,
                relative(d.first_seen, start),
                relative(d.last_seen, start),
                d.icv_failed,
                *([d.garbled] if garbled else []),
                d.gaps,
            ]
            + ([] if all_keyed else ["" if d.keys_known else "no keys"])
            for d in child.directions
        ]
        headers = ["direction", "SPI", "packets", "bytes", "first +s", "last +s", "ICV fail"]
        headers += ["garbled", "gaps"] if garbled else ["gaps"]
        headers += [] if all_keyed else ["keys"]
        if fits([None] * len(headers), rows, headers, width - 2):
            table = tabulate(rows, headers=headers, disable_numparse=True)
        else:  # one block per direction
            table = records(rows, headers, width - 2, title_columns=2)
        out.extend("  " + line for line in table.splitlines())
    names = names or {}
    if child.replaces:
        out.append("  replaces " + ", ".join(names.get(m, f"quick mode 0x{m:08x}") for m in child.replaces))
    if child.replaced_by:
        out.append(
            "  replaced by " + ", ".join(names.get(m, f"quick mode 0x{m:08x}") for m in child.replaced_by)
        )
    for d in child.deletes:
        spis = ", ".join(f"0x{s}" for s in d.spis)
        out.append(
            f"  deleted by {d.sender} ({d.role or 'peer'}) at {relative(d.time, start)} s, frame {d.frame}, "
            f"{d.protocol} SPI {spis}"
        )
    out.append("")
    return out
