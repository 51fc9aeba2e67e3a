"""A thin REST layer over the kubernetes client for the few kinds the agent writes.

Called by ``targets.kubernetes`` only. Uses the client's ``ApiClient`` for configuration,
authentication and connection pooling, but builds paths from a fixed kind table instead of
running discovery (the table of ``core.kinds``), so that observing the cluster costs one LIST per kind and nothing more.
Objects stay plain JSON data (no model classes). Every failure becomes a ``TargetError``
naming ``Kind/namespace/name`` with the API server's own message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from kubernetes import client as kube
from kubernetes import config as kube_config
from urllib3.exceptions import HTTPError

from gitops_agent.core import kinds, labels
from gitops_agent.core.kinds import Kind, ObjectKey, key_of
from gitops_agent.errors import (
    ConfigError,
    ConflictError,
    InvalidError,
    NotFoundError,
    TargetError,
    UnavailableError,
)

TIMEOUT = 30.0


def connect(*, kubeconfig: str | None, context: str | None, in_cluster: bool) -> kube.ApiClient:
    """An API client from a kubeconfig (``KUBECONFIG`` or the default) or the pod's account."""
    try:
        if in_cluster:
            kube_config.load_incluster_config()
            return kube.ApiClient()
        return kube_config.new_client_from_config(config_file=kubeconfig, context=context)
    except (kube_config.ConfigException, OSError, TypeError, ValueError) as err:
        where = kubeconfig or "the default kubeconfig"
        raise ConfigError(f"cannot load Kubernetes configuration from {where}: {err}") from err


class KubeApi:
    """JSON-in, JSON-out calls to the API server, counted."""

    def __init__(self, api_client: kube.ApiClient) -> None:
        self.client = api_client
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        what: str = "",
        stream: bool = False,
        timeout: float | None = TIMEOUT,
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        _, url, headers, _, _ = self.client.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        # The client serialises JSON bodies itself; an apply patch is sent as the text we give.
        payload = json.dumps(body) if body is not None and "json" not in content_type else body
        self.requests += 1
        try:
            response = self.client.call_api(
                method, url, header_params=headers, body=payload, _request_timeout=timeout
            )
        except (HTTPError, OSError, kube.ApiException) as err:
            raise UnavailableError(
                f"API server unreachable: {type(err).__name__}", object_ref=what
            ) from err
        if stream:
            return _checked_stream(response, what)
        data = response.read()
        if response.status >= 300:
            raise _error(response.status, data, what)
        return json.loads(data) if data else {}

    def list(self, kind: Kind, *, selector: str = "", namespace: str = "") -> list[dict[str, Any]]:
        """Every object of a kind (in every namespace unless one is given) matching a selector."""
        query = [("labelSelector", selector)] if selector else []
        data = self._call("GET", kind.collection(namespace), query=query, what=kind.name)
        items = data.get("items") or []
        for item in items:
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.name)
        return list(items)

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
        result: dict[str, Any] = self._call(
            "PATCH",
            path,
            query=query,
            body=obj,
            content_type="application/apply-patch+yaml",
            what=str(key),
        )
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
            self._call("DELETE", path, body=body, what=str(key))
        except NotFoundError:
            return

    def ensure_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        """Create a namespace when it does not exist (it is never deleted by the agent)."""
        body = {
            "apiVersion": kinds.NAMESPACE.api_version,
            "kind": kinds.NAMESPACE.name,
            "metadata": {"name": name, "labels": dict(labels)},
        }
        try:
            self._call("POST", kinds.NAMESPACE.collection(), body=body, what=f"Namespace/{name}")
        except ConflictError:
            return

    def pod_log(self, namespace: str, pod: str, *, follow: bool, tail: int | None) -> Iterator[str]:
        """The lines of a pod's log (its first container), followed when asked."""
        query = [("follow", "true" if follow else "false")]
        if tail is not None:
            query.append(("tailLines", str(tail)))
        path = f"{kinds.POD.path(namespace, pod)}/log"
        what = f"Pod/{namespace}/{pod}"
        response = self._call(
            "GET", path, query=query, what=what, stream=True, timeout=None if follow else TIMEOUT
        )
        yield from _lines(response)


def _checked_stream(response: Any, what: str) -> Any:
    if response.status >= 300:
        raise _error(response.status, response.read(), what)
    return response


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


def _error(status: int, data: bytes, what: str) -> TargetError:
    try:
        body = json.loads(data)
        message = str(body.get("message") or body.get("reason") or status)
    except ValueError:
        message = f"HTTP {status}"
    classes: dict[int, type[TargetError]] = {
        404: NotFoundError,
        409: ConflictError,
        422: InvalidError,
        400: InvalidError,
    }
    cls = classes.get(status, UnavailableError if status >= 500 or status == 429 else TargetError)
    return cls(message, object_ref=what, status=status)
