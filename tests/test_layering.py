"""The pure core imports no edge: a walk over the imports of every module in ``core/``.

DESIGN §3: ``core/`` takes no network, subprocess or clock, and never imports targets,
sources, reporters, engine or service modules, nor the libraries those wrap.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gitops_agent.core

CORE = Path(gitops_agent.core.__file__).parent
FORBIDDEN_PACKAGES = (
    "targets",
    "sources",
    "reporters",
    "engine",
    "service",
    "testing",
    "cli",
    "config",
)
FORBIDDEN_LIBRARIES = {
    "kubernetes",
    "kubernetes_validate",
    "git",
    "apscheduler",
    "requests",
    "urllib3",
    "urllib",
    "http",
    "httpx",
    "aiohttp",
    "socket",
    "subprocess",
    "ssl",
    "asyncio",
    "threading",
    "logging",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def violations_of(path: Path) -> list[str]:
    found = []
    for name in imported_modules(path):
        top = name.split(".")[0]
        if top in FORBIDDEN_LIBRARIES:
            found.append(name)
        parts = name.split(".")
        if parts[0] == "gitops_agent" and len(parts) > 1 and parts[1] in FORBIDDEN_PACKAGES:
            found.append(name)
    return sorted(found)


def test_core_imports_no_edge() -> None:
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 10
    problems = {str(p.relative_to(CORE)): violations_of(p) for p in modules}
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_check_catches_an_edge_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import subprocess\nfrom gitops_agent.targets import kubernetes\nfrom kubernetes import client\n"
    )
    assert violations_of(bad) == ["gitops_agent.targets", "kubernetes", "subprocess"]
