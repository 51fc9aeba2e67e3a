"""Property-based tests: random YAML text and random structures through load and validate.

Whatever the input, loading and validation return violations; nothing escapes but the
project's own error types, and no single case takes over one second (hypothesis deadline).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_agent.config import load_config
from gitops_agent.core import loading, validation
from gitops_agent.core.tree import SourceTree
from gitops_agent.core.violations import Violation
from gitops_agent.errors import GitOpsError
from tests.conftest import SAMPLE_REPO

SETTINGS = settings(
    deadline=timedelta(seconds=1), max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
TOKENS = [
    "version: v2alpha\n",
    "type: worker\n",
    "type: bundle\n",
    "type: workflow\n",
    "name: w\n",
    "spec:\n",
    "bundle:\n",
    "  resources:\n",
    "  - id: a\n",
    "    file: ../x.yaml\n",
    "  dag:\n",
    "  stackSpec: {image: a}\n",
    "&a ",
    "*a ",
    "<<: ",
    "!!str ",
    "!!binary ",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "  ",
    "\n",
    "---\n",
    "'",
    '"',
    "|\n",
    ">\n",
    "#",
    "${X}",
    "${{y}}",
    "%YAML 1.1\n",
    "? ",
    "\t",
    "\x00",
    "\ufeff",
    "replicas: ",
    "1",
    "-1",
    "1e9",
    "null",
    "~",
    "true",
    ",",
]
FIELDS = [
    "version",
    "name",
    "type",
    "spec",
    "bundle",
    "resources",
    "dag",
    "compute",
    "replicas",
    "stack",
    "stackSpec",
    "use",
    "projection",
    "projections",
    "envVars",
    "files",
    "secrets",
    "disk",
    "volumes",
    "requests",
    "limits",
    "cpu",
    "memory",
    "id",
    "file",
    "dependencies",
    "dependencyConditions",
    "resourceId",
    "status",
    "runtime",
    "is",
    "contains",
    "schedule",
    "crons",
    "depends",
    "template",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["v2alpha", "worker", "bundle", "50m", "64Mi", "a.yaml", "${X}"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=30,
)


ENV = {"X": "1", **load_config(SAMPLE_REPO / "gitops-agent.yaml").vars}


def run(files: dict[str, str]) -> tuple[Violation, ...]:
    tree = SourceTree(files, display_root="repo")
    try:
        loaded = loading.load(tree, env=ENV)
        violations = validation.validate(loaded)
    except GitOpsError:
        return ()
    assert isinstance(violations, tuple)
    for violation in violations:
        assert violation.line >= 0 and violation.message
    return violations


@SETTINGS
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    run({"a.yaml": text})


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_random_yaml_tokens(tokens: list[str]) -> None:
    run({"a.yaml": "".join(tokens), "x.yaml": "".join(reversed(tokens))})


@SETTINGS
@given(values, st.sampled_from(["worker", "workflow", "bundle"]))
def test_random_structures(body: Any, kind: str) -> None:
    data = {"version": "v2alpha", "name": "w", "type": kind, "spec": body, "bundle": body}
    run({"a.yaml": yaml.safe_dump(data), "b.yaml": yaml.safe_dump(body)})


def _sample_manifests() -> dict[str, Any]:
    found = {}
    for path in SAMPLE_REPO.rglob("*.yaml"):
        if path.name != "gitops-agent.yaml":
            found[path.relative_to(SAMPLE_REPO).as_posix()] = yaml.safe_load(path.read_text())
    return found


SAMPLES = _sample_manifests()


def _replace_at(data: Any, choices: list[int], new: Any) -> Any:
    data = copy.deepcopy(data)
    node = data
    for choice in choices:
        children = (
            list(node.items())
            if isinstance(node, dict)
            else list(enumerate(node))
            if isinstance(node, list)
            else []
        )
        if not children:
            break
        key, child = children[choice % len(children)]
        if not isinstance(child, dict | list) or choice % 3 == 0:
            node[key] = new
            return data
        node = child
    return data


def test_unmutated_samples_are_valid() -> None:
    assert run({p: yaml.safe_dump(d) for p, d in SAMPLES.items()}) == ()


@SETTINGS
@given(
    st.sampled_from(sorted(SAMPLES)), st.lists(st.integers(0, 50), min_size=1, max_size=8), values
)
def test_mutated_sample_manifests(path: str, choices: list[int], new: Any) -> None:
    files = {p: yaml.safe_dump(d) for p, d in SAMPLES.items()}
    files[path] = yaml.safe_dump(_replace_at(SAMPLES[path], choices, new))
    run(files)
