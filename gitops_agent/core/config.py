"""Agent configuration values: ``gitops-agent.yaml`` text -> a validated, frozen ``AgentConfig``.

Pure: ``parse_config(text, path)`` reads YAML text with the same safe reader as manifests and
checks it against ``schemas/config.json``; errors name the file and line. The file itself is
read by ``gitops_agent.config``; the values are handed to the engine and the edges. Every key
is optional: the defaults (the dataclass fields below, and the renderer's own for what it
takes from here) are written nowhere else and run the embedded demo: local target, no git
host. The planner's and applier's option defaults are read from here. Tokens and secrets are never in the configuration: it names
the environment variables that hold them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gitops_agent.core import cron, schema, stacks, yamldoc
from gitops_agent.core.manifests import scalar_text
from gitops_agent.core.rendering.objects import DEFAULT_COMPUTE, Compute, RenderSettings
from gitops_agent.core.stacks import StackRegistry
from gitops_agent.core.validation import ValidationContext
from gitops_agent.errors import ConfigError

_DURATION = re.compile(r"(?:([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d))+")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RENDER = RenderSettings()  # the renderer's defaults are the configuration's


@dataclass(frozen=True, slots=True)
class SourceConfig:
    url: str | None = None
    ref: str = "HEAD"  # the branch the remote's HEAD names
    path: str = ""
    interval: float = 60.0
    token_env: str | None = None
    ssh_key_file: str | None = None
    fetch: str = "blobless"
    exclude: tuple[str, ...] = ()
    cache_files: int = 50_000  # files whose results `run` keeps between revisions (0: none)


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
    supervisor_idle_exit: float | None = None  # None: the supervisor's own default
    inventory_namespace: str = "default"
    storage_class: str | None = _RENDER.storage_class
    job_backoff_limit: int = _RENDER.job_backoff_limit
    dataos_fqdn: str = _RENDER.dataos_fqdn
    # cluster: list and watch across namespaces; namespaced: only the namespaces of
    # allowedWorkspaces (mapped by workspaces) and inventoryNamespace (Roles, no ClusterRole)
    scope: str = "cluster"

    def namespaces(self) -> tuple[str, ...] | None:
        """The namespaces a namespaced agent reads and writes; None for a cluster-wide one."""
        if self.scope != "namespaced":
            return None
        workspaces = self.allowed_workspaces or ()
        found = {self.workspaces.get(ws, ws) for ws in workspaces} | {self.inventory_namespace}
        return tuple(sorted(found))


@dataclass(frozen=True, slots=True)
class SyncConfig:
    prune: bool = True
    max_prune_fraction: float = 0.5
    wait_timeout: float = 300.0
    poll_interval: float = 1.0
    ignore: tuple[Mapping[str, Any], ...] = ()
    concurrency: int = 8  # resources written at once in a wave (on targets that allow it)


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
    forks: str = "off"  # off | plan: pull requests from forks are never deployed
    max_concurrent: int = 2
    environments: bool = False
    namespace_template: str = "<workspace>-pr-<number>"
    ttl: float = 7 * 24 * 3600.0
    max_environments: int = 5
    comment: bool = True


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """Drift checks of ``run``: on a cron ``schedule`` (in ``timezone``) or every
    ``interval`` seconds (neither: no scheduled checks); ``mode`` report or heal; ``issue``
    keeps one issue on the forge open while drift lasts."""

    schedule: str | None = None
    interval: float | None = None
    timezone: str = "UTC"
    mode: str = "report"
    issue: bool = False

    @property
    def scheduled(self) -> bool:
        return self.schedule is not None or self.interval is not None


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    limit: int = 100  # cycles kept on the target (the oldest dropped first)


@dataclass(frozen=True, slots=True)
class LeaderElectionConfig:
    """Leader election among replicas of one agent (client-go's timings by default): only
    the holder of the Lease ``gitops-agent-<name>`` polls, applies, previews and checks
    drift. ``namespace``: the Lease's (default: the pod's own namespace in a cluster, else
    ``target.inventoryNamespace``)."""

    enabled: bool = False
    namespace: str | None = None
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def lease_name(self, agent: str) -> str:
        return f"gitops-agent-{agent}"


#: client-go's ``JitterFactor``: a follower waits up to this times ``retryPeriod``.
JITTER_FACTOR = 1.2


def _timing_problem(section: Mapping[str, Any]) -> str | None:
    """Why leader election timings cannot work (client-go's checks), or None."""
    try:
        values = {
            key: parse_duration(section[key], where=f"leaderElection.{key}")
            for key in ("leaseDuration", "renewDeadline", "retryPeriod")
            if key in section
        }
    except ConfigError:
        return None  # reported on its own key
    defaults = LeaderElectionConfig()
    lease = values.get("leaseDuration", defaults.lease_duration)
    renew = values.get("renewDeadline", defaults.renew_deadline)
    retry = values.get("retryPeriod", defaults.retry_period)
    if min(lease, renew, retry) <= 0:
        return "leaderElection: leaseDuration, renewDeadline and retryPeriod must be positive"
    if not lease > renew > JITTER_FACTOR * retry:
        return (
            f"leaderElection: leaseDuration ({lease:g}s) must be greater than renewDeadline "
            f"({renew:g}s), itself greater than {JITTER_FACTOR} x retryPeriod ({retry:g}s)"
        )
    return None


@dataclass(frozen=True, slots=True)
class ServerConfig:
    listen: str = "127.0.0.1:8080"
    webhook_secret_env: str | None = None
    ui: bool = True  # the status page at / and its JSON API
    ui_token_env: str | None = None  # when set, the page asks for this token


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """The whole configuration. ``path`` is the file it came from (None for defaults)."""

    name: str = _RENDER.owner
    source: SourceConfig = SourceConfig()
    vars: Mapping[str, str] = field(default_factory=dict)
    target: TargetConfig = TargetConfig()
    sync: SyncConfig = SyncConfig()
    reporter: ReporterConfig = ReporterConfig()
    previews: PreviewsConfig = PreviewsConfig()
    drift: DriftConfig = DriftConfig()
    leader_election: LeaderElectionConfig = LeaderElectionConfig()
    history: HistoryConfig = HistoryConfig()
    server: ServerConfig = ServerConfig()
    path: str | None = None

    def validation_context(self) -> ValidationContext:
        """The stacks, computes and workspaces manifests may use under this configuration, and
        how they are rendered."""
        computes = frozenset({DEFAULT_COMPUTE, *self.target.computes})
        allowed = self.target.allowed_workspaces
        return ValidationContext(
            StackRegistry().configured(self.target.stacks),
            computes,
            None if allowed is None else frozenset(allowed),
            self.render_settings(),
        )

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

    def reporter_context(self) -> str:
        """The commit-status context: ``reporter.context``, else ``gitops-agent/<name>``."""
        return self.reporter.context or f"gitops-agent/{self.name}"

    def preview_environment(self, number: int, workspaces: Iterable[str]) -> AgentConfig:
        """This configuration as a pull request's preview environment sees it: owner
        ``<name>-pr-<number>`` and every workspace in its own namespace
        (``previews.namespaceTemplate``)."""
        template = self.previews.namespace_template
        mapping = {ws: environment_namespace(template, ws, number) for ws in sorted(workspaces)}
        target = replace(self.target, workspaces=mapping)
        return replace(self, name=f"{self.name}-pr-{number}", target=target)

    def with_vars(self, extra: Mapping[str, str]) -> AgentConfig:
        """This configuration with ``extra`` variables (command line ``--var``) on top."""
        return replace(self, vars={**self.vars, **extra})


def environment_namespace(template: str, workspace: str, number: int) -> str:
    """The namespace of ``workspace`` in pull request ``number``'s preview environment."""
    return template.replace("<workspace>", workspace).replace("<number>", str(number))


def _template_problem(template: Any) -> str | None:
    """Why a namespace template would not give each pull request its own namespaces."""
    if not isinstance(template, str):
        return None  # the schema says so
    if "<number>" not in template:
        return (
            f"namespaceTemplate {template!r} has no <number>: pull requests would share "
            "namespaces (e.g. <workspace>-pr-<number>)"
        )
    rest = template.replace("<workspace>", "").replace("<number>", "")
    if "<" in rest or ">" in rest:
        return f"namespaceTemplate {template!r}: the placeholders are <workspace> and <number>"
    return None


def parse_duration(value: str | float | int, *, where: str = "duration") -> float:
    """Seconds in ``30s``, ``1m``, ``1h30m``, ``7d``, ``500ms`` or a plain number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        if not _DURATION.fullmatch(text):
            raise ConfigError(f"{where}: {value!r} is not a duration such as 30s, 5m or 1h")
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{where}: {value!r} is not a duration such as 30s, 5m or 1h")
    return seconds


def parse_config(text: str, path: str) -> AgentConfig:
    """A configuration from YAML text; ``path`` is used in messages. Every problem of the
    file is reported at once, sorted, each as ``file:line:column: message``."""
    parsed = yamldoc.parse(path, text)
    if parsed.violations:
        raise ConfigError("\n".join(v.format() for v in sorted(parsed.violations)))
    documents = [doc for doc in parsed.documents if doc.data is not None]
    if len(documents) > 1:
        raise ConfigError(f"{path}: a configuration file holds one YAML document")
    if not documents:
        return AgentConfig(path=path)
    doc = documents[0]
    problems = _problems(doc)
    if problems:
        found = sorted(set(problems))
        raise ConfigError("\n".join(f"{path}:{line}:{col}: {text}" for line, col, text in found))
    return _build(doc.data, path)


Problem = tuple[int, int, str]


def _problems(doc: yamldoc.Document) -> list[Problem]:
    """Schema problems, stack problems and values that do not convert, with positions."""
    found: list[Problem] = []
    for problem in schema.check(schema.checker_for("config"), doc.data):
        position = doc.position(problem.path)
        found.append((position.line, position.column, problem.message))
    data = doc.data if isinstance(doc.data, Mapping) else {}
    target = data.get("target")
    stacks_data = target.get("stacks") if isinstance(target, Mapping) else None
    for name, spec in (stacks_data or {}).items() if isinstance(stacks_data, Mapping) else ():
        position = doc.position(("target", "stacks", name))
        for text in stacks.config_problems(name, spec):
            found.append((position.line, position.column, text))
    found += _drift_problems(doc, data.get("drift"))

    previews = data.get("previews")
    if isinstance(previews, Mapping) and "namespaceTemplate" in previews:
        why = _template_problem(previews["namespaceTemplate"])
        if why is not None:
            position = doc.position(("previews", "namespaceTemplate"))
            found.append((position.line, position.column, why))
    election = data.get("leaderElection")
    if isinstance(election, Mapping):
        why = _timing_problem(election)
        if why is not None:
            position = doc.position(("leaderElection",))
            found.append((position.line, position.column, why))
    found += _scope_problems(doc, data)
    for where, convert in _CONVERSIONS.items():
        section, key = where.split(".")
        values = data.get(section)
        if convert is _duration and isinstance(values, Mapping) and key in values:
            try:
                convert(values[key], where)
            except ConfigError as err:
                position = doc.position((section, key))
                found.append((position.line, position.column, str(err)))
    return found


def _drift_problems(doc: yamldoc.Document, drift: Any) -> list[Problem]:
    """A cron expression and a timezone that parse; a schedule or an interval, not both."""
    if not isinstance(drift, Mapping):
        return []
    found: list[Problem] = []
    checks = (
        ("schedule", cron.problem, "a cron expression such as '*/10 * * * *' or '@hourly'"),
        ("timezone", cron.timezone_problem, "a zone such as Europe/Berlin or UTC"),
    )
    for key, problem_of, wanted in checks:
        value = drift.get(key)
        text = problem_of(value) if isinstance(value, str) else None
        if text is not None:
            position = doc.position(("drift", key))
            found.append((position.line, position.column, f"drift.{key}: {text}; use {wanted}"))
    if "schedule" in drift and "interval" in drift:
        position = doc.position(("drift", "interval"))
        found.append(
            (
                position.line,
                position.column,
                "drift.schedule and drift.interval are exclusive: a cron schedule, or an interval",
            )
        )
    return found


def _scope_problems(doc: yamldoc.Document, data: Mapping[str, Any]) -> list[Problem]:
    """A namespaced agent must be told its namespaces, and cannot make new ones."""
    target = data.get("target")
    if not isinstance(target, Mapping) or target.get("scope") != "namespaced":
        return []
    position = doc.position(("target", "scope"))
    problems = []
    if not target.get("allowedWorkspaces"):
        problems.append("target.scope namespaced needs target.allowedWorkspaces (its namespaces)")
    previews = data.get("previews")
    if isinstance(previews, Mapping) and previews.get("environments"):
        problems.append("previews.environments creates namespaces: it needs target.scope cluster")
    return [(position.line, position.column, text) for text in problems]


Convert = Callable[[Any, str], Any]


def _duration(value: Any, where: str) -> float:
    return parse_duration(value, where=where)


def _same(value: Any, where: str) -> Any:
    return value


def _tuple(value: Any, where: str) -> tuple[Any, ...]:
    return tuple(value)


def _dict(value: Any, where: str) -> dict[str, Any]:
    return dict(value)


#: How a key's YAML value becomes a field's value (keys not listed are taken as they are).
_CONVERSIONS: Mapping[str, Convert] = {
    "source.path": lambda value, where: str(value).strip("/"),
    "source.interval": _duration,
    "source.exclude": _tuple,
    "target.workspaces": _dict,
    "target.allowedWorkspaces": _tuple,
    "target.computes": _dict,
    "target.stacks": _dict,
    "target.supervisorIdleExit": _duration,
    "sync.maxPruneFraction": lambda value, where: float(value),
    "sync.waitTimeout": _duration,
    "sync.pollInterval": _duration,
    "sync.ignore": _tuple,
    "drift.schedule": lambda value, where: str(value),
    "drift.interval": _duration,
    "previews.ttl": _duration,
    "leaderElection.leaseDuration": _duration,
    "leaderElection.renewDeadline": _duration,
    "leaderElection.retryPeriod": _duration,
}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _section(cls: Any, data: Mapping[str, Any], prefix: str, path: str) -> Any:
    """A section dataclass from its YAML mapping: only the keys given; defaults otherwise."""
    values = {}
    for item in dataclasses.fields(cls):
        key = _camel(item.name)
        if key in data:
            where = f"{prefix}.{key}"
            values[item.name] = _CONVERSIONS.get(where, _same)(data[key], f"{path}: {where}")
    return cls(**values)


def _build(data: Mapping[str, Any], path: str) -> AgentConfig:
    sections = {
        "source": SourceConfig,
        "target": TargetConfig,
        "sync": SyncConfig,
        "reporter": ReporterConfig,
        "previews": PreviewsConfig,
        "history": HistoryConfig,
        "drift": DriftConfig,
        "leaderElection": LeaderElectionConfig,
        "server": ServerConfig,
    }
    values: dict[str, Any] = {
        _snake(name): _section(cls, data.get(name, {}), name, path)
        for name, cls in sections.items()
    }
    if "name" in data:
        values["name"] = data["name"]
    values["vars"] = {key: scalar_text(value) for key, value in data.get("vars", {}).items()}
    return AgentConfig(**values, path=path)
