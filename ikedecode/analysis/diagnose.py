"""Diagnosis: why a negotiation failed, with the packets that prove it, and what to check.

``diagnose(report)`` runs every check of ``analysis/checks`` over a finished Report (IKE SAs with
their decoded messages, IPsec SA counters, ESP flows without keys) and returns the findings,
errors first. The engine's own findings (``psk-mismatch`` from a hash, ``wrong-keys`` ...) stay
where the engine put them; the checks read them to avoid saying the same thing twice.
The codes are documented in docs/findings.md.
"""

from __future__ import annotations

import re

from ikedecode.analysis.checks import CHECKS, Context
from ikedecode.analysis.report import Report
from ikedecode.findings import SEVERITY_ORDER, Finding, finding


def diagnose(report: Report) -> list[Finding]:
    ctx = Context.of(report)
    found: list[Finding] = []
    for check in CHECKS:
        try:
            found.extend(check(ctx))
        except Exception as exc:  # noqa: BLE001 - a faulty check must not cost the user the report
            found.append(
                finding(
                    "diagnosis-error",
                    f"the {check.__name__} check failed ({type(exc).__name__}: {exc}); the other checks ran",
                    {"check": check.__name__, "exception": type(exc).__name__},
                )
            )
    found = aggregate(found)
    return sorted(found, key=lambda f: -SEVERITY_ORDER[f.severity])  # stable: check order within a severity


# What differs between the same finding on two SAs: addresses, cookies, SPIs, message IDs, numbers.
# The lookahead names the characters every alternative starts with, so positions that cannot start
# a match are passed over before the three alternatives are tried (a third less time per message).
_VARYING = re.compile(
    r"(?=[\d0-9a-f:])(?:\b(?:0x)?[0-9a-f]{8,}\b|\d+(?:\.\d+)*(?::\d+)?|[0-9a-f:]*:[0-9a-f:]+)", re.IGNORECASE
)


_BLANKED: dict[str, str] = {}  # word -> the word with its varying parts blanked
_BLANKED_MAX = 65_536


def _blank(message: str) -> str:
    r"""``_VARYING.sub("#", message)``, a word at a time: no alternative matches a space, so the
    matches are the same within each space-separated word (a ``\b`` at a word's edge sees a space
    or the end of the text, non-word characters both), and the words of a capture's findings repeat
    ("quick", "mode", the peers' addresses): each distinct word is blanked once, not every message."""
    blanked = _BLANKED
    words = message.split(" ")
    out = list(map(blanked.get, words))  # the words seen before, looked up in C
    if None in out:
        for at, found in enumerate(out):
            if found is None:
                if len(blanked) >= _BLANKED_MAX:
                    blanked.clear()
                word = words[at]
                out[at] = blanked[word] = _VARYING.sub("#", word)
    return " ".join(out)  # type: ignore[arg-type]  # no None is left


def aggregate(findings: list[Finding]) -> list[Finding]:
    """Identical findings of different IKE SAs as one: the first, with ``aggregated`` evidence
    (``count``, the ``ike_sas`` it covers) and "(and the same in N more IKE SAs)" in its sentence.
    3,000 IKE SAs without PFS give one ``no-pfs``, not 3,000."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    sas_in_group: dict[tuple[str, str, str], set[str]] = {}  # the IKE SAs each group holds a finding of
    order: list[Finding | tuple[str, str, str]] = []
    for f in findings:
        ike_sa = f.evidence.get("ike_sa")
        if not isinstance(ike_sa, str):
            order.append(f)
            continue
        key = (f.code, f.severity, _blank(f.message))  # a Severity is its str value (StrEnum): no .value read
        sas = sas_in_group.get(key)
        if sas is None:
            order.append(key)
            groups[key] = [f]
            sas_in_group[key] = {ike_sa}
        elif ike_sa in sas:
            order.append(f)  # two of one SA (both directions, two quick modes): the checks keep them apart
        else:
            groups[key].append(f)
            sas.add(ike_sa)
    out = []
    for item in order:
        if isinstance(item, Finding):
            out.append(item)
            continue
        group = groups[item]
        first = group[0]
        if len(group) > 1:
            names = [f.evidence["ike_sa"] for f in group]  # each SA once: a second finding stays apart
            first.evidence["aggregated"] = {"count": len(group), "ike_sas": names}
            first.message += f" (and the same in {len(group) - 1} more IKE SA(s))"
        out.append(first)
    return out
