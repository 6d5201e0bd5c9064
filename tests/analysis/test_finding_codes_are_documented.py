"""Finding codes are a documented interface: the catalogue, docs/findings.md and the real output agree."""

from __future__ import annotations

import json
import re

import pytest

from ikedecode.findings import CATALOG, Severity, finding
from tests.conftest import LAB_CAPTURES

from .labs import PROJECT_ROOT, lab_keyring, lab_report

DOC = (PROJECT_ROOT / "docs" / "findings.md").read_text()
ISSUE_CODES = (
    "no-response p1-proposal-mismatch psk-mismatch wrong-keys p2-proposal-mismatch proxy-id-mismatch "
    "pfs-mismatch nat-detected natt-not-negotiated esp-one-way invalid-spi icv-failure dpd-timeout "
    "retransmission aggressive-mode-psk weak-crypto"
).split()


def _documented() -> set[str]:
    sections = set(re.findall(r"^### `([a-z0-9-]+)`$", DOC, re.MULTILINE))
    other_codes = DOC.split("## Other codes", 1)[1]
    table = set(re.findall(r"^\| `([a-z0-9-]+)` \|", other_codes, re.MULTILINE))
    return sections | table


def test_every_catalogued_code_has_a_section_or_a_row_in_the_docs():
    assert set(CATALOG) - _documented() == set()
    assert _documented() - set(CATALOG) == set()  # and the docs name no code that does not exist


def test_the_issues_codes_exist_with_their_own_section():
    sections = set(re.findall(r"^### `([a-z0-9-]+)`$", DOC, re.MULTILINE))
    assert set(ISSUE_CODES) <= set(CATALOG) and set(ISSUE_CODES) <= sections


def _sections() -> dict[str, str]:
    """Each ``### `code``` section's text, whitespace collapsed (the docs wrap lines anywhere)."""
    parts = re.split(r"^### `([a-z0-9-]+)`$", DOC.split("## Other codes", 1)[0], flags=re.MULTILINE)
    out = {}
    for code, text in zip(parts[1::2], parts[2::2], strict=True):
        text = re.split(r"^## ", text, maxsplit=1, flags=re.MULTILINE)[0]
        out[code] = " ".join(text.split())
    return out


def _rows() -> dict[str, list[str]]:
    """The ``Other codes`` table: code -> [severity, producer, meaning, hint]."""
    table = DOC.split("## Other codes", 1)[1]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|(.*)\|$", table, re.MULTILINE)
    return {code: [cell.strip() for cell in rest.split(" | ")] for code, rest in rows}


SECTIONS, ROWS = _sections(), _rows()


@pytest.mark.parametrize("code", sorted(SECTIONS))
def test_each_section_states_the_catalogued_severity_and_when_a_check_lowers_it(code):
    kind = CATALOG[code]
    text = SECTIONS[code]
    assert text.startswith(f"**{kind.severity.value}**"), code
    if kind.lowered_to:
        lowered = f"({kind.lowered_to.value} {kind.lowered_when})"
        assert text.startswith(f"**{kind.severity.value}** {lowered}"), code


@pytest.mark.parametrize("code", sorted(SECTIONS))
def test_each_section_gives_the_catalogued_hint(code):
    kind = CATALOG[code]
    text = SECTIONS[code]
    if kind.hint:
        assert f"Hint: {kind.hint}" in text or f"Hint for any other {kind.case_field}: {kind.hint}" in text
    else:
        assert "Hint:" not in text, f"{code} has no hint in the catalogue"
    for case, hint in kind.case_hints.items():
        assert f"- `{case}`: {hint}" in text, (code, case)


@pytest.mark.parametrize("code", sorted(ROWS))
def test_each_row_gives_the_catalogued_severity_and_hint(code):
    kind = CATALOG[code]
    severity, _producer, _meaning, hint = ROWS[code]
    assert (severity, hint) == (kind.severity.value, kind.hint), code
    assert not kind.case_hints and not kind.lowered_to, f"{code} needs a section of its own"


def test_every_code_is_documented_once():
    assert not set(SECTIONS) & set(ROWS)


@pytest.mark.parametrize("name", [p.stem for p in LAB_CAPTURES])
def test_every_finding_on_the_lab_captures_is_catalogued_and_complete(name):
    for keys in (True, False):
        for f in lab_report(name, keys).all_findings():
            assert f.code in CATALOG, f"{name}: {f.code} is not in the catalogue / docs"
            assert f.message and "\n" not in f.message
            assert isinstance(f.evidence, dict) and f.evidence
            assert f.severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)


def test_the_catalogue_gives_severity_and_hint():
    made = finding("no-response", "m", {"x": 1})
    assert (made.severity, made.hint) == (Severity.ERROR, CATALOG["no-response"].hint)
    with pytest.raises(KeyError):
        finding("not-a-code", "m", {})


def test_a_case_named_in_the_evidence_picks_its_hint_from_the_catalogue():
    stalled = finding("no-response", "m", {"state": "MM_WAIT_MSG6"})
    assert stalled.hint == CATALOG["no-response"].case_hints["MM_WAIT_MSG6"] != CATALOG["no-response"].hint
    refused = finding("error-notify", "m", {"notify": "INVALID-KEY-INFORMATION"})
    assert "KE payload" in refused.hint
    assert (
        finding("error-notify", "m", {"notify": "UNEQUAL-PAYLOAD-LENGTHS"}).hint
        == CATALOG["error-notify"].hint
    )


def test_a_check_may_lower_a_severity_only_where_the_catalogue_says_when():
    lowered = finding("no-response", "m", {"x": 1}, severity=Severity.WARNING)
    assert (lowered.severity, lowered.hint) == (Severity.WARNING, CATALOG["no-response"].hint)
    with pytest.raises(ValueError):
        finding("icv-failure", "m", {"x": 1}, severity=Severity.WARNING)  # no "lowered" in its entry
    with pytest.raises(ValueError):
        finding("dpd-timeout", "m", {"x": 1}, severity=Severity.INFO)  # lowered to warning only
    with pytest.raises(ValueError):
        finding("esp-replay", "m", {"x": 1}, severity=Severity.ERROR)  # never raised


def test_the_case_hints_name_cases_the_producers_can_write():
    from ikedecode.analysis.checks.stalls import WAITING_AFTER
    from ikedecode.ike.registries import NOTIFY_TYPES
    from ikedecode.ike.registry.ikev2 import NOTIFY_TYPES as IKEV2_NOTIFY_TYPES

    assert set(CATALOG["no-response"].case_hints) <= set(WAITING_AFTER.values())
    notify_names = set(NOTIFY_TYPES.values()) | set(IKEV2_NOTIFY_TYPES.values())  # IKEv1 and IKEv2 checks
    assert set(CATALOG["error-notify"].case_hints) <= notify_names


@pytest.mark.parametrize("name", [p.stem for p in LAB_CAPTURES])
def test_no_finding_carries_a_secret(name):
    ring = lab_keyring(name)
    text = json.dumps([f.to_dict() for f in lab_report(name, ring=ring).all_findings()])
    for secret in ring.secrets:
        assert secret.hex() not in text
        if secret.isascii() and len(secret) >= 8:
            assert secret.decode() not in text
