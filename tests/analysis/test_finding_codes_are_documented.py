"""Finding codes are a documented interface: the catalogue, docs/findings.md and the real output agree."""

from __future__ import annotations

import json
import re

import pytest

from ikedecode.findings import CATALOG, Severity, finding

from .labs import CAPTURES_DIR, PROJECT_ROOT, lab_keyring, lab_report

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


def test_each_section_states_the_catalogued_severity():
    for code, kind in CATALOG.items():
        match = re.search(rf"^### `{re.escape(code)}`\n\n\*\*(\w+)\*\*", DOC, re.MULTILINE)
        if match:
            assert match.group(1) == kind.severity.value, code


@pytest.mark.parametrize("name", sorted(p.stem for p in CAPTURES_DIR.glob("*.pcap")))
def test_every_finding_on_the_lab_captures_is_catalogued_and_complete(name):
    for keys in (True, False):
        for f in lab_report(name, keys).all_findings():
            assert f.code in CATALOG, f"{name}: {f.code} is not in the catalogue / docs"
            assert f.message and "\n" not in f.message
            assert isinstance(f.evidence, dict) and f.evidence
            assert f.severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)


def test_the_catalogue_gives_severity_and_hint_unless_told_otherwise():
    made = finding("no-response", "m", {"x": 1})
    assert (made.severity, made.hint) == (Severity.ERROR, CATALOG["no-response"].hint)
    lowered = finding("no-response", "m", {"x": 1}, severity=Severity.WARNING, hint="h")
    assert (lowered.severity, lowered.hint) == (Severity.WARNING, "h")
    with pytest.raises(KeyError):
        finding("not-a-code", "m", {})


@pytest.mark.parametrize("name", sorted(p.stem for p in CAPTURES_DIR.glob("*.pcap")))
def test_no_finding_carries_a_secret(name):
    ring = lab_keyring(name)
    text = json.dumps([f.to_dict() for f in lab_report(name, ring=ring).all_findings()])
    for secret in ring.secrets:
        assert secret.hex() not in text
        if secret.isascii() and len(secret) >= 8:
            assert secret.decode() not in text
