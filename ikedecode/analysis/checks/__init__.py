"""Diagnosis checks, one module per topic. Each check reads a ``facts.Context`` and returns findings.

``CHECKS`` is the order they run in: the specific ones first, ``error-notify`` last so that it
reports only the notifications nothing else explained.
"""

from __future__ import annotations

from collections.abc import Callable

from ikedecode.analysis.checks.esp import check_esp
from ikedecode.analysis.checks.facts import Context
from ikedecode.analysis.checks.ikev2_posture import check_ikev2_posture
from ikedecode.analysis.checks.keys import check_key_material
from ikedecode.analysis.checks.liveness import check_liveness
from ikedecode.analysis.checks.nat import check_nat
from ikedecode.analysis.checks.notifies import check_error_notifies
from ikedecode.analysis.checks.phase1 import check_phase1
from ikedecode.analysis.checks.phase2 import check_phase2
from ikedecode.analysis.checks.security import check_security
from ikedecode.analysis.checks.stalls import check_no_response
from ikedecode.analysis.checks.transport import check_transport
from ikedecode.findings import Finding

Check = Callable[[Context], list[Finding]]


# The IKEv2-only checks read IKEv2's payload types: their modules (and those types, about 15 ms of
# imports) are imported when the report has an IKEv2 SA; without one they find nothing.
def check_ikev2_failures(ctx: Context) -> list[Finding]:
    """``checks/ikev2_failures.py``: why IKEv2 SAs failed, from the notifications and the offers."""
    if not ctx.has_ikev2:
        return []
    from ikedecode.analysis.checks import ikev2_failures

    return ikev2_failures.check_ikev2_failures(ctx)


def check_ikev2(ctx: Context) -> list[Finding]:
    """``checks/ikev2.py``: unanswered requests, additional key exchanges, error notifications."""
    if not ctx.has_ikev2:
        return []
    from ikedecode.analysis.checks import ikev2

    return ikev2.check_ikev2(ctx)


CHECKS: tuple[Check, ...] = (
    check_key_material,  # first: it takes back the engine's psk-mismatch the peers disprove
    check_no_response,
    check_phase1,
    check_phase2,
    check_nat,
    check_esp,
    check_liveness,
    check_transport,
    check_security,
    check_ikev2_failures,  # before check_error_notifies' IKEv2 twin (check_ikev2): it explains notifies
    check_ikev2_posture,
    check_error_notifies,
    check_ikev2,
)

__all__ = ["CHECKS", "Check", "Context"]
