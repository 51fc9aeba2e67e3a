"""Loading: a SourceTree -> typed resources, with every loading problem as a Violation.

Called by the command line (``validate``, ``render``, ``plan``, ``apply``) and the engine,
before ``core.validation``. Reads every YAML document (``core.yamldoc``), substitutes
``${VAR}``, checks each manifest against its type's JSON Schema (``core.schema``), resolves
Bundle ``file:`` references inside the repository only (relative to the bundle's file, then
to the root), and builds the values of ``core.manifests``. A file that a Bundle references
belongs to that Bundle and is not loaded on its own.

With a ``LoadMemo`` (the agent's incremental cycles), a file whose path, content id and
display path were seen before is not read again: its documents, and the resource and
violations of each standalone Worker or Workflow in it, are the ones of last time (the
memo is kept under one configuration: ``env`` is part of it). Bundles are always built
again, since they read other files.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitops_agent.core import manifests, schema, yamldoc
from gitops_agent.core.manifests import (
    Bundle,
    BundleMember,
    Origin,
    Resource,
    ResourceId,
    Worker,
    Workflow,
)
from gitops_agent.core.memo import Memo
from gitops_agent.core.tree import SourceTree, is_manifest_path, under
from gitops_agent.core.violations import Violation, type_words
from gitops_agent.core.yamldoc import Document, JsonPath

OTHER_DATAOS_TYPES = frozenset(
    [
        "secret",
        "depot",
        "service",
        "cluster",
        "compute",
        "volume",
        "policy",
        "instance-secret",
        "stack",
        "operator",
        "database",
        "lakehouse",
        "monitor",
        "pager",
        "lens",
        "nilus",
        "vulcan",
    ]
)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a tree holds: the resources that loaded and every violation met."""

    resources: tuple[Resource, ...]
    violations: tuple[Violation, ...]


#: A file as the memo knows it: path, content id, display path.
FileKey = tuple[str, str, str]
#: A file's documents (paths relative to the root) and the violations met reading it.
FileEntry = tuple[tuple[Document, ...], tuple[Violation, ...]]
#: A standalone manifest's resource (None: it did not load) and its violations.
BuiltEntry = tuple[Resource | None, tuple[Violation, ...]]


@dataclass(frozen=True, slots=True)
class LoadMemo:
    """What the loader keeps between runs: each file's documents, each standalone
    manifest's resource, keyed by the file (and the document's index)."""

    files: Memo[FileKey, FileEntry]
    built: Memo[tuple[FileKey, int], BuiltEntry]


@dataclass(frozen=True, slots=True)
class _Reference:
    """A Bundle member's ``file:`` and where it was written."""

    bundle_path: str
    document: Document
    at: JsonPath


def load(
    tree: SourceTree,
    *,
    env: Mapping[str, str] | None = None,
    roots: tuple[str, ...] = ("",),
    memo: LoadMemo | None = None,
) -> Loaded:
    """Load every manifest under ``roots`` (paths relative to the tree root)."""
    return _Loader(tree, env, memo).run(roots)


class _Loader:
    """One loading run: parses files once, tracks which files bundles claimed."""

    def __init__(
        self, tree: SourceTree, env: Mapping[str, str] | None, memo: LoadMemo | None
    ) -> None:
        self.tree = tree
        self.env = env
        self.memo = memo
        self.parsed: dict[str, yamldoc.ParsedFile] = {}
        self.violations: list[Violation] = []
        self.claimed: dict[str, _Reference] = {}

    def run(self, roots: tuple[str, ...]) -> Loaded:
        candidates = sorted(p for p in self.tree.files if is_manifest_path(p) and under(p, roots))
        self._report_unreadable(roots)
        documents = [doc for path in candidates for doc in self._documents(path)]
        self._claim_bundle_files(documents)
        resources: list[Resource] = []
        for doc in documents:
            if doc.path not in self.claimed:
                resources.extend(self._standalone(doc))
        return Loaded(tuple(resources), tuple(self.violations))

    def _report_unreadable(self, roots: tuple[str, ...]) -> None:
        for path, reason in sorted(self.tree.problems.items()):
            if under(path.rstrip("/"), roots):
                line, column = self.tree.positions.get(path, (1, 1))
                message = f"not read: {reason}"
                self._add(
                    self.tree.display(path), line, column, who="", message=message, rule="files"
                )

    def _add(self, path: str, line: int, column: int, *, who: str, message: str, rule: str) -> None:
        self.violations.append(Violation(path, line, column, who, message, rule))

    def _documents(self, path: str) -> list[Document]:
        """The non-empty documents of a file, parsed once; ``Document.path`` is relative."""
        if path not in self.parsed:
            docs, violations = self._read(path)
            self.violations.extend(violations)
            self.parsed[path] = yamldoc.ParsedFile(docs, ())
        return list(self.parsed[path].documents)

    def _file_key(self, path: str) -> FileKey:
        return (path, self.tree.content_id(path), self.tree.display(path))

    def _read(self, path: str) -> FileEntry:
        key = self._file_key(path) if self.memo is not None else None
        known = self.memo.files.get(key) if self.memo is not None and key else None
        if known is not None:
            return known
        result = yamldoc.parse(self.tree.display(path), self.tree.files[path], env=self.env)
        docs = tuple(_relative(doc, path) for doc in result.documents if doc.data is not None)
        entry = (docs, result.violations)
        if self.memo is not None and key:
            self.memo.files.put(key, entry)
        return entry

    def _claim_bundle_files(self, documents: list[Document]) -> None:
        for doc in documents:
            if not isinstance(doc.data, dict) or doc.data.get("type") != "bundle":
                continue
            for index, member in enumerate(_members(doc.data)):
                file = member.get("file")
                if isinstance(file, str):
                    self._claim(doc, ("bundle", "resources", index, "file"), file)

    def _claim(self, doc: Document, at: JsonPath, file: str) -> None:
        target, problem = resolve_reference(self.tree, doc.path, file)
        if target is None:
            self._at(
                doc, at, describe(doc.data), problem or f"cannot resolve {file!r}", "bundle-file"
            )
            return
        refused = self._member_file_problem(doc, at, file, target)
        if refused is not None:
            self._at(doc, refused[0], describe(doc.data), refused[1], "bundle-file")
            return
        first = self.claimed.get(target)
        if first is not None and (first.bundle_path, first.at) != (doc.path, at):
            line = first.document.position(first.at).line
            message = f"{file!r} is already a member of the bundle in {first.bundle_path}:{line}"
            self._at(doc, at, describe(doc.data), message, "bundle-file")
            return
        self.claimed[target] = _Reference(doc.path, doc, at)

    def _member_file_problem(
        self, doc: Document, at: JsonPath, file: str, target: str
    ) -> tuple[JsonPath, str] | None:
        """Why a bundle cannot take ``target`` as a member file: it is the bundle's own file,
        or it holds a bundle (which then stays a resource of its own)."""
        if target == doc.path:
            message = (
                f"bundle file {file!r} is this bundle's own file; name the file of a Worker or "
                "Workflow, or write the member inline under 'spec'"
            )
            return at, message
        for found in self._documents(target):
            if isinstance(found.data, dict) and found.data.get("type") == "bundle":
                name = describe(found.data) or "a bundle"
                message = f"a bundle member cannot itself be a bundle ({file!r} holds {name})"
                return at[:-1], message
        return None

    def _at(self, doc: Document, at: JsonPath, who: str, message: str, rule: str) -> None:
        position = doc.position(at)
        path = self.tree.display(doc.path)
        self._add(path, position.line, position.column, who=who, message=message, rule=rule)

    def _standalone(self, doc: Document) -> list[Resource]:
        bundle = isinstance(doc.data, dict) and doc.data.get("type") == "bundle"
        if self.memo is None or bundle:
            built = self._build(doc, (), doc.data, workspace=None, bundle=None)
            return [] if built is None else [built]
        key = (self._file_key(doc.path), doc.index)
        known = self.memo.built.get(key)
        if known is None:
            before = len(self.violations)
            resource = self._build(doc, (), doc.data, workspace=None, bundle=None)
            known = (resource, tuple(self.violations[before:]))
            self.memo.built.put(key, known)
        else:
            self.violations.extend(known[1])
        return [] if known[0] is None else [known[0]]

    def _build(
        self,
        doc: Document,
        prefix: JsonPath,
        data: Any,
        *,
        workspace: str | None,
        bundle: ResourceId | None,
    ) -> Resource | None:
        kind = self._check_envelope(doc, prefix, data)
        if kind is None:
            return None
        problems = schema.check(schema.checker_for(kind), data)
        who = describe(data, workspace)
        for problem in problems:
            self._at(doc, (*prefix, *problem.path), who, problem.message, problem.rule)
        if problems or doc.errors:
            return None
        rid = manifests.resource_id(data, workspace=workspace)
        line = doc.position(prefix).line
        display = self.tree.display(doc.path)
        origin = Origin(doc.path, line, bundle, display, doc, prefix)
        if kind == "worker":
            return manifests.build_worker(data, rid, origin)
        if kind == "workflow":
            return manifests.build_workflow(data, rid, origin)
        return self._build_bundle(data, rid, origin)

    def _check_envelope(self, doc: Document, prefix: JsonPath, data: Any) -> str | None:
        """The manifest's type when it is one this agent manages; else report why not."""
        if not isinstance(data, dict):
            message = f"a manifest must be a YAML mapping, got {type_words(data)}"
            self._at(doc, prefix, "", message, "manifest")
            return None
        kind = data.get("type")
        if kind in ("worker", "workflow", "bundle"):
            return str(kind)
        if kind is None:
            message = "missing required field 'type' (worker, workflow or bundle)"
        elif str(kind) in OTHER_DATAOS_TYPES:
            message = f"type {kind!r} is not managed by gitops-agent (supported: worker, workflow, bundle)"
        else:
            message = f"unknown type {kind!r} (supported: worker, workflow, bundle)"
        self._at(doc, (*prefix, "type") if kind is not None else prefix, "", message, "manifest")
        return None

    def _build_bundle(self, data: dict[str, Any], rid: ResourceId, origin: Origin) -> Bundle:
        assert origin.document is not None
        members: list[BundleMember] = []
        for index, member in enumerate(data["bundle"]["resources"]):
            resource = self._member_resource(origin.document, index, member, rid)
            if resource is not None:
                members.append(_member(member, resource))
        body = data["bundle"]
        return Bundle(
            id=rid,
            meta=manifests.build_meta(data),
            members=tuple(members),
            origin=origin,
            manifest=data,
            workspaces=tuple(
                manifests.build_bundle_workspace(w) for w in body.get("workspaces", ())
            ),
            properties=dict(body.get("properties", {})),
        )

    def _member_resource(
        self, doc: Document, index: int, member: dict[str, Any], bundle: ResourceId
    ) -> Worker | Workflow | None:
        at: JsonPath = ("bundle", "resources", index)
        workspace = member.get("workspace")
        if "spec" in member:
            built = self._build(
                doc, (*at, "spec"), member["spec"], workspace=workspace, bundle=bundle
            )
        else:
            built = self._member_from_file(doc, at, member["file"], workspace, bundle)
        if isinstance(built, Bundle):
            self._at(doc, at, str(bundle), "a bundle member cannot itself be a bundle", "bundle")
            return None
        return built

    def _member_from_file(
        self, doc: Document, at: JsonPath, file: str, workspace: str | None, bundle: ResourceId
    ) -> Resource | None:
        target, _ = resolve_reference(self.tree, doc.path, file)
        reference = self.claimed.get(target or "")
        if (
            target is None
            or reference is None
            or (reference.bundle_path, reference.at)
            != (
                doc.path,
                (*at, "file"),
            )
        ):
            return None
        documents = self._documents(target)
        if len(documents) != 1:
            message = (
                f"{file!r} holds {len(documents)} manifests; a bundle member file holds exactly one"
            )
            self._at(doc, (*at, "file"), str(bundle), message, "bundle-file")
            return None
        return self._build(documents[0], (), documents[0].data, workspace=workspace, bundle=bundle)


def _relative(doc: Document, path: str) -> Document:
    return Document(path, doc.index, doc.data, doc.positions, doc.errors)


def _members(data: dict[str, Any]) -> list[dict[str, Any]]:
    body = data.get("bundle")
    items = body.get("resources") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    return [item if isinstance(item, dict) else {} for item in items]


def _member(data: dict[str, Any], resource: Worker | Workflow) -> BundleMember:
    return BundleMember(
        id=data["id"],
        resource=resource,
        dependencies=tuple(data.get("dependencies", ())),
        conditions=tuple(
            manifests.build_condition(c) for c in data.get("dependencyConditions", ())
        ),
        file=data.get("file"),
    )


def describe(data: Any, workspace: str | None = None) -> str:
    """``type/workspace/name`` of manifest data that may not be valid, for messages."""
    if not isinstance(data, dict):
        return ""
    kind, name = data.get("type"), data.get("name")
    if not isinstance(name, str) or kind not in ("worker", "workflow", "bundle"):
        return ""
    if kind == "bundle":
        return f"bundle/{name}"
    chosen = workspace or data.get("workspace")
    return f"{kind}/{chosen if isinstance(chosen, str) else 'public'}/{name}"


def resolve_reference(
    tree: SourceTree, bundle_path: str, file: str
) -> tuple[str | None, str | None]:
    """The tree path a Bundle's ``file:`` names, or None and the reason it names none."""
    if file.startswith("/") or "\\" in file:
        return None, f"bundle file {file!r} must be a relative POSIX path inside the repository"
    bases = [posixpath.dirname(bundle_path), ""]
    tried: list[str] = []
    escaped = False
    for base in dict.fromkeys(bases):
        candidate = posixpath.normpath(posixpath.join(base, file))
        if candidate == ".." or candidate.startswith("../"):
            escaped = True
            continue
        problem = tree.problem(candidate)
        if problem is not None:
            return None, f"bundle file {file!r}: {problem}"
        if candidate in tree.files:
            return candidate, None
        tried.append(candidate)
    if escaped and not tried:
        return None, f"bundle file {file!r} leaves the repository"
    looked = " or ".join(repr(tree.display(t)) for t in tried)
    return None, f"bundle file {file!r} not found (looked for {looked})"
