"""Where the targets keep an agent's history of cycles (``core.history``).

``ConfigMapHistory`` (Kubernetes): ConfigMaps ``gitops-agent-history-<owner>-<shard>`` in the
inventory namespace, labelled with the owner under ``labels.HISTORY`` (no owner label: they
are never taken for a resource's objects), ``PER_SHARD`` cycles each under keys
``cycle-<seq>``; recording one cycle reads the shards (one LIST) and writes the shard it lands
in and the one that lost its oldest cycle, deleting shards left empty. ``FileHistory`` (local target): one JSON-lines file per
owner under the state directory, replaced atomically. Both cap a record at ``MAX_RECORD``
characters (resources dropped first, and counted). Built by the targets' ``hooks()``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from gitops_agent.core import history, kinds, labels
from gitops_agent.core.history import Cycle
from gitops_agent.core.kinds import ObjectKey
from gitops_agent.errors import TargetError

PER_SHARD = 10
MAX_RECORD = 64 * 1024
MAX_FILE = 16 * 1024 * 1024


class HistoryApi(Protocol):
    """The calls of ``targets.kubeapi.KubeApi`` the ConfigMap store makes."""

    def list(
        self, kind: kinds.Kind, *, selector: str = "", namespace: str = ""
    ) -> list[dict[str, Any]]: ...

    def apply(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]: ...

    def delete(self, key: ObjectKey, *, uid: str | None = None) -> None: ...


def bounded(cycle: Cycle) -> str:
    """``cycle`` encoded within ``MAX_RECORD`` characters: resources dropped (and counted)
    from the end until it fits."""
    text = history.encode(cycle)
    resources = list(cycle.resources)
    while len(text) > MAX_RECORD and resources:
        keep = len(resources) // 2
        dropped = len(resources) - keep
        resources = resources[:keep]
        cycle = replace(cycle, resources=tuple(resources), more=cycle.more + dropped)
        text = history.encode(cycle)
    if len(text) > MAX_RECORD:
        text = history.encode(replace(cycle, summary=cycle.summary[:1000] + "…"))
    return text


class ConfigMapHistory:
    """The history of one owner in ConfigMap shards."""

    def __init__(self, api: HistoryApi, *, owner: str, namespace: str) -> None:
        self.api, self.owner, self.namespace = api, owner, namespace

    def _selector(self) -> str:
        return f"{labels.MANAGED_BY}={labels.MANAGER},{labels.HISTORY}={self.owner}"

    def _shards(self) -> dict[str, dict[str, Any]]:
        listed = self.api.list(
            kinds.CONFIG_MAP, selector=self._selector(), namespace=self.namespace
        )
        return {str(m["metadata"]["name"]): m for m in listed}

    def load(self) -> tuple[Cycle, ...]:
        return _cycles(
            text for shard in self._shards().values() for text in (shard.get("data") or {}).values()
        )

    def record(self, cycle: Cycle, *, limit: int) -> Cycle:
        shards = self._shards()
        cycles = _cycles(
            text for shard in shards.values() for text in (shard.get("data") or {}).values()
        )
        kept = history.append(cycles, cycle, limit=limit)
        by_shard: dict[str, dict[str, str]] = {}
        for c in kept:
            by_shard.setdefault(self._name(c.seq), {})[f"cycle-{c.seq}"] = bounded(c)
        for name, data in sorted(by_shard.items()):
            before = set((shards.get(name) or {}).get("data") or {})
            if before != set(data):  # the new cycle's shard, and one that lost its oldest
                self.api.apply(self._object(name, data))
        for name in sorted(set(shards) - set(by_shard)):
            config_map = kinds.CONFIG_MAP
            self.api.delete(
                ObjectKey(config_map.api_version, config_map.name, self.namespace, name)
            )
        return kept[-1]

    def _name(self, seq: int) -> str:
        return f"gitops-agent-history-{self.owner}-{seq // PER_SHARD}"

    def _object(self, name: str, data: Mapping[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": kinds.CONFIG_MAP.api_version,
            "kind": kinds.CONFIG_MAP.name,
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {labels.MANAGED_BY: labels.MANAGER, labels.HISTORY: self.owner},
            },
            "data": dict(data),
        }


class FileHistory:
    """The history of one owner in a JSON-lines file."""

    def __init__(self, path: Path, *, write: Callable[[Path, str], None]) -> None:
        self.path, self.write = path, write

    def load(self) -> tuple[Cycle, ...]:
        """The file's cycles; a missing, unreadable or special file holds none (a FIFO in
        its place is not waited on)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return ()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return ()
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(MAX_FILE).decode("utf-8", "replace")
        return _cycles(text.splitlines())

    def record(self, cycle: Cycle, *, limit: int) -> Cycle:
        kept = history.append(self.load(), cycle, limit=limit)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.write(self.path, "".join(bounded(c) + "\n" for c in kept))
        except OSError as err:
            raise TargetError(
                f"history not written: {err.strerror}", object_ref=str(self.path)
            ) from None
        return kept[-1]


def _cycles(texts: Any) -> tuple[Cycle, ...]:
    found = [c for c in (history.decode(t) for t in texts) if c is not None]
    return tuple(sorted(found, key=lambda c: c.seq))
