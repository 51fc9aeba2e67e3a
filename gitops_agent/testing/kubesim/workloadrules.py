"""Validation of the workload kinds, as ``pkg/apis/apps/validation`` and
``pkg/apis/batch/validation`` do it: Deployments (selector, strategy, limits), ReplicaSets,
StatefulSets (policies, the pod template left to its pods, the fields an update may change),
Jobs and CronJobs (schedule, time zone). Pod templates go to ``podrules.py``. Called by
``kindrules.py``.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim import podrules
from gitops_agent.testing.kubesim.cron import CronError, parse_schedule
from gitops_agent.testing.kubesim.errors import Cause
from gitops_agent.testing.kubesim.selectors import selector_matches

Obj = dict[str, Any]
_STS_UPDATABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def template_of(spec: Obj) -> Obj:
    """The pod template of a workload's spec (empty when missing)."""
    template = spec.get("template")
    return template if isinstance(template, dict) else {}


def _selected(kind: str, spec: Obj) -> list[Cause]:
    """The selector a workload needs, and its match with the template's labels."""
    selector = spec.get("selector")
    labels = (template_of(spec).get("metadata") or {}).get("labels") or {}
    if not selector:
        return [fe.required("spec.selector")]
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [
            fe.invalid(
                "spec.selector",
                fe.Raw(fe.label_selector(selector)),
                f"empty selector is invalid for {kind}",
            )
        ]
    if not selector_matches(selector, labels):
        return [
            fe.invalid(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
        ]
    return []


def _nonnegative(spec: Obj, *keys: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in keys:
        causes += fe.nonnegative(f"spec.{key}", spec.get(key))
    return causes


def deployment(obj: Obj, spec: Obj) -> list[Cause]:
    causes = _nonnegative(spec, "replicas") + _selected("deployment", spec)
    causes += podrules.check_template("spec.template", template_of(spec), ("Always",))
    causes += _strategy(spec.get("strategy") or {})
    causes += _nonnegative(spec, "minReadySeconds", "revisionHistoryLimit")
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
    if isinstance(deadline, int):
        causes += fe.nonnegative("spec.progressDeadlineSeconds", deadline)
        if deadline <= ready:
            causes.append(
                fe.invalid(
                    "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
                )
            )
    return causes


def _strategy(strategy: Obj) -> list[Cause]:
    """``ValidateDeploymentStrategy`` and ``ValidateRollingUpdateDeployment``."""
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [
                fe.forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind != "RollingUpdate":
        return [fe.not_supported("spec.strategy.type", kind, ("Recreate", "RollingUpdate"))]
    rolling = rolling or {}
    where = "spec.strategy.rollingUpdate"
    causes = _int_or_percent(f"{where}.maxUnavailable", rolling.get("maxUnavailable"))
    causes += _int_or_percent(f"{where}.maxSurge", rolling.get("maxSurge"))
    if _scalar(rolling.get("maxUnavailable")) == 0 and _scalar(rolling.get("maxSurge")) == 0:
        causes.append(
            fe.invalid(
                f"{where}.maxUnavailable",
                fe.Raw(fe.int_or_string(rolling.get("maxUnavailable"))),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    unavailable = rolling.get("maxUnavailable")
    if isinstance(unavailable, str) and _scalar(unavailable) > 100:
        causes.append(
            fe.invalid(
                f"{where}.maxUnavailable",
                fe.Raw(fe.int_or_string(unavailable)),
                "must not be greater than 100%",
            )
        )
    return causes


def _int_or_percent(where: str, value: Any) -> list[Cause]:
    """``ValidatePositiveIntOrPercent``."""
    if isinstance(value, str):
        if fe.matches(fe.PERCENT_FMT, value):
            return []
        return [fe.invalid(where, fe.Raw(fe.int_or_string(value)), fe.PERCENT_MSG)]
    return fe.nonnegative(where, value)


def _scalar(value: Any) -> int:
    """``getIntOrPercentValue``: the number of an int or a valid percent, else 0."""
    if isinstance(value, str):
        return int(value[:-1]) if fe.matches(fe.PERCENT_FMT, value) else 0
    return value if isinstance(value, int) else 0


def replicaset(obj: Obj, spec: Obj) -> list[Cause]:
    causes = _nonnegative(spec, "replicas") + _selected("replicaset", spec)
    causes += podrules.check_template("spec.template", template_of(spec), ("Always",))
    return causes + _nonnegative(spec, "minReadySeconds")


def statefulset(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidateStatefulSetSpec``."""
    causes: list[Cause] = []
    policy = spec.get("podManagementPolicy")
    if policy not in ("OrderedReady", "Parallel"):
        causes.append(
            fe.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
        )
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") not in ("RollingUpdate", "OnDelete"):
        shown = fe.Raw(
            f"apps.StatefulSetUpdateStrategy{{Type:{fe.go_quote(str(strategy.get('type')))}, "
            "RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}"
        )
        causes.append(
            fe.invalid("spec.updateStrategy", shown, "must be 'RollingUpdate' or 'OnDelete'")
        )
    elif strategy.get("type") == "OnDelete" and strategy.get("rollingUpdate") is not None:
        causes.append(
            fe.invalid(
                "spec.updateStrategy.rollingUpdate",
                fe.Raw("&apps.RollingUpdateStatefulSetStrategy{}"),
                "only allowed for updateStrategy 'RollingUpdate'",
            )
        )
    causes += _nonnegative(spec, "replicas", "minReadySeconds")
    causes += _selected("statefulset", spec)
    return causes + _statefulset_template(template_of(spec))


def _statefulset_template(template: Obj) -> list[Cause]:
    """``ValidatePodTemplateSpecForStatefulSet``: labels and annotations only (the pod spec is
    not validated: its volume mounts may name claim templates), the restart policy Always."""
    meta = template.get("metadata") or {}
    causes = podrules.check_labels("spec.template.labels", meta.get("labels") or {})
    causes += podrules.check_annotations("spec.template.annotations", meta.get("annotations") or {})
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy != "Always":
        causes.append(fe.not_supported("spec.template.spec.restartPolicy", policy, ("Always",)))
    return causes


def job(obj: Obj, spec: Obj) -> list[Cause]:
    causes = _nonnegative(
        spec, "parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"
    )
    return causes + podrules.check_template(
        "spec.template", template_of(spec), ("OnFailure", "Never")
    )


def cronjob(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidateCronJobCreate``: name length, schedule, time zone, the job template."""
    causes: list[Cause] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > 52:
        causes.append(fe.invalid("metadata.name", name, "must be no more than 52 characters"))
    causes += _schedule(spec)
    zone = spec.get("timeZone")
    if zone is not None:
        causes += _time_zone(str(zone))
    causes += _nonnegative(
        spec, "startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"
    )
    job = (spec.get("jobTemplate") or {}).get("spec") or {}
    return causes + podrules.check_template(
        "spec.jobTemplate.spec.template", template_of(job), ("OnFailure", "Never")
    )


def _schedule(spec: Obj) -> list[Cause]:
    schedule = spec.get("schedule")
    if not schedule:
        return [fe.required("spec.schedule")]
    causes: list[Cause] = []
    try:
        parse_schedule(str(schedule))
    except CronError as exc:
        causes.append(fe.invalid("spec.schedule", schedule, str(exc)))
    if "TZ" in str(schedule):
        causes.append(
            fe.invalid(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            )
        )
    return causes


def _time_zone(zone: str) -> list[Cause]:
    """``validateTimeZone``: an IANA name ``time.LoadLocation`` knows."""
    if not zone:
        return [fe.invalid("spec.timeZone", zone, "timeZone must be nil or non-empty string")]
    if zone.lower() == "local":
        return [
            fe.invalid(
                "spec.timeZone",
                zone,
                "timeZone must be an explicit time zone as "
                "defined in https://www.iana.org/time-zones",
            )
        ]
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [fe.invalid("spec.timeZone", zone, f"unknown time zone {zone}")]
    return []


def statefulset_update(new_spec: Obj, old_spec: Obj) -> list[Cause]:
    """``ValidateStatefulSetUpdate`` of Kubernetes 1.32."""
    rest = {k: v for k, v in new_spec.items() if k not in _STS_UPDATABLE}
    before = {k: v for k, v in old_spec.items() if k not in _STS_UPDATABLE}
    if rest == before:
        return []
    listed = ", ".join(f"'{k}'" for k in _STS_UPDATABLE[:-1])
    return [
        fe.forbidden(
            "spec",
            f"updates to statefulset spec for fields other than {listed} "
            f"and '{_STS_UPDATABLE[-1]}' are forbidden",
        )
    ]
