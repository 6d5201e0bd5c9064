"""Key material that matches nothing in the capture: a key file or daemon log of another capture
(other cookies, SPIs, peers) leaves the report saying "no keys", which misleads unless it says why.

``unmatched_keys(keyring, report)`` compares what was given with what the capture holds: IKEv1
entries scoped by initiator cookie, IKEv2 entries by SPI, ESP/AH SAs given directly by SPI, and
pre-shared keys scoped to a peer address or identity. Entries without a scope (``--psk``,
``--dh-secret`` without cookies) apply to every SA and are never reported here.
"""

from __future__ import annotations

from ikedecode.analysis.report import Report
from ikedecode.findings import Finding, finding
from ikedecode.keys.keyring import DhSecret, KeyRing, Phase1KeyMaterial

LISTED = 5  # entries named in the sentence; the evidence keeps up to MAX_KEPT
MAX_KEPT = 20


def _spis_in_capture(report: Report) -> set[int]:
    """SPIs that carried packets or that a phase-2 exchange of the capture named (a rekey collision
    negotiates SAs that never carry traffic)."""
    out = {sa.spi for sa in report.ipsec_sas if sa.counters.packets or sa.ike_cookies}
    out |= {u.spi for u in report.unknown_spis}
    for ike in report.ike_sas:
        for ex in ike.phase2.values():
            for side in ex.summary.get("spis", {}).values():
                out.update(int(spi, 16) for spi in side)
    return {spi for spi in out if spi is not None}


def unmatched_keys(keyring: KeyRing, report: Report) -> list[Finding]:
    cookies = {sa.initiator_cookie for sa in report.ike_sas}
    given = 0
    unmatched: list[str] = []
    scoped: list[Phase1KeyMaterial | DhSecret] = [*keyring.phase1_keys, *keyring.dh_secrets]
    for entry in scoped:
        if entry.initiator_cookie is None:
            continue
        given += 1
        if entry.initiator_cookie not in cookies:
            unmatched.append(entry.origin)
    for v2 in keyring.ikev2_keys:
        given += 1
        if v2.initiator_spi not in cookies:
            unmatched.append(v2.origin)
    spis: set[int] | None = None  # what the capture holds, gathered for the first entry it decides
    for sa in keyring.ipsec_sas:
        if sa.spi is None:
            continue
        given += 1
        if spis is None:
            spis = _spis_in_capture(report)
        if sa.spi not in spis:
            unmatched.append(sa.origin)
    peers: list[tuple[tuple[str, str], tuple[str, ...]]] | None = None
    for psk in keyring.psks:
        if psk.scope is None:
            continue
        given += 1
        if peers is None:
            peers = [((sa.initiator, sa.responder), tuple(sa.identities.values())) for sa in report.ike_sas]
        if not any(psk.applies_to(addresses, identities) for addresses, identities in peers):
            unmatched.append(psk.origin)
    if not unmatched:
        return []
    named = ", ".join(unmatched[:LISTED]) + (
        f" and {len(unmatched) - LISTED} more" if len(unmatched) > LISTED else ""
    )
    whole = "none of the" if len(unmatched) == given else f"{len(unmatched)} of the {given}"
    return [
        finding(
            "keys-unmatched",
            f"{whole} key entries given match{'es' if len(unmatched) == 1 and given > 1 else ''} no IKE SA, "
            f"ESP SA or peer in this capture ({named}): they belong to another capture or peer",
            {"count": len(unmatched), "given": given, "entries": unmatched[:MAX_KEPT]},
        )
    ]
