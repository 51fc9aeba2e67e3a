"""deploy/ checked without a cluster: each overlay renders with the real ``kubectl
kustomize``, every rendered object passes kubernetes-validate's strict schemas, the pod meets
the restricted Pod Security Standard with a read-only root, the RBAC grants exactly what
``core.permissions`` derives from the table of kinds, the shipped configuration parses, and
the Dockerfile (which cannot be built here: no container engine) is checked statically.
"""

from __future__ import annotations

import re

import kubernetes_validate
import pytest

from gitops_agent.core import permissions
from gitops_agent.core.config import parse_config
from tests.conftest import PROJECT
from tests.deploy.support import DEPLOY, OVERLAYS, agent_config_text, of_kind, rendered

RENDERINGS = (*(f"overlays/{o}" for o in OVERLAYS), "examples/two-agents")


@pytest.mark.parametrize("path", RENDERINGS)
def test_every_rendered_object_passes_strict_validation(path: str) -> None:
    objects = rendered(path)
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ServiceAccount", "Deployment", "Service", "ConfigMap"} <= kinds
    assert "PodDisruptionBudget" in kinds
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32", strict=True)


@pytest.mark.parametrize("path", RENDERINGS)
def test_the_pod_is_restricted_with_a_read_only_root(path: str) -> None:
    for deployment in of_kind(rendered(path), "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        assert deployment["spec"]["replicas"] == 2
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 65532
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = spec["containers"]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        for mount in container["volumeMounts"]:
            source = volumes[mount["name"]]
            assert "emptyDir" in source or mount.get("readOnly") is True
        allowed = {"configMap", "emptyDir", "secret", "projected", "downwardAPI", "name"}
        assert all(set(v) <= allowed for v in spec["volumes"])
        env = {e["name"]: e for e in container["env"]}
        for name in ("GIT_TOKEN", "WEBHOOK_SECRET"):
            assert "secretKeyRef" in env[name]["valueFrom"] and "value" not in env[name]


@pytest.mark.parametrize("path", RENDERINGS)
def test_the_shipped_configuration_parses_and_elects_a_leader(path: str) -> None:
    objects = rendered(path)
    config = parse_config(
        agent_config_text(objects)
        if path.startswith("overlays")
        else (
            agent_config_text(
                [o for o in objects if o["metadata"].get("namespace", "").endswith("-a")]
            )
        ),
        "gitops-agent.yaml",
    )
    assert config.leader_election.enabled and config.target.in_cluster
    assert config.server.listen.endswith(":8080")
    (role,) = [
        o
        for o in of_kind(objects, "Role")
        if o["metadata"]["name"].startswith("gitops-agent-leader-election")
        and o["metadata"]["namespace"] == config.target.inventory_namespace
    ]
    assert permissions.normalized(role["rules"]) == permissions.normalized(
        permissions.election_rules(config)
    )


def test_the_cluster_role_grants_exactly_what_the_kinds_table_needs() -> None:
    objects = rendered("overlays/cluster")
    (role,) = of_kind(objects, "ClusterRole")
    assert permissions.normalized(role["rules"]) == permissions.normalized(
        permissions.cluster_rules()
    )
    text = str(role["rules"])
    for forbidden in ("'*'", "secrets", "escalate", "bind", "impersonate"):
        assert forbidden not in text


def test_the_namespaced_overlay_has_no_cluster_role_and_a_role_per_namespace() -> None:
    objects = rendered("overlays/namespaced")
    assert not of_kind(objects, "ClusterRole") and not of_kind(objects, "ClusterRoleBinding")
    config = parse_config(agent_config_text(objects), "gitops-agent.yaml")
    assert config.target.scope == "namespaced"
    roles = {
        o["metadata"]["namespace"]: o
        for o in of_kind(objects, "Role")
        if o["metadata"]["name"] == "gitops-agent"
    }
    assert set(roles) == set(config.target.namespaces() or ()) - {"gitops-agent"}
    for role in roles.values():
        assert permissions.normalized(role["rules"]) == permissions.normalized(
            permissions.namespace_rules()
        )
    (inventory,) = [
        o for o in of_kind(objects, "Role") if o["metadata"]["name"] == "gitops-agent-inventory"
    ]
    assert permissions.normalized(inventory["rules"]) == permissions.normalized(
        permissions.inventory_rules(config)
    )


DOCKERFILE = DEPLOY / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_is_multi_stage_on_a_pinned_slim_python() -> None:
    bases = [arg.split()[0] for op, arg in _instructions() if op == "FROM"]
    assert len(bases) == 2
    for base in bases:
        name, _, tag = base.partition(":")
        assert name == "python" and re.fullmatch(r"3\.(1[1-9])-slim-\w+", tag), base


def test_the_dockerfile_runs_as_a_numeric_non_root_user_without_secrets() -> None:
    instructions = _instructions()
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1])
    assert users[-1].split(":")[0] == "65532"
    text = DOCKERFILE.read_text().lower()
    for word in ("password", "token=", "secret=", "api_key", "--build-arg"):
        assert word not in text
    assert all(op != "ARG" for op, _ in instructions)
    installs = " ".join(arg for op, arg in instructions if op == "RUN")
    for package in ("git", "openssh-client", "tini"):
        assert f" {package} " in installs
    env = " ".join(arg for op, arg in instructions if op == "ENV")
    assert "HOME=/home/gitops-agent" in env and "XDG_CACHE_HOME=/var/cache/gitops-agent" in env


def test_what_the_dockerfile_copies_exists_and_what_it_runs_is_a_command() -> None:
    for op, arg in _instructions():
        if op == "COPY" and not arg.startswith("--from"):
            *sources, _ = arg.split()
            for source in sources:
                assert (PROJECT / source).exists(), source
    entry = [arg for op, arg in _instructions() if op == "ENTRYPOINT"]
    command = [arg for op, arg in _instructions() if op == "CMD"]
    assert entry == ['["/usr/bin/tini", "--", "gitops-agent"]'] and command == ['["run"]']
    # the program the image runs is this package's console script, and `run` is its command
    pyproject = (PROJECT / "pyproject.toml").read_text()
    assert 'gitops-agent = "gitops_agent.cli:main"' in pyproject
    from gitops_agent.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["run", "--help"])
    assert exited.value.code == 0


def test_make_image_builds_with_the_dockerfile() -> None:
    makefile = (PROJECT / "Makefile").read_text()
    assert re.search(r"^image:\n\t\$\(CONTAINER\) build -f deploy/Dockerfile ", makefile, re.M)
