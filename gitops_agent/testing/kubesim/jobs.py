"""Simulated controllers of Jobs and CronJobs.

A Job runs pods (``parallelism`` at a time) until ``completions`` succeed (conditions
SuccessCriteriaMet and Complete) or more than ``backoffLimit`` fail (FailureTarget and Failed,
reason BackoffLimitExceeded), honours ``activeDeadlineSeconds`` and
``ttlSecondsAfterFinished``. A CronJob creates a Job at each scheduled minute (and on
``trigger``), tracks ``active``, ``lastScheduleTime`` and ``lastSuccessfulTime`` and prunes
finished Jobs beyond its history limits. Called by ``controllers.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gitops_agent.testing.kubesim.cron import CronError, parse_schedule
from gitops_agent.testing.kubesim.ctrlbase import ControllerBase, condition, owner_reference
from gitops_agent.testing.kubesim.events import NORMAL, WARNING, Source
from gitops_agent.testing.kubesim.kinds import CRONJOBS, JOBS, PODS
from gitops_agent.testing.kubesim.objects import parse_timestamp, random_suffix, timestamp
from gitops_agent.testing.kubesim.patching import deep_copy
from gitops_agent.testing.kubesim.workloads import finished, pod_ready, terminating

Obj = dict[str, Any]


def job_finished(job: Obj) -> str:
    """``Complete``, ``Failed`` or "" for a Job still running."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return ""


CRON = Source("cronjob-controller")


class JobControllers(ControllerBase):
    """Job and CronJob reconciliation; returns the next time a Job or CronJob needs a look."""

    source = Source("job-controller")

    def job(self, job: Obj) -> float | None:
        meta, spec = job["metadata"], job.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return None
        if job_finished(job):
            return self._expire(job)
        status = deep_copy(job.get("status") or {})
        pods = self.owned(job, PODS)
        counted = [p for p in pods if not terminating(p)]  # deleted pods are not tracked
        phases = [(p.get("status") or {}).get("phase") for p in counted]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        running = [p for p in counted if not finished(p)]
        suspended = bool(spec.get("suspend"))
        outcome = None
        if suspended:
            self._delete_pods(job, running)
            running = []
        else:
            status.setdefault("startTime", self.now())
            completions = int(spec.get("completions") or 1)
            outcome = self._outcome(spec, status, succeeded, failed, completions)
            if outcome is None:
                wanted = min(int(spec.get("parallelism", 1)), completions - succeeded)
                running += [self._new_pod(job) for _ in range(wanted - len(running))]
            elif outcome[0] == "Failed":
                self._delete_pods(job, running)
                running = []
        self._suspension(job, status, suspended)
        for key, value in (("succeeded", succeeded), ("failed", failed), ("active", len(running))):
            if value:
                status[key] = value
            else:
                status.pop(key, None)
        status.update(
            ready=sum(1 for p in running if pod_ready(p)),
            terminating=sum(1 for p in pods if terminating(p)),
            uncountedTerminatedPods={},
        )
        if outcome is not None:
            self._finish(job, status, *outcome)
        self.write_status(JOBS, job, status)
        deadline = spec.get("activeDeadlineSeconds")
        if deadline and outcome is None and not suspended:
            return parse_timestamp(status["startTime"]) + float(deadline)
        return None

    def _suspension(self, job: Obj, status: Obj, suspended: bool) -> None:
        """``ensureJobConditionStatus`` of ``Suspended``: True while suspended, False once
        resumed (a resumed Job restarts its ``startTime``); events Suspended, Resumed."""
        old = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Suspended"), None
        )
        wanted = ("True", "JobSuspended", "Job suspended") if suspended else None
        if not suspended and old is not None:
            wanted = ("False", "JobResumed", "Job resumed")
        if wanted is None or (old and (old["status"], old["reason"], old["message"]) == wanted):
            return
        now = self.now()
        cond = {
            "type": "Suspended",
            "status": wanted[0],
            "lastProbeTime": now,
            "lastTransitionTime": now,
            "reason": wanted[1],
            "message": wanted[2],
        }
        others = [c for c in status.get("conditions") or [] if c.get("type") != "Suspended"]
        status["conditions"] = (
            [*others, cond]
            if old is None
            else [
                cond if c.get("type") == "Suspended" else c for c in status.get("conditions") or []
            ]
        )
        if suspended:
            self.event(JOBS, job, NORMAL, "Suspended", "Job suspended")
        else:
            status["startTime"] = now
            self.event(JOBS, job, NORMAL, "Resumed", "Job resumed")

    def _delete_pods(self, job: Obj, pods: list[Obj]) -> None:
        for pod in pods:
            self.delete(PODS, pod)
            self.event(
                JOBS, job, NORMAL, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}"
            )

    def _outcome(
        self, spec: Obj, status: Obj, succeeded: int, failed: int, completions: int
    ) -> tuple[str, str, str] | None:
        if succeeded >= completions:
            return ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")
        if failed > int(spec.get("backoffLimit", 6)):
            return ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        deadline = spec.get("activeDeadlineSeconds")
        if deadline and self.clock() - parse_timestamp(status["startTime"]) >= float(deadline):
            return ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
        return None

    def _finish(self, job: Obj, status: Obj, kind: str, reason: str, message: str) -> None:
        now, previous = self.now(), status.get("conditions")
        first = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
        added = [
            condition(first, True, reason, message, now=now, previous=previous),
            condition(kind, True, reason, message, now=now, previous=previous),
        ]
        kept = [c for c in previous or [] if c.get("type") not in (first, kind)]
        status["conditions"] = kept + added
        status.pop("active", None)
        if kind == "Complete":
            status["completionTime"] = now
            self.event(JOBS, job, NORMAL, "Completed", "Job completed")
        else:
            self.event(JOBS, job, WARNING, reason, message)
        status["ready"] = 0

    def _new_pod(self, job: Obj) -> Obj:
        template = deep_copy((job.get("spec") or {}).get("template") or {})
        meta = dict(template.get("metadata") or {})
        meta.pop("creationTimestamp", None)
        meta.update(
            generateName=f"{job['metadata']['name']}-", ownerReferences=[owner_reference(JOBS, job)]
        )
        pod = self.create(
            PODS,
            job["metadata"]["namespace"],
            {"metadata": meta, "spec": template.get("spec") or {}},
        )
        self.event(JOBS, job, NORMAL, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        return pod

    def _expire(self, job: Obj) -> float | None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        status = job.get("status") or {}
        ended = status.get("completionTime") or next(
            (
                c.get("lastTransitionTime")
                for c in status.get("conditions") or []
                if c.get("type") == "Failed"
            ),
            None,
        )
        if ttl is None or not ended:
            return None
        due = parse_timestamp(ended) + float(ttl)
        if self.clock() >= due:
            self.delete(JOBS, job)
            return None
        return due

    def cronjob(self, cron: Obj) -> float | None:
        meta, spec = cron["metadata"], cron.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return None
        try:
            schedule = parse_schedule(str(spec.get("schedule", "")))
        except CronError:
            return None
        jobs = self.owned(cron, JOBS)
        status = self._cron_status(cron, jobs)
        last = status.get("lastScheduleTime") or meta["creationTimestamp"]
        due = schedule.next_after(dt.datetime.fromtimestamp(parse_timestamp(last), dt.UTC))
        if not spec.get("suspend") and self.clock() >= due.timestamp():
            job = self.run_now(cron, due.timestamp())
            status["lastScheduleTime"] = timestamp(due.timestamp())
            status.setdefault("active", []).append(_job_ref(job))
            due = schedule.next_after(due)
        self.write_status(CRONJOBS, cron, status)
        return due.timestamp()

    def _cron_status(self, cron: Obj, jobs: list[Obj]) -> Obj:
        spec = cron.get("spec") or {}
        status: Obj = deep_copy(cron.get("status") or {})
        was_active = {r.get("uid") for r in status.get("active") or []}
        for job in jobs:
            if job_finished(job) and job["metadata"]["uid"] in was_active:
                message = (
                    f"Saw completed job: {job['metadata']['name']}, status: {job_finished(job)}"
                )
                self.event(CRONJOBS, cron, NORMAL, "SawCompletedJob", message, source=CRON)
        active = [j for j in jobs if not job_finished(j)]
        if active:
            status["active"] = [_job_ref(j) for j in active]
        else:
            status.pop("active", None)
        done = sorted(
            (j for j in jobs if job_finished(j) == "Complete"),
            key=lambda j: j["metadata"]["creationTimestamp"],
        )
        if done:
            status["lastSuccessfulTime"] = (done[-1].get("status") or {}).get(
                "completionTime", done[-1]["metadata"]["creationTimestamp"]
            )
        failed = [j for j in jobs if job_finished(j) == "Failed"]
        for kept, limit in (
            (done, spec.get("successfulJobsHistoryLimit", 3)),
            (failed, spec.get("failedJobsHistoryLimit", 1)),
        ):
            for job in kept[: max(0, len(kept) - int(limit))]:
                self.delete(JOBS, job)
                message = f"Deleted job {job['metadata']['name']}"
                self.event(CRONJOBS, cron, NORMAL, "SuccessfulDelete", message, source=CRON)
        return status

    def run_now(self, cron: Obj, when: float | None = None) -> Obj:
        """Create the CronJob's Job for the time ``when`` (now by default)."""
        moment = self.clock() if when is None else when
        template = deep_copy((cron.get("spec") or {}).get("jobTemplate") or {})
        meta = dict(template.get("metadata") or {})
        meta.pop("creationTimestamp", None)
        meta.update(
            name=f"{cron['metadata']['name']}-{int(moment // 60)}",
            ownerReferences=[owner_reference(CRONJOBS, cron)],
        )
        meta.setdefault("annotations", {})["batch.kubernetes.io/cronjob-scheduled-timestamp"] = (
            timestamp(moment)
        )
        if self.store.get(JOBS, cron["metadata"]["namespace"], meta["name"]) is not None:
            meta["name"] += f"-{random_suffix()}"
        job = self.create(
            JOBS,
            cron["metadata"]["namespace"],
            {"metadata": meta, "spec": template.get("spec") or {}},
        )
        message = f"Created job {job['metadata']['name']}"
        self.event(CRONJOBS, cron, NORMAL, "SuccessfulCreate", message, source=CRON)
        return job


def _job_ref(job: Obj) -> Obj:
    meta = job["metadata"]
    return {
        "kind": "Job",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "batch/v1",
        "resourceVersion": meta["resourceVersion"],
    }
