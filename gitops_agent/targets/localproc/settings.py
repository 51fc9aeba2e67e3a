"""Daemon settings: restart backoff, crash-loop detection, rollout pace, log rotation.

A value passed from ``LocalRuntime`` to the daemon it starts (as command-line flags, see
``to_argv`` / ``from_argv``). Settings belong to the daemon, not to a group: a running daemon
keeps the settings it was started with.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

from gitops_agent.backoff import BackoffPolicy


@dataclass(frozen=True, slots=True)
class SupervisorSettings:
    """How the daemon paces its work.

    A service replica that exits is restarted at once the first time, then after
    ``backoff_initial`` seconds doubling up to ``backoff_max`` while it keeps exiting within
    ``stable_after`` seconds of its start; after ``crash_loop_after`` such exits in a row the
    group reports a crash loop (and keeps retrying). A rolling restart moves to the next
    replica once the new one has run ``min_ready_seconds``. The daemon exits by itself once
    it has had nothing to supervise (no process, none to start) for ``idle_exit_seconds``
    (0: never); the next client that needs it starts it again.
    """

    tick_seconds: float = 1.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    crash_loop_after: int = 3
    stable_after: float = 10.0
    min_ready_seconds: float = 0.5
    log_max_bytes: int = 10 * 1024 * 1024
    log_keep: int = 3
    log_check_seconds: float = 1.0
    idle_exit_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.tick_seconds <= 0 or self.backoff_initial < 0 or self.backoff_max < 0:
            raise ValueError("tick_seconds must be positive, backoff delays not negative")
        if self.crash_loop_after < 1 or self.log_keep < 0 or self.log_max_bytes < 1024:
            raise ValueError("crash_loop_after >= 1, log_keep >= 0, log_max_bytes >= 1024")
        if not 0 <= self.idle_exit_seconds < math.inf:
            raise ValueError("idle_exit_seconds must be a finite number of seconds, 0 or more")

    def restart_delay(self, fast_failures: int) -> float:
        """Seconds before restarting a replica that has just exited ``fast_failures`` times
        in a row: none the first time, then exponential backoff."""
        if fast_failures <= 1:
            return 0.0
        policy = BackoffPolicy(
            initial=self.backoff_initial, factor=2.0, max_delay=self.backoff_max, jitter=0.0
        )
        return policy.delay(fast_failures - 1)

    def to_argv(self) -> list[str]:
        """Command-line flags that ``from_argv`` reads back."""
        argv: list[str] = []
        for item in fields(self):
            argv += [f"--{item.name.replace('_', '-')}", str(getattr(self, item.name))]
        return argv

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Declare one flag per setting on ``parser``."""
        defaults = SupervisorSettings()
        for item in fields(SupervisorSettings):
            default = getattr(defaults, item.name)
            parser.add_argument(
                f"--{item.name.replace('_', '-')}",
                dest=item.name,
                type=type(default),
                default=default,
                help=f"(default {default})",
            )

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace) -> SupervisorSettings:
        return cls(**{item.name: getattr(namespace, item.name) for item in fields(cls)})

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> SupervisorSettings:
        parser = argparse.ArgumentParser(add_help=False)
        cls.add_arguments(parser)
        return cls.from_namespace(parser.parse_args(list(argv)))
