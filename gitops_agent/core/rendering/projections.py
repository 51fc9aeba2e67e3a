"""Projections on Kubernetes: ``use.projection`` -> container env, ConfigMaps and volumes.

Called by ``pods`` for every Worker and Workflow step. ``${{key}}`` placeholders are filled
from the context (``core.rendering.context``). A template that is exactly one secret
reference becomes a reference to the Kubernetes Secret named by the secret id
(``tenant:name`` -> Secret ``name``): ``valueFrom.secretKeyRef`` for an env var, a projected
Secret item for a file. The agent never reads a secret's value, so none can be inlined.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitops_agent.core import projections
from gitops_agent.core.manifests import ProjectedFile, Projection
from gitops_agent.core.rendering import context, names
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.core.rendering.volumes import ConfigData, Parts

_EXPANDED = re.compile(r"\$(?=[$(])")


def secret_name(secret_id: str) -> str:
    """The Kubernetes Secret of a DataOS secret id: ``tenant:name`` -> ``name``."""
    return secret_id.rpartition(":")[2]


def escape(text: str) -> str:
    """``text`` written so that Kubernetes passes it on verbatim.

    Kubernetes expands ``$(VAR)`` and turns ``$$`` into ``$`` in env values, commands and
    arguments; the local target does not. Doubling each ``$`` that precedes ``$`` or ``(``
    keeps the text the process sees exactly the text of the manifest, on every target.
    """
    return _EXPANDED.sub("$$", text)


def env(projection: Projection | None, values: Mapping[str, str]) -> list[dict[str, Any]]:
    """The container's ``env``: ``envVarsTemplate`` entries first, then ``envVars``."""
    if projection is None:
        return []
    pairs: list[tuple[str, str]] = []
    if projection.env_vars_template is not None:
        variables, problem = projections.env_template_vars(projection.env_vars_template)
        if problem:
            raise RenderError(problem)
        pairs.extend(variables.items())
    pairs.extend((variable.key, variable.template) for variable in projection.env_vars)
    aliases = _aliases(projection)
    return [_env_var(key, template, values, aliases) for key, template in pairs]


def _aliases(projection: Projection) -> dict[str, str]:
    return {secret.context_alias: secret_name(secret.id) for secret in projection.secrets}


def _secret(template: str, aliases: Mapping[str, str]) -> tuple[str, str] | None:
    """The Secret name and key a template refers to, when it is one secret reference."""
    reference = projections.secret_reference(template)
    if reference is None:
        if projections.mentions_secret(template):
            raise RenderError("a secret must be the whole template")
        return None
    if reference.alias not in aliases:
        raise RenderError(f"secret alias {reference.alias!r} is not declared")
    return aliases[reference.alias], reference.key


def _env_var(
    key: str, template: str, values: Mapping[str, str], aliases: Mapping[str, str]
) -> dict[str, Any]:
    secret = _secret(template, aliases)
    if secret is None:
        return {"name": key, "value": escape(context.substitute(template, values))}
    name, secret_key = secret
    return {"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": secret_key}}}


def files(projection: Projection | None, values: Mapping[str, str], base: str) -> Parts:
    """Projected files: one ConfigMap and one read-only volume per directory."""
    if projection is None or not projection.files:
        return Parts()
    directories: dict[str, list[ProjectedFile]] = {}
    for file in projection.files:
        directories.setdefault(file.directory, []).append(file)
    aliases = _aliases(projection)
    parts = Parts()
    for index, (directory, group) in enumerate(directories.items()):
        parts += _directory(index, directory, group, values=values, aliases=aliases, base=base)
    return parts


def _directory(
    index: int,
    directory: str,
    group: list[ProjectedFile],
    *,
    values: Mapping[str, str],
    aliases: Mapping[str, str],
    base: str,
) -> Parts:
    config_name = names.files_config(base, index)
    data: dict[str, str] = {}
    secrets: list[dict[str, Any]] = []
    for file in group:
        secret = _secret(file.template, aliases)
        if secret is None:
            data[file.name] = context.substitute(file.template, values)
        else:
            items = [{"key": secret[1], "path": file.name}]
            secrets.append({"secret": {"name": secret[0], "items": items}})
    volume_name = names.files_volume(index)
    mount = {"name": volume_name, "mountPath": directory, "readOnly": True}
    items = [{"key": key, "path": key} for key in data]
    from_config = {"name": config_name, "items": items}
    config_maps = (ConfigData(config_name, data),) if data else ()
    if not secrets:
        return Parts(({"name": volume_name, "configMap": from_config},), (mount,), config_maps)
    sources = ([{"configMap": from_config}] if data else []) + secrets
    volume = {"name": volume_name, "projected": {"sources": sources}}
    return Parts((volume,), (mount,), config_maps)
