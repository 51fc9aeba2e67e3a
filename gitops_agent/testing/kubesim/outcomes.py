"""Pod outcome rules: what a simulated container does, chosen by image or command.

``OutcomeRule(Outcome.FAIL, command=r"exit\\s+([1-9][0-9]*)")`` makes a container whose
command ends in ``exit 1`` fail with that code; an image matching ``*crashloop*`` crash-loops.
``resolve(pod, rules)`` picks the rule of a pod (the first container with a non-running rule
decides). User rules come before ``DEFAULT_RULES``. Used by the pod (kubelet) controller and
set at start or through the control API.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from dataclasses import asdict, dataclass
from typing import Any

Obj = dict[str, Any]


class Outcome(enum.Enum):
    """What a container does once its pod is scheduled."""

    RUN = "run"  # keeps running; pods that do not restart exit 0 after the run duration
    SUCCEED = "succeed"  # exits 0 after the run duration
    FAIL = "fail"  # exits with ``exit_code`` after the run duration
    CRASHLOOP = "crashloop"  # exits at once, again and again: CrashLoopBackOff
    IMAGE_PULL_BACKOFF = "imagepullbackoff"  # the image never pulls
    PENDING = "pending"  # never scheduled (Unschedulable)


@dataclass(frozen=True)
class OutcomeRule:
    """Match by image glob, command regex (searched in command + args) or pod name glob."""

    outcome: Outcome
    image: str = ""
    command: str = ""
    pod: str = ""
    exit_code: int = 1
    duration: float | None = None
    logs: str | None = None

    def matches(self, pod_name: str, container: Obj) -> re.Match[str] | bool:
        if self.pod and not fnmatch.fnmatchcase(pod_name, self.pod):
            return False
        if self.image and not fnmatch.fnmatchcase(str(container.get("image", "")), self.image):
            return False
        if self.command:
            return re.search(self.command, command_line(container)) or False
        return bool(self.image or self.pod)

    def to_json(self) -> Obj:
        out = asdict(self)
        out["outcome"] = self.outcome.value
        return out

    @classmethod
    def from_json(cls, data: Obj) -> OutcomeRule:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["outcome"] = Outcome(str(known.get("outcome", "run")).lower())
        return cls(**known)


DEFAULT_RULES: tuple[OutcomeRule, ...] = (
    OutcomeRule(Outcome.CRASHLOOP, image="*crashloop*"),
    OutcomeRule(Outcome.IMAGE_PULL_BACKOFF, image="*imagepullbackoff*"),
    OutcomeRule(Outcome.IMAGE_PULL_BACKOFF, image="*does-not-exist*"),
    OutcomeRule(Outcome.PENDING, image="*unschedulable*"),
    OutcomeRule(Outcome.FAIL, command=r"\bexit\s+([1-9][0-9]*)\W*$"),
    OutcomeRule(Outcome.SUCCEED, command=r"\bexit\s+0\W*$"),
)


def command_line(container: Obj) -> str:
    """Command and args as the kubelet runs them, joined by spaces (what the rules'
    regexes search): ``$(NAME)`` replaced by the container's plain ``env`` values and
    ``$$`` collapsed to ``$``, as Kubernetes expands them."""
    env = {e.get("name", ""): e["value"] for e in container.get("env") or [] if "value" in e}
    parts = list(container.get("command") or []) + list(container.get("args") or [])
    return " ".join(expand_references(str(p), env) for p in parts)


def expand_references(text: str, env: dict[str, str]) -> str:
    """Kubernetes' expansion of command and args: ``$$`` -> ``$``, ``$(NAME)`` -> the
    variable when defined, anything else kept as written. Written here, not imported from
    the agent: the emulator must not share the code it tests."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char, following = text[index], text[index + 1 : index + 2]
        end = text.find(")", index + 2) if (char, following) == ("$", "(") else -1
        if (char, following) == ("$", "$"):
            out.append("$")
            index += 2
        elif end != -1 and text[index + 2 : end] in env:
            out.append(env[text[index + 2 : end]])
            index = end + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


@dataclass(frozen=True)
class Resolved:
    """The rule that decided a pod, its container and the exit code."""

    rule: OutcomeRule
    container: str
    exit_code: int


def resolve(pod: Obj, rules: tuple[OutcomeRule, ...]) -> Resolved:
    """The outcome of ``pod`` under ``rules`` (then the defaults); RUN when nothing matches."""
    name = str((pod.get("metadata") or {}).get("name", ""))
    containers = (pod.get("spec") or {}).get("containers") or []
    for container in containers:
        for rule in (*rules, *DEFAULT_RULES):
            found = rule.matches(name, container)
            if not found:
                continue
            code = rule.exit_code
            if isinstance(found, re.Match) and found.groups() and found.group(1):
                code = int(found.group(1))
            if rule.outcome is not Outcome.RUN or rule.logs is not None:
                return Resolved(rule, str(container.get("name", "")), code)
            break
    first = str(containers[0].get("name", "")) if containers else ""
    return Resolved(OutcomeRule(Outcome.RUN), first, 0)
