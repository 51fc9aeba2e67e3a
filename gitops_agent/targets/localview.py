"""Process groups of the local target as they run: the stored group, with what the
supervisor runs in its place where that differs.

Called by ``targets.local`` when it observes. A group's object (``objects/<owner>/<name>.json``
under the state directory) is what the agent applied; the supervisor runs the spec written
in ``desired/<name>.json``. When someone edits that spec (replicas, command, environment,
memory, image) the group is shown with the values that run, so that a drift check sees them
and a heal writes the spec back. Paths are compared as the target maps them into the state
directory. Secrets never show: an entry that names a secret is compared by name only, and an
environment value the group does not declare, or that differs from the declared one, is
masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitops_agent.core import quantities
from gitops_agent.core.diffing import MASK
from gitops_agent.targets.localproc import GroupMode, ProcessGroupSpec

#: The text of a group (a command part, an environment value) mapped into the state directory.
Remap = Callable[[str], str]


def running_view(
    obj: Mapping[str, Any],
    spec: ProcessGroupSpec,
    *,
    remap: Remap,
    agent_env: Collection[str],
) -> dict[str, Any]:
    """``obj`` with the fields the supervisor runs otherwise set to what runs."""
    group = dict(obj.get("spec") or {})
    if spec.mode is GroupMode.SERVICE and spec.replicas != int(group.get("replicas", 1)):
        group["replicas"] = spec.replicas
    if list(spec.command) != [remap(str(part)) for part in group.get("command", [])]:
        group["command"] = list(spec.command)
    declared = group.get("memoryLimit")
    expected = int(quantities.value(declared)) if declared else None
    if spec.memory_limit_bytes != expected:
        if spec.memory_limit_bytes is None:
            group.pop("memoryLimit", None)
        else:
            group["memoryLimit"] = str(spec.memory_limit_bytes)
    image = spec.metadata.get("image", "")
    if image != group.get("image", ""):
        group["image"] = image
    env = _env(group.get("env") or [], spec.env, remap, agent_env)
    if env is not None:
        group["env"] = env
    if spec.mode is GroupMode.JOB and spec.run_id and spec.run_id != group.get("runId"):
        group["runId"] = spec.run_id
    return {**obj, "spec": group}


def _env(
    declared: list[Mapping[str, Any]],
    running: Mapping[str, str],
    remap: Remap,
    agent_env: Collection[str],
) -> list[dict[str, Any]] | None:
    """The environment as it runs, in the group's shape; None when it is the declared one."""
    extra = {k: v for k, v in running.items() if k not in agent_env}
    found: list[dict[str, Any]] = []
    for entry in declared:
        name = str(entry.get("name", ""))
        if name not in extra:
            continue  # removed from what runs
        value = extra.pop(name)
        if "secret" in entry or remap(str(entry.get("value", ""))) == value:
            found.append(dict(entry))
        else:
            found.append({"name": name, "value": MASK})
    found += [{"name": name, "value": MASK} for name in sorted(extra)]
    return None if found == [dict(e) for e in declared] else found


def mapped_paths(state: Path, obj: Mapping[str, Any], files_dir: Path) -> list[tuple[str, str]]:
    """Manifest directory -> local directory, longest first: projected files under the
    group's files directory, ``disk`` and volume mounts under the state directory."""
    spec, metadata = obj["spec"], obj["metadata"]
    found = {
        str(Path(path).parent): str(files_dir / str(Path(path).parent).lstrip("/"))
        for path in spec.get("files", {})
    }
    for directory, source in (spec.get("mounts") or {}).items():
        where = (
            state / "disks" / metadata["namespace"] / metadata["name"]
            if source == "disk"
            else state / "volumes" / metadata["namespace"] / source.split(":", 1)[1]
        )
        found[directory] = str(where)
    return sorted(found.items(), key=lambda item: -len(item[0]))


def remap(text: str, mapping: Sequence[tuple[str, str]]) -> str:
    """``text`` with each manifest directory (as a whole path part) replaced by its local one."""
    for directory, local in mapping:
        pattern = re.compile(r"(?<![\w./-])" + re.escape(directory) + r"(?![\w.-])")
        text = pattern.sub(local.replace("\\", "\\\\"), text)
    return text
