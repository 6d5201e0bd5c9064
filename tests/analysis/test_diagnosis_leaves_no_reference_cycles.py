"""The diagnosis of an IKEv1 capture with quick modes leaves no reference cycles behind: a quick
mode's facts must not hold their IKE SA's facts (analysis/checks/facts.py), or every IKE SA's facts
would be garbage that only a full collection frees (10,000 SAs: 210,006 such objects)."""

from __future__ import annotations

import gc

from ikedecode.analysis.checks.facts import QuickModeFacts, SaFacts

from .labs import lab_report


def test_the_facts_of_a_quick_mode_are_freed_with_their_ike_sa_without_the_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        report = lab_report("mm-aes128-sha1-modp2048")  # main mode and a completed quick mode
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        cyclic = [o for o in gc.garbage if isinstance(o, (SaFacts, QuickModeFacts))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert any(m.label == "QM1" for sa in report.ike_sas for m in sa.messages)  # quick mode facts were made
    assert cyclic == []
