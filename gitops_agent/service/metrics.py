"""A small thread-safe metrics registry rendered in the Prometheus text format (0.0.4).

``MetricsRegistry`` makes ``Counter``, ``Gauge`` and ``Histogram`` families with fixed
label names and renders them for ``GET /metrics``. ``AgentMetrics`` declares the agent's
own series (cycles, durations, applied / pruned objects, errors, last success, webhooks and
their refusals, drift checks and drifted objects) with verbs the agent loop calls:
``record_cycle(...)``, ``record_error(...)``, ``record_drift(...)``.
The HTTP server renders it and counts webhooks; the engine records into it. No I/O here.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

LabelValues = tuple[str, ...]


def escape_label(value: str) -> str:
    """Escape a label value: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it (``+Inf``, integers without ``.0``)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


@dataclass
class _Family:
    name: str
    help: str
    label_names: tuple[str, ...]
    kind: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


@dataclass
class _Scalar(_Family):
    """One number per label set: what counters and gauges share."""

    values: dict[LabelValues, float] = field(default_factory=dict)

    def value(self, **labels: str) -> float:
        """The current value (0 when never set)."""
        with self.lock:
            return self.values.get(self.key(labels), 0.0)

    def render(self) -> list[str]:
        with self.lock:
            items = sorted(self.values.items())
        lines = self.header()
        lines += [f"{self.name}{_labels(self.label_names, k)} {format_value(v)}" for k, v in items]
        return lines


@dataclass
class Counter(_Scalar):
    """A monotonically increasing count per label set."""

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` (>= 0)."""
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self.key(labels)
        with self.lock:
            self.values[key] = self.values.get(key, 0.0) + amount


@dataclass
class Gauge(_Scalar):
    """A value that goes up and down per label set."""

    def set(self, value: float, **labels: str) -> None:
        """Set the current value."""
        key = self.key(labels)
        with self.lock:
            self.values[key] = value


@dataclass
class Histogram(_Family):
    """Observations counted into cumulative buckets, with sum and count."""

    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    counts: dict[LabelValues, list[int]] = field(default_factory=dict)
    sums: dict[LabelValues, float] = field(default_factory=dict)

    def observe(self, value: float, **labels: str) -> None:
        """Record one observation."""
        key = self.key(labels)
        with self.lock:
            counts = self.counts.setdefault(key, [0] * (len(self.buckets) + 1))
            for index, bound in enumerate((*self.buckets, math.inf)):
                if value <= bound:
                    counts[index] += 1
            self.sums[key] = self.sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        """How many observations were recorded."""
        with self.lock:
            return self.counts.get(self.key(labels), [0])[-1]

    def render(self) -> list[str]:
        with self.lock:
            items = sorted((k, list(v), self.sums[k]) for k, v in self.counts.items())
        lines = self.header()
        for key, counts, total in items:
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                le = _labels(self.label_names, key, f'le="{format_value(bound)}"')
                lines.append(f"{self.name}_bucket{le} {count}")
            plain = _labels(self.label_names, key)
            lines.append(f"{self.name}_sum{plain} {format_value(total)}")
            lines.append(f"{self.name}_count{plain} {counts[-1]}")
        return lines


class MetricsRegistry:
    """Holds metric families and renders them all."""

    def __init__(self) -> None:
        self._families: dict[str, Counter | Gauge | Histogram] = {}
        self._lock = threading.Lock()

    def _add(self, family: Counter | Gauge | Histogram) -> None:
        with self._lock:
            if family.name in self._families:
                raise ValueError(f"metric {family.name} is already registered")
            self._families[family.name] = family

    def counter(self, name: str, help: str, labels: Iterable[str] = ()) -> Counter:
        """Register a counter."""
        family = Counter(name, help, tuple(labels), "counter")
        self._add(family)
        return family

    def gauge(self, name: str, help: str, labels: Iterable[str] = ()) -> Gauge:
        """Register a gauge."""
        family = Gauge(name, help, tuple(labels), "gauge")
        self._add(family)
        return family

    def histogram(
        self,
        name: str,
        help: str,
        labels: Iterable[str] = (),
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """Register a histogram with ascending ``buckets``."""
        family = Histogram(name, help, tuple(labels), "histogram", buckets=tuple(sorted(buckets)))
        self._add(family)
        return family

    def render(self) -> str:
        """Every family in the text exposition format, ending with a newline."""
        with self._lock:
            families = list(self._families.values())
        lines: list[str] = []
        for family in families:
            lines += family.render()
        return "\n".join(lines) + "\n"


class AgentMetrics:
    """The agent's series, named ``gitops_agent_*``."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.registry = MetricsRegistry()
        self._clock = clock
        r = self.registry
        self.cycles = r.counter(
            "gitops_agent_cycles_total", "Reconcile cycles by result.", ["result"]
        )
        self.cycle_duration = r.histogram(
            "gitops_agent_cycle_duration_seconds", "Duration of reconcile cycles."
        )
        self.applied = r.counter(
            "gitops_agent_objects_applied_total", "Objects created or updated."
        )
        self.pruned = r.counter("gitops_agent_objects_pruned_total", "Objects deleted by prune.")
        self.errors = r.counter("gitops_agent_errors_total", "Errors by stage.", ["stage"])
        self.last_success = r.gauge(
            "gitops_agent_last_success_timestamp_seconds",
            "Unix time of the last successful cycle.",
        )
        self.leader = r.gauge(
            "gitops_agent_leader",
            "1 while this replica holds the lease and may write (always 1 without leader "
            "election), else 0.",
        )
        self.leader.set(1)
        self.webhooks = r.counter(
            "gitops_agent_webhooks_total",
            "Webhook requests by forge and outcome.",
            ["forge", "outcome"],
        )
        self.drift_checks = r.counter(
            "gitops_agent_drift_checks_total",
            "Drift checks by result (clean, drift, healed, error).",
            ["result"],
        )
        self.drift_objects = r.gauge(
            "gitops_agent_drift_objects",
            "Objects that drifted from the last applied revision, at the last drift check, "
            "by object kind and workspace.",
            ["kind", "workspace"],
        )
        self._drift_seen: set[tuple[str, str]] = set()
        self._drift_lock = threading.Lock()
        self.webhook_refusals = r.counter(
            "gitops_agent_webhook_refusals_total",
            "Refused webhook requests by forge and reason (bad-signature, replay, ...).",
            ["forge", "reason"],
        )

    def record_drift(self, result: str, drifted: Mapping[tuple[str, str], int]) -> None:
        """Record one drift check (``result``: clean, drift, healed, error) and the drifted
        objects it found by (object kind, workspace); series it no longer finds go to 0.
        After an error the gauge keeps what the last check found."""
        self.drift_checks.inc(result=result)
        if result == "error":
            return
        with self._drift_lock:
            for kind, workspace in self._drift_seen - set(drifted):
                self.drift_objects.set(0, kind=kind, workspace=workspace)
            for (kind, workspace), count in drifted.items():
                self.drift_objects.set(count, kind=kind, workspace=workspace)
            self._drift_seen |= set(drifted)

    def record_cycle(
        self, *, result: str, duration: float, applied: int = 0, pruned: int = 0
    ) -> None:
        """Record one finished cycle (``result``: success, failure, error, noop...)."""
        self.cycles.inc(result=result)
        self.cycle_duration.observe(duration)
        self.applied.inc(applied)
        self.pruned.inc(pruned)
        if result in ("success", "noop"):
            self.last_success.set(self._clock())

    def record_error(self, stage: str) -> None:
        """Count an error at ``stage`` (source, validate, apply, report...)."""
        self.errors.inc(stage=stage)

    def render(self) -> str:
        """The exposition text."""
        return self.registry.render()
