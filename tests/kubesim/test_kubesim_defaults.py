"""The defaults and canonical forms a real API server adds, checked on objects read back.

Each expectation below is what Kubernetes 1.32 writes (pkg/apis/{apps,core,batch}/v1
defaults, the registries' PrepareForCreate, and resource.Quantity canonicalization).
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client
from kubesim_manifests import deployment, job

DEPLOYMENT_SPEC_DEFAULTS = {
    "replicas": 1,
    "revisionHistoryLimit": 10,
    "progressDeadlineSeconds": 600,
    "strategy": {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    },
}
POD_SPEC_DEFAULTS = {
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "securityContext": {},
    "schedulerName": "default-scheduler",
}
CONTAINER_DEFAULTS = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "imagePullPolicy": "IfNotPresent",
}
JOB_SPEC_DEFAULTS = {
    "backoffLimit": 6,
    "completions": 1,
    "parallelism": 1,
    "completionMode": "NonIndexed",
    "suspend": False,
    "podReplacementPolicy": "TerminatingOrFailed",
}


def _read(api: client.ApiClient, path: str) -> dict[str, Any]:
    """The object exactly as the server wrote it (not through the typed models)."""
    data: dict[str, Any] = json.loads(api.call_api("GET", api.configuration.host + path).read())
    return data


def test_deployment_defaults(apps: client.AppsV1Api, api_client: client.ApiClient) -> None:
    body = deployment("d", command=["serve"])
    del body["spec"]["replicas"]
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["ports"] = [{"containerPort": 8080}]
    container["resources"] = {
        "requests": {"cpu": "0.5", "memory": "1024Mi"},
        "limits": {"cpu": "1000m", "memory": "1.5Gi"},
    }
    container["readinessProbe"] = {"httpGet": {"port": 8080}}
    apps.create_namespaced_deployment("public", body)
    read = _read(api_client, "/apis/apps/v1/namespaces/public/deployments/d")
    spec = read["spec"]
    for key, value in DEPLOYMENT_SPEC_DEFAULTS.items():
        assert spec[key] == value, key
    assert spec["template"]["metadata"]["creationTimestamp"] is None
    pod = spec["template"]["spec"]
    for key, value in POD_SPEC_DEFAULTS.items():
        assert pod[key] == value, key
    got = pod["containers"][0]
    for key, value in CONTAINER_DEFAULTS.items():
        assert got[key] == value, key
    assert got["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert got["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "1536Mi"},
    }
    assert got["readinessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert "enableServiceLinks" not in pod  # pods only, not templates


def test_latest_tag_pulls_always_and_empty_resources_are_kept(
    apps: client.AppsV1Api, api_client: client.ApiClient
) -> None:
    apps.create_namespaced_deployment("public", deployment("latest", image="nginx"))
    read = _read(api_client, "/apis/apps/v1/namespaces/public/deployments/latest")
    container = read["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == {}


def test_job_defaults_selector_and_labels(
    batch: client.BatchV1Api, api_client: client.ApiClient
) -> None:
    body = job("j", command=["true"])
    del body["spec"]["backoffLimit"]
    batch.create_namespaced_job("public", body)
    read = _read(api_client, "/apis/batch/v1/namespaces/public/jobs/j")
    for key, value in JOB_SPEC_DEFAULTS.items():
        assert read["spec"][key] == value, key
    uid = read["metadata"]["uid"]
    assert read["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = read["spec"]["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"] == "j" and labels["controller-uid"] == uid


def test_statefulset_cronjob_service_pvc_secret_defaults(
    api_client: client.ApiClient, core: client.CoreV1Api
) -> None:
    apps = client.AppsV1Api(api_client)
    sts = deployment("s")
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "s"
    sts["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1024Mi"}},
            },
        }
    ]
    apps.create_namespaced_stateful_set("public", sts)
    spec = _read(api_client, "/apis/apps/v1/namespaces/public/statefulsets/s")["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    claim = spec["volumeClaimTemplates"][0]
    assert claim["apiVersion"] == "v1" and claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["status"] == {"phase": "Pending"}
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "m", "image": "x:1"}],
                        }
                    }
                }
            },
        },
    }
    client.BatchV1Api(api_client).create_namespaced_cron_job("public", cron)
    cspec = _read(api_client, "/apis/batch/v1/namespaces/public/cronjobs/c")["spec"]
    assert (
        cspec["concurrencyPolicy"],
        cspec["suspend"],
        cspec["successfulJobsHistoryLimit"],
        cspec["failedJobsHistoryLimit"],
    ) == ("Allow", False, 3, 1)
    svc = {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}
    created = core.create_namespaced_service("public", svc).spec
    assert (
        created.type,
        created.session_affinity,
        created.ports[0].protocol,
        created.ports[0].target_port,
        created.internal_traffic_policy,
    ) == ("ClusterIP", "None", "TCP", 80, "Cluster")
    secret = core.create_namespaced_secret(
        "public", {"metadata": {"name": "sec"}, "stringData": {"k": "v"}}
    )
    assert secret.type == "Opaque" and secret.data == {"k": "dg=="}
    pvc = core.create_namespaced_persistent_volume_claim(
        "public",
        {
            "metadata": {"name": "p"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "0.5Gi"}},
            },
        },
    )
    assert pvc.spec.volume_mode == "Filesystem" and pvc.status.phase == "Pending"
    assert pvc.spec.resources.requests == {"storage": "512Mi"}
    assert pvc.spec.storage_class_name == "standard"
    assert pvc.metadata.finalizers == ["kubernetes.io/pvc-protection"]
