"""What the caller asks the supervisor to run: ``ProcessGroupSpec`` and its JSON form.

A process group is one object of the local target: a Worker's N replicas (``service`` mode,
kept running and restarted on exit) or one workflow step's run (``job`` mode, run once per
``run_id``). The target adapter builds specs and hands them to ``LocalRuntime.apply``; the
daemon reads them back from ``desired/<name>.json``. Validation here keeps names safe as
file names and file paths inside the group's directory; a bad spec raises ``InvalidError``
naming the group. ``launch_fingerprint`` is what decides that running replicas are outdated.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from gitops_agent.errors import InvalidError

SPEC_VERSION = 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_REPLICAS = 64
MAX_FILES_BYTES = 16 * 1024 * 1024


class GroupMode(enum.StrEnum):
    """``service``: keep ``replicas`` processes running; ``job``: run once per ``run_id``."""

    SERVICE = "service"
    JOB = "job"


def object_ref(name: str) -> str:
    """How errors name a group: ``process-group/<name>``."""
    return f"process-group/{name}"


@dataclass(frozen=True, slots=True)
class ProcessGroupSpec:
    """One process group as the caller wants it.

    ``command`` is an argv (no shell unless the caller asks for one); ``env`` is the whole
    environment the caller grants on top of a small base (PATH, HOME, LANG, ...); ``files``
    maps relative paths to contents written under the group's files directory, which is
    also the working directory. ``metadata`` is stored and read back untouched (owner,
    content hash, image). ``spec_hash`` is an extra restart token: changing it rolls the
    replicas even when nothing else changed.
    """

    name: str
    command: tuple[str, ...]
    _: KW_ONLY
    mode: GroupMode = GroupMode.SERVICE
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    replicas: int = 1
    memory_limit_bytes: int | None = None
    cpu_seconds_limit: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    run_id: str = ""
    spec_hash: str = ""
    stop_grace_seconds: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "command", tuple(self.command))
        object.__setattr__(self, "mode", GroupMode(self.mode))
        for attribute in ("env", "files", "metadata"):
            value = getattr(self, attribute)
            object.__setattr__(self, attribute, {str(k): str(v) for k, v in value.items()})
        validate(self)

    @property
    def ref(self) -> str:
        """``process-group/<name>``, for messages."""
        return object_ref(self.name)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping; ``from_json`` reads it back to an equal spec."""
        return {
            "version": SPEC_VERSION,
            "name": self.name,
            "mode": self.mode.value,
            "command": list(self.command),
            "env": dict(self.env),
            "files": dict(self.files),
            "replicas": self.replicas,
            "memoryLimitBytes": self.memory_limit_bytes,
            "cpuSecondsLimit": self.cpu_seconds_limit,
            "metadata": dict(self.metadata),
            "runId": self.run_id,
            "specHash": self.spec_hash,
            "stopGraceSeconds": self.stop_grace_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessGroupSpec:
        """The spec a ``to_json`` mapping describes; ``InvalidError`` when it is malformed."""
        name = str(data.get("name", ""))
        try:
            return cls(
                name=name,
                mode=GroupMode(data.get("mode", GroupMode.SERVICE)),
                command=tuple(data["command"]),
                env=dict(data.get("env") or {}),
                files=dict(data.get("files") or {}),
                replicas=int(data.get("replicas", 1)),
                memory_limit_bytes=_optional_int(data.get("memoryLimitBytes")),
                cpu_seconds_limit=_optional_int(data.get("cpuSecondsLimit")),
                metadata=dict(data.get("metadata") or {}),
                run_id=str(data.get("runId", "")),
                spec_hash=str(data.get("specHash", "")),
                stop_grace_seconds=float(data.get("stopGraceSeconds", 5.0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidError(f"malformed spec: {exc}", object_ref=object_ref(name)) from exc


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int | str | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return int(value)


def validate(spec: ProcessGroupSpec) -> None:
    """Raise ``InvalidError`` naming the group for the first problem of ``spec``."""
    problem = _name_problem(spec.name) or _command_problem(spec) or _limits_problem(spec)
    problem = problem or _env_problem(spec.env) or _files_problem(spec.files)
    if problem:
        raise InvalidError(problem, object_ref=object_ref(spec.name))


def _name_problem(name: str) -> str | None:
    if not NAME_PATTERN.match(name):
        return (
            f"invalid group name {name!r}: use 1 to 200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def _command_problem(spec: ProcessGroupSpec) -> str | None:
    if not spec.command or not all(isinstance(arg, str) for arg in spec.command):
        return "command must be a non-empty list of strings"
    if any("\0" in arg for arg in spec.command):
        return "command arguments must not contain NUL characters"
    if spec.mode is GroupMode.JOB and not spec.run_id:
        return "a job needs a run_id (a new run_id starts a new run)"
    return None


def _limits_problem(spec: ProcessGroupSpec) -> str | None:
    if not 0 <= spec.replicas <= MAX_REPLICAS:
        return f"replicas must be between 0 and {MAX_REPLICAS}, not {spec.replicas}"
    if spec.memory_limit_bytes is not None and spec.memory_limit_bytes < 1024 * 1024:
        return "memory_limit_bytes must be at least 1 MiB"
    if spec.cpu_seconds_limit is not None and spec.cpu_seconds_limit < 1:
        return "cpu_seconds_limit must be at least 1 second"
    if not 0 <= spec.stop_grace_seconds <= 3600:
        return "stop_grace_seconds must be between 0 and 3600"
    return None


def _env_problem(env: Mapping[str, str]) -> str | None:
    for key, value in env.items():
        if not ENV_NAME_PATTERN.match(key):
            return f"invalid environment variable name {key!r}"
        if "\0" in value:
            # The value may be a secret: name the variable, never echo the value.
            return f"environment variable {key} contains a NUL character"
    return None


def _files_problem(files: Mapping[str, str]) -> str | None:
    total = 0
    parents = {
        "/".join(path.split("/")[:n]) for path in files for n in range(1, path.count("/") + 1)
    }
    for path, content in files.items():
        problem = file_path_problem(path)
        if problem:
            return problem
        if path in parents:
            return f"file path {path!r} is both a file and a directory"
        total += len(content.encode())
    if total > MAX_FILES_BYTES:
        return f"files hold {total} bytes, more than the {MAX_FILES_BYTES} allowed"
    return None


def file_path_problem(path: str) -> str | None:
    """Why ``path`` cannot be a projected file (absolute, escaping, empty parts), or None."""
    pure = PurePosixPath(path)
    if not path or "\0" in path or "\\" in path:
        return f"invalid file path {path!r}"
    if pure.is_absolute():
        return f"file path {path!r} must be relative to the group's files directory"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return f"file path {path!r} must not contain '.', '..' or empty parts"
    return None


def launch_fingerprint(spec: ProcessGroupSpec) -> str:
    """A short hash of everything that shapes a replica's process.

    Replicas launched under another fingerprint are outdated and get rolled. ``replicas``
    and ``metadata`` are left out on purpose: scaling or relabelling restarts nothing. A
    job's ``run_id`` is included, so a new run never adopts an old run's process.
    """
    shaped = {
        "command": list(spec.command),
        "env": sorted(spec.env.items()),
        "files": sorted(spec.files.items()),
        "memory": spec.memory_limit_bytes,
        "cpu": spec.cpu_seconds_limit,
        "mode": spec.mode.value,
        "run": spec.run_id if spec.mode is GroupMode.JOB else "",
        "token": spec.spec_hash,
    }
    digest = hashlib.sha256(json.dumps(shaped, sort_keys=True).encode()).hexdigest()
    return digest[:16]
