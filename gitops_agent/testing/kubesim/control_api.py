"""The control API over HTTP, under ``/_kubesim/``: the same controls as ``KubeSim`` methods.

=========================================  ===============================================
``GET /_kubesim/requests``                 request log (``?verb=&resource=&namespace=``)
``DELETE /_kubesim/requests``              clear the request log
``GET /_kubesim/counters``                 counts by verb, resource, verb+resource, code
``GET|POST|DELETE /_kubesim/faults``       list, add (a ``Fault`` as JSON), clear faults
``DELETE /_kubesim/faults/{id}``           remove one fault
``GET|PUT|POST /_kubesim/rules``           list, replace, append pod outcome rules
``POST /_kubesim/reset``                   objects, log, faults and rules back to start
``POST /_kubesim/compact``                 forget watch history (old versions get 410)
``POST /_kubesim/step``                    run the controllers once, now
``POST /_kubesim/cronjobs/{ns}/{name}``    run a CronJob's Job now
``GET /_kubesim/errors``                   errors the simulated controllers met
=========================================  ===============================================

Called by ``server.py`` for paths under the prefix; ``KubeSim`` does the work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.control import Fault
from gitops_agent.testing.kubesim.handlers import error_response, json_response
from gitops_agent.testing.kubesim.outcomes import OutcomeRule
from gitops_agent.testing.kubesim.patching import parse_json
from gitops_agent.testing.kubesim.wire import Request, Response

if TYPE_CHECKING:
    from gitops_agent.testing.kubesim.simulator import KubeSim

Obj = dict[str, Any]


class ControlApi:
    """Answers requests under ``/_kubesim``."""

    def __init__(self, sim: KubeSim) -> None:
        self.sim = sim

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except errors.ApiError as exc:
            return error_response(exc)
        except (TypeError, ValueError) as exc:
            return error_response(errors.bad_request(str(exc)))

    def _route(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        method = request.method
        head = parts[0] if parts else ""
        if head == "requests":
            return self._requests(request)
        if head == "counters" and method == "GET":
            return json_response(200, self.sim.counters())
        if head == "faults":
            return self._faults(request, parts[1:])
        if head == "rules":
            return self._rules(request)
        if head == "errors" and method == "GET":
            return json_response(200, {"items": self.sim.controller_errors()})
        if method == "POST" and head in ("reset", "compact", "step", "cronjobs"):
            return self._action(request, parts)
        raise errors.path_not_found()

    def _requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sim.clear_requests()
            return json_response(200, {"items": []})
        filters = {
            k: v
            for k, v in request.query.items()
            if k in ("verb", "resource", "namespace", "name", "group")
        }
        items = [r.to_json() for r in self.sim.requests(**filters)]
        return json_response(200, {"items": items})

    def _faults(self, request: Request, rest: list[str]) -> Response:
        if request.method == "GET":
            return json_response(200, {"items": self.sim.control.faults()})
        if request.method == "POST":
            body = parse_json(request.body)
            if not isinstance(body, dict):
                raise errors.bad_request("a fault is a JSON object")
            return json_response(201, {"id": self.sim.add_fault(Fault.from_json(body))})
        if request.method == "DELETE" and rest:
            if not self.sim.control.remove_fault(int(rest[0])):
                raise errors.path_not_found()
            return json_response(200, {"removed": int(rest[0])})
        if request.method == "DELETE":
            self.sim.clear_faults()
            return json_response(200, {"items": []})
        raise errors.method_not_allowed(request.method)

    def _rules(self, request: Request) -> Response:
        if request.method in ("PUT", "POST"):
            body = parse_json(request.body)
            items = body.get("items", body) if isinstance(body, dict) else body
            rules = [
                OutcomeRule.from_json(r) for r in (items if isinstance(items, list) else [items])
            ]
            if request.method == "PUT":
                self.sim.set_rules(rules)
            else:
                for rule in rules:
                    self.sim.add_rule(rule)
        elif request.method != "GET":
            raise errors.method_not_allowed(request.method)
        return json_response(200, {"items": [r.to_json() for r in self.sim.rules()]})

    def _action(self, request: Request, parts: list[str]) -> Response:
        head = parts[0]
        if head == "reset":
            body = parse_json(request.body) if request.body.strip() else {}
            keep = isinstance(body, dict) and body.get("objects") is False
            self.sim.reset(objects=not keep)
            return json_response(200, {"reset": True})
        if head == "compact":
            return json_response(200, {"oldestResourceVersion": str(self.sim.compact())})
        if head == "step":
            return json_response(200, {"reconciled": self.sim.step()})
        if len(parts) != 3:
            raise errors.path_not_found()
        job = self.sim.trigger_cronjob(parts[1], parts[2])
        return json_response(201, job)
