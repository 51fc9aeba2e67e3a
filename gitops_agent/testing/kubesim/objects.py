"""The API semantics of object writes: create, update, patch and server-side apply.

``Objects`` admits every write the way the API server does: strict schema check, defaulting
and canonical quantities, semantic validation (422), namespace existence, resourceVersion
preconditions (409), uid / creationTimestamp / generation, status kept apart from spec
(the ``status`` subresource), managedFields, no-op detection (an unchanged object keeps its
resourceVersion) and ``dryRun``. Reads and LIST live here too. Called by ``handlers.py`` for
HTTP requests and by the simulated controllers, which write through the same path.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.testing.kubesim import (
    apply,
    applying,
    bodies,
    defaults,
    errors,
    rules,
    stamping,
    validation,
)
from gitops_agent.testing.kubesim.kinds import NAMESPACES, ResourceType
from gitops_agent.testing.kubesim.patching import (
    deep_copy,
    json_patch,
    merge_patch,
    strategic_merge,
)
from gitops_agent.testing.kubesim.schema import shared
from gitops_agent.testing.kubesim.store import Store, encode
from gitops_agent.testing.kubesim.typed import go_map
from gitops_agent.testing.kubesim.validation import FieldValidation, Patched

Obj = dict[str, Any]
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/apply-patch+cbor",
)


def timestamp(when: float | None = None) -> str:
    """RFC 3339 seconds in UTC, as metadata timestamps are written."""
    moment = dt.datetime.fromtimestamp(time.time() if when is None else when, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp written by ``timestamp``."""
    moment = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return moment.timestamp()


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(_NAME_CHARS) for _ in range(length))


@dataclass(frozen=True)
class WriteOptions:
    """Query parameters of a write."""

    field_manager: str = ""
    dry_run: bool = False
    validation: FieldValidation = FieldValidation.WARN
    subresource: str = ""
    force: bool = False
    # what an apply that creates the object must also pass (authorization of ``create``)
    create_check: Callable[[], None] | None = None


@dataclass(frozen=True)
class Checks:
    """How a write's body is checked: the body's own strict errors, whether it is a patch
    (its errors name the patch), and the managedFields an apply already computed."""

    strict: tuple[str, ...] = ()
    patch: Patched | None = None
    managed: list[Obj] | None = None
    integral_floats: bool = False


@dataclass(frozen=True)
class Written:
    """A write's outcome: the object, 201 for a creation, and warnings for the headers."""

    obj: Obj
    code: int = 200
    warnings: tuple[str, ...] = field(default_factory=tuple)


class Objects:
    """Object reads and writes with the API server's rules, over one ``Store``."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        # create-time mutations (before validation), then checks of admission plugins (after)
        self.admission: list[Callable[[ResourceType, Obj, Obj | None], None]] = []
        self.gates: list[Callable[[ResourceType, Obj, Obj | None], None]] = []

    def now(self) -> str:
        return timestamp(self.clock())

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        found = self.store.get(rt, namespace, name)
        if found is None:
            raise errors.not_found(rt, name)
        return found

    def require_namespace(self, rt: ResourceType, namespace: str, *, creating: bool) -> None:
        """404 when a namespaced object's namespace is missing; 403 when it terminates."""
        if not rt.namespaced:
            return
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise errors.not_found(NAMESPACES, namespace)
        if creating and (ns.get("status") or {}).get("phase") == "Terminating":
            raise errors.forbidden(
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                {"name": namespace, "kind": rt.plural},
            )

    def create(
        self,
        rt: ResourceType,
        namespace: str,
        body: Any,
        opts: WriteOptions,
        *,
        strict: tuple[str, ...] = (),
    ) -> Written:
        """POST; ``strict`` holds the body's own strict decoding errors (repeated fields)."""
        obj = self._decode(rt, body)
        meta = obj.setdefault("metadata", {})
        self._check_namespace(rt, namespace, meta)
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = str(meta["generateName"]) + random_suffix()
        with self.store.lock:
            self.require_namespace(rt, namespace, creating=True)
            name = str(meta.get("name") or "")
            if name and self.store.get(rt, namespace, name) is not None:
                raise errors.already_exists(rt, name)
            return self._admit(rt, obj, None, opts, Checks(strict=strict))

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        opts: WriteOptions,
        *,
        strict: tuple[str, ...] = (),
    ) -> Written:
        """PUT: a uid in the body is a precondition, a resourceVersion too."""
        obj = self._decode(rt, body)
        meta = obj.setdefault("metadata", {})
        self._check_namespace(rt, namespace, meta)
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match "
                f"the name on the URL ({name})"
            )
        meta["name"] = name
        with self.store.lock:
            old = self.get(rt, namespace, name)
            uid = meta.get("uid")
            if uid and uid != old["metadata"].get("uid"):
                raise uid_precondition(rt, name, str(uid), old)
            sent = meta.get("resourceVersion")
            if sent and sent != old["metadata"]["resourceVersion"]:
                raise errors.stale(rt, name)
            return self._admit(rt, obj, old, opts, Checks(strict=strict))

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        *,
        content_type: str,
        opts: WriteOptions,
    ) -> Written:
        kind = content_type.split(";", maxsplit=1)[0].strip()
        if kind not in PATCH_TYPES:
            raise errors.unsupported_media(content_type)
        if kind.startswith("application/apply-patch"):
            return self.apply(rt, namespace, name, raw, opts)
        body = bodies.parse_json(raw)
        strict = body.strict_errors()
        if kind == "application/json-patch+json":
            strict = [f"json patch {e}" for e in strict]
        with self.store.lock:
            old = self.get(rt, namespace, name)
            obj = _patched(rt, old, body.value, kind)
            sent = (obj.get("metadata") or {}).get("resourceVersion")
            if sent and sent != old["metadata"]["resourceVersion"]:
                raise errors.stale(rt, name)
            obj["metadata"] = dict(obj.get("metadata") or {}, name=name)
            shown = go_map(body.value) if "strategic" in kind else encode(obj).decode()
            checks = Checks(strict=tuple(strict), patch=Patched(shown))
            return self._admit(rt, obj, old, opts, checks)

    def apply(
        self, rt: ResourceType, namespace: str, name: str, raw: bytes, opts: WriteOptions
    ) -> Written:
        """Server-side apply of a YAML (or JSON) configuration."""
        if not opts.field_manager:
            raise applying.missing_field_manager()
        config = applying.read_config(rt, raw)
        with self.store.lock:
            old = self.store.get(rt, namespace, name)
            if old is None and opts.create_check is not None:
                opts.create_check()
            if old is None:
                self.require_namespace(rt, namespace, creating=True)
            merged, managed = applying.merge(
                rt,
                old,
                config,
                manager=opts.field_manager,
                force=opts.force,
                subresource=opts.subresource,
                now=self.now(),
            )
            warnings = applying.strict_yaml(config.strict_yaml, opts.validation)
            meta = merged.setdefault("metadata", {})
            self._check_namespace(rt, namespace, meta)
            if meta.get("name", name) != name:
                raise errors.bad_request(
                    f"the name of the object ({meta.get('name')}) does not "
                    f"match the name on the URL ({name})"
                )
            meta["name"] = name
            sent = meta.get("resourceVersion")
            if sent and (old is None or sent != old["metadata"]["resourceVersion"]):
                raise errors.stale(rt, name) if old else errors.not_found(rt, name)
            merged["metadata"]["managedFields"] = managed
            checks = Checks(managed=managed, integral_floats=True)
            written = self._admit(rt, merged, old, opts, checks)
        return Written(written.obj, written.code, tuple(warnings) + written.warnings)

    def _decode(self, rt: ResourceType, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request(f"Object '{rt.kind}' is missing in '{body!r}'")
        obj: Obj = deep_copy(body)
        kind, version = obj.get("kind"), obj.get("apiVersion")
        if (kind and kind != rt.kind) or (version and version != rt.api_version):
            raise errors.bad_request(
                f"the API version in the data ({version}) does not match "
                f"the expected API version ({rt.api_version})"
                if version != rt.api_version
                else f"Object kind {kind!r} does not match {rt.kind!r}"
            )
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        return obj

    def _check_namespace(self, rt: ResourceType, namespace: str, meta: Obj) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the "
                "namespace sent on the request"
            )
        meta["namespace"] = namespace

    def _admit(
        self, rt: ResourceType, obj: Obj, old: Obj | None, opts: WriteOptions, checks: Checks
    ) -> Written:
        mode = FieldValidation.IGNORE if checks.managed is not None else opts.validation
        warnings, required = validation.check_schema(
            rt,
            obj,
            mode,
            old=old,
            strict=checks.strict,
            patch=checks.patch,
            integral_floats=checks.integral_floats,
        )
        stamping.split_status(rt, obj, old, opts.subresource)
        defaults.apply_defaults(rt, obj, old)
        causes = rules.validated(rt, required) + rules.check_update_meta(obj, old)
        stamping.stamp(rt, obj, old, now=self.now())
        for hook in self.admission:
            hook(rt, obj, old)
        causes += rules.check(rt, obj, old, status_only=opts.subresource == "status")
        if causes:
            raise errors.invalid(rt, str(obj["metadata"].get("name") or ""), causes)
        for gate in self.gates:
            gate(rt, obj, old)
        if checks.managed is None:
            obj["metadata"]["managedFields"] = self._record(rt, obj, old, opts)
        if not obj["metadata"]["managedFields"]:
            del obj["metadata"]["managedFields"]
        warnings += rules.warnings(rt, obj, old)
        if old is not None and stamping.same(old, obj):
            return Written(old, 200, tuple(warnings))
        if opts.dry_run:
            return Written(obj, 201 if old is None else 200, tuple(warnings))
        stored = self.store.put(rt, obj)
        meta = stored["metadata"]
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not meta.get("deletionGracePeriodSeconds")
        ):  # ``shouldDeleteDuringUpdate``: the last finalizer went
            self.store.remove(rt, meta.get("namespace", ""), meta["name"])
        return Written(stored, 201 if old is None else 200, tuple(warnings))

    def _record(self, rt: ResourceType, obj: Obj, old: Obj | None, opts: WriteOptions) -> list[Obj]:
        return apply.record_update(
            old,
            obj,
            shared().root(rt.group, rt.version, rt.kind),
            manager=opts.field_manager or "unknown",
            api_version=rt.api_version,
            now=self.now(),
            subresource=opts.subresource,
            has_status="status" in rt.subresources,
        )


def _patched(rt: ResourceType, old: Obj, patch: Any, kind: str) -> Obj:
    """The stored object with a JSON, merge or strategic merge patch applied."""
    base = deep_copy(old)
    if kind == "application/json-patch+json":
        obj = json_patch(base, patch)
    elif kind == "application/merge-patch+json":
        obj = merge_patch(base, patch)
    else:
        obj = strategic_merge(base, patch, shared().root(rt.group, rt.version, rt.kind))
    if not isinstance(obj, dict):
        raise errors.bad_request("the patch did not result in an object")
    return obj


def uid_precondition(rt: ResourceType, name: str, uid: str, stored: Obj) -> errors.ApiError:
    """409 of ``storage.Preconditions.Check``: the uid asked for is not the stored one's."""
    return errors.conflict(
        rt,
        name,
        f"Precondition failed: UID in precondition: {uid}, "
        f"UID in object meta: {stored['metadata'].get('uid', '')}",
    )
