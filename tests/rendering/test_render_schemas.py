"""Every rendered object is one the Kubernetes API server accepts.

Checked against kubernetes-validate's strict schemas (unknown fields are errors) for
Kubernetes 1.32 and for the newest version the installed package ships, plus the rules the
schemas cannot express: name formats and lengths, label values, selectors that match their
pod templates, and a content hash that matches the object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import kubernetes_validate
import pytest

from gitops_agent.core import labels
from gitops_agent.core.rendering import metadata
from gitops_agent.core.rendering.objects import KubeObject
from tests.rendering.helpers import CASES, render_case, render_sample

VERSIONS = sorted({"1.32", ".".join(kubernetes_validate.latest_version().split(".")[:2])})
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
#: Kinds whose names end up in a label value (``job-name``, ``statefulset...pod-name``)
#: or must be DNS labels.
LABEL_NAMED = {"Job": 63, "CronJob": 52, "StatefulSet": 52, "Service": 63, "Deployment": 63}


def every_object() -> Iterator[tuple[str, KubeObject]]:
    for case in CASES:
        for obj in render_case(case).objects():
            yield case, obj
    for obj in render_sample().objects():
        yield "sample-repo", obj


OBJECTS = list(every_object())
IDS = [f"{case}:{obj.key}" for case, obj in OBJECTS]


def test_every_feature_renders_objects() -> None:
    kinds = {obj.key.kind for _, obj in OBJECTS}
    assert kinds == {
        "ConfigMap",
        "PersistentVolumeClaim",
        "Service",
        "StatefulSet",
        "Deployment",
        "Job",
        "CronJob",
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("case", "obj"), OBJECTS, ids=IDS)
def test_object_passes_strict_schema(case: str, obj: KubeObject, version: str) -> None:
    try:
        kubernetes_validate.validate(dict(obj.body), version, strict=True)
    except kubernetes_validate.ValidationError as err:
        pytest.fail(f"{case}: {obj.key} invalid for Kubernetes {version}: {err.message}")


def test_the_schema_check_rejects_an_unknown_field() -> None:
    body: dict[str, Any] = dict(OBJECTS[0][1].body)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**body, "surprise": 1}, "1.32", strict=True)


def _labels_of(body: Mapping[str, Any]) -> Iterator[Mapping[str, str]]:
    yield body["metadata"]["labels"]
    spec = body.get("spec", {})
    if "jobTemplate" in spec:
        yield spec["jobTemplate"]["metadata"]["labels"]
        spec = spec["jobTemplate"]["spec"]
    if "template" in spec:
        yield spec["template"]["metadata"]["labels"]


@pytest.mark.parametrize(("case", "obj"), OBJECTS, ids=IDS)
def test_names_and_labels_are_valid(case: str, obj: KubeObject) -> None:
    name = obj.key.name
    assert SUBDOMAIN.match(name) and len(name) <= 253, name
    limit = LABEL_NAMED.get(obj.key.kind)
    if limit is not None:
        assert len(name) <= limit and DNS_LABEL.match(name), f"{obj.key} name too long or invalid"
    if obj.key.kind == "Service":
        assert DNS_1035.match(name)
    assert DNS_LABEL.match(obj.key.namespace)
    for found in _labels_of(obj.body):
        assert found[labels.MANAGED_BY] == labels.MANAGER
        for key, value in found.items():
            assert key.startswith(labels.PREFIX)
            assert len(value) <= 63 and LABEL_VALUE.match(value), (key, value)


@pytest.mark.parametrize(("case", "obj"), OBJECTS, ids=IDS)
def test_selectors_match_their_pod_templates(case: str, obj: KubeObject) -> None:
    spec = obj.body.get("spec", {})
    if "selector" not in spec or obj.key.kind == "Service":
        return
    template_labels = spec["template"]["metadata"]["labels"]
    for key, value in spec["selector"]["matchLabels"].items():
        assert template_labels[key] == value


@pytest.mark.parametrize(("case", "obj"), OBJECTS, ids=IDS)
def test_content_hash_annotation_covers_the_object(case: str, obj: KubeObject) -> None:
    annotations = obj.body["metadata"]["annotations"]
    assert annotations[labels.CONTENT_HASH] == obj.content_hash
    assert metadata.content_hash_of(obj.body) == obj.content_hash
