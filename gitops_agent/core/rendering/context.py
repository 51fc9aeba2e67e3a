"""The projection context: the ``${{key}}`` placeholders a template may use, and their values.

Called by ``core.rendering`` (``values`` and ``substitute`` for env vars, files and stack
arguments) and by the rendering checks in ``core.validation`` (``keys_for`` and
``unknown``, so an unknown key is a violation, never a surprise at apply time). The set is
explicit and small; each key is documented in ``core/rendering/README.md``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from gitops_agent.core.manifests import ResourceType
from gitops_agent.core.variables import PLACEHOLDER


class ContextKey(enum.StrEnum):
    """The keys of ``${{key}}`` placeholders."""

    RESOURCE_NAME = "resource-name"
    RESOURCE_TYPE = "resource-type"
    WORKER_NAME = "worker-name"
    WORKFLOW_NAME = "workflow-name"
    STEP_NAME = "step-name"
    WORKSPACE = "workspace"
    NAMESPACE = "namespace"
    DATAOS_FQDN = "dataos-fqdn"


ALL_KEYS: tuple[str, ...] = tuple(key.value for key in ContextKey)
_COMMON = (
    ContextKey.RESOURCE_NAME,
    ContextKey.RESOURCE_TYPE,
    ContextKey.WORKSPACE,
    ContextKey.NAMESPACE,
    ContextKey.DATAOS_FQDN,
)
_BY_TYPE: Mapping[ResourceType, tuple[str, ...]] = {
    ResourceType.WORKER: (*_COMMON, ContextKey.WORKER_NAME),
    ResourceType.WORKFLOW: (*_COMMON, ContextKey.WORKFLOW_NAME, ContextKey.STEP_NAME),
}


class TemplateError(ValueError):
    """A template names a key its context does not have (validation rules this out)."""


def keys_for(kind: ResourceType) -> tuple[str, ...]:
    """The keys a Worker's or a Workflow step's templates may use, sorted."""
    return tuple(sorted(str(key) for key in _BY_TYPE.get(kind, ())))


def values(
    kind: ResourceType,
    name: str,
    *,
    workspace: str,
    namespace: str,
    dataos_fqdn: str,
    step: str | None = None,
) -> dict[str, str]:
    """The value of every key of a Worker's (or a Workflow step's) context."""
    found = {
        ContextKey.RESOURCE_NAME.value: name,
        ContextKey.RESOURCE_TYPE.value: kind.value,
        ContextKey.WORKSPACE.value: workspace,
        ContextKey.NAMESPACE.value: namespace,
        ContextKey.DATAOS_FQDN.value: dataos_fqdn,
    }
    if kind is ResourceType.WORKER:
        found[ContextKey.WORKER_NAME.value] = name
    else:
        found[ContextKey.WORKFLOW_NAME.value] = name
        found[ContextKey.STEP_NAME.value] = step or ""
    return found


def unknown(text: str, known: tuple[str, ...]) -> list[str]:
    """The placeholders of ``text`` (as written) whose key is not in ``known``."""
    return [m.group(0) for m in PLACEHOLDER.finditer(text) if m.group(1) not in known]


def substitute(text: str, context: Mapping[str, str]) -> str:
    """``text`` with every ``${{key}}`` replaced by its value from ``context``."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in context:
            raise TemplateError(f"unknown placeholder {match.group(0)}")
        return context[key]

    if "${{" not in text:
        return text
    return PLACEHOLDER.sub(replace, text)
