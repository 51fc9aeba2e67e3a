"""A corpus case and the builders of its files: manifests as data, written as YAML.

Used by the hand-written case lists (``handwritten``) and the strategies (``strategies``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

Path = Sequence[str | int]


@dataclass(frozen=True)
class Case:
    """One directory for ``validate`` and what it must answer.

    ``valid`` controls exit 0 (and are then rendered and planned); the others exit 1 with a
    ``file:line:col`` on every violation. ``expect`` is a part of the output, ``at`` the
    start of one violation's ``file:line:column:`` (relative to the case directory). ``special``
    entries are made on disk: ``("fifo", "p.yaml")``, ``("socket", ...)``, ``("device", ...)``
    or ``("symlink", "link.yaml", "target")``. ``heavy`` cases are also run in a subprocess
    whose peak memory is measured.
    """

    name: str
    files: Mapping[str, str | bytes]
    valid: bool = False
    expect: str = ""
    at: str = ""
    heavy: bool = False
    special: tuple[tuple[str, ...], ...] = ()
    argument: str = ""  # what to pass to validate instead of the directory (relative)


CONTAINER = {"image": "alpine:3.20", "command": ["sh", "-c", "sleep 3600"]}
RUNTIME = {"compute": "runnable-default", "stack": "container", "stackSpec": CONTAINER}
WORKER: dict[str, Any] = {
    "version": "v2alpha",
    "name": "w",
    "type": "worker",
    "spec": {
        "compute": "runnable-default",
        "replicas": 1,
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "256Mi"},
        },
        "stack": "container",
        "stackSpec": CONTAINER,
    },
}
WORKFLOW: dict[str, Any] = {
    "version": "v2alpha",
    "name": "wf",
    "type": "workflow",
    "spec": {"dag": [{"name": "a", "spec": RUNTIME}]},
}
SCHEDULED: dict[str, Any] = {
    **WORKFLOW,
    "spec": {"schedule": {"crons": ["0 * * * *"], "timezone": "UTC"}, **WORKFLOW["spec"]},
}
BUNDLE: dict[str, Any] = {
    "version": "v2alpha",
    "name": "b",
    "type": "bundle",
    "bundle": {"resources": [{"id": "a", "file": "w.yaml"}]},
}
PROJECTION: dict[str, Any] = {
    "secrets": [{"id": "db-credentials", "contextAlias": "db"}],
    "projections": {
        "envVars": [
            {"key": "MODE", "template": "fast"},
            {"key": "PASSWORD", "template": "{{ secrets['db'].password }}"},
        ],
        "files": [{"name": "app.yaml", "directory": "/etc/app", "template": "mode: fast"}],
    },
}


class Digits(str):
    """An integer written out plain, however long (``int`` refuses to print 5,000 digits)."""


class _Dumper(yaml.SafeDumper):
    """The safe dumper, writing ``Digits`` as a plain integer."""


_Dumper.add_representer(
    Digits, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:int", str(value))
)


def dump(data: Any) -> str:
    """YAML text of ``data`` as a person would write it (keys in order, one document)."""
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**9)
    return text


def with_value(data: Mapping[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with ``value`` at ``path`` (mappings made on the way)."""
    copied: dict[str, Any] = copy.deepcopy(dict(data))
    node: Any = copied
    for key in path[:-1]:
        if isinstance(key, str) and key not in node:
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return copied


def without(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """A deep copy of ``data`` without the key at ``path``."""
    copied: dict[str, Any] = copy.deepcopy(dict(data))
    node: Any = copied
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copied


def one(name: str, data: Mapping[str, Any], *, file: str = "m.yaml", **options: Any) -> Case:
    """A case of one manifest file."""
    return Case(name, {file: dump(data)}, **options)
