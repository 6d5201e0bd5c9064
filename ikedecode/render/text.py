"""The default report: readable tables of what the capture holds and what ikedecode made of it."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any

import tabulate as tabulate_module
from tabulate import tabulate

from ikedecode.analysis.report import Report
from ikedecode.ike.records import IkeMessage, IkeSa, Protection
from ikedecode.ike.v1.exchanges import Role
from ikedecode.ike.v1.payloads import ConfigAttributePayload
from ikedecode.render.clock import utc_moment
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


PAYLOADS_WIDTH = 70


def _wrapped(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` (tabulate's own column wrapping costs about 4 ms
    per table, which is minutes for a capture of 10,000 IKE SAs)."""
    if len(text) <= width and "\n" not in text:
        return text
    return "\n".join(
        line for paragraph in text.splitlines() for line in textwrap.wrap(paragraph, width) or [""]
    )


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


def _may_be_number(cell: str) -> bool:
    """Whether tabulate might read ``cell`` as a number (then ``maxcolwidths`` leaves it as it is)."""
    if "\x1b" not in cell and _NOT_IN_A_NUMBER.search(cell):
        return False
    try:
        float(cell)
    except ValueError:
        return "\x1b" in cell or "," in cell  # colour codes, or tabulate's thousands separators
    return True


_WRAPPER = getattr(tabulate_module, "_CustomTextWrap", None)  # the wrapper maxcolwidths uses


def _wrapped_table(rows: list[list[Any]], headers: list[str], maxcolwidths: list[int | None]) -> str:
    """``tabulate(rows, headers=headers, maxcolwidths=maxcolwidths)``, faster: the text cells
    are wrapped here, each distinct text once, by tabulate's own wrapper and as its
    ``maxcolwidths`` does (lines of the cell wrapped one by one, blank lines dropped). A cell that
    might read as a number (tabulate leaves those unwrapped) sends the table the plain way."""

    def plain() -> str:
        # number parsing also decides what maxcolwidths wraps: skipped on unwrapped columns only
        unwrapped = [c for c in _text_columns(rows) if c >= len(maxcolwidths) or maxcolwidths[c] is None]
        return tabulate(rows, headers=headers, maxcolwidths=maxcolwidths, disable_numparse=unwrapped)

    if _WRAPPER is None:
        return plain()
    done: dict[tuple[str, int], str] = {}
    wrapped_rows = []
    for row in rows:
        out = list(row)
        for column, width in enumerate(maxcolwidths):
            if width is None:
                continue
            cell = row[column]
            if type(cell) is not str or cell in ("True", "False") or _may_be_number(cell):
                return plain()  # tabulate casts these before wrapping ("False" even becomes "True")
            key = (cell, width)
            text = done.get(key)
            if text is None:
                wrapper = _WRAPPER(width=width)
                text = done[key] = "\n".join(
                    "\n".join(wrapper.wrap(line)) for line in cell.splitlines() if line.strip() != ""
                )
            out[column] = text
        wrapped_rows.append(out)
    return _table(wrapped_rows, headers)


def render_text(
    report: Report, *, show_keys: bool = False, verbose: bool = True, map_in_order: MapInOrder | None = None
) -> str:
    """The report as tables; ``map_in_order`` makes the per-SA sections (same text whoever makes
    them: other processes, while this one makes the other tables, or this one)."""
    sas = report.ike_sas

    def section(index: int) -> str:
        return "\n".join(_sa_detail(index + 1, sas[index], show_keys))

    sections = (map_in_order or in_this_process)(section, len(sas)) if verbose else iter(())
    out: list[str] = []
    s = report.stats
    out.append(
        f"Capture {report.capture_name}: {s.packets} packets — IKE {s.ike}, ESP {s.esp}, AH {s.ah}, "
        f"other {s.other}, malformed {s.malformed}"
    )
    if s.nat_keepalives:
        out.append(f"  ({s.nat_keepalives} NAT-T keepalives counted as IKE)")
    if s.truncated:
        out.append(f"  file truncated: {s.truncated}")
    heading = sources_heading(report)
    if heading:
        out.append(f"  {heading.replace('`', '')}")
        out.extend(f"    {line}" for line in source_lines(report))
    out.append("")
    if report.ike_sas:
        out.append("IKE SAs")
        out.append(
            _table(
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
                    "established",
                    "authenticated",
                ],
            )
        )
        out.append("")
    else:
        out.append("No IKE negotiation in this capture.")
        out.append("")
    if report.ipsec_sas or report.unknown_spis:
        out.append("IPsec SAs")
        out.append(
            _table(
                _ipsec_rows(report),
                [
                    "proto",
                    "SPI",
                    "src",
                    "dst",
                    "mode",
                    "transform",
                    "packets",
                    "verified",
                    "decrypted",
                    "ICV fail",
                    "replays",
                    "gaps",
                    "bytes",
                    "from",
                ],
            )
        )
        out.append("")
    if report.decrypted_written is not None:
        out.append(f"Decrypted packets written: {report.decrypted_written}")
        out.append("")
    findings = report.all_findings()
    if findings:
        tail = [
            "Findings",
            _wrapped_table(
                [[f.severity.value, f.code, f.message, f.hint or "-"] for f in findings],
                ["severity", "code", "message", "what to check"],
                [None, None, 70, 50],
            ),
        ]
    else:
        tail = ["Findings: none"]
    out.extend(sections)
    out.extend(tail)
    return "\n".join(out) + "\n"


def _ipsec_rows(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for sa in report.ipsec_sas:
        c = sa.counters
        transform = sa.encryption if sa.integrity == "null" else f"{sa.encryption}/{sa.integrity}"
        source = f"QM 0x{sa.message_id:08x}" if sa.message_id is not None else sa.origin
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
                "-",
                "-",
                u.bytes,
                f"first frame {u.first_frame}",
            ]
        )
    return rows


def _yes_no(v: bool | None) -> str:
    return "?" if v is None else ("yes" if v else "no")


def describe_transform(t: dict[str, Any] | None) -> str:
    return t.get("description", "-") if t else "-"


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


def _sa_detail(i: int, sa: IkeSa, show_keys: bool) -> list[str]:
    out = [f"IKE SA #{i}: {sa.initiator} -> {sa.responder}, cookies {sa.cookies}"]
    if sa.identities:
        out.append("  identities: " + ", ".join(f"{k} {v}" for k, v in sa.identities.items()))
    if sa.vendor_ids:
        out.append("  vendor IDs: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in sa.vendor_ids.items()))
    if sa.keys is not None:
        src = [x for x in (sa.keys.psk_origin, sa.keys.dh_origin, sa.keys.key_origin) if x]
        out.append("  keys: derived from " + " + ".join(src))
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
                _wrapped(_payload_summary(m, show_keys), PAYLOADS_WIDTH),
            ]
        )
    out.append(_table(rows, ["frame", "time (UTC)", "dir", "msg", "exchange", "M-ID", "status", "payloads"]))
    for ex in sa.phase2.values():
        bits = [f"  {ex.exchange} 0x{ex.message_id:08x}: {' '.join(ex.labels)}"]
        if ex.summary.get("proxy_ids"):
            bits.append("proxy IDs " + str(ex.summary["proxy_ids"].get(Role.INITIATOR, "")))
        if ex.summary.get("deletes"):
            bits.append(f"{len(ex.summary['deletes'])} delete(s)")
        out.append(", ".join(bits))
    out.append("")
    return out


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
        value = a.text
        if value and a.type in SECRET_ATTRIBUTE_TYPES and not show_keys:
            value = REDACTED
        items.append(f"{a.name}={value}" if value else a.name)
    return f"{p.short}: {p.cfg_type_name} id {p.identifier}" + (f": {', '.join(items)}" if items else "")
