"""LIST semantics: which resourceVersion a list reads, its pages and their continue tokens.

The real server answers a LIST from its watch cache (``resourceVersion`` unset, ``0`` or
"not older than": the newest state, after waiting up to 3 s for a version it has not reached,
then 504 ``Too large resource version``) or from etcd at one revision (``resourceVersionMatch=
Exact``, the legacy exact read of ``limit`` with a version, and every page after the first):
those read a consistent snapshot, 410 when etcd compacted it, 504 for a revision etcd has not
reached. Continue tokens are the etcd3 store's: base64 (raw URL) of ``{"v":"meta.k8s.io/v1",
"rv":N,"start":"<key after the prefix>\\x00"}``. ``page`` is called by ``handlers.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing import waiting
from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim.errors import ApiError, Cause
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.store import (
    CompactedError,
    FutureVersionError,
    Store,
    Stored,
    etcd_key,
)

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]
EXPIRED = "The resourceVersion for the provided list is too old."
INCONSISTENT = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list."
)
_MATCHES = ("Exact", "NotOlderThan")


@dataclass(frozen=True)
class Page:
    """One LIST answer: the items, the version they were read at, the next page's token."""

    items: list[Stored]
    resource_version: int
    token: str = ""
    remaining: int | None = None


@dataclass(frozen=True)
class ListQuery:
    """The LIST parameters that decide what is read."""

    resource_version: str
    match: str
    limit: int
    token: str

    @classmethod
    def parse(cls, query: dict[str, str]) -> ListQuery:
        raw_limit = query.get("limit", "")
        limit = int(raw_limit) if raw_limit.lstrip("-").isdigit() else 0
        return cls(
            query.get("resourceVersion", ""),
            query.get("resourceVersionMatch", ""),
            max(limit, 0),
            query.get("continue", ""),
        )


def too_large(wanted: int, current: int, retry: int) -> ApiError:
    """``storage.NewTooLargeResourceVersionError``: 504 Timeout, retried after ``retry`` s."""
    details: Obj = {"retryAfterSeconds": retry} if retry else {}
    error = ApiError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {wanted}, current: {current}",
        details,
        [Cause("ResourceVersionTooLarge", "Too large resource version")],
    )
    if retry:
        error.headers["Retry-After"] = str(retry)
    return error


def invalid_version(text: str) -> str:
    """The error ``APIObjectVersioner.ParseResourceVersion`` gives for a non-number."""
    reason = "value out of range" if text.isdigit() else "invalid syntax"
    parsed = f"strconv.ParseUint: parsing {fe.go_quote(text)}: {reason}"
    return f"resourceVersion: Invalid value: {fe.go_quote(text)}: {parsed}"


def parse_version(text: str, *, from_etcd: bool) -> int:
    """A resourceVersion as a number. The cacher lets the parse error through (500, no
    reason); the etcd3 store wraps it in a 400 ``invalid resource version``."""
    if text in ("", "0"):
        return 0
    if text.isdigit() and int(text) < 2**64:
        return int(text)
    if from_etcd:
        raise errors.bad_request(f"invalid resource version: {invalid_version(text)}")
    raise ApiError(500, "", invalid_version(text))


def validate(query: ListQuery) -> None:
    """``ValidateListOptions`` of a LIST: 422 ``ListOptions.meta.k8s.io "" is invalid``."""
    causes: list[Cause] = []
    if query.match:
        if not query.resource_version:
            causes.append(
                fe.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        if query.token:
            causes.append(
                fe.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                )
            )
        if query.match not in _MATCHES:
            causes.append(fe.not_supported("resourceVersionMatch", query.match, [*_MATCHES, ""]))
        if query.match == "Exact" and query.resource_version == "0":
            causes.append(
                fe.forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if causes:
        parts = [f"{c.field}: {c.message}" for c in causes]
        joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        details: Obj = {"group": "meta.k8s.io", "kind": "ListOptions"}
        message = f'ListOptions.meta.k8s.io "" is invalid: {joined}'
        raise ApiError(422, "Invalid", message, details, causes)


def encode_token(rv: int, start: str) -> str:
    body = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, int]:
    """``storage.DecodeContinue``: the key to start after and the version (-1: newest)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise _bad_token(f"continue key is not valid: {exc}") from exc
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        version = data.get("v", "") if isinstance(data, dict) else ""
        raise _bad_token(
            f"continue key is not valid: server does not recognize this encoded version {version}"
        )
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or rv == 0:
        raise _bad_token(
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)"
        )
    if not isinstance(start, str) or not start:
        raise _bad_token(
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
        )
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key:
        raise _bad_token(f"continue key is not valid: {start}")
    return key[1:], rv


def _bad_token(message: str) -> ApiError:
    return errors.bad_request(f"invalid continue token: {message}")


def _relative(key: tuple[str, str], namespace: str) -> str:
    """The object's etcd key after the list's prefix (``name`` within a namespace)."""
    return key[1] if namespace else etcd_key(key)


class Lister:
    """Reads LIST pages from one store; ``fresh_wait`` bounds the wait for a future version."""

    def __init__(self, store: Store, *, fresh_wait: float) -> None:
        self.store = store
        self.fresh_wait = fresh_wait

    def page(
        self, rt: ResourceType, namespace: str, query: ListQuery, predicate: Predicate | None
    ) -> Page:
        validate(query)
        start, at = "", 0
        if query.token:
            if query.resource_version not in ("", "0"):
                raise errors.bad_request(
                    "specifying resource version is not allowed when using continue"
                )
            start, at = decode_token(query.token)
        else:
            at = self._resolve(query)
        items, rv = self._read(rt, namespace, at, predicate, paging=query.token, start=start)
        if start:
            items = [s for s in items if _relative(_key(s), namespace) > start]
        # the watch cache ignores the limit of a list at resourceVersion "0"
        limit = 0 if query.resource_version == "0" and not query.token else query.limit
        if not limit or len(items) <= limit:
            return Page(items, rv)
        shown = items[:limit]
        token = encode_token(rv, _relative(_key(shown[-1]), namespace) + "\x00")
        remaining = len(items) - limit if predicate is None else None
        return Page(shown, rv, token, remaining)

    def fresh(self, resource_version: str) -> None:
        """A GET at a resourceVersion: the watch cache's ``WaitUntilFreshAndGet``."""
        wanted = parse_version(resource_version, from_etcd=False)
        if wanted > self.store.rv:
            self._wait_fresh(wanted)

    def _resolve(self, query: ListQuery) -> int:
        """The version an etcd read pins (0: the newest, after the cache caught up)."""
        exact = query.match == "Exact" or (
            not query.match and query.limit > 0 and query.resource_version not in ("", "0")
        )
        wanted = parse_version(query.resource_version, from_etcd=exact)
        if exact:
            return wanted
        if wanted > self.store.rv:
            self._wait_fresh(wanted)
        return 0

    def _wait_fresh(self, wanted: int) -> None:
        """The watch cache's ``waitUntilFreshAndBlock``: 504 after its 3 s (here configured)."""
        try:
            waiting.wait_for(
                lambda: self.store.rv >= wanted,
                timeout=self.fresh_wait,
                interval=0.01,
                message=f"resourceVersion {wanted}",
            )
        except TimeoutError as exc:
            raise too_large(wanted, self.store.rv, 1) from exc

    def _read(
        self,
        rt: ResourceType,
        namespace: str,
        at: int,
        predicate: Predicate | None,
        *,
        paging: str,
        start: str,
    ) -> tuple[list[Stored], int]:
        if at <= 0:
            with self.store.lock:
                return self.store.items(rt, namespace, predicate), self.store.rv
        try:
            return self.store.items_at(rt, namespace, at, predicate), at
        except FutureVersionError as exc:
            raise too_large(at, exc.current, 0) from exc
        except CompactedError as exc:
            if not paging:
                raise errors.gone(EXPIRED) from exc
            error = errors.gone(INCONSISTENT)
            error.list_meta["continue"] = encode_token(-1, start)
            raise error from exc


def _key(stored: Stored) -> tuple[str, str]:
    meta = stored.obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])
