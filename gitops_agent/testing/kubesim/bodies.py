"""Request bodies decoded as the API server decodes them, duplicates noted.

``parse_json(raw)`` reads a JSON body and notes the keys each object repeats (the strict
decoder's ``duplicate field`` errors; the last value wins, as in Go). ``parse_apply(raw)`` reads
the YAML (or JSON) of an apply patch the way ``sigs.k8s.io/yaml`` does, dates kept as strings,
and returns the error its strict decoder gives for repeated keys (``yaml: unmarshal errors:
line N: key "x" already set in map``). Called by ``handlers.py`` and ``objects.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitops_agent.testing.kubesim import errors

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Body:
    """A decoded body and the keys repeated in each of its objects (by the object's id)."""

    value: Any
    duplicates: dict[int, list[str]] = field(default_factory=dict)

    def strict_errors(self) -> list[str]:
        """``duplicate field "spec.replicas"`` for each repeated key, in document order."""
        out: list[str] = []
        if self.duplicates:
            self._walk(self.value, "", out)
        return out

    def _walk(self, value: Any, path: str, out: list[str]) -> None:
        if isinstance(value, dict):
            for name in self.duplicates.get(id(value), ()):
                out.append(f'duplicate field "{path + "." if path else ""}{name}"')
            for key, item in value.items():
                self._walk(item, f"{path}.{key}" if path else key, out)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._walk(item, f"{path}[{i}]", out)


def parse_json(raw: bytes) -> Body:
    """A JSON body; 400 with the decoder's message when it is not JSON."""
    duplicates: dict[int, list[str]] = {}

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs):
            duplicates[id(obj)] = _repeated(key for key, _ in pairs)
        return obj

    try:
        value = json.loads(raw or b"null", object_pairs_hook=build)
    except ValueError as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
    return Body(value, duplicates)


def _repeated(keys: Any) -> list[str]:
    seen: set[str] = set()
    out = []
    for key in keys:
        if key in seen:
            out.append(key)
        seen.add(key)
    return out


class _StringDates(_LOADER):  # type: ignore[misc,valid-type]
    """YAML 1.1 as sigs.k8s.io/yaml reads it: timestamps stay strings; repeated keys noted."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.repeated: list[str] = []

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                line = key_node.start_mark.line + 1
                self.repeated.append(f"line {line}: key {json.dumps(key)} already set in map")
            seen.add(key)
        return dict(super().construct_mapping(node, deep=deep))


_StringDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_apply(raw: bytes) -> tuple[Any, str]:
    """An apply patch and the strict YAML decoder's error ("" when it has none)."""
    text = raw.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        body = parse_json_quietly(raw)
        if body is not None and not body.duplicates:
            return body.value, ""
    loader = _StringDates(text)
    try:
        value = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}") from exc
    finally:
        loader.dispose()
    if not loader.repeated:
        return value, ""
    lines = "\n  ".join(loader.repeated)
    return value, f"error converting YAML to JSON: yaml: unmarshal errors:\n  {lines}"


def parse_json_quietly(raw: bytes) -> Body | None:
    """``parse_json`` that answers None instead of raising."""
    try:
        return parse_json(raw)
    except errors.ApiError:
        return None


def strict_yaml_warnings(message: str) -> list[str]:
    """The warnings a strict YAML error becomes (``parseYAMLWarnings``: one per line)."""
    prefix = "error converting YAML to JSON: yaml: unmarshal errors:\n"
    if not message.startswith(prefix):
        return [message]
    return [line.strip() for line in message[len(prefix) :].split("\n")]
