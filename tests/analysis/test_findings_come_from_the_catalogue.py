"""Every finding is made by ``finding(code, message, evidence)`` from the one catalogue.

Severity and hint exist in one place (ikedecode/findings.py): no module builds a ``Finding`` itself,
none passes a hint of its own, and every literal code a module passes is catalogued.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ikedecode.findings import CATALOG

PACKAGE = Path(__file__).resolve().parents[2] / "ikedecode"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "findings.py")
assert len(MODULES) > 50, f"found only {len(MODULES)} modules under {PACKAGE}"


def _calls(path: Path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if called == name:
                out.append(node)
    return out


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def test_no_module_builds_a_finding_itself():
    built = [_where(p, c) for p in MODULES for c in _calls(p, "Finding")]
    assert built == []


def test_no_module_passes_a_hint_of_its_own():
    hinted = [
        _where(p, c)
        for p in MODULES
        for c in _calls(p, "finding")
        if any(k.arg == "hint" for k in c.keywords)
    ]
    assert hinted == []


def test_every_literal_code_is_catalogued():
    codes = [
        (_where(p, c), c.args[0].value)
        for p in MODULES
        for c in _calls(p, "finding")
        if c.args and isinstance(c.args[0], ast.Constant)
    ]
    assert len(codes) > 40  # the engine, the pipeline, the checks and the cracker all make findings
    assert [(where, code) for where, code in codes if code not in CATALOG] == []


def test_the_walk_sees_a_finding_built_by_hand(tmp_path):
    """The check above cannot pass by not looking: a module that builds one is caught."""
    module = tmp_path / "rogue.py"
    module.write_text("from ikedecode.findings import Finding\nx = Finding('error', 'c', 'm', {}, 'h')\n")
    assert len(_calls(module, "Finding")) == 1


def _strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_every_catalogued_code_has_a_producer():
    """A code no module names is dead documentation (some codes are chosen by an expression)."""
    named = set().union(*(_strings(p) for p in MODULES))
    assert sorted(set(CATALOG) - named) == []
