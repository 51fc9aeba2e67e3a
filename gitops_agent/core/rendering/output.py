"""Rendered objects as text: a YAML multi-document stream or a JSON list, byte-stable.

Called by the ``render`` command, by ``pods`` (a stack's configuration file) and by the
commands' ``-o yaml``. Keys are sorted; multi-line strings are written as literal blocks so
scripts stay readable; strings that a YAML 1.2 reader such as kubectl would take for numbers
(``1e3``) are quoted; the same objects always give the same bytes. ``write_yaml`` and
``write_json`` write object by object (the ``render`` command streams 10,000 Workers without
holding their text whole); ``to_yaml`` and ``to_json`` give the same bytes as one string.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import yaml

from gitops_agent.core.rendering.objects import KubeObject

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    """Safe YAML with literal blocks for multi-line strings."""


#: Plain scalars YAML 1.2 readers (kubectl's among them) take for numbers, though PyYAML
#: (YAML 1.1) writes them unquoted as strings: ``1e3``, ``51319791056660e3``, ``0o17``.
_NOT_A_STRING_ELSEWHERE = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
)


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style: str | None = "|" if "\n" in text else None
    if style is None and _NOT_A_STRING_ELSEWHERE.fullmatch(text):
        style = "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


def dump_yaml(data: Any, *, sort_keys: bool = True) -> str:
    """One YAML document of plain data, keys sorted (unless asked not to); strings another
    YAML reader would take for numbers are quoted."""
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=sort_keys,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return text


def to_yaml(objects: Iterable[KubeObject]) -> str:
    """A YAML stream, one document per object, each starting with ``---``."""
    text = io.StringIO()
    write_yaml(objects, text)
    return text.getvalue()


def to_json(objects: Iterable[KubeObject]) -> str:
    """A JSON list of the objects, keys sorted, with a final newline."""
    text = io.StringIO()
    write_json(objects, text)
    return text.getvalue()


def write_yaml(objects: Iterable[KubeObject], out: TextIO) -> None:
    """``to_yaml`` written to ``out`` one object at a time."""
    for obj in objects:
        out.write(f"---\n{dump_yaml(plain(obj.body))}")


def write_json(objects: Iterable[KubeObject], out: TextIO) -> None:
    """``to_json`` written to ``out`` one object at a time: the list's items are indented
    as ``json.dumps`` indents them (JSON strings hold no line break to shift)."""
    first = True
    for obj in objects:
        text = json.dumps(plain(obj.body), indent=2, sort_keys=True)
        out.write(("[\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
        first = False
    out.write("[]\n" if first else "\n]\n")


def plain(data: Any) -> Any:
    """``data`` with every mapping a dict and every sequence a list (for the dumpers)."""
    if isinstance(data, Mapping):
        return {str(key): plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    return data
