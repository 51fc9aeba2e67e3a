"""Desired state of one source: read, load and validate, as a whole, before anything else.

Called by the command line (``validate`` and every command that reads manifests) and by the
reconcile cycle. Finds the configuration (``--config``, else ``gitops-agent.yaml`` at the
root of the source), applies ``--var`` on top of its variables, and returns the resources
with every violation of the run. Nothing may be applied from a result with violations.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from pathlib import Path

from gitops_agent.config import AgentConfig, load_config
from gitops_agent.core import loading, validation
from gitops_agent.core.manifests import Resource
from gitops_agent.core.tree import CONFIG_FILE, SourceTree
from gitops_agent.core.violations import Violation
from gitops_agent.sources import directory


@dataclass(frozen=True, slots=True)
class Desired:
    """The resources of a source and every violation found reading them."""

    resources: tuple[Resource, ...]
    violations: tuple[Violation, ...]
    config: AgentConfig

    @property
    def valid(self) -> bool:
        return not self.violations


def configuration(root: Path, config_path: str | None, variables: dict[str, str]) -> AgentConfig:
    """The agent configuration for a source rooted at ``root``."""
    if config_path is not None:
        config = load_config(config_path)
    elif (root / CONFIG_FILE).is_file():
        config = load_config(root / CONFIG_FILE)
    else:
        config = AgentConfig()
    return config.with_vars(variables)


def read(
    path: str,
    *,
    config_path: str | None = None,
    variables: dict[str, str] | None = None,
    subpath: str | None = None,
    display: str | None = None,
) -> Desired:
    """Read, load and validate the manifests at ``path`` (a directory or a file).

    For a directory, only manifests under ``subpath`` (default: the configured
    ``source.path`` when that directory exists under ``path``) are loaded on their own;
    bundle files may still reference the whole repository. ``display`` is how file paths
    are shown (``""``: relative to the repository root).
    """
    selection = directory.select(path, display=display)
    config = configuration(selection.root_dir, config_path, variables or {})
    roots = selection.roots
    chosen = subpath if subpath is not None else config.source.path
    exists = subpath is not None or (selection.root_dir / chosen).is_dir()
    if roots == ("",) and chosen and exists:
        roots = (chosen.strip("/"),)
    return evaluate(selection.tree, roots, config)


def evaluate(tree: SourceTree, roots: tuple[str, ...], config: AgentConfig) -> Desired:
    """Load and validate an in-memory tree under ``config``."""
    tree = _excluding(tree, config.source.exclude)
    loaded = loading.load(tree, env=config.vars, roots=roots)
    violations = validation.validate(loaded, config.validation_context())
    return Desired(loaded.resources, violations, config)


def _excluding(tree: SourceTree, patterns: tuple[str, ...]) -> SourceTree:
    if not patterns:
        return tree
    kept = {
        path: text
        for path, text in tree.files.items()
        if not any(fnmatch.fnmatch(path, pattern) for pattern in patterns)
    }
    return replace(tree, files=kept)
