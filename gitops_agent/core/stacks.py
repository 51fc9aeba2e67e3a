"""The stack registry: which stacks exist, what a valid ``stackSpec`` is, and how each runs.

Read by ``core.validation`` (the stack is known, its ``stackSpec`` matches the stack's JSON
Schema, it has an image) and by ``core.rendering`` (how a stack becomes a container). The
built-in stacks are ``container`` (image, command and arguments from the ``stackSpec``),
``bento`` and ``fastfun`` (the ``stackSpec`` is written as the stack's configuration file
and the stack's own image runs it). The agent configuration (``target.stacks``) adds stacks
or overrides fields of built-in ones; ``configured`` and ``config_problems`` serve it. A
stack's schema is the configuration's own: it may refer (``$ref``) only to its own parts by a
JSON pointer (``#/$defs/port``), never to another document, a URN or a URL.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gitops_agent.core import variables
from gitops_agent.core.rendering import context

if TYPE_CHECKING:
    import referencing

#: Where stacks find their configuration file (a DataOS reserved directory).
CONFIG_DIRECTORY = "/etc/dataos/config"
#: The placeholder of a stack's command and arguments that names its configuration file.
CONFIG_FILE_KEY = "config-file"
#: The image of the bento stack unless the configuration names another.
BENTO_IMAGE = "ghcr.io/warpstreamlabs/bento:1.21.1"
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")

_STRINGS = {"type": "array", "items": {"type": "string"}}

CONTAINER_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["image"],
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "command": _STRINGS,
        "arguments": _STRINGS,
    },
}

BENTO_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["input", "output"],
    "properties": {
        key: {"type": "object"}
        for key in [
            "http",
            "input",
            "buffer",
            "pipeline",
            "output",
            "input_resources",
            "processor_resources",
            "output_resources",
            "cache_resources",
            "rate_limit_resources",
            "logger",
            "metrics",
            "tracer",
        ]
    }
    | {"shutdown_delay": {"type": "string"}, "shutdown_timeout": {"type": "string"}},
}

_DATASETS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["datasets"],
    "properties": {
        "datasets": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "options": {"type": "object"},
    },
}

FASTFUN_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["input", "output"],
    "properties": {"input": _DATASETS, "output": _DATASETS},
}


@dataclass(frozen=True, slots=True)
class Stack:
    """One stack: the schema of its ``stackSpec`` and how it runs.

    With ``image_from_spec`` (the container stack) the ``stackSpec`` names the image, the
    command and the arguments. Otherwise ``image`` runs (None: the configuration must name
    one), the ``stackSpec`` is written as YAML to ``config_file``, and ``command`` and
    ``arguments`` may use ``${{config-file}}`` and the projection context keys.
    """

    name: str
    spec_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    image: str | None = None
    config_file: str | None = None
    command: tuple[str, ...] = ()
    arguments: tuple[str, ...] = ()
    image_from_spec: bool = False


BUILTIN_STACKS: Mapping[str, Stack] = {
    "container": Stack("container", CONTAINER_SCHEMA, image_from_spec=True),
    "bento": Stack(
        "bento",
        BENTO_SCHEMA,
        image=BENTO_IMAGE,
        config_file=f"{CONFIG_DIRECTORY}/bento.yaml",
        arguments=("-c", "${{config-file}}"),
    ),
    "fastfun": Stack(
        "fastfun",
        FASTFUN_SCHEMA,
        config_file=f"{CONFIG_DIRECTORY}/fastfun.yaml",
        arguments=("--config", "${{config-file}}"),
    ),
}


@dataclass(frozen=True, slots=True)
class StackRegistry:
    """The stacks a repository may use."""

    stacks: Mapping[str, Stack] = field(default_factory=lambda: dict(BUILTIN_STACKS))

    def get(self, name: str) -> Stack | None:
        return self.stacks.get(name)

    def names(self) -> list[str]:
        return sorted(self.stacks)

    def extended(self, extra: Mapping[str, Stack]) -> StackRegistry:
        """This registry with ``extra`` stacks added (or replacing built-ins of that name)."""
        return StackRegistry({**self.stacks, **extra})

    def configured(self, entries: Mapping[str, Mapping[str, Any]]) -> StackRegistry:
        """This registry with the configuration's ``target.stacks`` entries applied."""
        return self.extended(
            {name: configured(name, spec, self.get(name)) for name, spec in entries.items()}
        )


def configured(name: str, spec: Mapping[str, Any], base: Stack | None = None) -> Stack:
    """A stack from a ``target.stacks`` entry; fields it omits keep ``base``'s values.

    A new stack without ``configFile`` writes its ``stackSpec`` to
    ``/etc/dataos/config/<name>.yaml``.
    """
    stack = base or Stack(name, config_file=f"{CONFIG_DIRECTORY}/{name}.yaml")
    changes: dict[str, Any] = {}
    if "schema" in spec:
        changes["spec_schema"] = spec["schema"]
    if "image" in spec:
        changes["image"] = spec["image"]
    if "configFile" in spec:
        changes["config_file"] = spec["configFile"]
    for key in ("command", "arguments"):
        if key in spec:
            changes[key] = tuple(str(item) for item in spec[key])
    return replace(stack, **changes)


def config_problems(name: str, spec: Mapping[str, Any]) -> Iterator[str]:
    """What is wrong with one ``target.stacks`` entry, as messages naming the field."""
    where = f"target.stacks.{name}"
    builtin = BUILTIN_STACKS.get(name)
    if builtin is not None and builtin.image_from_spec and set(spec) - {"schema"}:
        yield f"{where}: the {name} stack takes its image, command and arguments from stackSpec; only 'schema' may be set"
    if "schema" in spec:
        yield from schema_problems(f"{where}.schema", spec["schema"])
    config_file = spec.get("configFile")
    if config_file is not None:
        yield from _config_file_problems(f"{where}.configFile", str(config_file))
    for key in ("command", "arguments"):
        yield from _template_problems(f"{where}.{key}", spec.get(key, ()))


#: Keywords that would let a schema reach beyond itself, or rebase what ``$ref`` means.
_FOREIGN_KEYWORDS = ("$id", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor")
_SELF = "urn:gitops-agent:stack-schema"


def schema_problems(where: str, schema: Any) -> Iterator[str]:
    """What is wrong with a stack's JSON Schema: not a schema, or a reference that leaves it."""
    # loaded here, not at import: only a configuration with stack schemas needs them
    import jsonschema  # noqa: PLC0415
    import referencing  # noqa: PLC0415
    from referencing.jsonschema import DRAFT202012  # noqa: PLC0415

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        yield f"{where}: not a valid JSON Schema: {err.message}"
        return
    registry = referencing.Registry().with_resource(_SELF, DRAFT202012.create_resource(schema))
    for at, keyword, value in _keywords(schema, ""):
        if keyword in _FOREIGN_KEYWORDS:
            yield (
                f"{where}{at}: {keyword} is not allowed in a stack schema; "
                "use '$ref': '#/$defs/...'"
            )
        elif keyword == "$ref" and not (value == "#" or str(value).startswith("#/")):
            yield (
                f"{where}{at}: $ref {value!r} leaves the schema; a stack schema may refer only to "
                "its own parts, such as '#/$defs/port' (copy the definition into $defs)"
            )
        elif keyword == "$ref" and not _resolves(registry, str(value)):
            yield f"{where}{at}: $ref {value!r} points at nothing in the schema"


_NAME_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
_DATA = frozenset({"enum", "const", "default", "examples"})


def _keywords(node: Any, at: str, *, names: bool = False) -> Iterator[tuple[str, str, Any]]:
    """Every ``$``-keyword of a schema with where it is (``.properties.port``); the keys of
    ``properties`` and the like are names, and ``enum``, ``default``... hold data."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not names and key in _DATA:
                continue
            if (
                not names
                and str(key).startswith("$")
                and key not in ("$defs", "$schema", "$comment")
            ):
                yield at, str(key), value
            inner = not names and key in _NAME_MAPS
            yield from _keywords(value, f"{at}.{key}", names=inner)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _keywords(item, f"{at}[{index}]")


def _resolves(registry: referencing.Registry[Any], ref: str) -> bool:
    import referencing.exceptions  # noqa: PLC0415

    try:
        registry.resolver(_SELF).lookup(ref)
    except referencing.exceptions.Unresolvable:
        return False
    return True


def _config_file_problems(where: str, path: str) -> Iterator[str]:
    if not path.startswith("/") or posixpath.normpath(path) != path or path == "/":
        yield f"{where}: {path!r} must be a normalized absolute file path such as /etc/dataos/config/app.yaml"
    elif not _CONFIG_KEY.fullmatch(posixpath.basename(path)):
        yield f"{where}: the file name of {path!r} may hold only letters, digits, '-', '_' and '.'"


def _template_problems(where: str, items: Sequence[str]) -> Iterator[str]:
    known = (*context.ALL_KEYS, CONFIG_FILE_KEY)
    for index, item in enumerate(items):
        for match in variables.PLACEHOLDER.finditer(str(item)):
            if match.group(1) not in known:
                yield f"{where}[{index}]: unknown placeholder {match.group(0)} (known: {', '.join(known)})"
