"""The simulated node: pod phases and container states over time, by outcome rule.

``pod_status(pod, resolved, timing, started, now)`` is a pure function: given when the pod
started and what its rule says, it returns the status a kubelet would report at ``now``
(Pending with ContainerCreating, Running and Ready, Succeeded / Failed, CrashLoopBackOff with
restart counts growing by the back-off schedule, ImagePullBackOff, Unschedulable) and the
time of the next change. ``controllers.py`` writes it when it differs from the stored one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim.objects import timestamp
from gitops_agent.testing.kubesim.outcomes import Outcome, Resolved

Obj = dict[str, Any]
NODE_IP = "10.0.0.10"
UNSCHEDULABLE = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    " preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
)


@dataclass(frozen=True)
class Timing:
    """Simulated durations, in seconds."""

    ready_delay: float = 2.0
    run_duration: float = 2.0
    crash_backoff: float = 10.0
    termination_delay: float | None = None  # how long containers take to stop (None: the grace)


def stopped_status(pod: Obj, now: float, *, killed: bool) -> Obj:
    """The status once the containers of a deleted pod stopped: exit 0 after SIGTERM, 137
    when killed at the end of the grace period; the pod's phase is then terminal."""
    status = dict(pod.get("status") or {})
    code = 137 if killed else 0
    statuses = []
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        started = (state.get("running") or {}).get("startedAt") or timestamp(now)
        end = state.get("terminated") or {
            "exitCode": code,
            "reason": "Error" if code else "Completed",
            "startedAt": started,
            "finishedAt": timestamp(now),
        }
        statuses.append(dict(container, state={"terminated": end}, ready=False, started=False))
    status["containerStatuses"] = statuses
    failed = any(s["state"]["terminated"].get("exitCode") for s in statuses)
    status["phase"] = "Failed" if failed else "Succeeded"
    status["conditions"] = [
        _condition(c["type"], False, now, "PodCompleted")
        if c.get("type") in ("Ready", "ContainersReady")
        else c
        for c in status.get("conditions") or []
    ]
    return status


def pod_ip(uid: str) -> str:
    digest = hashlib.sha256(uid.encode()).digest()
    return f"10.244.{digest[0] % 250 + 1}.{digest[1] % 250 + 2}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _condition(kind: str, ok: bool, when: float, reason: str = "", message: str = "") -> Obj:
    out: Obj = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": timestamp(when),
    }
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def qos_class(pod: Obj) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        if not all(k in limits for k in ("cpu", "memory")):
            return "Burstable"
        if any(requests.get(k, limits[k]) != limits[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


@dataclass(frozen=True)
class _Phase:
    """What the containers are doing at one moment."""

    phase: str
    ready: bool
    states: dict[str, Obj]
    last: dict[str, Obj]
    restarts: int
    next_change: float | None


def pod_status(
    pod: Obj, resolved: Resolved, timing: Timing, started: float, now: float
) -> tuple[Obj, float | None]:
    """The kubelet's view of ``pod`` at ``now`` and when it next changes (None: never)."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    if resolved.rule.outcome is Outcome.PENDING:
        return {
            "phase": "Pending",
            "conditions": [
                _condition("PodScheduled", False, started, "Unschedulable", UNSCHEDULABLE)
            ],
            "qosClass": qos_class(pod),
        }, None
    phase = _phase(pod, resolved, timing, started, now)
    ready_at = started + timing.ready_delay
    names = [str(c.get("name", "")) for c in spec.get("containers") or []]
    not_ready = f"containers with unready status: [{' '.join(names)}]"
    done = phase.phase in ("Succeeded", "Failed")
    reason = "PodCompleted" if done else ("" if phase.ready else "ContainersNotReady")
    changed_at = ready_at if now >= ready_at else started
    status: Obj = {
        "phase": phase.phase,
        "conditions": [
            _condition("PodReadyToStartContainers", now >= ready_at, changed_at),
            _condition("Initialized", True, started),
            _condition(
                "Ready", phase.ready, changed_at, reason, "" if phase.ready or done else not_ready
            ),
            _condition(
                "ContainersReady",
                phase.ready,
                changed_at,
                reason,
                "" if phase.ready or done else not_ready,
            ),
            _condition("PodScheduled", True, started),
        ],
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "startTime": timestamp(started),
        "containerStatuses": [
            _container_status(c, phase, meta) for c in spec.get("containers") or []
        ],
        "qosClass": qos_class(pod),
    }
    if now >= ready_at:
        ip = pod_ip(str(meta.get("uid", "")))
        status.update(podIP=ip, podIPs=[{"ip": ip}])
    return status, phase.next_change


def _container_status(container: Obj, phase: _Phase, meta: Obj) -> Obj:
    name = str(container.get("name", ""))
    image = str(container.get("image", ""))
    state = phase.states.get(name, {"running": {}})
    waiting = "waiting" in state
    out: Obj = {
        "name": name,
        "state": state,
        "lastState": phase.last.get(name, {}),
        "ready": phase.ready,
        "restartCount": phase.restarts if name in phase.last else 0,
        "image": image,
        "imageID": ""
        if waiting and phase.restarts == 0
        else f"docker.io/library/{image.split(':', maxsplit=1)[0]}@sha256:{_digest(image)}",
        "started": "running" in state,
    }
    if not (waiting and phase.restarts == 0 and not phase.last):
        out["containerID"] = "containerd://" + _digest(f"{meta.get('uid')}/{name}/{phase.restarts}")
    return out


def _phase(pod: Obj, resolved: Resolved, timing: Timing, started: float, now: float) -> _Phase:
    spec = pod.get("spec") or {}
    names = [str(c.get("name", "")) for c in spec.get("containers") or []]
    ready_at = started + timing.ready_delay
    outcome = resolved.rule.outcome
    if now < ready_at:
        creating = {n: {"waiting": {"reason": "ContainerCreating"}} for n in names}
        return _Phase("Pending", False, creating, {}, 0, ready_at)
    if outcome is Outcome.IMAGE_PULL_BACKOFF:
        image = next(
            (
                str(c.get("image"))
                for c in spec.get("containers") or []
                if c.get("name") == resolved.container
            ),
            "",
        )
        pulling = {
            resolved.container: {
                "waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{image}"',
                }
            }
        }
        others = {
            n: {"waiting": {"reason": "PodInitializing"}} for n in names if n != resolved.container
        }
        return _Phase("Pending", False, {**others, **pulling}, {}, 0, None)
    running = {n: {"running": {"startedAt": timestamp(ready_at)}} for n in names}
    duration = (
        resolved.rule.duration if resolved.rule.duration is not None else (timing.run_duration)
    )
    restarts = spec.get("restartPolicy", "Always") == "Always"
    if outcome is Outcome.RUN and restarts:
        return _Phase("Running", True, running, {}, 0, None)
    exit_code = 0 if outcome in (Outcome.RUN, Outcome.SUCCEED) else resolved.exit_code
    run_for = 0.0 if outcome is Outcome.CRASHLOOP else duration
    if restarts:
        return _crash_loop(pod, resolved, timing, ready_at, now, run_for=run_for, code=exit_code)
    ends = ready_at + run_for
    if now < ends:
        return _Phase("Running", True, running, {}, 0, ends)
    terminated = _terminated(exit_code, ready_at, ends)
    states = {
        n: terminated if n == resolved.container else _terminated(0, ready_at, ends) for n in names
    }
    return _Phase("Succeeded" if exit_code == 0 else "Failed", False, states, {}, 0, None)


def _terminated(code: int, started: float, finished: float) -> Obj:
    return {
        "terminated": {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": timestamp(started),
            "finishedAt": timestamp(finished),
        }
    }


def backoff_schedule(base: float, restarts: int) -> float:
    """Seconds of CrashLoopBackOff before restart ``restarts + 1`` (doubling, capped)."""
    if restarts == 0:
        return 0.0
    return float(min(base * 2 ** (restarts - 1), base * 30))


def _crash_loop(
    pod: Obj,
    resolved: Resolved,
    timing: Timing,
    first: float,
    now: float,
    *,
    run_for: float,
    code: int,
) -> _Phase:
    names = [str(c.get("name", "")) for c in (pod.get("spec") or {}).get("containers") or []]
    meta = pod["metadata"]
    base = max(timing.crash_backoff, 0.001)
    start, restarts, previous = first, 0, None
    for _ in range(1_000_000):
        ends = start + run_for
        if now < ends:
            state, nxt, ready = {"running": {"startedAt": timestamp(start)}}, ends, True
            break
        backoff = backoff_schedule(base, restarts)
        previous = (start, ends)
        if now < ends + backoff:
            message = (
                f"back-off {int(backoff)}s restarting failed container="
                f"{resolved.container} pod={meta['name']}_{meta.get('namespace', '')}"
                f"({meta.get('uid', '')})"
            )
            state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
            nxt, ready = ends + backoff, False
            break
        start, restarts = ends + backoff, restarts + 1
    else:  # pragma: no cover - a million restarts
        state, nxt, ready = {"waiting": {"reason": "CrashLoopBackOff"}}, None, False
    last = {resolved.container: _terminated(code, *previous)} if previous else {}
    states = {
        n: (state if n == resolved.container else {"running": {"startedAt": timestamp(first)}})
        for n in names
    }
    return _Phase("Running", ready, states, last, restarts, nxt)
