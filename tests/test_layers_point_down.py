"""Layers point down only: no module imports a package of a higher layer.

Every module of ``ikedecode/`` is parsed and each of its imports is read, including those inside
functions and under ``if TYPE_CHECKING:`` (a function-level import is still a dependency). The
order of the layers is stated once, in ``LAYERS``; a package missing from it fails the test, so a
new package has to be placed before it can be imported by anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "ikedecode"

# Bottom first. A module may import its own package and any package of a lower or the same layer,
# never one of a higher layer. ``ikedecode`` is the package root itself (``__version__``).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("ikedecode", "findings", "stored_fields"),  # leaves: the version, the one catalog of findings, the
    # guard of records made by storing their fields
    ("capture",),  # pcap/pcapng, IP reassembly, UDP classification
    ("esp",),  # ESP/AH: SAs, algorithms, opening packets (keyed by whoever knows the keys)
    ("keys",),  # key sources: text in, KeyRing (of IKE secrets and IpsecSa) out
    ("ike",),  # IKE: wire header, registries, DH, PRFs, ciphers; ike/v1/ engine and key derivation
    ("analysis",),  # where IKE meets ESP (keying), the Report, the diagnosis, timelines
    ("crack",),  # offline PSK cracking from a Report
    ("render",),  # every output format (renderers take a map_in_order, never a process pool)
    ("parallel",),  # process pools that move the pure layers' work to other cores
    ("pipeline",),  # one capture's analysis, driven locally
    ("distributed",),  # the same analysis on a Dask cluster
    ("terminal",),  # the command line's terminal and file edge: progress bars, writing reports
    ("cli", "__main__"),  # the command line
)

RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from ikedecode import render`` imports the package ``render`` (``__version__`` is a name)
            if target == root.name:
                found.extend(
                    (node.lineno, f"{target}.{alias.name}")
                    for alias in node.names
                    if (root / alias.name).is_dir() or (root / f"{alias.name}.py").exists()
                )
    return found


def layer_of(module: str, root_name: str) -> str:
    """The layer name of a module of the package: its first component below the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else root_name


def upward_imports(root: Path, rank: dict[str, int]) -> list[str]:
    """Every import of a higher layer's package, and every package ``rank`` does not place."""
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        source_layer = layer_of(module_name(path, root), root.name)
        if source_layer not in rank:
            problems.append(f"{path.relative_to(root.parent)}: package {source_layer!r} is in no layer")
            continue
        for line, target in imported_modules(path, root):
            if target != root.name and not target.startswith(root.name + "."):
                continue  # the standard library or a dependency
            target_layer = layer_of(target, root.name)
            if target_layer == source_layer:
                continue
            if target_layer not in rank:
                problems.append(f"{path.relative_to(root.parent)}:{line}: imports {target}, in no layer")
            elif rank[target_layer] > rank[source_layer]:
                problems.append(
                    f"{path.relative_to(root.parent)}:{line}: {source_layer}/ imports {target} "
                    f"(layer {target_layer}/ is above it)"
                )
    return problems


def test_every_package_of_ikedecode_has_a_layer() -> None:
    packages = {p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE_DIR.glob("*.py") if p.name != "__init__.py"}
    assert packages | modules | {"ikedecode"} == set(RANK)


def test_no_module_imports_a_higher_layer() -> None:
    assert upward_imports(PACKAGE_DIR, RANK) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ikedecode.analysis.report import Report\n", "esp/ imports ikedecode.analysis.report"),
        ("def f():\n    from ..render import text\n", "esp/ imports ikedecode.render"),
        ("from ikedecode import pipeline\n", "esp/ imports ikedecode.pipeline"),
        ("import ikedecode.parallel.esp_work\n", "esp/ imports ikedecode.parallel.esp_work"),
    ],
    ids=["module-level", "relative-in-function", "from-root", "plain-import"],
)
def test_an_upward_import_is_reported(tmp_path: Path, source: str, expected: str) -> None:
    root = tmp_path / "ikedecode"
    (root / "esp").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "esp" / "__init__.py").write_text("")
    (root / "esp" / "opener.py").write_text("from ikedecode.capture import batch\n" + source)
    (root / "pipeline.py").write_text("")
    problems = upward_imports(root, RANK)
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_downward_import_is_allowed(tmp_path: Path) -> None:
    root = tmp_path / "ikedecode"
    (root / "render").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "render" / "__init__.py").write_text("")
    (root / "render" / "text.py").write_text(
        "from ikedecode import __version__\nfrom ikedecode.analysis.report import Report\n"
        "def f():\n    from ..esp import sa\n"
    )
    assert upward_imports(root, RANK) == []
