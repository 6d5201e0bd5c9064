"""The default report: readable tables of what the capture holds and what ikedecode made of it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from ikedecode.analysis.report import Report
from ikedecode.analysis.verdict import CaptureVerdict, verdict_of
from ikedecode.findings import Finding
from ikedecode.ike.records import IkeMessage, IkeSa, ProposalRecord, Protection
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.payloads import ConfigAttributePayload
from ikedecode.render.clock import utc_moment
from ikedecode.render.escape import printable
from ikedecode.render.fit import column_widths, fits, records, terminal_width, wrap, wrap_cells
from ikedecode.render.map_in_order import MapInOrder, in_this_process
from ikedecode.render.redact import REDACTED, SECRET_ATTRIBUTE_TYPES
from ikedecode.render.sources import source_lines, sources_heading

PROTECTION_TEXT = {
    Protection.CLEAR: "",
    Protection.VERIFIED: "decrypted, hash verified",
    Protection.DECRYPTED: "decrypted",
    Protection.HASH_MISMATCH: "decrypted, HASH DOES NOT VERIFY",
    Protection.UNDECRYPTABLE: "CANNOT DECRYPT",
    Protection.NO_KEYS: "encrypted (no keys)",
    Protection.MALFORMED: "MALFORMED",
}


IPSEC_LEGEND = (
    "verified: decrypted, ICV checked and correct; no ICV: decrypted by an SA with null integrity "
    "(nothing to check)"
)
# Only when some SA has garbled packets: the table is already too wide for 120 columns, and the
# column is 0 on every SA whose keys are right.
GARBLED_LEGEND = "; garbled: decrypted to noise, the plaintext checks failed (a wrong encryption key?)"


# A character that cannot appear in anything tabulate reads as a number: int() and float() take
# digits, white space, a sign, "_", ".", an exponent, "inf"/"infinity"/"nan"; its thousands
# pattern adds ",".
_NOT_IN_A_NUMBER = re.compile(r"[^\d\s+\-._,aefintyAEFINTY]")


def _text_columns(rows: Sequence[Sequence[Any]]) -> list[int]:
    """Columns tabulate would type as text anyway: one cell that is text and cannot be read as a
    number or a boolean makes the whole column text. Passed as ``disable_numparse``, they skip
    tabulate's number parsing of every cell (a third of its time) without changing its output."""
    if not rows:
        return []
    rows = [row for row in rows if not _separating_line(row)]  # tabulate drops these first
    if not rows:
        return []
    out = []
    for column in range(len(rows[0])):
        for row in rows:
            cell = row[column]
            if (
                type(cell) is str
                and cell not in ("True", "False")
                and "\x1b" not in cell  # tabulate strips colour codes before typing a cell
                and _NOT_IN_A_NUMBER.search(cell)
            ):
                out.append(column)
                break
    return out


def _separating_line(row: Sequence[Any]) -> bool:
    """tabulate's SEPARATING_LINE marker ("\x01" as the first or second cell): a rule, not data."""
    return bool(row) and (row[0] == "\x01" or (len(row) >= 2 and row[1] == "\x01"))


def _table(rows: list[list[Any]], headers: list[str], **options: Any) -> str:
    """``tabulate(rows, headers=headers, **options)``, with number parsing skipped where it
    cannot change the output (``_text_columns``)."""
    return tabulate(rows, headers=headers, disable_numparse=_text_columns(rows), **options)


def fitted_table(
    rows: list[list[Any]], headers: list[str], width: int, wrappable: list[int], title_columns: int = 1
) -> str:
    """A table that fits ``width``: text columns wrapped at spaces, or, when even that is too wide,
    one block per row (``fit.records``)."""
    widths = column_widths(rows, headers, width, wrappable)
    if not fits(widths, rows, headers, width):
        return records(rows, headers, width, title_columns)
    if any(w is not None for w in widths):
        rows = wrap_cells(rows, widths)
    return _table(rows, headers)


TOP_FINDING_LINES = 4  # the first screen keeps room for the tables


def verdict_lines(verdict: CaptureVerdict, width: int) -> list[str]:
    """The verdict, the top finding (what to check) and the key material, wrapped to ``width``."""
    out = wrap(verdict.line, width, indent="  ", first="Verdict: ")
    top = verdict.finding
    if top is not None:
        text = wrap(
            f"{top.severity.value} {top.code}: {top.message}", width, indent="  ", first="Top finding: "
        )
        if len(text) > TOP_FINDING_LINES:
            text = text[: TOP_FINDING_LINES - 1] + wrap(
                "(the whole finding is under Findings)", width, indent="  "
            )
        out.extend(text)
    else:
        out.append("Top finding: none")
    if verdict.key_line:
        out.extend(wrap(verdict.key_line, width, indent="  ", first="Keys: "))
    return out


def render_text(
    report: Report,
    *,
    show_keys: bool = False,
    verbose: bool = True,
    map_in_order: MapInOrder | None = None,
    width: int | None = None,
) -> str:
    """The report as tables fitting ``width`` columns (default: the terminal's, ``fit.terminal_width``);
    ``map_in_order`` makes the per-SA sections (same text whoever makes them: other processes, while
    this one makes the other tables, or this one)."""
    sas = report.ike_sas
    columns = width or terminal_width()

    def section(index: int) -> str:
        return "\n".join(_sa_detail(index + 1, sas[index], show_keys, columns))

    sections = (map_in_order or in_this_process)(section, len(sas)) if verbose else iter(())
    out: list[str] = []
    s = report.stats
    out.extend(
        wrap(
            f"Capture {report.capture_name}: {s.packets} packets — IKE {s.ike}, ESP {s.esp}, AH {s.ah}, "
            f"other {s.other}, malformed {s.malformed}",
            columns,
            indent="  ",
            first="",
        )
    )
    out.extend(verdict_lines(verdict_of(report), columns))
    if s.nat_keepalives:
        out.append(f"  ({s.nat_keepalives} NAT-T keepalives counted as IKE)")
    if s.truncated:
        out.append(f"  file truncated: {s.truncated}")
    heading = sources_heading(report)
    if heading:
        out.extend(wrap(heading.replace("`", ""), columns, indent="    ", first="  "))
        out.extend(f"    {line}" for line in source_lines(report))
    out.append("")
    if report.ike_sas:
        out.append("IKE SAs")
        out.append(
            fitted_table(
                [_sa_row(i, sa) for i, sa in enumerate(report.ike_sas, 1)],
                [
                    "#",
                    "initiator",
                    "responder",
                    "cookies (I/R)",
                    "mode",
                    "proposal",
                    "auth",
                    "state",
                    "up",
                    "auth ok",
                ],
                columns,
                [3, 5, 6],
            )
        )
        out.append("")
    else:
        out.append("No IKE negotiation in this capture.")
        out.append("")
    if report.ipsec_sas or report.unknown_spis:
        garbled = any(sa.counters.garbled for sa in report.ipsec_sas)
        out.append("IPsec SAs")
        out.append(
            fitted_table(
                _ipsec_rows(report, garbled),
                [
                    "proto",
                    "SPI",
                    "src",
                    "dst",
                    "mode",
                    "transform",
                    "packets",
                    "verified",
                    "no ICV",
                    "ICV fail",
                    *(["garbled"] if garbled else []),
                    "replays",
                    "gaps",
                    "bytes",
                    "from",
                ],
                columns,
                [5, 14 if garbled else 13],
                title_columns=2,
            )
        )
        out.extend(wrap(IPSEC_LEGEND + (GARBLED_LEGEND if garbled else ""), columns, indent="  "))
        out.append("")
    if report.decrypted_written is not None:
        out.append(f"Decrypted packets written: {report.decrypted_written}")
        out.append("")
    findings = report.all_findings()
    tail = ["Findings", *findings_lines(findings, columns)] if findings else ["Findings: none"]
    out.extend(sections)
    out.extend(tail)
    return "\n".join(out) + "\n"


def _ikev2_child_exchanges(report: Report) -> dict[tuple[str | None, int | None], str]:
    """IKEv2 Child SAs are named by the exchange that made them (IKE_AUTH / CREATE_CHILD_SA)."""
    return {
        (sa.cookies, int(child["message_id"], 16)): str(child["exchange"])
        for sa in report.ike_sas
        if sa.ikev2 is not None
        for child in sa.ikev2.child_sas
    }


def findings_lines(findings: list[Finding], width: int) -> list[str]:
    """Each finding as a block: severity and code, the sentence, what to check (errors first)."""
    out: list[str] = []
    for f in findings:
        out.append(f"{f.severity.value:8} {f.code}")
        out.extend(wrap(f.message, width, indent="  "))
        if f.hint:
            out.extend(wrap(f.hint, width, indent="    ", first="  check: "))
    return out


def _ipsec_rows(report: Report, garbled: bool) -> list[list[Any]]:
    """One row per IPsec SA, then one per SPI without keys; ``garbled`` adds that count after
    "ICV fail"."""
    rows: list[list[Any]] = []
    made_by = _ikev2_child_exchanges(report)
    incomplete = {
        (ike.cookies, ex.message_id)
        for ike in report.ike_sas
        for ex in ike.phase2.values()
        if ex.exchange == "quick" and not ex.complete
    }
    for sa in report.ipsec_sas:
        c = sa.counters
        transform = sa.transform
        exchange = made_by.get((sa.ike_cookies, sa.message_id), "QM")
        source = f"{exchange} 0x{sa.message_id:08x}" if sa.message_id is not None else sa.origin
        if (sa.ike_cookies, sa.message_id) in incomplete:
            source += " (not completed: never installed)"
        rows.append(
            [
                sa.protocol.upper(),
                "*" if sa.spi is None else f"0x{sa.spi:08x}",
                sa.src or "*",
                sa.dst or "*",
                sa.observed_mode or "-",
                transform,
                c.packets,
                c.verified,
                c.decrypted,
                c.icv_failed,
                *([c.garbled] if garbled else []),
                c.replays,
                c.gaps,
                c.bytes,
                source,
            ]
        )
    for u in report.unknown_spis:
        rows.append(
            [
                u.protocol.upper(),
                f"0x{u.spi:08x}",
                u.src,
                u.dst,
                "-",
                "NO KEYS",
                u.packets,
                0,
                0,
                0,
                *([0] if garbled else []),
                "-",
                "-",
                u.bytes,
                f"first frame {u.first_frame}",
            ]
        )
    return rows


def _yes_no(v: bool | None) -> str:
    return "?" if v is None else ("yes" if v else "no")


def describe_transform(t: ProposalRecord | None) -> str:
    return t.describe() if t is not None else "-"


def _sa_row(i: int, sa: IkeSa) -> list[Any]:
    return [
        i,
        sa.initiator,
        sa.responder,
        sa.cookies,
        sa.exchange or ("IKEv2" if sa.version == 2 else "?"),
        describe_transform(sa.chosen),
        sa.auth_method or "-",
        sa.state,
        _yes_no(sa.established),
        _yes_no(sa.authenticated),
    ]


def _time(t: float) -> str:
    return utc_moment(t).strftime("%H:%M:%S.%f")[:-3]


def _sa_detail(i: int, sa: IkeSa, show_keys: bool, width: int) -> list[str]:
    out = [f"IKE SA #{i}: {sa.initiator} -> {sa.responder}, cookies {sa.cookies}"]
    if sa.identities:
        out.extend(
            wrap(", ".join(f"{k} {v}" for k, v in sa.identities.items()), width, "    ", "  identities: ")
        )
    if sa.vendor_ids:
        out.extend(
            wrap(
                "; ".join(f"{k}: {', '.join(v)}" for k, v in sa.vendor_ids.items()),
                width,
                "    ",
                "  vendor IDs: ",
            )
        )
    if sa.keys is not None:
        src = [x for x in (sa.keys.psk_origin, sa.keys.dh_origin, sa.keys.key_origin) if x]
        out.extend(wrap(" + ".join(src), width, "    ", "  keys: derived from "))
        if show_keys:
            for name, value in sa.keys.to_dict().items():
                if value:
                    out.append(f"    {name:15} {value}")
    staged = bool(sa.ikev2 is not None and sa.ikev2.key_stages)
    if sa.ikev2 is not None and sa.ikev2.key_stages:
        out.append("  key stages (RFC 9370): " + " -> ".join(_stage_text(s) for s in sa.ikev2.key_stages))
    if sa.ikev2 is not None and sa.ikev2.ppk:
        out.append(f"  PPK (RFC 8784): {sa.ikev2.ppk}")
    rows = []
    for m in sa.messages:
        rows.append(
            [
                m.frame,
                _time(m.time),
                _arrow(sa, m),
                m.label,
                m.exchange,
                f"0x{m.message_id:08x}",
                _status(m, staged),
                _payload_summary(m, show_keys),
            ]
        )
    out.append(
        fitted_table(
            rows,
            ["frame", "time (UTC)", "dir", "msg", "exchange", "M-ID", "status", "payloads"],
            width,
            [6, 7],
            title_columns=4,
        )
    )
    for ex in sa.phase2.values():
        bits = [f"  {ex.exchange} 0x{ex.message_id:08x}: {_labels(ex.labels)}"]
        proxy_ids = ex.summary.get("proxy_ids", {}).get(Role.INITIATOR)
        if proxy_ids:
            bits.append("proxy IDs " + _proxy_ids(proxy_ids))
        if ex.summary.get("deletes"):
            bits.append(f"{len(ex.summary['deletes'])} delete(s)")
        out.extend(wrap(", ".join(bits), width, "    ", ""))
    out.append("")
    return out


def _labels(labels: Sequence[str]) -> str:
    """The messages of an exchange: "QM1 QM2 QM3"; the same label repeated once, with a count
    ("TRANSACTION x2", not "TRANSACTION TRANSACTION")."""
    if len(labels) > 1 and len(set(labels)) == 1:
        return f"{labels[0]} x{len(labels)}"
    return " ".join(labels)


def _proxy_ids(proxy_ids: dict[str, str]) -> str:
    """The initiator's proxy IDs as "local <-> remote" (not a dict's repr)."""
    local, remote = proxy_ids.get("local"), proxy_ids.get("remote")
    return f"{local or '?'} <-> {remote or '?'}" if local or remote else "-"


def _arrow(sa: IkeSa, m: IkeMessage) -> str:
    return "I->R" if m.sender == sa.initiator else "R->I"


def _stage_text(stage: dict) -> str:
    """``1 ml-kem-768 (IKE_INTERMEDIATE 0x00000001, frames 3, 4)``; a stage without input says so."""
    where = stage["exchange"]
    if stage.get("message_id"):
        where += f" {stage['message_id']}, frames {', '.join(str(f) for f in stage.get('frames', []))}"
    text = f"{stage['stage']} {stage['key_exchange']} ({where})"
    return text + (" NO INPUT" if stage.get("missing") else "")


def _status(m: IkeMessage, staged: bool = False) -> str:
    bits = []
    if m.retransmission:
        bits.append(f"retransmission of {m.retransmission_of}")
    text = PROTECTION_TEXT.get(m.protection, "")
    if m.version == 2 and m.protection is Protection.VERIFIED:
        text = "decrypted, ICV verified"
    if text:
        bits.append(text)
    if staged and m.key_stage is not None:  # RFC 9370: which key stage opened it
        bits.append(f"stage {m.key_stage}")
    if m.hash_verified is not None and m.protection is Protection.CLEAR:
        bits.append(f"{m.hash_name or 'hash'} {'verified' if m.hash_verified else 'DOES NOT VERIFY'}")
    if m.auth_verified is not None:
        bits.append("AUTH verified" if m.auth_verified else "AUTH DOES NOT VERIFY")
    if m.problems:
        bits.append("problem: " + m.problems[0])
    return "; ".join(bits)


def _payload_summary(m: IkeMessage, show_keys: bool) -> str:
    if not m.payloads:
        return m.note or "-"
    return "; ".join(
        _attributes_summary(p, show_keys) if isinstance(p, ConfigAttributePayload) else p.summary()
        for p in m.payloads
    )


def _attributes_summary(p: ConfigAttributePayload, show_keys: bool) -> str:
    """Mode-config/XAUTH attributes with their values: what a user needs to see (the assigned
    address, the XAUTH user and status); secret values masked unless ``show_keys``."""
    items = []
    for a in p.attributes:
        value = printable(a.text)  # user names, banners: wire text
        if value and a.type in SECRET_ATTRIBUTE_TYPES and not show_keys:
            value = REDACTED
        items.append(f"{a.name}={value}" if value else a.name)
    return f"{p.short}: {p.cfg_type_name} id {p.identifier}" + (f": {', '.join(items)}" if items else "")
