"""Reading the agent configuration file: ``--config FILE``, else ``gitops-agent.yaml`` at the
root of the source, else the defaults.

Called by the command handlers and the agent service (``wiring.read_desired``); the values
and their parsing are ``core.config``. Errors name the file (and, from the parser, the line).
"""

from __future__ import annotations

from pathlib import Path

from gitops_agent.core.config import AgentConfig, parse_config
from gitops_agent.core.tree import CONFIG_FILE
from gitops_agent.errors import ConfigError


def load_config(path: str | Path) -> AgentConfig:
    """Read and validate a configuration file; raise ConfigError naming file and line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read configuration: {err}") from err
    return parse_config(text, str(path))


def configuration(root: Path, config_path: str | None, variables: dict[str, str]) -> AgentConfig:
    """The configuration of a source rooted at ``root``, with ``--var`` values on top."""
    if config_path is not None:
        config = load_config(config_path)
    elif (root / CONFIG_FILE).is_file():
        config = load_config(root / CONFIG_FILE)
    else:
        config = AgentConfig()
    return config.with_vars(variables)
