"""One home for the kinds: ``core.kinds`` is the only module of the agent that spells a kind.

A second table of kinds (a tuple of names for apply order, a dict of REST paths, a list of
what to observe) always drifts from the first; so outside ``core/kinds.py`` no module may
hold a kind's name (``"Deployment"``) or API group version (``"apps/v1"``) as a string: it
names ``kinds.DEPLOYMENT`` instead. ``testing/`` is exempt on purpose: kubesim emulates the
API server and keeps its own tables, so that it never shares the code it tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gitops_agent
from gitops_agent.core import kinds
from gitops_agent.core.kinds import ObjectKey, key_of

PACKAGE = Path(gitops_agent.__file__).parent
SPELLINGS = {k.name for k in kinds.KINDS} | {
    k.api_version for k in kinds.KINDS if "/" in k.api_version
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def kind_spellings(source: str) -> list[tuple[int, str]]:
    """The string constants of ``source`` (docstrings aside) that spell a kind."""
    tree = ast.parse(source)
    skipped = _docstrings(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in SPELLINGS
        and id(node) not in skipped
    )


def test_only_core_kinds_spells_a_kind() -> None:
    modules = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "testing" and path.name != "kinds.py"
    ]
    assert len(modules) > 50
    found = {str(path.relative_to(PACKAGE)): kind_spellings(path.read_text()) for path in modules}
    assert {module: hits for module, hits in found.items() if hits} == {}


def test_the_check_catches_a_second_table() -> None:
    second = '"""A docstring may say Deployment."""\nORDER = ("ConfigMap", "Deployment")\nAPPS = "apps/v1"\n'
    assert kind_spellings(second) == [(2, "ConfigMap"), (2, "Deployment"), (3, "apps/v1")]


def test_the_table_serves_paths_and_order() -> None:
    assert kinds.DEPLOYMENT.path("public", "w") == "/apis/apps/v1/namespaces/public/deployments/w"
    assert kinds.NAMESPACE.collection("ignored") == "/api/v1/namespaces"
    assert kinds.POD.collection() == "/api/v1/pods"
    assert kinds.CONFIG_MAP.rank < kinds.PERSISTENT_VOLUME_CLAIM.rank < kinds.DEPLOYMENT.rank
    assert kinds.rank_of("Unknown") == len(kinds.KINDS)
    assert [k.name for k in kinds.MANAGED] == [
        "ConfigMap",
        "PersistentVolumeClaim",
        "Service",
        "StatefulSet",
        "Deployment",
        "Job",
        "CronJob",
    ]
    assert kinds.POD.observed and not kinds.POD.managed


def test_object_keys_round_trip() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}
    key = key_of(body)
    assert key == ObjectKey("v1", "ConfigMap", "n", "a")
    assert str(key) == "ConfigMap/n/a"
    assert ObjectKey.decode(key.encode()) == key
    assert kinds.apply_order(key) == (kinds.CONFIG_MAP.rank, "a")
