"""``${VAR}`` substitution in manifest text, and the ``${{...}}`` placeholder check.

Called by ``core.yamldoc`` for every scalar that contains ``$`` and by ``core.validation``
for leftover DataOS template placeholders. ``$${VAR}`` keeps a literal ``${VAR}`` (for shell
scripts in arguments); ``${{...}}`` is a projection template placeholder, never a variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
PLACEHOLDER = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Replace each ``${NAME}`` from ``env``; return the text and the undefined names."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        if name in env:
            return env[name]
        if name not in missing:
            missing.append(name)
        return match.group(0)

    return _REFERENCE.sub(replace, text), tuple(missing)


def undefined_message(name: str) -> str:
    """The message for an undefined ``${NAME}``, with the three ways to fix it."""
    return (
        f"undefined variable ${{{name}}}: define it under 'vars' in gitops-agent.yaml, "
        f"pass --var {name}=VALUE, or write $${{{name}}} to keep it literal"
    )


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a ``KEY=VALUE`` command-line assignment; raise ValueError when malformed."""
    name, sep, value = text.partition("=")
    if not sep or not NAME.fullmatch(name):
        raise ValueError(f"--var expects KEY=VALUE with KEY like MY_VAR, got {text!r}")
    return name, value
