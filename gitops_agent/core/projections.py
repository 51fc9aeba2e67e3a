"""Projection rules and parsing: ``use.projection`` env vars, files and secret references.

Called by ``core.validation`` (``findings``) and by the renderers (``env_template_vars``,
``secret_reference``). A template that uses a secret must be exactly one reference,
``{{ secrets['alias'].key }}`` (optionally ``| base64_decode``): the agent never reads a
secret's value, it points the runtime at it, so a secret cannot be mixed with other text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitops_agent.core import yamldoc
from gitops_agent.core.manifests import scalar_text
from gitops_agent.core.violations import Finding, quoted, type_words

if TYPE_CHECKING:
    from gitops_agent.core.manifests import Projection, Use

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALIAS = r"""(?:\[\s*['"](?P<alias>[^'"]+)['"]\s*\]|\.(?P<dotted>[A-Za-z_][A-Za-z0-9_-]*))"""
_KEY = r"""(?:\.(?P<key>[A-Za-z0-9_.-]+)|\[\s*['"](?P<bracket_key>[^'"]+)['"]\s*\])"""
_SECRET = re.compile(
    r"\{\{-?\s*\.?secrets" + _ALIAS + _KEY + r"\s*(?:\|\s*base64_decode\s*)?-?\}\}"
)
_ANY_SECRET = re.compile(r"\.?secrets\s*[\[.]")
_BASE: tuple[str, ...] = ("use", "projection")


@dataclass(frozen=True, slots=True)
class SecretReference:
    """A template that is exactly one secret key: ``secrets['alias'].key``."""

    alias: str
    key: str


def secret_reference(template: str) -> SecretReference | None:
    """The secret a template points at, when the whole template is one secret reference."""
    match = _SECRET.fullmatch(template.strip())
    if match is None:
        return None
    alias = match.group("alias") or match.group("dotted")
    key = match.group("key") or match.group("bracket_key")
    return SecretReference(alias, key)


def mentions_secret(template: str) -> bool:
    """True when a template refers to ``secrets`` anywhere."""
    return bool(_ANY_SECRET.search(template))


def env_template_vars(text: str) -> tuple[dict[str, str], str | None]:
    """The variables of an ``envVarsTemplate`` (a YAML mapping in a string), or a problem."""
    pairs, problem = _env_template_pairs(text)
    return dict(pairs), problem


@functools.lru_cache(maxsize=4096)
def _env_template_pairs(text: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """``env_template_vars`` parsed once per text: validation, the rendering checks and the
    renderer all read the same template, and many resources share one."""
    found, problem = _parse_env_template(text)
    return tuple(found.items()), problem


def _parse_env_template(text: str) -> tuple[dict[str, str], str | None]:
    parsed = yamldoc.parse("envVarsTemplate", text)
    if parsed.violations:
        return {}, f"envVarsTemplate is not valid YAML: {parsed.violations[0].message}"
    documents = [doc for doc in parsed.documents if doc.data is not None]
    if not documents:
        return {}, None
    data = documents[0].data
    if len(documents) > 1 or not isinstance(data, dict):
        return {}, "envVarsTemplate must be a YAML mapping of NAME: value"
    result: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            message = (
                f"envVarsTemplate: {quoted(key)} must be a single value, not {type_words(value)}"
            )
            return {}, message
        if not ENV_NAME.fullmatch(key):
            return {}, f"envVarsTemplate: {quoted(key)} is not a valid environment variable name"
        result[key] = scalar_text(value)
    return result, None


def findings(use: Use) -> Iterator[Finding]:
    """The problems of a runtime's projection, at paths relative to the runtime's spec."""
    projection = use.projection
    if projection is None:
        return
    aliases = yield from _alias_findings(projection)
    yield from _env_findings(projection, aliases)
    yield from _file_findings(projection, aliases)


def _finding(at: tuple[str | int, ...], message: str, rule: str = "projection") -> Finding:
    return Finding((*_BASE, *at), message, rule)


def _alias_findings(projection: Projection) -> Generator[Finding, None, set[str]]:
    seen: set[str] = set()
    for index, secret in enumerate(projection.secrets):
        if secret.context_alias in seen:
            yield _finding(
                ("secrets", index, "contextAlias"),
                f"duplicate contextAlias {secret.context_alias!r}",
            )
        seen.add(secret.context_alias)
    return seen


def _template_findings(
    template: str, at: tuple[str | int, ...], aliases: set[str], *, env: bool
) -> Iterator[Finding]:
    if not mentions_secret(template):
        return
    reference = secret_reference(template)
    if reference is None:
        how = "an environment variable" if env else "a file"
        message = (
            f"a template that uses a secret must be exactly one reference such as "
            f"{{{{ secrets['alias'].key }}}}, not mixed with other text ({how} can take the "
            "secret whole; compose it in the program instead)"
        )
        yield _finding(at, message, "secret-template")
    elif reference.alias not in aliases:
        known = ", ".join(sorted(aliases)) or "none declared"
        message = f"secret alias {reference.alias!r} is not declared in projection.secrets (declared: {known})"
        yield _finding(at, message, "secret-template")


def _env_findings(projection: Projection, aliases: set[str]) -> Iterator[Finding]:
    keys: dict[str, str] = {}
    if projection.env_vars_template is not None:
        variables, problem = env_template_vars(projection.env_vars_template)
        if problem:
            yield _finding(("projections", "envVarsTemplate"), problem)
        for key, value in variables.items():
            keys[key] = "envVarsTemplate"
            yield from _template_findings(
                value, ("projections", "envVarsTemplate"), aliases, env=True
            )
    for index, variable in enumerate(projection.env_vars):
        at = ("projections", "envVars", index)
        if variable.key in keys:
            yield _finding(
                (*at, "key"),
                f"environment variable {variable.key} is already set by {keys[variable.key]}",
            )
        keys.setdefault(variable.key, f"envVars[{index}]")
        yield from _template_findings(variable.template, (*at, "template"), aliases, env=True)


def _file_findings(projection: Projection, aliases: set[str]) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for index, file in enumerate(projection.files):
        at = ("projections", "files", index)
        if (file.directory, file.name) in seen:
            yield _finding(
                (*at, "name"), f"file {file.directory.rstrip('/')}/{file.name} is projected twice"
            )
        seen.add((file.directory, file.name))
        yield from _template_findings(file.template, (*at, "template"), aliases, env=False)
