"""The values the Kubernetes API server defaults on the kinds the agent writes (v1.32,
``pkg/apis/{core,apps,batch}/v1/defaults.go``).

Pure; called by ``core.fielddrift``. A field that another manager set to the value the server
would default it to is not drift: applying git leaves the same value live, and removing the
field only has it defaulted again. That is what an exported object carries (``kubectl get -o
yaml``, edited, then applied server-side by someone else), field by field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitops_agent.core import kinds

#: A field pattern: map keys, ``*`` for any list index or key.
Pattern = tuple[str, ...]
#: A default: the value itself, or a function of the object holding the field.
Default = Any | Callable[[Mapping[str, Any]], Any]

_POD: tuple[tuple[Pattern, Default], ...] = (
    (("metadata", "creationTimestamp"), None),
    (("spec", "restartPolicy"), "Always"),
    (("spec", "terminationGracePeriodSeconds"), 30),
    (("spec", "dnsPolicy"), "ClusterFirst"),
    (("spec", "securityContext"), {}),
    (("spec", "schedulerName"), "default-scheduler"),
    (("spec", "enableServiceLinks"), True),
    *(
        (("spec", containers, "*", *rest), value)
        for containers in ("containers", "initContainers")
        for rest, value in (
            (("imagePullPolicy",), lambda c: _pull_policy(str(c.get("image", "")))),
            (("terminationMessagePath",), "/dev/termination-log"),
            (("terminationMessagePolicy",), "File"),
            (("resources",), {}),
            (("ports", "*", "protocol"), "TCP"),
            (("env", "*", "valueFrom", "fieldRef", "apiVersion"), "v1"),
            *(
                ((probe, name), value)
                for probe in ("livenessProbe", "readinessProbe", "startupProbe")
                for name, value in (
                    ("timeoutSeconds", 1),
                    ("periodSeconds", 10),
                    ("successThreshold", 1),
                    ("failureThreshold", 3),
                )
            ),
        )
    ),
    *(
        (("spec", "volumes", "*", source, "defaultMode"), 420)
        for source in ("configMap", "secret", "projected", "downwardAPI")
    ),
)


def _pull_policy(image: str) -> str:
    """``Always`` for an image without a tag or with ``:latest``, else ``IfNotPresent``."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    return "Always" if ":" not in last or last.endswith(":latest") else "IfNotPresent"


def _under(
    prefix: Pattern, items: Sequence[tuple[Pattern, Default]]
) -> list[tuple[Pattern, Default]]:
    return [((*prefix, *pattern), value) for pattern, value in items]


DEFAULTS: Mapping[str, tuple[tuple[Pattern, Default], ...]] = {
    kinds.DEPLOYMENT.name: (
        (("spec", "replicas"), 1),
        (("spec", "progressDeadlineSeconds"), 600),
        (("spec", "revisionHistoryLimit"), 10),
        (("spec", "strategy", "type"), "RollingUpdate"),
        (("spec", "strategy", "rollingUpdate", "maxSurge"), "25%"),
        (("spec", "strategy", "rollingUpdate", "maxUnavailable"), "25%"),
        *_under(("spec", "template"), _POD),
    ),
    kinds.STATEFUL_SET.name: (
        (("spec", "replicas"), 1),
        (("spec", "podManagementPolicy"), "OrderedReady"),
        (("spec", "revisionHistoryLimit"), 10),
        (("spec", "updateStrategy", "type"), "RollingUpdate"),
        (("spec", "updateStrategy", "rollingUpdate", "partition"), 0),
        (("spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"), "Retain"),
        (("spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"), "Retain"),
        (("spec", "volumeClaimTemplates", "*", "apiVersion"), "v1"),
        (("spec", "volumeClaimTemplates", "*", "kind"), kinds.PERSISTENT_VOLUME_CLAIM.name),
        (("spec", "volumeClaimTemplates", "*", "spec", "volumeMode"), "Filesystem"),
        (("spec", "volumeClaimTemplates", "*", "status", "phase"), "Pending"),
        *_under(("spec", "template"), _POD),
    ),
    kinds.JOB.name: (
        (("spec", "backoffLimit"), 6),
        (("spec", "completions"), 1),
        (("spec", "parallelism"), 1),
        (("spec", "completionMode"), "NonIndexed"),
        (("spec", "suspend"), False),
        (("spec", "podReplacementPolicy"), "TerminatingOrFailed"),
        *_under(("spec", "template"), _POD),
    ),
    kinds.CRON_JOB.name: (
        (("spec", "concurrencyPolicy"), "Allow"),
        (("spec", "suspend"), False),
        (("spec", "successfulJobsHistoryLimit"), 3),
        (("spec", "failedJobsHistoryLimit"), 1),
        *_under(("spec", "jobTemplate", "spec", "template"), _POD),
    ),
    kinds.PERSISTENT_VOLUME_CLAIM.name: ((("spec", "volumeMode"), "Filesystem"),),
    kinds.SERVICE.name: (
        (("spec", "type"), "ClusterIP"),
        (("spec", "sessionAffinity"), "None"),
        (("spec", "internalTrafficPolicy"), "Cluster"),
        (("spec", "ports", "*", "protocol"), "TCP"),
    ),
}


def is_default(obj: Mapping[str, Any], path: Sequence[str | int], value: Any) -> bool:
    """True when ``value`` at ``path`` of ``obj`` is what the server defaults there; a map
    is when each of its fields is."""
    if isinstance(value, Mapping) and value:
        return all(is_default(obj, (*path, key), item) for key, item in value.items())
    for pattern, default in DEFAULTS.get(str(obj.get("kind", "")), ()):
        if _matches(pattern, path):
            wanted = default(_parent(obj, path)) if callable(default) else default
            return bool(wanted == value)
    return False


def _matches(pattern: Pattern, path: Sequence[str | int]) -> bool:
    return len(pattern) == len(path) and all(
        p == "*" or p == str(part) for p, part in zip(pattern, path, strict=True)
    )


def _parent(obj: Mapping[str, Any], path: Sequence[str | int]) -> Mapping[str, Any]:
    value: Any = obj
    for part in path[:-1]:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(value, Mapping):
            value = value.get(part, {})
        else:
            return {}
    return value if isinstance(value, Mapping) else {}
