"""Kubernetes' expansion of container commands, arguments and env values.

``$(NAME)`` becomes the value of a variable defined earlier in the container's env, ``$$``
becomes ``$``, anything else stays as written. The renderer escapes every ``$`` that
precedes ``$`` or ``(`` so a process sees the manifest's text; the local target and kubesim
apply this expansion to get back what a kubelet would run.
"""

from __future__ import annotations

from collections.abc import Mapping


def expand(text: str, env: Mapping[str, str]) -> str:
    """``text`` as the kubelet hands it to the process."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        if char == "$" and following == "$":
            out.append("$")
            index += 2
            continue
        if char == "$" and following == "(":
            end = text.find(")", index + 2)
            name = text[index + 2 : end] if end != -1 else ""
            if end != -1 and name in env:
                out.append(env[name])
                index = end + 1
                continue
        out.append(char)
        index += 1
    return "".join(out)
