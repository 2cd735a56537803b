"""The shape the project keeps (ARCHITECTURE.md): small modules, no cycles, typed manifest, public bench."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

from conftest import ROOT

QA = ROOT / "qa"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(QA.rglob("*.py")):
        name = ".".join(("qa",) + path.relative_to(QA).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    package = name if name in known and (QA / "/".join(name.split(".")[1:]) / "__init__.py").exists() else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(0, node.level - 1)):
                base = base.rpartition(".")[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known and m != name}


def test_no_module_is_over_300_lines():
    long = {p.name: n for p in QA.rglob("*.py") if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long


def test_no_import_cycle_among_modules():
    mods = _modules()
    known = set(mods)
    graph = {m: _imports(m, t, known) - {"qa"} for m, t in mods.items()}
    # A package's __init__ importing its own submodules is not a cycle of rooms.
    for m in graph:
        graph[m] = {d for d in graph[m] if not d.startswith(m + ".")}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph[m]:
            assert state.get(d) != 1, " -> ".join(path + [d])
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert not any("qa" == d for deps in graph.values() for d in deps)


def test_nothing_outside_the_manifest_module_reads_a_manifest_by_key():
    pattern = re.compile(r"manifest\[[\"']")
    offenders = [str(p.relative_to(ROOT)) for folder in ("qa", "bench") for p in (ROOT / folder).rglob("*.py")
                 if pattern.search(p.read_text()) and p.name != "manifest.py"]
    offenders += ["app.py"] if pattern.search((ROOT / "app.py").read_text()) else []
    assert not offenders


def test_bench_uses_public_entry_points_only():
    private = []
    for p in (ROOT / "bench").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa"):
                private += [f"{p.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not private


def test_importing_qa_leaves_the_environment_and_torch_alone():
    code = "import os, sys; before = dict(os.environ); import qa, qa.cli, qa.search, qa.build; " \
           "print(dict(os.environ) == before, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))})
    assert out.stdout.split() == ["True", "False"]
