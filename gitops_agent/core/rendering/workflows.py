"""Workflows on Kubernetes: each DAG step -> a Job; a scheduled single step -> a CronJob.

Called by ``kubernetes.render_resource``. Rendering does not order or wait: it returns the
step graph (``RenderedWorkflow.steps`` with ``depends``) and the engine creates each step's
Job once the steps it depends on succeeded. A Job's pod template is immutable and a finished
Job never runs again, so a step's Job is named ``<workflow>-<step>-<hash>``: the hash covers
the step's Job, its ConfigMaps and the hashes of the steps it depends on. A changed step
(or a changed upstream step) gets a new Job that runs; an unchanged one keeps its Job.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gitops_agent.core import graph, labels
from gitops_agent.core.kinds import CONFIG_MAP, CRON_JOB, JOB
from gitops_agent.core.manifests import Schedule, Workflow, WorkflowStep
from gitops_agent.core.rendering import context, metadata, names, pods
from gitops_agent.core.rendering.metadata import Stamp
from gitops_agent.core.rendering.objects import (
    KubeObject,
    RenderedStep,
    RenderedWorkflow,
    RenderError,
    RenderSettings,
)


def end_time(schedule: Schedule) -> datetime | None:
    """``endOn`` as an aware time (a time without offset is in the schedule's timezone).

    Raises ValueError when ``endOn`` is not an ISO-8601 time.
    """
    if schedule.end_on is None:
        return None
    moment = datetime.fromisoformat(schedule.end_on)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(schedule.timezone))
    return moment


def render_workflow(
    workflow: Workflow, settings: RenderSettings, *, revision: str, now: datetime | None = None
) -> RenderedWorkflow:
    """A Workflow's steps, each with its Job (or the CronJob of a scheduled Workflow)."""
    namespace = settings.namespace(workflow.id.workspace)
    stamp = metadata.stamp(workflow, owner=settings.owner, namespace=namespace, revision=revision)
    if workflow.schedule is not None:
        return _scheduled(workflow, workflow.schedule, stamp, settings, now)
    by_name = {step.name: step for step in workflow.dag}
    digests: dict[str, str] = {}
    rendered: dict[str, RenderedStep] = {}
    for name in graph.topological_order({s.name: s.depends for s in workflow.dag}):
        step = by_name[name]
        rendered[name] = _job_step(workflow, step, stamp.for_step(name), settings, digests)
    return RenderedWorkflow(workflow.id, tuple(rendered[s.name] for s in workflow.dag))


def _values(workflow: Workflow, step: WorkflowStep, settings: RenderSettings) -> dict[str, str]:
    return context.values(
        workflow.id.type,
        workflow.meta.name,
        workspace=workflow.id.workspace,
        namespace=settings.namespace(workflow.id.workspace),
        dataos_fqdn=settings.dataos_fqdn,
        step=step.name,
    )


def _job_spec(pod: pods.Pod, stamp: Stamp, settings: RenderSettings) -> dict[str, Any]:
    return {"backoffLimit": settings.job_backoff_limit, "template": pod.template(stamp.pod_labels)}


def _config_maps(pod: pods.Pod, stamp: Stamp) -> list[KubeObject]:
    return [stamp.object(CONFIG_MAP, c.name, {"data": dict(c.data)}) for c in pod.config_maps]


def _job_step(
    workflow: Workflow,
    step: WorkflowStep,
    stamp: Stamp,
    settings: RenderSettings,
    digests: dict[str, str],
) -> RenderedStep:
    """One step's Job and ConfigMaps, named by the step's hash (recorded in ``digests``)."""
    values = _values(workflow, step, settings)

    def pod_named(base: str) -> pods.Pod:
        request = pods.PodRequest(step.runtime, values, base, restart_policy="Never")
        return pods.render_pod(request, settings)

    draft = pod_named(names.step_base(workflow.meta.name, step.name))
    digest = metadata.digest(
        {
            "job": _job_spec(draft, stamp, settings),
            "config": [[c.name, c.data] for c in draft.config_maps],
            "after": [digests[name] for name in sorted(set(step.depends))],
        }
    )
    digests[step.name] = digest
    name = names.job(workflow.meta.name, step.name, digest)
    pod = pod_named(name)
    job = stamp.object(JOB, name, {"spec": _job_spec(pod, stamp, settings)})
    objects = (*_config_maps(pod, stamp), job)
    return RenderedStep(step.name, step.depends, objects, job.key)


def _scheduled(
    workflow: Workflow,
    schedule: Schedule,
    stamp: Stamp,
    settings: RenderSettings,
    now: datetime | None,
) -> RenderedWorkflow:
    """The CronJob of a scheduled single-step Workflow (validation rules out the rest)."""
    if len(workflow.dag) != 1 or len(schedule.crons) != 1:
        raise RenderError("a scheduled Workflow renders with one step and one cron")
    step = workflow.dag[0]
    stamp = stamp.for_step(step.name)
    request = pods.PodRequest(
        step.runtime, _values(workflow, step, settings), workflow.meta.name, restart_policy="Never"
    )
    pod = pods.render_pod(request, settings)
    spec: dict[str, Any] = {
        "schedule": schedule.crons[0],
        "timeZone": schedule.timezone,
        "concurrencyPolicy": schedule.concurrency_policy.value,
        "jobTemplate": {
            "metadata": {"labels": dict(stamp.labels)},
            "spec": _job_spec(pod, stamp, settings),
        },
    }
    annotations: Mapping[str, str] = {}
    if schedule.end_on is not None:
        annotations = {labels.END_ON: schedule.end_on}
        end = end_time(schedule)
        if now is not None and end is not None and now >= end:
            spec["suspend"] = True
    cron_job = stamp.object(CRON_JOB, workflow.meta.name, {"spec": spec}, annotations=annotations)
    objects = (*_config_maps(pod, stamp), cron_job)
    rendered = RenderedStep(step.name, (), objects, cron_job.key)
    return RenderedWorkflow(workflow.id, (rendered,), scheduled=True)
