"""kubesim's authentication and RBAC against kube-apiserver's own behaviour (the README's
conformance rows): 401 and 403 Status bodies byte for byte, binding resolution, name-limited
rules and field selectors, the create check of an apply, anonymous discovery, impersonation,
SelfSubjectAccessReview with ``kubectl auth can-i``, TokenRequest with ``kubectl create
token``, and everything over HTTPS with the generated CA."""

from __future__ import annotations

import dataclasses
import json
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_agent.testing.kubesim.pytest_plugin import FAST
from gitops_agent.testing.kubesim.simulator import KubeSim, SimConfig

SA = "system:serviceaccount:public:agent"
RBAC = """\
apiVersion: v1
kind: Namespace
metadata: {name: public}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: agent, namespace: public}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: public}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [get, list]}
- {apiGroups: [""], resources: [configmaps], verbs: [patch]}
- {apiGroups: [""], resources: [configmaps], verbs: [get, watch, list], resourceNames: [one]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: public}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: ServiceAccount, name: agent, namespace: public}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: missing}
subjects: [{kind: ServiceAccount, name: agent, namespace: public}]
"""


@pytest.fixture
def kubesim_config() -> SimConfig:
    return dataclasses.replace(FAST, auth=True, tls=True)


@pytest.fixture
def sim(kubesim: KubeSim, tmp_path: Path) -> KubeSim:
    done = kubectl(kubesim, "apply", "--server-side", "-f", "-", stdin=RBAC)
    assert done.returncode == 0, done.stderr
    return kubesim


def kubectl(sim: KubeSim, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", sim.kubeconfig, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def call(
    sim: KubeSim,
    method: str,
    path: str,
    *,
    token: str | None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    context = ssl.create_default_context(cafile=sim.ca_file)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent["Content-Type"] = content_type
    request = urllib.request.Request(sim.url + path, data=data, headers=sent, method=method)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def forbidden(message: str, details: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def test_401_for_tokens_that_do_not_verify(sim: KubeSim) -> None:
    good = sim.issue_token("public", "agent")
    for bad in ("nonsense", good[:-3] + "AAA", "a.b.c", good + " extra"):
        assert call(sim, "GET", "/api/v1/namespaces/public/configmaps", token=bad) == (
            401,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "Unauthorized",
                "reason": "Unauthorized",
                "code": 401,
            },
        )


def test_403_messages_namespaced_cluster_named_and_subresource(sim: KubeSim) -> None:
    token = sim.issue_token("public", "agent")
    assert call(sim, "GET", "/apis/apps/v1/namespaces/public/deployments", token=token)[0] == 200
    assert call(sim, "GET", "/apis/apps/v1/namespaces/sales/deployments", token=token) == (
        403,
        forbidden(
            f'deployments.apps is forbidden: User "{SA}" cannot list resource "deployments" in '
            'API group "apps" in the namespace "sales"',
            {"group": "apps", "kind": "deployments"},
        ),
    )
    assert call(sim, "GET", "/api/v1/pods", token=token) == (
        403,
        forbidden(
            f'pods is forbidden: User "{SA}" cannot list resource "pods" in API group "" at the '
            "cluster scope",
            {"kind": "pods"},
        ),
    )
    assert call(sim, "GET", "/api/v1/namespaces/public/pods/x/log", token=token) == (
        403,
        forbidden(
            f'pods "x" is forbidden: User "{SA}" cannot get resource "pods/log" in API group "" '
            'in the namespace "public"',
            {"name": "x", "kind": "pods"},
        ),
    )


def test_a_binding_to_a_missing_role_adds_the_resolution_error(sim: KubeSim) -> None:
    token = sim.issue_token("public", "agent")
    code, body = call(sim, "GET", "/api/v1/namespaces/default/secrets", token=token)
    assert code == 403
    assert body["message"] == (
        f'secrets is forbidden: User "{SA}" cannot list resource "secrets" in API group "" in '
        'the namespace "default": RBAC: role.rbac.authorization.k8s.io "missing" not found'
    )


def test_names_limit_get_and_a_list_or_watch_that_selects_that_name(sim: KubeSim) -> None:
    token = sim.issue_token("public", "agent")
    base = "/api/v1/namespaces/public/configmaps"
    assert call(sim, "GET", f"{base}/one", token=token)[0] == 404  # allowed, missing
    assert call(sim, "GET", f"{base}/two", token=token)[0] == 403
    assert call(sim, "GET", f"{base}?fieldSelector=metadata.name%3Done", token=token)[0] == 200
    assert call(sim, "GET", base, token=token)[0] == 403


def test_an_apply_that_creates_needs_create_too(sim: KubeSim) -> None:
    token = sim.issue_token("public", "agent")
    path = "/api/v1/namespaces/public/configmaps/made?fieldManager=t"
    body = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made"}})
    code, answer = call(
        sim,
        "PATCH",
        path,
        token=token,
        body=body.encode(),
        content_type="application/apply-patch+yaml",
    )
    assert (code, answer["message"]) == (403, 'configmaps "made" is forbidden: ')
    made = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made, namespace: public}\n"
    assert kubectl(sim, "apply", "--server-side", "-f", "-", stdin=made).returncode == 0
    code, _ = call(
        sim,
        "PATCH",
        path,
        token=token,
        body=body.encode(),
        content_type="application/apply-patch+yaml",
    )
    assert code == 200  # patch alone updates what exists


def test_anonymous_requests_see_public_info_only(sim: KubeSim) -> None:
    assert call(sim, "GET", "/version", token=None)[0] == 200
    assert call(sim, "GET", "/api", token=None) == (
        403,
        forbidden('forbidden: User "system:anonymous" cannot get path "/api"', {})
        | {"details": {}},
    )


def test_impersonation_needs_the_impersonate_verb(sim: KubeSim) -> None:
    token = sim.issue_token("public", "agent")
    code, body = call(
        sim,
        "GET",
        "/api/v1/namespaces/public/configmaps",
        token=token,
        headers={"Impersonate-User": "jane"},
    )
    assert (code, body["message"]) == (
        403,
        f'users "jane" is forbidden: User "{SA}" cannot impersonate resource "users" in API '
        'group "" at the cluster scope',
    )
    code, body = call(
        sim,
        "GET",
        "/apis/apps/v1/namespaces/public/deployments",
        token=sim.admin_token,
        headers={"Impersonate-User": SA},
    )
    assert code == 200  # the admin may, and acts as the ServiceAccount


def test_kubectl_auth_can_i_and_create_token(sim: KubeSim) -> None:
    def can_i(*args: str) -> tuple[int, str]:
        done = kubectl(sim, "auth", "can-i", *args, "--as", SA)
        return done.returncode, done.stdout.strip()

    assert can_i("list", "deployments", "-n", "public") == (0, "yes")
    assert can_i("create", "deployments", "-n", "public") == (1, "no")
    assert can_i("get", "configmaps/one", "-n", "public") == (0, "yes")
    assert can_i("get", "configmaps/two", "-n", "public") == (1, "no")
    code, body = call(
        sim,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        token=sim.issue_token("public", "agent"),
        body={
            "spec": {
                "resourceAttributes": {
                    "namespace": "public",
                    "verb": "list",
                    "group": "apps",
                    "resource": "deployments",
                }
            }
        },
    )
    assert code == 201
    assert body["status"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "rb/public" of Role "r" to ServiceAccount '
        '"agent/public"',
    }
    created = kubectl(sim, "create", "token", "agent", "-n", "public")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert call(sim, "GET", "/apis/apps/v1/namespaces/public/deployments", token=token)[0] == 200
    kubectl(sim, "delete", "serviceaccount", "agent", "-n", "public")
    assert call(sim, "GET", "/apis/apps/v1/namespaces/public/deployments", token=token)[0] == 401


def test_token_requests_are_validated(sim: KubeSim) -> None:
    path = "/api/v1/namespaces/public/serviceaccounts/{}/token"
    admin = sim.admin_token
    code, body = call(
        sim, "POST", path.format("agent"), token=admin, body={"spec": {"expirationSeconds": 60}}
    )
    assert (code, body["message"]) == (
        422,
        'TokenRequest.authentication.k8s.io "agent" is invalid: spec.expirationSeconds: '
        "Invalid value: 60: may not specify a duration less than 10 minutes",
    )
    code, body = call(sim, "POST", path.format("nobody"), token=admin, body={})
    assert (code, body["message"]) == (404, 'serviceaccounts "nobody" not found')
    code, body = call(sim, "POST", path.format("agent"), token=admin, body={})
    assert code == 201 and body["spec"]["expirationSeconds"] == 3600
    assert body["status"]["token"].count(".") == 2
