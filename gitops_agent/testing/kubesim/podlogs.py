"""``GET .../pods/{name}/log``: the checks and answers of the pod log endpoint.

Resolves the container (``container`` is required for pods with several), refuses
containers still waiting to start as the real server does, and answers with the text of
``streams.log_text`` or, for ``follow=true``, the bounded ``streams.log_stream``.
Called by ``handlers.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitops_agent.testing.kubesim import errors, logs, outcomes
from gitops_agent.testing.kubesim.objects import parse_timestamp
from gitops_agent.testing.kubesim.streams import LogSpec, log_stream, log_text
from gitops_agent.testing.kubesim.wire import Request, Response, Target

if TYPE_CHECKING:
    from gitops_agent.testing.kubesim.simulator import KubeSim

_TEXT = "text/plain"


def _int(request: Request, name: str) -> int | None:
    value = request.query.get(name, "")
    if not value:
        return None
    if not value.lstrip("-").isdigit():
        raise errors.bad_request(f'{name}: Invalid value: "{value}": must be an integer')
    return int(value)


def serve_logs(sim: KubeSim, request: Request, target: Target) -> Response:
    if target.verb != "get":
        raise errors.method_not_allowed(request.method)
    pod = sim.objects.get(target.rt, target.namespace, target.name)
    containers = list((pod.get("spec") or {}).get("containers") or [])
    names = [str(c.get("name")) for c in containers]
    wanted = request.query.get("container", "")
    if not wanted:
        if len(names) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod "
                f"{target.name}, choose one of: [{' '.join(names)}]"
            )
        wanted = names[0]
    if wanted not in names:
        raise errors.bad_request(f"container {wanted} is not valid for pod {target.name}")
    statuses = {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}
    state = (statuses.get(wanted) or {}).get("state") or {
        "waiting": {"reason": "ContainerCreating"}
    }
    running = state.get("running") or state.get("terminated")
    last = (statuses.get(wanted) or {}).get("lastState") or {}
    if running is None and "terminated" in last:
        running = last["terminated"]
    if running is None:
        reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
        detail = "trying and failing to pull image" if "Image" in reason else reason
        raise errors.bad_request(
            f'container "{wanted}" in pod "{target.name}" is waiting to start: {detail}'
        )
    container = containers[names.index(wanted)]
    resolved = outcomes.resolve(pod, sim.rules())
    script = logs.script_for(
        container,
        default_text=sim.config.log_text.format(
            pod=target.name, container=wanted, namespace=target.namespace
        ),
        rule_text=resolved.rule.logs if resolved.container == wanted else None,
    )
    start = parse_timestamp(running["startedAt"])
    precise = sim.controllers.pods.started.get(str(pod["metadata"].get("uid")))
    if precise is not None:
        start = max(start, precise + sim.config.ready_delay)
    end = parse_timestamp(running["finishedAt"]) if running.get("finishedAt") else None
    spec = LogSpec(
        script,
        start,
        end,
        target.name,
        _int(request, "tailLines"),
        _int(request, "sinceSeconds"),
        request.flag("timestamps"),
        _int(request, "limitBytes"),
    )
    if request.flag("follow"):
        return Response(
            200, content_type=_TEXT, stream=log_stream(spec, sim.stopping, sim.config.follow_limit)
        )
    return Response(200, log_text(spec, sim.clock()), _TEXT)
