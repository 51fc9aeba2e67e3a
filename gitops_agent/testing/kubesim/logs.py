"""Pod logs: the lines a container's command would have printed by now.

``script_for(container)`` reads a shell command such as ``sh -c 'while true; do echo "$(date
-u +%FT%TZ) worker heartbeat"; sleep 30; done'``: the echoes before the loop print once, the
echoes inside print every ``sleep`` seconds from the container's start, with ``$(date ...)``,
``$(hostname)`` and ``$HOSTNAME`` expanded at each line's time. Commands without echoes print
the configured text (or an outcome rule's). ``lines(script, start, end)`` lists ``(time,
line)`` pairs; ``handlers.py`` applies ``tailLines``, ``sinceSeconds``, ``timestamps``,
``limitBytes`` and ``follow``.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim.outcomes import command_line

Obj = dict[str, Any]
MAX_LINES = 100_000
_LOOP = re.compile(r"while\s+(?:true|:|\[\s*1\s*\])\s*;?\s*do\b(?P<body>.*?)\bdone", re.S)
_SLEEP = re.compile(r"\bsleep\s+(?P<n>\d+(?:\.\d+)?)")
_DATE = re.compile(r"\$\(\s*date(?P<args>[^)]*)\)")


@dataclass(frozen=True)
class LogScript:
    """What a container prints: lines once at start, then lines every ``period`` seconds."""

    once: tuple[str, ...]
    loop: tuple[str, ...] = ()
    period: float = 0.0


def _echoes(text: str) -> list[str]:
    out = []
    for statement in re.split(r"[;\n]|&&|\|\|", text):
        words = statement.strip()
        if not words.startswith(("echo ", "printf ")):
            continue
        try:
            parts = shlex.split(words, posix=True)
        except ValueError:
            parts = words.split()
        args = [p for p in parts[1:] if not (parts[0] == "echo" and p in ("-e", "-n"))]
        line = " ".join(args)
        out.append(line.replace("\\n", "") if parts[0] == "printf" else line)
    return out


def script_for(container: Obj, *, default_text: str, rule_text: str | None = None) -> LogScript:
    """The log script of a container, from its command (or the configured text)."""
    if rule_text is not None:
        return LogScript(tuple(rule_text.splitlines()))
    command = command_line(container)
    loop = _LOOP.search(command)
    if loop:
        body = loop.group("body")
        sleep = _SLEEP.search(body)
        period = float(sleep.group("n")) if sleep else 1.0
        return LogScript(
            tuple(_echoes(command[: loop.start()])), tuple(_echoes(body)), max(period, 0.001)
        )
    once = _echoes(command)
    if once:
        return LogScript(tuple(once))
    return LogScript(tuple(default_text.splitlines()) if default_text else ())


def _date(args: str, when: float) -> str:
    moment = dt.datetime.fromtimestamp(when, dt.UTC)
    match = re.search(r"\+(\S+)", args)
    if not match:
        return moment.strftime("%a %b %d %H:%M:%S UTC %Y")
    fmt = match.group(1).strip("'\"")
    fmt = fmt.replace("%F", "%Y-%m-%d").replace("%T", "%H:%M:%S")
    if "%s" in fmt:
        fmt = fmt.replace("%s", str(int(when)))
    return moment.strftime(fmt)


def expand(line: str, when: float, pod_name: str) -> str:
    """Expand ``$(date ...)``, ``$(hostname)`` and ``$HOSTNAME`` at time ``when``."""
    line = _DATE.sub(lambda m: _date(m.group("args"), when), line)
    for token in ("$(hostname)", "${HOSTNAME}", "$HOSTNAME"):
        line = line.replace(token, pod_name)
    return line


def lines(script: LogScript, start: float, end: float, pod_name: str) -> list[tuple[float, str]]:
    """Every ``(time, line)`` the script printed between ``start`` and ``end``."""
    out = [(start, expand(line, start, pod_name)) for line in script.once]
    if script.loop and end >= start:
        count = int((end - start) / script.period) + 1
        first = max(0, count - MAX_LINES)
        for k in range(first, count):
            when = start + k * script.period
            out.extend((when, expand(line, when, pod_name)) for line in script.loop)
    return out


def rfc3339_nano(when: float) -> str:
    moment = dt.datetime.fromtimestamp(when, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


def next_time(script: LogScript, start: float, after: float) -> float | None:
    """When the next loop line is printed after ``after`` (None for scripts without a loop)."""
    if not script.loop:
        return None
    count = int((after - start) / script.period) + 1
    return start + count * script.period
