"""``events.k8s.io/v1`` Events: the core Events served in the other version, as the API server
converts them (``pkg/apis/events/v1/conversion.go``: ``regarding`` for ``involvedObject``,
``note`` for ``message``, ``reportingController``, ``deprecatedSource``, ``deprecatedCount``...).

``EventsView.handle`` answers a request on ``/apis/events.k8s.io/v1/...`` with the core verb:
bodies are converted in, answers (objects, lists, watch events) out, field selectors renamed.
Creates through this version are validated strictly as ``ValidateEventCreate`` does for it
(``eventTime``, ``reportingController``, ``reportingInstance``, ``action``, ``reason``
required; the deprecated fields unset). Server-side apply is not offered in this version.
Called by ``handlers.py``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim.kinds import EVENTS, EVENTS_V1
from gitops_agent.testing.kubesim.objects import WriteOptions
from gitops_agent.testing.kubesim.patching import deep_copy, json_patch, merge_patch
from gitops_agent.testing.kubesim.store import encode
from gitops_agent.testing.kubesim.wire import Request, Response, Target

if TYPE_CHECKING:
    from gitops_agent.testing.kubesim.handlers import ApiHandler

Obj = dict[str, Any]
_RENAMED = (  # events.k8s.io/v1 name, core name
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)
_KEPT = ("eventTime", "series", "reportingInstance", "action", "reason", "related", "type")


def to_v1(core: Obj) -> Obj:
    """A stored (core) Event as ``events.k8s.io/v1`` serves it."""
    out: Obj = {"kind": "Event", "apiVersion": EVENTS_V1.api_version, "metadata": core["metadata"]}
    out["eventTime"] = core.get("eventTime")
    for key in _KEPT[1:]:
        if core.get(key):
            out[key] = core[key]
    for new, old in _RENAMED:
        if core.get(old) or new in ("regarding", "deprecatedSource"):
            out[new] = core.get(old) or {}
    out.setdefault("deprecatedFirstTimestamp", None)
    out.setdefault("deprecatedLastTimestamp", None)
    series = core.get("series")
    if series:
        out["series"] = dict(series, count=series.get("count", 0))
    return out


def to_core(event: Obj) -> Obj:
    """An ``events.k8s.io/v1`` Event as it is stored."""
    out: Obj = {"kind": "Event", "apiVersion": "v1", "metadata": event.get("metadata") or {}}
    for new, old in _RENAMED:
        if new in event:
            out[old] = event[new]
    for key in _KEPT:
        if key in event:
            out[key] = event[key]
    return out


def strict_create(event: Obj) -> list[errors.Cause]:
    """``ValidateEventCreate`` of a create through events.k8s.io/v1."""
    causes = []
    if not event.get("eventTime"):
        causes.append(fe.required("eventTime"))
    if event.get("type") not in ("Normal", "Warning"):
        detail = f"has invalid value: {event.get('type') or ''}"
        causes.append(fe.invalid("type", "", detail))
    for key in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp"):
        if event.get(key):
            causes.append(fe.invalid(key, "", "needs to be unset"))
    if event.get("deprecatedCount"):
        causes.append(fe.invalid("deprecatedCount", "", "needs to be unset"))
    if any((event.get("deprecatedSource") or {}).values()):
        causes.append(fe.invalid("deprecatedSource", "", "needs to be unset"))
    for key in ("reportingController", "reportingInstance", "action", "reason"):
        if not event.get(key):
            causes.append(fe.required(key))
    return causes


def _selector(text: str) -> str:
    for new, old in _RENAMED:
        text = text.replace(f"{new}.", f"{old}.").replace(f"{new}=", f"{old}=")
    return text


class EventsView:
    """The events.k8s.io/v1 version of the stored Events."""

    def __init__(self, handler: ApiHandler, core: Callable[[Request, Target], Response]) -> None:
        self.handler = handler
        self.core = core

    def handle(self, request: Request, target: Target) -> Response:
        core_target = dataclasses.replace(target, rt=EVENTS)
        query = dict(request.query)
        if "fieldSelector" in query:
            query["fieldSelector"] = _selector(query["fieldSelector"])
        request = dataclasses.replace(request, query=query)
        if target.verb == "patch":
            return self._patch(request, core_target)
        if target.verb in ("create", "update") and request.body.strip():
            request = self._inbound(request, target.verb)
        return self._outbound(self.core(request, core_target))

    def _inbound(self, request: Request, verb: str) -> Request:
        body = json.loads(request.body)
        if not isinstance(body, dict):
            raise errors.bad_request("the body is not an events.k8s.io/v1 Event")
        if verb == "create":
            causes = strict_create(body)
            if causes:
                raise errors.invalid(
                    EVENTS_V1, str((body.get("metadata") or {}).get("name", "")), causes
                )
        return dataclasses.replace(request, body=encode(to_core(body)))

    def _patch(self, request: Request, target: Target) -> Response:
        kind = request.header("Content-Type").split(";")[0].strip()
        current = to_v1(self.handler.objects.get(EVENTS, target.namespace, target.name))
        patch = json.loads(request.body)
        if kind == "application/json-patch+json":
            patched = json_patch(deep_copy(current), patch)
        elif kind in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            patched = merge_patch(deep_copy(current), patch)
        else:
            raise errors.unsupported_media(request.header("Content-Type"))
        opts = WriteOptions(field_manager=request.query.get("fieldManager", "") or "unknown")
        written = self.handler.objects.update(
            EVENTS, target.namespace, target.name, to_core(patched), opts
        )
        return self._outbound(Response(200, encode(written.obj)))

    def _outbound(self, response: Response) -> Response:
        if response.stream is not None:
            response.stream = self._stream(response.stream)
            return response
        if not response.body.strip() or response.code >= 300:
            return response
        body = json.loads(response.body)
        if isinstance(body, dict) and body.get("kind") == "Event":
            response.body = encode(to_v1(body)) + b"\n"
        elif isinstance(body, dict) and body.get("kind") == "EventList":
            items = [to_v1(dict(i, kind="Event", apiVersion="v1")) for i in body.get("items") or []]
            for item in items:
                item.pop("kind"), item.pop("apiVersion")
            body.update(apiVersion=EVENTS_V1.api_version, items=items)
            response.body = encode(body) + b"\n"
        return response

    def _stream(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            out = b""
            for line in chunk.splitlines():
                event = json.loads(line)
                obj = event.get("object") or {}
                if obj.get("kind") == "Event":
                    event["object"] = to_v1(obj)
                out += encode(event) + b"\n"
            yield out
