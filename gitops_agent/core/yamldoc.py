"""Safe YAML reading with positions: text -> documents of plain data plus a line index.

Called by ``core.loading`` for every manifest file. Builds Python values straight from the
YAML event stream (libyaml when present) instead of PyYAML's recursive composer, so that it
can enforce limits while reading: file size, nesting depth, the number of values after alias
expansion and the characters of text they hold (alias bombs: both counted over the whole
file), recursive aliases, duplicate keys, unknown tags and characters YAML does not allow (at
their real line and column) all become ``Violation``s, never exceptions or hangs.
Timestamps stay strings (manifests are JSON data). ``${VAR}`` references in scalars are
substituted here, so that a plain ``replicas: ${N}`` still becomes an integer and each
undefined variable is reported where it is written.

Positions cost more than the values (a line index per key and item), and a valid file never
needs them: a file is read without them first, keeping each document's own line; the
positions of a document are read again from its text the first time they are asked for
(``LazyPositions``). A file with any violation is read again with positions at once.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from gitops_agent.core import variables
from gitops_agent.core.violations import Violation, quoted

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000
#: Characters of keys and scalars after alias expansion, per file: twice what a file can hold.
MAX_CHARACTERS = 2 * MAX_FILE_BYTES
MAX_DOCUMENTS = 1_000

JsonPath = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_MAP_TAGS = {None, "tag:yaml.org,2002:map"}
_SEQ_TAGS = {None, "tag:yaml.org,2002:seq"}
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: What YAML 1.1 does not allow in a stream (its printable set, negated); surrogates included.
_NOT_PRINTABLE = re.compile(r"[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _ManifestResolver(Resolver):
    """YAML 1.1 implicit types without timestamps: a date in a manifest stays a string."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML's own class attribute)
        first: [(tag, regexp) for tag, regexp in entries if not tag.endswith(":timestamp")]
        for first, entries in Resolver.yaml_implicit_resolvers.items()
    }


_RESOLVER = _ManifestResolver()
_CONSTRUCTOR = SafeConstructor()


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in a file."""

    line: int
    column: int


class LazyPositions(Mapping[JsonPath, Position]):
    """The positions of one document, read from its file's text when first needed (the
    document's own position is known without reading)."""

    def __init__(
        self, path: str, text: str, env: Mapping[str, str] | None, index: int, root: Position
    ) -> None:
        self._source = (path, text, env, index)
        self._root = root
        self._read: Mapping[JsonPath, Position] | None = None

    def _positions(self) -> Mapping[JsonPath, Position]:
        if self._read is None:
            path, text, env, index = self._source
            documents = _parse(path, text, env, record=True).documents
            self._read = documents[index].positions if index < len(documents) else {}
        return self._read

    def __getitem__(self, at: JsonPath) -> Position:
        if at == () and self._read is None:
            return self._root
        return self._positions()[at]

    def get(self, at: JsonPath, default: Any = None) -> Any:
        if at == () and self._read is None:
            return self._root
        return self._positions().get(at, default)

    def __iter__(self) -> Iterator[JsonPath]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file: its data and where each key and item was written."""

    path: str
    index: int
    data: Any
    positions: Mapping[JsonPath, Position]
    errors: int = 0

    def position(self, at: JsonPath) -> Position:
        """The position of ``at``, or of its nearest written ancestor."""
        for end in range(len(at), -1, -1):
            found = self.positions.get(at[:end])
            if found is not None:
                return found
        return Position(1, 1)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The documents of one file and the violations met while reading it."""

    documents: tuple[Document, ...]
    violations: tuple[Violation, ...]


class _AbortError(Exception):
    """Stops reading a file after a limit was exceeded (the violation is already recorded)."""


class _RecordError(Exception):
    """Stops a reading without positions at its first violation: the file is read again with
    them, so that every violation is placed."""


@dataclass(slots=True)
class _Frame:
    """A collection being built: its value, where it sits and how many values it holds."""

    value: dict[str, Any] | list[Any]
    path: JsonPath
    size: int = 1
    characters: int = 0
    anchor: str | None = None
    key: str | None = None
    key_is_merge: bool = False
    merges: list[tuple[dict[str, Any], Position]] = field(default_factory=list)


class _Builder:
    """Turns the event stream of one file into documents, recording violations."""

    def __init__(self, path: str, env: Mapping[str, str] | None, *, record: bool) -> None:
        self.path = path
        self.env = env
        self.record = record
        self.violations: list[Violation] = []
        self.documents: list[Document] = []
        self.total = 0
        self.characters = 0
        self._reset()

    def _reset(self) -> None:
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int, int]] = {}
        self.positions: dict[JsonPath, Position] = {}
        self.root: Any = None
        self.errors_before = len(self.violations)

    def violation(self, mark: Any, message: str, rule: str) -> None:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.at(line, column, message, rule)

    def at(self, line: int, column: int, message: str, rule: str) -> None:
        if not self.record:
            raise _RecordError
        self.violations.append(Violation(self.path, line, column, "", message, rule))

    def run(self, events: Iterator[yaml.Event]) -> None:
        handlers: dict[type, Callable[[Any], None]] = {
            yaml.DocumentStartEvent: self._on_document_start,
            yaml.DocumentEndEvent: self._on_document_end,
            yaml.ScalarEvent: self._on_scalar,
            yaml.AliasEvent: self._on_alias,
            yaml.MappingStartEvent: self._on_collection_start,
            yaml.SequenceStartEvent: self._on_collection_start,
            yaml.MappingEndEvent: self._on_collection_end,
            yaml.SequenceEndEvent: self._on_collection_end,
        }
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)

    def _on_document_start(self, event: yaml.DocumentStartEvent) -> None:
        if len(self.documents) >= MAX_DOCUMENTS:
            self.violation(event.start_mark, f"more than {MAX_DOCUMENTS} documents", "limits")
            raise _AbortError
        self._reset()

    def _on_document_end(self, event: yaml.DocumentEndEvent) -> None:
        index = len(self.documents)
        errors = len(self.violations) - self.errors_before
        positions = dict(self.positions) if self.record else self.positions
        doc = Document(self.path, index, self.root, positions, errors)
        self.documents.append(doc)

    def _child_path(self, mark: Any) -> JsonPath | None:
        """The path of the value about to be added; None when it is a mapping key. Without
        positions, every path is ``()``: only the document's own position is kept."""
        if not self.stack:
            self.positions[()] = _pos(mark)
            return ()
        parent = self.stack[-1]
        if isinstance(parent.value, list):
            if not self.record:
                return ()
            path = (*parent.path, len(parent.value))
            self.positions[path] = _pos(mark)
            return path
        if parent.key is None and not parent.key_is_merge:
            return None
        if not self.record:
            return ()
        return (*parent.path, parent.key) if parent.key is not None else parent.path

    def _count(self, size: int, characters: int, mark: Any) -> None:
        self.total += size
        self.characters += characters
        if self.total > MAX_VALUES:
            message = (
                f"file expands to more than {MAX_VALUES} values (alias bomb?); use fewer aliases"
            )
            self.violation(mark, message, "limits")
            raise _AbortError
        if self.characters > MAX_CHARACTERS:
            message = (
                f"file expands to more than {MAX_CHARACTERS} characters of text (alias bomb?); "
                "use fewer aliases of long values"
            )
            self.violation(mark, message, "limits")
            raise _AbortError

    def _on_scalar(self, event: yaml.ScalarEvent) -> None:
        path = self._child_path(event.start_mark)
        if path is None:
            self._set_key(event)
            return
        value = self._scalar_value(event, path)
        characters = len(value) if isinstance(value, str) else len(event.value)
        self._count(1, characters, event.start_mark)
        self._emit(value, 1, characters, event.anchor, event.start_mark)

    def _set_key(self, event: yaml.ScalarEvent) -> None:
        parent = self.stack[-1]
        if event.value == "<<" and event.implicit[0]:
            parent.key_is_merge = True
            return
        key = _shared(event.value)
        assert isinstance(parent.value, dict)
        if key in parent.value:
            first = self.positions.get((*parent.path, key))
            where = f" (first at line {first.line})" if first else ""
            self.violation(event.start_mark, f"duplicate key '{key}'{where}", "yaml-duplicate-key")
        elif self.record:
            self.positions[(*parent.path, key)] = _pos(event.start_mark)
        parent.key = key
        parent.characters += len(key)
        self._count(0, len(key), event.start_mark)

    def _scalar_value(self, event: yaml.ScalarEvent, path: JsonPath) -> Any:
        raw: str = event.value
        if self.env is not None and "$" in raw:
            raw, missing = variables.substitute(raw, self.env)
            for name in missing:
                self.violation(event.start_mark, variables.undefined_message(name), "variables")
        tag = event.tag
        if tag in (None, "!"):
            plain = event.implicit[0] and tag is None
            tag = _resolve(raw) if plain else _STR
        if tag not in _SCALAR_TAGS:
            self.violation(event.start_mark, f"unsupported YAML tag {_short(tag)}", "yaml-tag")
            return raw
        if tag == _STR:
            return _shared(raw)
        try:
            return _CONSTRUCTOR.construct_object(ScalarNode(tag, raw))
        except (ConstructorError, ValueError):
            message = (
                f"{quoted(raw)} is not a valid {_short(tag)} value; quote it to keep it as text"
            )
            self.violation(event.start_mark, message, "yaml-tag")
            return raw

    def _on_alias(self, event: yaml.AliasEvent) -> None:
        path = self._child_path(event.start_mark)
        if path is None:
            self.violation(event.start_mark, "an alias cannot be a mapping key", "yaml-syntax")
            raise _AbortError
        found = self.anchors.get(event.anchor or "")
        if found is None:
            message = f"alias *{event.anchor} refers to no complete anchor (recursive or undefined)"
            self.violation(event.start_mark, message, "yaml-syntax")
            raise _AbortError
        value, size, characters = found
        self._count(size, characters, event.start_mark)
        self._emit(copy.deepcopy(value), size, characters, None, event.start_mark)

    def _on_collection_start(self, event: yaml.CollectionStartEvent) -> None:
        path = self._child_path(event.start_mark)
        if path is None:
            self.violation(event.start_mark, "mapping keys must be plain scalars", "yaml-syntax")
            raise _AbortError
        if len(self.stack) >= MAX_DEPTH:
            self.violation(event.start_mark, f"nested deeper than {MAX_DEPTH} levels", "limits")
            raise _AbortError
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
            message = f"unsupported YAML tag {_short(event.tag)}"
            self.violation(event.start_mark, message, "yaml-tag")
        self._count(1, 0, event.start_mark)
        value: dict[str, Any] | list[Any] = {} if is_map else []
        self.stack.append(_Frame(value, path, anchor=event.anchor))

    def _on_collection_end(self, event: yaml.CollectionEndEvent) -> None:
        frame = self.stack.pop()
        if isinstance(frame.value, dict):
            for merged, position in frame.merges:
                for key, item in merged.items():
                    if key not in frame.value:
                        frame.value[key] = item
                        if self.record:
                            self.positions.setdefault((*frame.path, key), position)
        self._emit(frame.value, frame.size, frame.characters, frame.anchor, event.start_mark)

    def _emit(self, value: Any, size: int, characters: int, anchor: str | None, mark: Any) -> None:
        if anchor:
            self.anchors[anchor] = (value, size, characters)
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1]
        parent.size += size
        parent.characters += characters
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif parent.key_is_merge:
            self._merge(parent, value, mark)
        else:
            assert parent.key is not None
            parent.value[parent.key] = value
            parent.key = None

    def _merge(self, parent: _Frame, value: Any, mark: Any) -> None:
        parent.key_is_merge = False
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                self.violation(mark, "a merge key (<<) needs a mapping", "yaml-syntax")
                continue
            parent.merges.append((source, _pos(mark) if self.record else _NOWHERE))


def _resolve(raw: str) -> str:
    tag: str = _RESOLVER.resolve(ScalarNode, raw, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _short(tag: str | None) -> str:
    return (tag or "").replace("tag:yaml.org,2002:", "!!")


_NOWHERE = Position(1, 1)
#: Keys and short texts are shared between documents (``sys.intern``): thousands of
#: manifests repeat ``spec``, ``compute``, ``runnable-default``...
_SHARED_LENGTH = 40


def _shared(text: str) -> str:
    return sys.intern(text) if len(text) <= _SHARED_LENGTH else text


def _pos(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def parse(path: str, text: str, *, env: Mapping[str, str] | None = None) -> ParsedFile:
    """Read every document of ``text``; ``env`` enables ``${VAR}`` substitution. Positions
    are read when first asked for, unless the file has violations."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        message = f"file is larger than {MAX_FILE_BYTES // 1024} KiB"
        return ParsedFile((), (Violation(path, 1, 1, "", message, "limits"),))
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        return ParsedFile((), (_bad_character(path, text, bad.start()),))
    try:
        quick = _parse(path, text, env, record=False)
    except _RecordError:
        return _parse(path, text, env, record=True)
    documents = tuple(
        Document(doc.path, doc.index, doc.data, _lazy(path, text, env, doc), doc.errors)
        for doc in quick.documents
    )
    return ParsedFile(documents, ())


def _lazy(path: str, text: str, env: Mapping[str, str] | None, doc: Document) -> LazyPositions:
    return LazyPositions(path, text, env, doc.index, doc.positions.get((), Position(1, 1)))


def _parse(path: str, text: str, env: Mapping[str, str] | None, *, record: bool) -> ParsedFile:
    builder = _Builder(path, env, record=record)
    try:
        builder.run(yaml.parse(text, Loader=_SafeLoader))
    except _AbortError:
        pass
    except yaml.MarkedYAMLError as err:
        problem = " ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        builder.violation(err.problem_mark, f"YAML syntax error: {problem}", "yaml-syntax")
    except yaml.reader.ReaderError as err:
        if not record:
            raise _RecordError from err
        builder.violations.append(_bad_character(path, text, _character_index(text, err)))
    except yaml.YAMLError as err:
        builder.violation(None, f"YAML syntax error: {err}", "yaml-syntax")
    return ParsedFile(tuple(builder.documents), tuple(builder.violations))


def line_and_column(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of the character at ``index`` of ``text``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _bad_character(path: str, text: str, index: int) -> Violation:
    line, column = line_and_column(text, index)
    char = text[index] if index < len(text) else ""
    code = f"U+{ord(char):04X}" if char else "a character"
    escape = repr(char)[1:-1] if char else ""
    message = (
        f"character {code} is not allowed in YAML (a control character, or not text); remove "
        f"it, or write it as the escape {escape} inside a double-quoted string"
    )
    return Violation(path, line, column, "", message, "yaml-syntax")


def _character_index(text: str, err: yaml.reader.ReaderError) -> int:
    """The character index of a reader error: libyaml counts bytes, PyYAML characters."""
    position = int(err.position)
    if _SafeLoader is yaml.SafeLoader:
        return position
    return len(text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "ignore"))
