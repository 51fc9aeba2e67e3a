"""A thin REST layer over the kubernetes client for the few kinds the agent writes.

Called by ``targets.kubernetes`` only. Uses the client's ``ApiClient`` for configuration,
authentication and connection pooling, but builds paths from the table of ``core.kinds``
instead of running discovery, so that observing the cluster costs one LIST per kind (per
``LIST_PAGE`` objects) and nothing more. Objects stay plain JSON data (no model classes).

Every call the agent makes is idempotent (reads, server-side applies, deletes by uid, the
creation of a namespace), so an answer of 429/500/502/503/504 or a dropped connection is
retried here with jittered backoff, ``Retry-After`` honoured, within a time budget per call
(``RetryPolicy``); urllib3's own retries are off, so its warnings stay out of the output.
An invalid request (400, 422, and the 500 ``failed to create typed patch object`` that
real API servers answer to an apply they cannot type) is never retried. Every failure
becomes a ``TargetError`` naming the verb, ``Kind/namespace/name``, the HTTP status and the
API server's URL, with the server's own message.
"""

from __future__ import annotations

import builtins
import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client as kube
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from gitops_agent.backoff import BackoffPolicy
from gitops_agent.core import kinds, labels
from gitops_agent.core.kinds import Kind, ObjectKey, key_of
from gitops_agent.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    TargetError,
    UnavailableError,
)
from gitops_agent.targets.kubeconnect import connect
from gitops_agent.targets.serviceaccount import TokenFile

TIMEOUT = 30.0
#: Objects per LIST request: the first page takes up to 1,000 (1,000 Workers still list in one
#: request per kind), each further page 250, so that a page of pods or Deployments is a few
#: MiB of JSON however many there are.
LIST_PAGE = 1000
LIST_NEXT_PAGE = 250
#: How many times a paged LIST starts again when its continue token expired (410 Gone).
LIST_RESTARTS = 3
#: The objects a LIST answered (or what the caller keeps of each).
Listed = list[Any]
RETRIED = frozenset({429, 500, 502, 503, 504})
#: How a real API server says an apply patch is invalid (unknown field, duplicate key): a 500.
TYPED_PATCH_FAILURE = "failed to create typed patch object"

#: A call still failing after this many seconds says so (once) while it keeps retrying.
NOTICE_AFTER = 1.0

log = logging.getLogger(__name__)
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


#: Waits between tries of one call: 0.2 s doubling to 5 s, jittered; the budget bounds them.
API_BACKOFF = BackoffPolicy(initial=0.2, factor=2.0, max_delay=5.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long one call may keep retrying, and how it waits between tries."""

    budget: float = 30.0
    backoff: BackoffPolicy = API_BACKOFF
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    """One call: what it does, to what, for messages."""

    method: str
    path: str
    what: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    content_type: str = "application/json"
    action: str = ""

    @property
    def verb(self) -> str:
        named = {"PATCH": "apply", "POST": "create"}.get(self.method, self.method.lower())
        return self.action or named


class KubeApi:
    """JSON-in, JSON-out calls to the API server, counted and retried within a budget."""

    def __init__(
        self,
        api_client: kube.ApiClient,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = TIMEOUT,
        pages: tuple[int, int] = (LIST_PAGE, LIST_NEXT_PAGE),
    ) -> None:
        self.client = api_client
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.pages = pages  # objects in a LIST's first page, and in each further one
        self.requests = 0
        self.server = str(api_client.configuration.host)

    def close(self) -> None:
        self.client.close()

    def _call(self, request: _Request) -> Any:
        """The JSON answer of ``request``, retried while it is unavailable and budget is left."""
        started = self.retry.clock()
        attempt, told = 1, False
        while True:
            try:
                return self._once(request)
            except UnavailableError as err:
                wait = max(self.retry.backoff.delay(attempt, rng=self.retry.rng), err.retry_after)
                spent = self.retry.clock() - started
                if spent + wait > self.retry.budget:
                    raise _exhausted(err, attempt, spent) from err
                if not told and spent + wait >= NOTICE_AFTER:
                    log.warning("%s; retrying for up to %.0fs", err, self.retry.budget)
                    told = True
                self.retry.sleep(wait)
                attempt += 1

    def _once(self, request: _Request) -> Any:
        response = self._send(request, timeout=self.timeout, stream=False)
        data = response.read()
        if response.status == 401 and self._token_renewed():
            response = self._send(request, timeout=self.timeout, stream=False)
            data = response.read()
        if response.status >= 300:
            raise self._error(request, response.status, data, response.headers)
        return json.loads(data) if data else {}

    def _token_renewed(self) -> bool:
        """After a 401: whether the service account token file holds a new token now."""
        hook = self.client.configuration.refresh_api_key_hook
        return isinstance(hook, TokenFile) and hook.reload()

    def _send(
        self, request: _Request, *, timeout: float | tuple[float, float] | None, stream: bool
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": request.content_type}
        _, url, headers, _, _ = self.client.param_serialize(
            method=request.method,
            resource_path=request.path,
            query_params=list(request.query),
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        # The client serialises JSON bodies itself; an apply patch is sent as the text we give.
        body = request.body
        payload = (
            json.dumps(body) if body is not None and "json" not in request.content_type else body
        )
        self.requests += 1
        try:
            return self.client.call_api(
                request.method,
                url,
                header_params=headers,
                body=payload,
                _request_timeout=timeout,
            )
        except (HTTPError, OSError, kube.ApiException) as err:
            problem = _connection_problem(err)
            raise UnavailableError(
                f"{request.verb} {request.what}: {problem} {self.server}"
            ) from err

    def _error(self, request: _Request, status: int, data: bytes, headers: Any) -> TargetError:
        message = _server_message(data, status)
        text = f"{request.verb} {request.what}: HTTP {status} from {self.server}: {message}"
        if status == 404:
            return NotFoundError(text, status=status)
        if status == 409:
            return ConflictError(text, status=status)
        if status in (401, 403):
            return ForbiddenError(text, status=status)
        if status in (400, 422) or (status == 500 and TYPED_PATCH_FAILURE in message):
            return InvalidError(text, status=status)
        if status in RETRIED:
            error = UnavailableError(text, status=status)
            error.retry_after = _retry_after(headers)
            return error
        return TargetError(text, status=status)

    def list(
        self,
        kind: Kind,
        *,
        selector: str = "",
        namespace: str = "",
        keep: Callable[[dict[str, Any]], Any] | None = None,
    ) -> list[Any]:
        """Every object of a kind (in every namespace unless one is given) matching a selector,
        ``LIST_PAGE`` objects per request; ``keep`` turns each object, as its page arrives,
        into what the caller keeps of it (so that only one page is ever held whole)."""
        for attempt in range(1, LIST_RESTARTS + 1):
            try:
                return self._list_pages(kind, selector, namespace, keep)
            except TargetError as err:
                # a continue token too old (410 Gone): the list starts again from the top
                if err.status != 410 or attempt == LIST_RESTARTS:
                    raise
        raise AssertionError("unreachable")

    def _list_pages(
        self,
        kind: Kind,
        selector: str,
        namespace: str,
        keep: Callable[[dict[str, Any]], Any] | None,
    ) -> Listed:
        where = f" in {namespace}" if namespace else ""
        collection = kind.collection(namespace)
        found: Listed = []
        token = ""
        while True:
            query = [("labelSelector", selector)] if selector else []
            query.append(("limit", str(self.pages[1] if token else self.pages[0])))
            if token:
                query.append(("continue", token))
            request = _Request(
                "GET", collection, f"{kind.name}{where}", tuple(query), action="list"
            )
            data = self._call(request)
            for item in data.get("items") or []:
                item.setdefault("apiVersion", kind.api_version)
                item.setdefault("kind", kind.name)
                found.append(keep(item) if keep is not None else item)
            token = str((data.get("metadata") or {}).get("continue") or "")
            if not token:
                return found

    def list_at(
        self, kind: Kind, *, selector: str = ""
    ) -> tuple[builtins.list[dict[str, Any]], str]:
        """Every object of a kind matching a selector, and the list's resourceVersion (where
        a watch of the same selection goes on from)."""
        query = (("labelSelector", selector),) if selector else ()
        request = _Request("GET", kind.collection(""), kind.name, query, action="list")
        data = self._call(request)
        items: builtins.list[dict[str, Any]] = [*(data.get("items") or [])]
        for item in items:
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.name)
        return items, str((data.get("metadata") or {}).get("resourceVersion") or "")

    def watch(
        self, kind: Kind, *, selector: str, resource_version: str, seconds: int
    ) -> Iterator[dict[str, Any]]:
        """The events of one watch from ``resource_version`` (bookmarks asked for), until the
        server ends it after ``seconds``; a 410 (the version is gone) is a TargetError with
        that status, as is an ERROR event's."""
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", str(seconds)),
        ]
        if selector:
            query.append(("labelSelector", selector))
        request = _Request("GET", kind.collection(""), kind.name, tuple(query), action="watch")
        response = self._send(request, timeout=seconds + TIMEOUT, stream=True)
        if response.status >= 300:
            raise self._error(request, response.status, response.read(), response.headers)
        for line in _lines(response):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                raise TargetError(f"watch {kind.name}: not a JSON event") from None
            if not isinstance(event, dict):
                continue
            if event.get("type") == "ERROR":
                status = event.get("object") or {}
                code = int(status.get("code") or 500) if isinstance(status, dict) else 500
                raise TargetError(f"watch {kind.name}: {status.get('message', '')}", status=code)
            yield event

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        """One object, whoever made it; None when there is none."""
        path = kinds.kind_named(key.kind).path(key.namespace, key.name)
        try:
            found: dict[str, Any] = self._call(_Request("GET", path, str(key)))
        except NotFoundError:
            return None
        found.setdefault("apiVersion", key.api_version)
        found.setdefault("kind", key.kind)
        return found

    def apply(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as the agent's field manager, taking ownership of its fields."""
        key = key_of(obj)
        query = [
            ("fieldManager", labels.FIELD_MANAGER),
            ("force", "true"),
            ("fieldValidation", "Strict"),
        ]
        if dry_run:
            query.append(("dryRun", "All"))
        path = kinds.kind_named(key.kind).path(key.namespace, key.name)
        request = _Request(
            "PATCH", path, str(key), tuple(query), obj, "application/apply-patch+yaml"
        )
        result: dict[str, Any] = self._call(request)
        return result

    def patch_json(self, key: ObjectKey, operations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """A JSON patch (RFC 6902) as the agent's field manager: its ``test`` operations make
        the server refuse it (422) when the object changed since it was read."""
        path = kinds.kind_named(key.kind).path(key.namespace, key.name)
        query = (("fieldManager", labels.FIELD_MANAGER),)
        request = _Request(
            "PATCH",
            path,
            str(key),
            query,
            [dict(op) for op in operations],
            "application/json-patch+json",
            action="patch",
        )
        result: dict[str, Any] = self._call(request)
        return result

    def delete(self, key: ObjectKey, *, uid: str | None = None) -> None:
        """Delete one object in the background; a missing object is fine."""
        body: dict[str, Any] = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Background",
        }
        if uid:
            body["preconditions"] = {"uid": uid}
        path = kinds.kind_named(key.kind).path(key.namespace, key.name)
        try:
            self._call(_Request("DELETE", path, str(key), body=body))
        except NotFoundError:
            return

    def ensure_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        """Create a namespace when it does not exist (it is never deleted by the agent)."""
        body = {
            "apiVersion": kinds.NAMESPACE.api_version,
            "kind": kinds.NAMESPACE.name,
            "metadata": {"name": name, "labels": dict(labels)},
        }
        request = _Request("POST", kinds.NAMESPACE.collection(), f"Namespace/{name}", body=body)
        try:
            self._call(request)
        except ConflictError:
            return

    def list_named(
        self, kind: Kind, namespace: str, name: str
    ) -> tuple[dict[str, Any] | None, str]:
        """The object ``name`` (None when missing), read by a LIST that names it (so a rule
        limited to that name allows it), and the list's resourceVersion to watch from."""
        query = (("fieldSelector", f"metadata.name={name}"),)
        what = f"{kind.name}/{namespace}/{name}"
        request = _Request("GET", kind.collection(namespace), what, query, action="list")
        data = self._call(request)
        items = data.get("items") or []
        version = str((data.get("metadata") or {}).get("resourceVersion", ""))
        return (items[0] if items else None), version

    def read(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        """One object of a kind the agent keeps for itself (its Lease); None when missing."""
        return self.get(ObjectKey(kind.api_version, kind.name, namespace, name))

    def create(self, kind: Kind, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a new object; ConflictError when one of that name exists."""
        name = str((body.get("metadata") or {}).get("name", ""))
        what = f"{kind.name}/{namespace}/{name}" if name else f"{kind.name} in {namespace}"
        created: dict[str, Any] = self._call(
            _Request("POST", kind.collection(namespace), what, body=dict(body))
        )
        return created

    def replace(
        self, kind: Kind, namespace: str, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT an object read before: its ``resourceVersion`` makes a lost race a ConflictError."""
        request = _Request(
            "PUT",
            kind.path(namespace, name),
            f"{kind.name}/{namespace}/{name}",
            body=dict(body),
            action="update",
        )
        replaced: dict[str, Any] = self._call(request)
        return replaced

    def watch_object(
        self, kind: Kind, namespace: str, name: str, *, since: str, seconds: int
    ) -> Iterator[dict[str, Any]]:
        """The watch events of one object from resourceVersion ``since``, for at most
        ``seconds`` (the server closes the stream then)."""
        query = (
            ("watch", "true"),
            ("fieldSelector", f"metadata.name={name}"),
            ("resourceVersion", since),
            ("timeoutSeconds", str(seconds)),
            ("allowWatchBookmarks", "true"),
        )
        what = f"{kind.name}/{namespace}/{name}"
        request = _Request("GET", kind.collection(namespace), what, query, action="watch")
        response = self._send(request, timeout=(self.timeout, seconds + self.timeout), stream=True)
        if response.status >= 300:
            raise self._error(request, response.status, response.read(), response.headers)
        try:
            for line in _lines(response):
                if line.strip():
                    yield json.loads(line)
        except (HTTPError, OSError, ValueError) as err:
            raise UnavailableError(
                f"watch {what}: {_connection_problem(err)} {self.server}"
            ) from err

    def pod_log(self, namespace: str, pod: str, *, follow: bool, tail: int | None) -> Iterator[str]:
        """The lines of a pod's log (its first container), followed when asked."""
        query = [("follow", "true" if follow else "false")]
        if tail is not None:
            query.append(("tailLines", str(tail)))
        path = f"{kinds.POD.path(namespace, pod)}/log"
        request = _Request("GET", path, f"Pod/{namespace}/{pod}", tuple(query), action="log")
        response = self._send(request, timeout=None if follow else TIMEOUT, stream=True)
        if response.status >= 300:
            raise self._error(request, response.status, response.read(), response.headers)
        yield from _lines(response)


def _lines(response: Any) -> Iterator[str]:
    pending = b""
    try:
        for chunk in response.response.stream(4096):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.decode("utf-8", "replace")
        if pending:
            yield pending.decode("utf-8", "replace")
    finally:
        response.response.release_conn()


def _server_message(data: bytes, status: int) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return f"HTTP {status}"
    if not isinstance(body, dict):
        return f"HTTP {status}"
    return str(body.get("message") or body.get("reason") or f"HTTP {status}")


def _connection_problem(err: BaseException) -> str:
    """What went wrong on the wire, in words: refused, timed out, TLS, dropped."""
    cause: BaseException = err
    if isinstance(err, MaxRetryError) and err.reason is not None:
        cause = err.reason
    text = str(cause).lower()
    if isinstance(cause, NewConnectionError) or "refused" in text:
        return "connection refused by"
    if isinstance(cause, Urllib3Timeout | TimeoutError) or "timed out" in text:
        return "timed out talking to"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "TLS handshake failed with"
    if isinstance(cause, ProtocolError) or "reset" in text or "aborted" in text:
        return "connection dropped by"
    return f"cannot reach ({type(cause).__name__})"


def _retry_after(headers: Any) -> float:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), 0 when absent."""
    value = (headers or {}).get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return 0.0
    return max(0.0, min(seconds, 60.0)) if math.isfinite(seconds) else 0.0


__all__ = ["KubeApi", "RetryPolicy", "connect"]


def _exhausted(err: UnavailableError, attempts: int, spent: float) -> UnavailableError:
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    return UnavailableError(f"{err} (gave up after {tries} in {spent:.0f}s)", status=err.status)
