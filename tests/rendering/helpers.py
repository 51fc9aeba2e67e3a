"""Shared helpers of the rendering tests: fixtures on disk, manifests in memory."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gitops_agent.core.config import AgentConfig, parse_config
from gitops_agent.core.rendering import kubernetes
from gitops_agent.core.rendering.objects import RenderedSet
from gitops_agent.core.tree import SourceTree
from gitops_agent.engine import desired
from gitops_agent.wiring import read_desired
from tests.conftest import FIXTURES as PROJECT_FIXTURES
from tests.conftest import SAMPLE_REPO

FIXTURES = PROJECT_FIXTURES / "render"
CASES = sorted(path.name for path in FIXTURES.iterdir() if (path / "manifests").is_dir())
REVISION = "0123456789abcdef0123456789abcdef01234567"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def read_case(case: str) -> desired.Desired:
    """A fixture's manifests, read and validated with its configuration (if any)."""
    directory = FIXTURES / case
    config = directory / "gitops-agent.yaml"
    return read_desired(
        str(directory / "manifests"), config_path=str(config) if config.is_file() else None
    )


def render_valid(result: desired.Desired, *, revision: str = REVISION) -> RenderedSet:
    """Render a read result that must be valid."""
    assert not result.violations, [v.format() for v in result.violations]
    settings = result.config.render_settings()
    return kubernetes.render(result.resources, settings, revision=revision, now=NOW)


def render_case(case: str) -> RenderedSet:
    return render_valid(read_case(case))


def render_sample() -> RenderedSet:
    return render_valid(read_desired(str(SAMPLE_REPO)))


def evaluate(files: Mapping[str, str], config: str = "") -> desired.Desired:
    """Manifests held in memory (dedented), under a configuration given as YAML text."""
    tree = SourceTree({path: textwrap.dedent(text) for path, text in files.items()})
    agent = parse_config(textwrap.dedent(config), "gitops-agent.yaml") if config else AgentConfig()
    return desired.evaluate(tree, ("",), agent)


def render_files(
    files: Mapping[str, str], config: str = "", *, revision: str = REVISION
) -> RenderedSet:
    return render_valid(evaluate(files, config), revision=revision)


def messages(files: Mapping[str, str], config: str = "") -> list[str]:
    """The formatted violations of manifests held in memory."""
    return [v.format() for v in evaluate(files, config).violations]


def bodies(rendered: RenderedSet, kind: str | None = None) -> list[Mapping[str, Any]]:
    """The bodies of the rendered objects, optionally of one kind."""
    return [obj.body for obj in rendered.objects() if kind is None or obj.key.kind == kind]


def one(rendered: RenderedSet, kind: str) -> Mapping[str, Any]:
    found = bodies(rendered, kind)
    assert len(found) == 1, [b["metadata"]["name"] for b in found]
    return found[0]


def container(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one container of a Deployment, StatefulSet, Job or CronJob."""
    spec = body["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    containers = spec["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def pod_spec(body: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = body["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def worker(name: str, spec: str, *, head: str = "") -> str:
    """A Worker manifest with ``spec`` (YAML text, dedented) under ``spec:``."""
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return f"version: v2alpha\nname: {name}\ntype: worker\n{head}spec:\n{body}\n"


def workflow(name: str, body: str, *, head: str = "") -> str:
    """A Workflow manifest with ``body`` (YAML text, dedented) under ``spec:``."""
    text = textwrap.indent(textwrap.dedent(body).strip(), "  ")
    return f"version: v2alpha\nname: {name}\ntype: workflow\n{head}spec:\n{text}\n"


CONTAINER = """\
stack: container
stackSpec:
  image: docker.io/library/alpine:3.20
  command: [sh, -c, "sleep infinity"]
"""


def simple_worker(name: str = "w", extra: str = "") -> str:
    return worker(name, "compute: runnable-default\n" + CONTAINER + textwrap.dedent(extra))


def step(name: str, *, depends: str = "", image: str = "alpine:3.20", extra: str = "") -> str:
    """One dag entry (YAML text) of a container step."""
    deps = f"  depends: [{depends}]\n" if depends else ""
    more = textwrap.indent(textwrap.dedent(extra), "    ")
    return (
        f"- name: {name}\n{deps}  spec:\n    compute: runnable-default\n    stack: container\n"
        f"    stackSpec:\n      image: {image}\n{more}"
    )
