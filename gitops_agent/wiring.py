"""Building the edges from the configuration and the command line: targets, and the desired
state of a directory.

Called by the command modules (``gitops_agent.commands``) and the agent service; the only
place, with them, that constructs concrete targets. ``--target`` wins over ``target.kind``.
``read_desired`` reads a directory (a source) and its configuration file, then hands the
files to the engine, which validates them as a whole; the agent's incremental cycles pass
their ``CycleCache`` and, for a git checkout, the commit's listing of blob ids, so that
only the files that changed are read and checked again.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_agent.config import configuration
from gitops_agent.core.config import AgentConfig
from gitops_agent.engine.desired import Desired, evaluate
from gitops_agent.engine.incremental import CycleCache
from gitops_agent.engine.ports import Target
from gitops_agent.errors import ConfigError
from gitops_agent.sources import directory

if TYPE_CHECKING:
    from gitops_agent.service.coordination import Coordination, NoElection
    from gitops_agent.service.metrics import AgentMetrics
    from gitops_agent.service.server import Health
    from gitops_agent.targets.kubeapi import KubeApi
    from gitops_agent.targets.watchcache import WatchCache


@dataclass(frozen=True, slots=True)
class TargetChoice:
    """What the command line says about the target, on top of the configuration."""

    kind: str | None = None
    kubeconfig: str | None = None
    context: str | None = None


def build_target(
    config: AgentConfig,
    choice: TargetChoice = TargetChoice(),
    *,
    progress: Callable[[str], None] | None = None,
) -> Target:
    """The target the configuration and the command line select; ``progress`` hears what
    the target does on its own (the local supervisor starting; default: the log)."""
    kind = choice.kind or config.target.kind
    if kind == "kubernetes":
        return _kubernetes(config, choice)
    if kind == "local":
        return _local(config, progress or logging.getLogger("gitops_agent.local").info)
    raise ConfigError(f"unknown target {kind!r} (use kubernetes or local)")


def _kubernetes(
    config: AgentConfig, choice: TargetChoice, *, cache: WatchCache | None = None
) -> Target:
    from gitops_agent.targets.kubernetes import KubernetesTarget

    return KubernetesTarget(
        _kube_api(config, choice),
        owner=config.name,
        settings=config.render_settings(),
        inventory_namespace=config.target.inventory_namespace,
        cache=cache,
        namespaces=config.target.namespaces(),
    )


def _kube_api(config: AgentConfig, choice: TargetChoice) -> KubeApi:
    from gitops_agent.targets import kubeapi

    path, origin = kubeconfig_choice(config, choice)
    client = kubeapi.connect(
        kubeconfig=path,
        origin=origin,
        context=choice.context or config.target.context,
        in_cluster=config.target.in_cluster,
    )
    return kubeapi.KubeApi(client)


class WatchedTargets:
    """The targets of a serving ``run``: on Kubernetes, the agent's own owner reads the
    cluster through one watch cache (started on first use, stopped by ``close``); other
    owners (preview environments) and other targets are built as ``build_target`` does."""

    def __init__(self, config: AgentConfig, choice: TargetChoice) -> None:
        self.config, self.choice = config, choice
        self.cache: WatchCache | None = None
        self._api: KubeApi | None = None
        self._lock = threading.Lock()

    def __call__(self, config: AgentConfig) -> Target:
        kind = self.choice.kind or config.target.kind
        if kind != "kubernetes" or config.name != self.config.name:
            return build_target(config, self.choice)
        if config.target.scope == "namespaced":
            return build_target(config, self.choice)  # a cache would watch the whole cluster
        return _kubernetes(config, self.choice, cache=self._started(config))

    def _started(self, config: AgentConfig) -> WatchCache:
        from gitops_agent.core import kinds, labels
        from gitops_agent.targets.watchcache import WatchCache

        with self._lock:
            if self.cache is None:
                self._api = _kube_api(config, self.choice)
                self.cache = WatchCache(
                    self._api,
                    selector=labels.owner_selector(config.name),
                    kinds=kinds.MANAGED,
                    pods=kinds.POD,
                )
                self.cache.start()
            return self.cache

    def close(self) -> None:
        with self._lock:
            if self.cache is not None:
                self.cache.stop()
            if self._api is not None:
                self._api.close()


def build_coordination(
    config: AgentConfig, choice: TargetChoice, *, metrics: AgentMetrics, health: Health
) -> Coordination | NoElection:
    """Leader election for ``run`` (``leaderElection.enabled`` on the kubernetes target):
    the Lease ``gitops-agent-<name>`` and its hint ConfigMap in the lease namespace."""
    from gitops_agent.service.coordination import Coordination, NoElection

    election = config.leader_election
    if not election.enabled:
        return NoElection()
    if (choice.kind or config.target.kind) != "kubernetes":
        raise ConfigError("leaderElection needs the kubernetes target (target.kind: kubernetes)")
    from gitops_agent.service.leadership import LeaderElector, Timings
    from gitops_agent.targets import kubeapi
    from gitops_agent.targets.leases import KubeHints, KubeLeaseLock
    from gitops_agent.targets.serviceaccount import read_namespace, service_account_files

    path, origin = kubeconfig_choice(config, choice)
    client = kubeapi.connect(
        kubeconfig=path,
        origin=origin,
        context=choice.context or config.target.context,
        in_cluster=config.target.in_cluster,
    )
    timings = Timings.of(election)
    api = kubeapi.KubeApi(
        client, retry=kubeapi.RetryPolicy(budget=0.0), timeout=timings.renew_deadline / 2
    )
    pod_namespace = read_namespace(service_account_files()) if config.target.in_cluster else None
    namespace = election.namespace or pod_namespace or config.target.inventory_namespace
    name = election.lease_name(config.name)
    identity = election_identity()
    lock = KubeLeaseLock(api, namespace, name, identity=identity)
    elector = LeaderElector(lock, identity, timings)
    hints = KubeHints(api, namespace, f"{name}-hints")
    return Coordination(elector, hints, metrics=metrics, health=health, lease=f"{namespace}/{name}")


def election_identity() -> str:
    """This replica's name in the election: the pod's (``POD_NAME``) or the host's, with a
    random suffix so that a restarted process is a new candidate (as client-go's examples)."""
    base = os.environ.get("POD_NAME") or socket.gethostname() or "gitops-agent"
    return f"{base}_{uuid.uuid4().hex[:8]}"


def kubeconfig_choice(config: AgentConfig, choice: TargetChoice) -> tuple[str | None, str]:
    """The kubeconfig to read and where that choice came from, for messages: the command
    line, the configuration, ``KUBECONFIG``, else the client's default file."""
    if choice.kubeconfig:
        return choice.kubeconfig, "from --kubeconfig"
    if config.target.kubeconfig:
        return config.target.kubeconfig, f"from target.kubeconfig in {config.path}"
    if os.environ.get("KUBECONFIG"):
        return None, f"from KUBECONFIG={os.environ['KUBECONFIG']}"
    return None, "the default ~/.kube/config"


def _local(config: AgentConfig, progress: Callable[[str], None]) -> Target:
    from gitops_agent.targets.local import LocalTarget, supervisor_started
    from gitops_agent.targets.localproc import LocalRuntime, SupervisorSettings

    state_dir = config.target.state_dir or os.environ.get("GITOPS_AGENT_STATE_DIR") or None
    idle = config.target.supervisor_idle_exit
    settings = SupervisorSettings() if idle is None else SupervisorSettings(idle_exit_seconds=idle)
    runtime = LocalRuntime(
        state_dir, settings=settings, on_start=lambda pid: progress(supervisor_started(pid))
    )
    # what a process needs to call this agent back (a verify workflow runs `gitops-agent get`)
    agent_env = {
        "GITOPS_AGENT_CMD": f"{sys.executable} -m gitops_agent",
        "GITOPS_AGENT_TARGET": "local",
        "GITOPS_AGENT_STATE_DIR": str(runtime.state_dir),
    }
    if config.path:
        agent_env["GITOPS_AGENT_CONFIG"] = str(Path(config.path).resolve())
    return LocalTarget(
        runtime, owner=config.name, settings=config.render_settings(), agent_env=agent_env
    )


def read_desired(
    path: str,
    *,
    config_path: str | None = None,
    variables: dict[str, str] | None = None,
    subpath: str | None = None,
    display: str | None = None,
    cache: CycleCache | None = None,
    listing: directory.Listing | None = None,
) -> Desired:
    """Read, load and validate the manifests at ``path`` (a directory or a file).

    For a directory, only manifests under ``subpath`` (default: the configured
    ``source.path`` when that directory exists under ``path``) are loaded on their own;
    bundle files may still reference the whole repository. ``display`` is how file paths
    are shown (``""``: relative to the repository root). ``cache`` keeps what this read
    found for the next one; ``listing`` is the blob id of every file of a clean checkout.
    """
    previous = cache.tree if cache is not None else None
    selection = directory.select(path, display=display, listing=listing, previous=previous)
    config = configuration(selection.root_dir, config_path, variables or {})
    if cache is not None:
        cache.begin(config)
        cache.tree = selection.tree
    roots = selection.roots
    chosen = subpath if subpath is not None else config.source.path
    exists = subpath is not None or (selection.root_dir / chosen).is_dir()
    if roots == ("",) and chosen and exists:
        roots = (chosen.strip("/"),)
    return evaluate(
        selection.tree, roots, config, memos=cache.memos() if cache is not None else None
    )
