"""The key material the user gave, apart from the peers (RFC 2409 section 5: HASH_I/HASH_R).

The engine checks the hashes with the pre-shared keys given and says ``psk-mismatch`` when they do
not verify. That proves only that the key *given* is not the peers' key when the peers themselves
went on (MM6 answered MM5, AM3 followed AM2, a quick mode or ESP came): then the finding is
``given-psk-wrong``, a finding about the analyst's input, never a tunnel failure. When the peers
did not go on, the shape of the exchange decides (``phase1``'s ``psk-mismatch`` pattern, which runs
after this check). The engine's ``wrong-keys`` (nothing decrypts with the keys given) is lowered to
a warning the same way when the peers went on. A message that only *another* given key decrypts is
kept as the engine said it: two keys, one per peer, is the peers' mismatch.
"""

from __future__ import annotations

from ikedecode.analysis.checks.facts import RESPONDER, Context, SaFacts
from ikedecode.findings import Finding, Severity, finding
from ikedecode.ike.v1.exchanges import Label

# module names: reading an enum member costs about 1k instructions on Python 3.11
AM3, MM6, QM2 = Label.AM3, Label.MM6, Label.QM2

TWO_KEYS = "the peers use different"  # the engine's sentence when each peer's messages need another key


def _went_on(facts: SaFacts) -> list[str]:
    """What shows the peers accepted each other's phase 1: later messages only a peer holding the
    right key would send."""
    out = []
    mm6, am3 = facts.first(MM6), facts.first(AM3)
    if mm6 is not None and facts.role(mm6) == RESPONDER:
        out.append(f"MM6 (frame {mm6.frame})")
    if am3 is not None:
        out.append(f"AM3 (frame {am3.frame})")
    answered = [q for q in facts.quick_modes if q.label(QM2) is not None]
    if answered:
        q = answered[0]
        qm2 = q.label(QM2)
        assert qm2 is not None
        out.append(f"quick mode {q.message_id} answered (QM2 frame {qm2.frame})")
    return out


def _lower_wrong_keys(facts: SaFacts, went_on: list[str]) -> None:
    """The engine's wrong-keys when the peers went on: a warning about the keys given (in place)."""
    sa = facts.sa
    for i, f in enumerate(sa.findings):
        if f.code == "wrong-keys" and f.severity is not Severity.WARNING:
            sa.findings[i] = finding(
                "wrong-keys",
                f"{f.message}; the peers went on ({', '.join(went_on)}): the keys given are wrong, not "
                "the peers'",
                {**f.evidence, "peers_went_on": went_on},
                severity=Severity.WARNING,
            )


def check_key_material(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for facts in ctx.sas:
        sa = facts.sa
        if not sa.findings:  # nothing of the engine's to lower or take back
            continue
        if any(f.code == "wrong-keys" for f in sa.findings):
            went_on = _went_on(facts)
            if went_on:
                _lower_wrong_keys(facts, went_on)
        given = [f for f in sa.findings if f.code == "psk-mismatch" and not f.message.startswith(TWO_KEYS)]
        if not given:
            continue
        went_on = _went_on(facts)
        sa.findings[:] = [f for f in sa.findings if f not in given]
        first = given[0]
        psks = first.evidence.get("psks") or []
        named = ", ".join(psks) if psks else "the pre-shared key given"
        if went_on:
            tail = f"but the peers went on ({', '.join(went_on)}): the key given is wrong, not the peers'"
        else:
            tail = (
                "and the peers did not get further either: the shape of the exchange decides whether "
                "theirs differ"
            )
        out.append(
            finding(
                "given-psk-wrong",
                f"{named} does not verify this SA ({first.message}), {tail}",
                {
                    "ike_sa": facts.cookies,
                    "psks": psks,
                    "frame": first.evidence.get("frame"),
                    "label": first.evidence.get("label"),
                    "peers_went_on": went_on,
                    "engine": [f.message for f in given],
                },
            )
        )
    return out
