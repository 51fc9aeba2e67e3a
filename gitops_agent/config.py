"""Reading the agent configuration file: ``--config FILE``, else ``gitops-agent.yaml`` at the
root of the source, else the defaults.

Called by the command handlers and the agent service (``wiring.read_desired``); the values
and their parsing are ``core.config``. Errors name the file (and, from the parser, the line).
"""

from __future__ import annotations

from pathlib import Path

from gitops_agent.core.config import AgentConfig, parse_config
from gitops_agent.core.tree import CONFIG_FILE
from gitops_agent.core.yamldoc import MAX_FILE_BYTES
from gitops_agent.errors import ConfigError
from gitops_agent.sources.directory import NotRegularError, read_regular


def load_config(path: str | Path) -> AgentConfig:
    """Read and validate a configuration file (a regular file of at most 1 MiB, UTF-8);
    raise ConfigError naming file and line."""
    try:
        data = read_regular(Path(path))
    except NotRegularError as err:
        raise ConfigError(f"{path}: cannot read configuration: {err}") from None
    except OSError as err:
        reason = err.strerror or str(err)
        raise ConfigError(f"{path}: cannot read configuration: {reason}") from None
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 1024
        raise ConfigError(f"{path}: cannot read configuration: larger than {limit} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: cannot read configuration: not UTF-8 text") from err
    return parse_config(text, str(path))


def configuration(root: Path, config_path: str | None, variables: dict[str, str]) -> AgentConfig:
    """The configuration of a source rooted at ``root``, with ``--var`` values on top; a
    ``gitops-agent.yaml`` there that is not a regular file is an error, not ignored."""
    found = root / CONFIG_FILE
    if config_path is not None:
        config = load_config(config_path)
    elif found.is_file() or (found.exists() and not found.is_dir()):
        config = load_config(found)
    else:
        config = AgentConfig()
    return config.with_vars(variables)
