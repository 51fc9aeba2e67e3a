"""Agent configuration: ``gitops-agent.yaml`` -> a validated, frozen ``AgentConfig``.

Read by the command line (``--config FILE``, or ``gitops-agent.yaml`` at the root of the
validated directory) and handed to the engine and edges. Every key is optional: the defaults
run the embedded demo (local target, no git host). The file is read with the same safe YAML
reader as manifests and checked against ``CONFIG_SCHEMA``; errors name the file and line.
Tokens and secrets are never in this file: it names the environment variables that hold them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitops_agent.core import schema, stacks, yamldoc
from gitops_agent.core.manifests import scalar_text
from gitops_agent.core.rendering.objects import Compute, RenderSettings
from gitops_agent.core.stacks import StackRegistry
from gitops_agent.core.validation import ValidationContext
from gitops_agent.errors import ConfigError

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_STR = {"type": "string"}
_DURATION_SCHEMA = {"type": ["string", "number"]}
_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
_NAMESPACE = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_TOLERATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "key": _STR,
        "operator": {"enum": ["Exists", "Equal"]},
        "value": _STR,
        "effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
        "tolerationSeconds": {"type": "integer"},
    },
}


def _object(properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": dict(properties),
        **extra,
    }


CONFIG_SCHEMA: Mapping[str, Any] = _object(
    {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "source": _object(
            {
                "url": _STR,
                "ref": _STR,
                "path": _STR,
                "interval": _DURATION_SCHEMA,
                "tokenEnv": _ENV_NAME,
                "sshKeyFile": _STR,
                "fetch": {"enum": ["shallow", "blobless", "full"]},
                "exclude": {"type": "array", "items": _STR},
            }
        ),
        "vars": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "target": _object(
            {
                "kind": {"enum": ["local", "kubernetes"]},
                "kubeconfig": _STR,
                "context": _STR,
                "inCluster": {"type": "boolean"},
                "workspaces": {"type": "object", "additionalProperties": _NAMESPACE},
                "allowedWorkspaces": {"type": "array", "items": _STR},
                "computes": {
                    "type": "object",
                    "additionalProperties": _object(
                        {
                            "nodeSelector": {"type": "object", "additionalProperties": _STR},
                            "tolerations": {"type": "array", "items": _TOLERATION},
                            "affinity": {"type": "object"},
                        }
                    ),
                },
                "stacks": {
                    "type": "object",
                    "additionalProperties": _object(
                        {
                            "image": _STR,
                            "configFile": _STR,
                            "command": {"type": "array", "items": _STR},
                            "arguments": {"type": "array", "items": _STR},
                            "schema": {"type": "object"},
                        }
                    ),
                },
                "stateDir": _STR,
                "inventoryNamespace": {
                    "type": "string",
                    "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                },
                "storageClass": _STR,
                "jobBackoffLimit": {"type": "integer", "minimum": 0},
                "dataosFqdn": _STR,
            }
        ),
        "sync": _object(
            {
                "prune": {"type": "boolean"},
                "maxPruneFraction": {"type": "number", "minimum": 0, "maximum": 1},
                "timeout": _DURATION_SCHEMA,
                "waitTimeout": _DURATION_SCHEMA,
                "pollInterval": _DURATION_SCHEMA,
                "ignore": {
                    "type": "array",
                    "items": _object(
                        {"kind": _STR, "name": _STR, "pointers": {"type": "array", "items": _STR}},
                        required=["pointers"],
                    ),
                },
            }
        ),
        "reporter": _object(
            {
                "kind": {"enum": ["log", "github", "gitlab", "gitea", "bitbucket", "notes"]},
                "url": _STR,
                "repository": _STR,
                "tokenEnv": _ENV_NAME,
                "context": _STR,
                "targetUrl": _STR,
                "notesRef": _STR,
                "username": _STR,
            }
        ),
        "previews": _object(
            {
                "enabled": {"type": "boolean"},
                "mode": {"enum": ["plan", "deploy"]},
                "forks": {"type": "boolean"},
            }
        ),
        "drift": _object({"schedule": _DURATION_SCHEMA, "mode": {"enum": ["report", "heal"]}}),
        "server": _object({"listen": _STR, "webhookSecretEnv": _ENV_NAME}),
    }
)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    url: str | None = None
    ref: str | None = None
    path: str = ""
    interval: float = 60.0
    token_env: str | None = None
    ssh_key_file: str | None = None
    fetch: str = "blobless"
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetConfig:
    kind: str = "local"
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    workspaces: Mapping[str, str] = field(default_factory=dict)
    allowed_workspaces: tuple[str, ...] | None = None
    computes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    stacks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    state_dir: str | None = None
    inventory_namespace: str = "default"
    storage_class: str | None = None
    job_backoff_limit: int = 0
    dataos_fqdn: str = "dataos.local"


@dataclass(frozen=True, slots=True)
class SyncConfig:
    prune: bool = True
    max_prune_fraction: float = 0.5
    timeout: float = 600.0
    wait_timeout: float = 300.0
    poll_interval: float = 1.0
    ignore: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ReporterConfig:
    kind: str = "log"
    url: str | None = None
    repository: str | None = None
    token_env: str | None = None
    context: str | None = None
    target_url: str | None = None
    notes_ref: str = "refs/notes/gitops-agent"
    username: str | None = None


@dataclass(frozen=True, slots=True)
class PreviewsConfig:
    enabled: bool = False
    mode: str = "plan"
    forks: bool = False


@dataclass(frozen=True, slots=True)
class DriftConfig:
    schedule: str | None = None
    mode: str = "report"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    listen: str = "127.0.0.1:8080"
    webhook_secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """The whole configuration. ``path`` is the file it came from (None for defaults)."""

    name: str = "gitops-agent"
    source: SourceConfig = SourceConfig()
    vars: Mapping[str, str] = field(default_factory=dict)
    target: TargetConfig = TargetConfig()
    sync: SyncConfig = SyncConfig()
    reporter: ReporterConfig = ReporterConfig()
    previews: PreviewsConfig = PreviewsConfig()
    drift: DriftConfig = DriftConfig()
    server: ServerConfig = ServerConfig()
    path: str | None = None

    def validation_context(self) -> ValidationContext:
        """The stacks and computes manifests may use under this configuration."""
        computes = frozenset({"runnable-default", *self.target.computes})
        return ValidationContext(StackRegistry().configured(self.target.stacks), computes)

    def render_settings(self) -> RenderSettings:
        """What the renderer needs from this configuration (``core.rendering``)."""
        target = self.target
        computes = {
            name: Compute(
                node_selector=dict(spec.get("nodeSelector", {})),
                tolerations=tuple(spec.get("tolerations", ())),
                affinity=spec.get("affinity"),
            )
            for name, spec in target.computes.items()
        }
        return RenderSettings(
            owner=self.name,
            namespaces=dict(target.workspaces),
            computes=computes,
            stacks=StackRegistry().configured(target.stacks),
            storage_class=target.storage_class,
            job_backoff_limit=target.job_backoff_limit,
            dataos_fqdn=target.dataos_fqdn,
        )

    def with_vars(self, extra: Mapping[str, str]) -> AgentConfig:
        """This configuration with ``extra`` variables (command line ``--var``) on top."""
        return _replace(self, vars={**self.vars, **extra})


def _replace(config: AgentConfig, **changes: Any) -> AgentConfig:
    return replace(config, **changes)


def parse_duration(value: str | float | int, *, where: str = "duration") -> float:
    """Seconds in ``30s``, ``1m``, ``1h30m``, ``500ms`` or a plain number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not _DURATION.match(text):
        raise ConfigError(f"{where}: {value!r} is not a duration such as 30s, 5m or 1h")
    return sum(float(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))


def load_config(path: str | Path) -> AgentConfig:
    """Read and validate a configuration file; raise ConfigError naming file and line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read configuration: {err}") from err
    return parse_config(text, str(path))


def parse_config(text: str, path: str) -> AgentConfig:
    """A configuration from YAML text; ``path`` is used in messages."""
    parsed = yamldoc.parse(path, text)
    if parsed.violations:
        raise ConfigError(parsed.violations[0].format())
    documents = [doc for doc in parsed.documents if doc.data is not None]
    if len(documents) > 1:
        raise ConfigError(f"{path}: a configuration file holds one YAML document")
    if not documents:
        return AgentConfig(path=path)
    doc = documents[0]
    problems = schema.check(schema.validator_of(CONFIG_SCHEMA), doc.data)
    if problems:
        lines = []
        for problem in problems:
            position = doc.position(problem.path)
            lines.append(f"{path}:{position.line}:{position.column}: {problem.message}")
        raise ConfigError("\n".join(lines))
    stack_problems = [
        f"{path}:{doc.position(('target', 'stacks', name)).line}: {problem}"
        for name, spec in doc.data.get("target", {}).get("stacks", {}).items()
        for problem in stacks.config_problems(name, spec)
    ]
    if stack_problems:
        raise ConfigError("\n".join(stack_problems))
    return _build(doc.data, path)


def _build(data: Mapping[str, Any], path: str) -> AgentConfig:
    source, target, sync = data.get("source", {}), data.get("target", {}), data.get("sync", {})
    reporter, previews = data.get("reporter", {}), data.get("previews", {})
    drift, server = data.get("drift", {}), data.get("server", {})
    return AgentConfig(
        name=data.get("name", "gitops-agent"),
        source=SourceConfig(
            url=source.get("url"),
            ref=source.get("ref"),
            path=str(source.get("path", "")).strip("/"),
            interval=parse_duration(source.get("interval", 60), where=f"{path}: source.interval"),
            token_env=source.get("tokenEnv"),
            ssh_key_file=source.get("sshKeyFile"),
            fetch=source.get("fetch", "blobless"),
            exclude=tuple(source.get("exclude", ())),
        ),
        vars={key: scalar_text(value) for key, value in data.get("vars", {}).items()},
        target=TargetConfig(
            kind=target.get("kind", "local"),
            kubeconfig=target.get("kubeconfig"),
            context=target.get("context"),
            in_cluster=target.get("inCluster", False),
            workspaces=dict(target.get("workspaces", {})),
            allowed_workspaces=tuple(target["allowedWorkspaces"])
            if "allowedWorkspaces" in target
            else None,
            computes=dict(target.get("computes", {})),
            stacks=dict(target.get("stacks", {})),
            state_dir=target.get("stateDir"),
            inventory_namespace=target.get("inventoryNamespace", "default"),
            storage_class=target.get("storageClass"),
            job_backoff_limit=target.get("jobBackoffLimit", 0),
            dataos_fqdn=target.get("dataosFqdn", "dataos.local"),
        ),
        sync=SyncConfig(
            prune=sync.get("prune", True),
            max_prune_fraction=float(sync.get("maxPruneFraction", 0.5)),
            timeout=parse_duration(sync.get("timeout", 600), where=f"{path}: sync.timeout"),
            wait_timeout=parse_duration(
                sync.get("waitTimeout", 300), where=f"{path}: sync.waitTimeout"
            ),
            poll_interval=parse_duration(
                sync.get("pollInterval", 1), where=f"{path}: sync.pollInterval"
            ),
            ignore=tuple(sync.get("ignore", ())),
        ),
        reporter=ReporterConfig(
            kind=reporter.get("kind", "log"),
            url=reporter.get("url"),
            repository=reporter.get("repository"),
            token_env=reporter.get("tokenEnv"),
            context=reporter.get("context"),
            target_url=reporter.get("targetUrl"),
            notes_ref=reporter.get("notesRef", "refs/notes/gitops-agent"),
            username=reporter.get("username"),
        ),
        previews=PreviewsConfig(
            enabled=previews.get("enabled", False),
            mode=previews.get("mode", "plan"),
            forks=previews.get("forks", False),
        ),
        drift=DriftConfig(
            schedule=None if drift.get("schedule") is None else str(drift["schedule"]),
            mode=drift.get("mode", "report"),
        ),
        server=ServerConfig(
            listen=server.get("listen", "127.0.0.1:8080"),
            webhook_secret_env=server.get("webhookSecretEnv"),
        ),
        path=path,
    )
