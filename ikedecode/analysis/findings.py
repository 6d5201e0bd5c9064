"""Findings: what ikedecode concludes about a capture, with the evidence behind it.

A finding is data (a stable ``code``, a ``severity``, one sentence, the evidence and a hint of
what to check). The protocol engines emit the findings only they can see (a hash that does not
verify, a message that does not decrypt); ``analysis/`` adds the ones that need the whole picture.
The codes are part of the documented interface: docs/findings.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(slots=True)
class Finding:
    severity: Severity
    code: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "evidence": self.evidence,
        }
        if self.hint:
            out["hint"] = self.hint
        return out
