"""Diagnosis: why a negotiation failed, with the packets that prove it, and what to check.

``diagnose(report)`` runs every check of ``analysis/checks`` over a finished Report (IKE SAs with
their decoded messages, IPsec SA counters, ESP flows without keys) and returns the findings,
errors first. The engine's own findings (``psk-mismatch`` from a hash, ``wrong-keys`` ...) stay
where the engine put them; the checks read them to avoid saying the same thing twice.
The codes are documented in docs/findings.md.
"""

from __future__ import annotations

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
    return sorted(found, key=lambda f: -SEVERITY_ORDER[f.severity])  # stable: check order within a severity
