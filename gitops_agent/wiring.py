"""Building the edges from the configuration and the command line: targets, mostly.

Called by the command modules (``gitops_agent.commands``) and the agent service; the only
place, with them, that constructs concrete targets. ``--target`` wins over ``target.kind``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from gitops_agent.config import AgentConfig
from gitops_agent.engine.ports import Target
from gitops_agent.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TargetChoice:
    """What the command line says about the target, on top of the configuration."""

    kind: str | None = None
    kubeconfig: str | None = None
    context: str | None = None


def build_target(config: AgentConfig, choice: TargetChoice = TargetChoice()) -> Target:
    """The target the configuration and the command line select."""
    kind = choice.kind or config.target.kind
    if kind == "kubernetes":
        return _kubernetes(config, choice)
    if kind == "local":
        return _local(config)
    raise ConfigError(f"unknown target {kind!r} (use kubernetes or local)")


def _kubernetes(config: AgentConfig, choice: TargetChoice) -> Target:
    from gitops_agent.targets import kubeapi
    from gitops_agent.targets.kubernetes import KubernetesTarget

    client = kubeapi.connect(
        kubeconfig=choice.kubeconfig or config.target.kubeconfig,
        context=choice.context or config.target.context,
        in_cluster=config.target.in_cluster,
    )
    return KubernetesTarget(
        kubeapi.KubeApi(client),
        owner=config.name,
        settings=config.render_settings(),
        inventory_namespace=config.target.inventory_namespace,
    )


def _local(config: AgentConfig) -> Target:
    from gitops_agent.targets.local import LocalTarget
    from gitops_agent.targets.localproc import LocalRuntime

    state_dir = config.target.state_dir or os.environ.get("GITOPS_AGENT_STATE_DIR") or None
    runtime = LocalRuntime(state_dir)
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
