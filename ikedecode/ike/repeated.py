"""The same problem once per IKE SA: a parse error every retransmission (or every message) of one
SA repeats is one finding with the frames it was seen in, not one finding per message."""

from __future__ import annotations

from ikedecode.findings import Finding

SCAN_LIMIT = 64  # distinct findings of one code compared against: bounded work on hostile input
FRAMES_SHOWN = 5


def add_once(findings: list[Finding], new: Finding, problem: str) -> None:
    """Append ``new`` (its evidence gains ``problem``), unless a finding of the same code about the
    same ``problem`` is already there: then ``new``'s frame joins that one's ``frames`` and its
    message says in how many messages the problem was seen."""
    seen = 0
    for old in findings:
        if old.code != new.code:
            continue
        if old.evidence.get("problem") == problem:
            frames = old.evidence.setdefault("frames", [old.evidence.get("frame")])
            frames.append(new.evidence.get("frame"))
            first = old.message.split(" (the same in ")[0]
            shown = ", ".join(str(f) for f in frames[:FRAMES_SHOWN])
            more = f" and {len(frames) - FRAMES_SHOWN} more" if len(frames) > FRAMES_SHOWN else ""
            old.message = f"{first} (the same in {len(frames)} messages: frames {shown}{more})"
            return
        seen += 1
        if seen >= SCAN_LIMIT:
            break
    new.evidence["problem"] = problem
    findings.append(new)


__all__ = ["add_once"]
