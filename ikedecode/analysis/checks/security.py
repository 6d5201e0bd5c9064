"""Security posture of what was negotiated: aggressive mode with a PSK, weak algorithms, no PFS.

Aggressive mode sends HASH_R = prf(prf(PSK, Ni | Nr), g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
with all of its inputs in clear text (RFC 2409 section 5), so anyone holding AM1 and AM2 can test
PSK guesses offline. Weak algorithms follow RFC 8247 (IKEv1 uses the same primitives): DES, MD5
and MODP groups 1, 2 and 5 are not to be used; ESP_NULL gives no confidentiality (RFC 8221).
"""

from __future__ import annotations

from typing import Any

from ikedecode.analysis.checks.facts import MAX_LISTED, Context, SaFacts, attribute_values, evidence_of
from ikedecode.analysis.checks.transform_facts import of_attributes
from ikedecode.findings import Finding, finding
from ikedecode.ike.records import ProposalRecord
from ikedecode.ike.registries import (
    AUTHENTICATION_ALGORITHM,
    ENCRYPTION_ALGORITHM,
    GROUP_DESCRIPTION,
    HASH_ALGORITHM,
    HASH_ALGORITHMS,
    IPSEC_GROUP_DESCRIPTION,
    PROTO_IPSEC_ESP,
)
from ikedecode.ike.v1.exchanges import Label
from ikedecode.ike.v1.payloads import HashPayload, Transform

# module names: reading an enum member costs about 1k instructions on Python 3.11
AM2, QM1, QM2 = Label.AM2, Label.QM1, Label.QM2

LISTED_QUICK_MODES = 6  # named in the sentence; the evidence has more
# (attribute, value) -> why it is weak
WEAK_PHASE1 = {
    (ENCRYPTION_ALGORITHM, 1): "DES (56-bit key)",
    (HASH_ALGORITHM, 1): "MD5",
    (GROUP_DESCRIPTION, 1): "DH group 1 (768-bit MODP)",
    (GROUP_DESCRIPTION, 2): "DH group 2 (1024-bit MODP)",
    (GROUP_DESCRIPTION, 5): "DH group 5 (1536-bit MODP)",
}
WEAK_ESP_TRANSFORMS = {1: "ESP_DES_IV64", 2: "ESP_DES", 9: "ESP_DES_IV32", 11: "ESP_NULL (no encryption)"}
WEAK_ESP_ATTRIBUTES = {
    (AUTHENTICATION_ALGORITHM, 1): "HMAC-MD5",
    (IPSEC_GROUP_DESCRIPTION, 1): "PFS group 1 (768-bit MODP)",
    (IPSEC_GROUP_DESCRIPTION, 2): "PFS group 2 (1024-bit MODP)",
    (IPSEC_GROUP_DESCRIPTION, 5): "PFS group 5 (1536-bit MODP)",
}


def _aggressive(facts: SaFacts) -> list[Finding]:
    if facts.sa.exchange != "aggressive" or facts.preshared is not True:
        return []
    am2 = facts.first(AM2)
    if am2 is None:
        return []
    hashes = [p for p in am2.payloads if isinstance(p, HashPayload)]
    if not hashes:
        return []
    hash_r = hashes[0].data
    hash_id = facts.hash_algorithm
    algorithm = HASH_ALGORITHMS.name(hash_id) if hash_id is not None else "?"
    evidence: dict[str, Any] = {
        "ike_sa": facts.cookies,
        "am2": evidence_of(am2),
        "hash_r": hash_r.hex(),
        "hash_algorithm": algorithm,
        "identities": dict(facts.sa.identities),
        "psk_verified": am2.hash_verified,
    }
    out = [
        finding(
            "aggressive-mode-psk",
            f"aggressive mode with a pre-shared key: AM2 (frame {am2.frame}) carries HASH_R "
            f"{hash_r.hex()[:16]}... ({algorithm}) in clear text with every input needed to test PSK guesses "
            "offline (see --crack, --export-psk-params, --export-hashcat)",
            evidence,
        )
    ]
    if am2.hash_verified:
        out.append(
            finding(
                "psk-verified",
                f"HASH_R in AM2 (frame {am2.frame}) verifies: the pre-shared key is right ({am2.note}); "
                "no DH secret was needed",
                {"ike_sa": facts.cookies, "am2": evidence_of(am2), "note": am2.note},
            )
        )
    return out


def _add(items: list[dict[str, str]], where: str, what: str, source: str) -> None:
    if not any(i["where"] == where and i["what"] == what for i in items):
        items.append({"where": where, "what": what, "source": source})


def _weak_phase1(t: Transform) -> tuple[str, ...]:
    """Why a phase-1 transform is weak, in ``WEAK_PHASE1``'s order (its values as the report shows
    them: ``attribute_values``); once per distinct list of attribute records (``of_attributes``)."""
    values = attribute_values(t)
    return tuple(why for (attr, value), why in WEAK_PHASE1.items() if values.get(attr) == value)


def _weak_esp(t: Transform, protocol_id: int, transform_id: int) -> tuple[str, ...]:
    """Why a transform of a proposal of ``protocol_id`` is weak, in the order the finding lists it:
    the transform, then its attributes."""
    whys = []
    if protocol_id == PROTO_IPSEC_ESP and transform_id in WEAK_ESP_TRANSFORMS:
        whys.append(WEAK_ESP_TRANSFORMS[transform_id])
    for (attr, value), why in WEAK_ESP_ATTRIBUTES.items():
        if t.get(attr) == value:
            whys.append(why)
    return tuple(whys)


def _weak(facts: SaFacts) -> list[Finding]:
    items: list[dict[str, str]] = []
    phase1: list[ProposalRecord | None]
    chosen = facts.sa.chosen
    if isinstance(chosen, Transform) and chosen.attributes:  # ``facts.chosen`` is not empty
        phase1, source = [chosen], "chosen"
    else:
        phase1, source = list(facts.sa.offered), "offered"
    for transform in phase1:
        if isinstance(transform, Transform):
            for why in of_attributes(transform, ("weak phase 1",), _weak_phase1):
                _add(items, "phase 1", why, source)
    for qm in facts.quick_modes:
        accepted = qm.sa_payload(QM2)
        sa = accepted or qm.sa_payload(QM1)
        if sa is None:
            continue
        for proposal in sa.proposals:
            for t in proposal.transforms:
                for why in of_attributes(t, ("weak", proposal.protocol_id, t.transform_id), _weak_esp):
                    source = "accepted" if accepted else "offered"
                    _add(items, f"quick mode {qm.message_id}", why, source)
    if not items:
        return []
    text = "; ".join(f"{i['where']}: {i['what']}" for i in items)
    return [
        finding("weak-crypto", f"weak cryptography in use ({text})", {"ike_sa": facts.cookies, "weak": items})
    ]


def _no_pfs(facts: SaFacts) -> list[Finding]:
    without = [q.message_id for q in facts.quick_modes if q.label(QM2) is not None and q.has_ke(QM2) is False]
    if not without:
        return []
    named = ", ".join(without[:LISTED_QUICK_MODES]) + (
        f" and {len(without) - LISTED_QUICK_MODES} more" if len(without) > LISTED_QUICK_MODES else ""
    )
    return [
        finding(
            "no-pfs",
            f"quick mode{'s' if len(without) > 1 else ''} {named} without PFS: the IPsec keys derive from "
            "the phase-1 DH secret only",
            {"ike_sa": facts.cookies, "count": len(without), "quick_modes": without[:MAX_LISTED]},
        )
    ]


def check_security(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        out.extend(_aggressive(facts))
        out.extend(_weak(facts))
        out.extend(_no_pfs(facts))
    return out
