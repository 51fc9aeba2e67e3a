"""The house rules of DESIGN §3, as walks over the imports of every module.

``core/`` takes no network, subprocess or clock, and never imports targets, sources,
reporters, engine or service modules, nor the libraries those wrap. ``engine/`` is pure of
edges: it takes a source tree and a configuration value, and reaches targets only through
its port, so it imports no sources, targets, reporters, service, commands, wiring or
configuration loading. Each rule has a test of the test: a deliberate bad import it catches.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gitops_agent

PACKAGE = Path(gitops_agent.__file__).parent
EDGE_LIBRARIES = {
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
}
RULES = {
    "core": (
        {"targets", "sources", "reporters", "engine", "service", "testing", "commands"}
        | {"cli", "config", "wiring", "logs"},
        EDGE_LIBRARIES | {"logging"},
    ),
    "engine": (
        {"targets", "sources", "reporters", "service", "testing", "commands"}
        | {"cli", "config", "wiring", "logs"},
        EDGE_LIBRARIES | {"logging"},
    ),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "gitops_agent":
                names.update(f"gitops_agent.{alias.name}" for alias in node.names)
    return names


def violations_of(path: Path, layer: str) -> list[str]:
    """The imports of ``path`` that ``layer``'s rule forbids."""
    packages, libraries = RULES[layer]
    found = []
    for name in imported_modules(path):
        parts = name.split(".")
        if parts[0] in libraries:
            found.append(name)
        if parts[0] == "gitops_agent" and len(parts) > 1 and parts[1] in packages:
            found.append(name)
    return sorted(found)


@pytest.mark.parametrize("layer", sorted(RULES))
def test_a_layer_imports_no_edge(layer: str) -> None:
    modules = sorted((PACKAGE / layer).rglob("*.py"))
    assert len(modules) >= 4
    problems = {str(p.relative_to(PACKAGE)): violations_of(p, layer) for p in modules}
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_core_check_catches_an_edge_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import subprocess\nfrom gitops_agent.targets import kubernetes\nfrom kubernetes import client\n"
    )
    assert violations_of(bad, "core") == ["gitops_agent.targets", "kubernetes", "subprocess"]


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("from gitops_agent.sources import directory", "gitops_agent.sources"),
        (
            "from gitops_agent.targets.kubernetes import KubernetesTarget",
            "gitops_agent.targets.kubernetes",
        ),
        ("import gitops_agent.reporters.github", "gitops_agent.reporters.github"),
        ("from gitops_agent.service import agent", "gitops_agent.service"),
        ("from gitops_agent.commands.sync import report", "gitops_agent.commands.sync"),
        ("from gitops_agent.config import load_config", "gitops_agent.config"),
        ("from gitops_agent import wiring", "gitops_agent.wiring"),
        ("import git", "git"),
    ],
)
def test_the_engine_check_catches_an_edge_import(tmp_path: Path, line: str, caught: str) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(f"from gitops_agent.core import planning\n{line}\n")
    assert violations_of(bad, "engine") == [caught]


def test_the_engine_may_use_the_core_its_port_and_the_error_tree(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text(
        "from gitops_agent.core.config import AgentConfig\n"
        "from gitops_agent.engine.ports import Target\n"
        "from gitops_agent.errors import TargetError\n"
    )
    assert violations_of(good, "engine") == []
