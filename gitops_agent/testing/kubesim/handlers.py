"""Answers to API requests: discovery, OpenAPI, and the verbs on resources and subresources.

``ApiHandler.handle(request)`` routes a ``Request`` to discovery documents, the OpenAPI
documents, or a resource verb (get, list, watch, create, update, patch, delete,
deletecollection, ``/status``, ``/scale``, ``/log``), converting ``ApiError`` into the
``Status`` body. Lists and single objects are served as ``Table`` when kubectl asks for one.
Called by ``server.py`` once per request; the simulator wires in its parts.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from gitops_agent.testing.kubesim import (
    bodies,
    discovery,
    errors,
    openapi,
    protowire,
    reviewproto,
    tables,
)
from gitops_agent.testing.kubesim.authn import ADMIN
from gitops_agent.testing.kubesim.deletion import DeleteOptions, Propagation
from gitops_agent.testing.kubesim.eventsapi import EventsView
from gitops_agent.testing.kubesim.kinds import ACCESS_REVIEWS, EVENTS_V1
from gitops_agent.testing.kubesim.listing import ListQuery, parse_version
from gitops_agent.testing.kubesim.objects import WriteOptions
from gitops_agent.testing.kubesim.patching import deep_copy, merge_patch, parse_json
from gitops_agent.testing.kubesim.podlogs import serve_logs
from gitops_agent.testing.kubesim.scale import get_scale, update_scale
from gitops_agent.testing.kubesim.selectors import field_predicate, label_predicate
from gitops_agent.testing.kubesim.store import encode
from gitops_agent.testing.kubesim.streams import WatchSpec, watch_stream
from gitops_agent.testing.kubesim.validation import FieldValidation
from gitops_agent.testing.kubesim.wire import Request, Response, Target, parse_target

if TYPE_CHECKING:
    from gitops_agent.testing.kubesim.simulator import KubeSim

Obj = dict[str, Any]


def json_response(
    code: int, body: Any, *, warnings: tuple[str, ...] = (), content_type: str = "application/json"
) -> Response:
    payload = body if isinstance(body, bytes) else encode(body)
    headers = [("Warning", '299 - "' + w.replace('"', '\\"') + '"') for w in warnings]
    return Response(
        code, payload + (b"" if payload.endswith(b"\n") else b"\n"), content_type, headers
    )


def error_response(error: errors.ApiError) -> Response:
    response = json_response(error.code, error.status())
    response.headers.extend(error.headers.items())
    return response


def wants_table(request: Request) -> bool:
    return "as=Table" in request.header("Accept")


class ApiHandler:
    """Routes API requests for one simulator."""

    def __init__(self, sim: KubeSim) -> None:
        self.sim = sim
        self.objects = sim.objects
        self.store = sim.store
        self.events = EventsView(self, self._core)

    def handle(self, request: Request, target: Target | None) -> Response:
        try:
            if target is not None:
                return self._resource(request, target)
            return self._document(request)
        except errors.ApiError as exc:
            return error_response(exc)

    def _document(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        aggregated = "as=APIGroupDiscoveryList" in request.header("Accept")
        if path == "/version":
            return json_response(200, discovery.SERVER_VERSION)
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain; charset=utf-8")
        if path in ("/api", "/apis") and aggregated:
            return json_response(
                200, discovery.aggregated(path == "/api"), content_type=discovery.AGGREGATED_TYPE
            )
        if path == "/api":
            return json_response(200, discovery.api_versions(self.sim.address))
        if path == "/apis":
            return json_response(200, discovery.api_group_list())
        if path.startswith("/openapi/v3"):
            return self._openapi(path)
        parts = [p for p in path.split("/") if p]
        document = None
        if len(parts) == 2 and parts[0] == "api":
            document = discovery.resource_list("", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            document = discovery.group_document(parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.resource_list(parts[1], parts[2])
        if document is None:
            raise errors.path_not_found()
        return json_response(200, document)

    def _openapi(self, path: str) -> Response:
        if path == "/openapi/v3":
            return json_response(200, openapi.index())
        rest = path[len("/openapi/v3/") :]
        for group, version in self.sim.group_versions():
            if rest == openapi.gv_path(group, version):
                return json_response(200, openapi.document(group, version))
        raise errors.path_not_found()

    def _resource(self, request: Request, target: Target) -> Response:
        if target.rt is ACCESS_REVIEWS or target.subresource == "token":
            return self._review(request, target)
        content_type = request.header("Content-Type").split(";")[0].strip()
        if content_type == protowire.MEDIA_TYPE and request.method in ("POST", "PUT", "DELETE"):
            # kubectl's typed clients send protobuf; it decodes to the JSON of the same object
            headers = dict(request.headers, **{"content-type": "application/json"})
            body = protowire.to_json(request.body)
            request = dataclasses.replace(request, body=body, headers=headers)
        if target.rt is EVENTS_V1:
            return self.events.handle(request, target)
        return self._core(request, target)

    def _core(self, request: Request, target: Target) -> Response:
        if target.subresource == "log":
            return serve_logs(self.sim, request, target)
        if target.subresource == "scale":
            return self._scale(request, target)
        if target.rt.namespaced and target.namespace == "" and target.verb not in ("list", "watch"):
            raise errors.path_not_found()
        verb = target.verb
        if verb == "get":
            self.sim.lister.fresh(request.query.get("resourceVersion", ""))
            obj = self.objects.get(target.rt, target.namespace, target.name)
            if wants_table(request):
                return json_response(
                    200,
                    tables.to_table(
                        target.rt,
                        [obj],
                        request.query.get("includeObject", "Metadata"),
                        resource_version=obj["metadata"]["resourceVersion"],
                    ),
                )
            return json_response(200, obj)
        if verb == "list":
            return self._list(request, target)
        if verb == "watch":
            return self._watch(request, target)
        if verb == "deletecollection":
            return self._delete_collection(request, target)
        if verb == "delete":
            return self._delete(request, target)
        return self._write(request, target)

    def _review(self, request: Request, target: Target) -> Response:
        """SelfSubjectAccessReviews and TokenRequests: created, answered, never stored."""
        if target.verb != "create":
            raise errors.method_not_allowed(request.method)
        message = "SelfSubjectAccessReview" if target.rt is ACCESS_REVIEWS else "TokenRequest"
        if request.header("Content-Type").startswith(reviewproto.MEDIA_TYPE):
            body = reviewproto.decode(request.body, message)
        else:
            body = parse_json(request.body) if request.body.strip() else {}
        if target.rt is ACCESS_REVIEWS:
            return json_response(201, self.sim.security.review(request.identity or ADMIN, body))
        return json_response(
            201, self.sim.security.token_request(target.namespace, target.name, body)
        )

    def _write_options(self, request: Request, target: Target) -> WriteOptions:
        manager = request.query.get("fieldManager", "")
        if not manager and "apply-patch" not in request.header("Content-Type"):
            manager = request.header("User-Agent").split("/")[0] or "unknown"
        dry = request.query.get("dryRun", "")
        if dry and dry != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{dry}": supported values: "All"')
        return WriteOptions(
            field_manager=manager,
            dry_run=dry == "All",
            validation=FieldValidation.parse(request.query.get("fieldValidation", "")),
            subresource=target.subresource,
            force=request.flag("force"),
            create_check=self.sim.security.create_check(request, target)
            if "apply-patch" in request.header("Content-Type")
            else None,
        )

    def _write(self, request: Request, target: Target) -> Response:
        opts = self._write_options(request, target)
        rt, ns = target.rt, target.namespace
        if target.verb == "create":
            if target.subresource or target.name:
                raise errors.method_not_allowed("POST")
            body = bodies.parse_json(request.body)
            strict = tuple(body.strict_errors())
            written = self.objects.create(rt, ns, body.value, opts, strict=strict)
        elif target.verb == "update":
            if target.subresource == "finalize":
                return json_response(200, self.objects.get(rt, ns, target.name))
            body = bodies.parse_json(request.body)
            strict = tuple(body.strict_errors())
            written = self.objects.update(rt, ns, target.name, body.value, opts, strict=strict)
        elif target.verb == "patch":
            written = self.objects.patch(
                rt,
                ns,
                target.name,
                request.body,
                content_type=request.header("Content-Type"),
                opts=opts,
            )
        else:
            raise errors.method_not_allowed(request.method)
        return json_response(written.code, written.obj, warnings=written.warnings)

    def _predicate(self, request: Request, target: Target) -> Any:
        labels = label_predicate(request.query.get("labelSelector", ""))
        fields = field_predicate(request.query.get("fieldSelector", ""), target.rt.kind)
        if labels is None and fields is None:
            return None
        return lambda obj: (labels is None or labels(obj)) and (fields is None or fields(obj))

    def _list(self, request: Request, target: Target) -> Response:
        page = self.sim.lister.page(
            target.rt,
            target.namespace,
            ListQuery.parse(request.query),
            self._predicate(request, target),
        )
        rv = str(page.resource_version)
        if wants_table(request):
            return json_response(
                200,
                tables.to_table(
                    target.rt,
                    [s.obj for s in page.items],
                    request.query.get("includeObject", "Metadata"),
                    resource_version=rv,
                    continue_token=page.token,
                ),
            )
        meta: Obj = {"resourceVersion": rv}
        if page.token:
            meta["continue"] = page.token
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
        head = encode(
            {"kind": target.rt.list_kind, "apiVersion": target.rt.api_version, "metadata": meta}
        )
        items = b",".join(s.item_json for s in page.items)
        return Response(200, head[:-1] + b',"items":[' + items + b"]}\n")

    def _watch(self, request: Request, target: Target) -> Response:
        since = parse_version(request.query.get("resourceVersion", ""), from_etcd=False) or None
        predicate = self._predicate(request, target) or (lambda obj: True)
        timeout = float(request.query.get("timeoutSeconds") or self.sim.config.watch_limit)
        table = wants_table(request)
        spec = WatchSpec(
            target.rt,
            target.namespace,
            predicate,
            since,
            request.flag("allowWatchBookmarks"),
            min(timeout, self.sim.config.watch_limit),
            self.sim.config.bookmark_interval,
            initial_events=request.flag("sendInitialEvents"),
            transform=(lambda obj: tables.to_table(target.rt, [obj])) if table else None,
        )
        return Response(200, stream=watch_stream(self.store, spec, self.sim.stopping))

    def _delete_options(self, request: Request) -> DeleteOptions:
        body = parse_json(request.body) if request.body.strip() else {}
        if not isinstance(body, dict):
            # the real server decodes DeleteOptions from the body and refuses anything else
            kind = type(body).__name__.replace("str", "string")
            raise errors.bad_request(
                f"json: cannot unmarshal {kind} into Go value of type v1.DeleteOptions"
            )
        policy = request.query.get("propagationPolicy") or body.get("propagationPolicy")
        if body.get("orphanDependents") is True or request.flag("orphanDependents"):
            policy = policy or "Orphan"
        try:
            propagation = Propagation(policy) if policy else None
        except ValueError as exc:
            raise errors.bad_request(f'propagationPolicy: Unsupported value: "{policy}"') from exc
        pre = body.get("preconditions") or {}
        dry = request.query.get("dryRun") == "All" or body.get("dryRun") == ["All"]
        grace = request.query.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
        return DeleteOptions(
            propagation,
            dry,
            str(pre.get("uid") or ""),
            str(pre.get("resourceVersion") or ""),
            int(grace) if grace is not None and str(grace).lstrip("-").isdigit() else None,
        )

    def _delete(self, request: Request, target: Target) -> Response:
        if target.subresource:
            raise errors.method_not_allowed("DELETE")
        deleted = self.sim.deleter.delete(
            target.rt, target.namespace, target.name, self._delete_options(request)
        )
        return json_response(200, deleted.body, warnings=deleted.warnings)

    def _delete_collection(self, request: Request, target: Target) -> Response:
        opts = self._delete_options(request)
        items = self.store.items(target.rt, target.namespace, self._predicate(request, target))
        gone = []
        for stored in items:
            meta = stored.obj["metadata"]
            try:
                self.sim.deleter.delete(target.rt, meta.get("namespace", ""), meta["name"], opts)
            except errors.ApiError:
                continue
            gone.append(stored.obj)
        return json_response(
            200,
            {
                "kind": target.rt.list_kind,
                "apiVersion": target.rt.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": gone,
            },
        )

    def _scale(self, request: Request, target: Target) -> Response:
        if target.verb == "get":
            return json_response(200, get_scale(self.objects, target))
        opts = self._write_options(request, target)
        body = parse_json(request.body)
        if target.verb == "patch":
            body = merge_patch(deep_copy(get_scale(self.objects, target)), body)
        return json_response(200, update_scale(self.objects, target, body, opts))


__all__ = ["ApiHandler", "Request", "Response", "error_response", "json_response", "parse_target"]
