"""Building the edges from the configuration and the command line: targets, mostly.

Called by the command modules (``gitops_agent.commands``) and the agent service; the only
place, with them, that constructs concrete targets. ``--target`` wins over ``target.kind``.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    raise ConfigError("the local target is not available in this build; use --target kubernetes")
