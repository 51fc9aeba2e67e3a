"""Preview environments end to end (issue 15, acceptance 6): a real agent process deploys a
same-repository pull request's head under its own owner into ``public-pr-<N>``; a second pull
request waits while ``maxEnvironments`` are taken; closing the first leaves none of its
objects and no namespace, gives its comment a final line, and lets the second deploy;
production's objects are never written; a fork's pull request is never deployed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from gitops_agent.core import labels
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.previews.support import REPO, Running, add_writer, edit, final_preview, running_agent

ENV_CONTEXT = "gitops-agent/e2e/preview-env"


@pytest.fixture
def agent(tmp_path: Path, kubesim: KubeSim) -> Iterator[Running]:
    previews = {"enabled": True, "environments": True, "maxEnvironments": 1, "forks": "plan"}
    with running_agent("github", tmp_path, kubesim, previews) as running:
        yield running


@pytest.fixture
def api(kubesim: KubeSim) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kubesim.kubeconfig))
    yield api_client
    api_client.close()


def env_states(run: Running, sha: str) -> list[tuple[str, str]]:
    posted = run.emulator.statuses(REPO, sha)
    return [(s.state, s.description) for s in posted if s.context == ENV_CONTEXT]


def final_env(run: Running, sha: str) -> tuple[str, str]:
    found = wait_for(
        lambda: [s for s in env_states(run, sha) if s[0] != "pending"],
        timeout=60,
        message=f"a final preview-env status on {sha[:7]}",
    )
    return found[-1]


def owned_by(api: client.ApiClient, owner: str) -> list[str]:
    """Every Deployment, ConfigMap, Secret and Namespace carrying ``owner``'s label."""
    selector = f"{labels.OWNER}={owner}"
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    found: list[Any] = [
        *apps.list_deployment_for_all_namespaces(label_selector=selector).items,
        *core.list_config_map_for_all_namespaces(label_selector=selector).items,
        *core.list_secret_for_all_namespaces(label_selector=selector).items,
        *core.list_namespace(label_selector=selector).items,
    ]
    return sorted(f"{type(o).__name__.removeprefix('V1')}/{o.metadata.name}" for o in found)


def namespaces(api: client.ApiClient) -> set[str]:
    return {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}


def production(api: client.ApiClient) -> dict[str, str]:
    """Production's Deployments and their resourceVersions (a write changes them)."""
    found = client.AppsV1Api(api).list_namespaced_deployment(
        "public", label_selector=f"{labels.OWNER}=e2e"
    )
    return {d.metadata.name: d.metadata.resource_version for d in found.items}


def test_a_pull_request_gets_its_own_environment_gone_when_closed(
    agent: Running, api: client.ApiClient
) -> None:
    pulls = agent.pulls
    before = production(api)
    assert before, "production is applied first"

    def scale_and_add(work: Path) -> None:
        edit("tests/worker/sleep-worker/worker.yaml", "replicas: 1", "replicas: 2")(work)
        add_writer("second-writer")(work)

    seven = pulls.push(7, scale_and_add)
    state, description = final_env(agent, seven)
    assert state == "success" and description.startswith("public-pr-7: "), description
    deployments = client.AppsV1Api(api).list_namespaced_deployment("public-pr-7").items
    names = {d.metadata.name for d in deployments}
    assert {"sleep-worker", "second-writer"} <= names, names
    assert all(d.metadata.labels[labels.OWNER] == "e2e-pr-7" for d in deployments)
    sleep = next(d for d in deployments if d.metadata.name == "sleep-worker")
    assert sleep.spec.replicas == 2
    assert "Namespace/public-pr-7" in owned_by(api, "e2e-pr-7")

    eight = pulls.push(8, add_writer("eighth-writer"))
    assert final_preview(agent, eight)[0] == "success"
    wait_for(
        lambda: (
            ("pending", "waiting for a preview environment (1 of 1 in use)")
            in env_states(agent, eight)
        ),
        timeout=30,
        message="the second pull request waits for the one environment",
    )
    assert "public-pr-8" not in namespaces(api)

    agent.emulator.close_pull(REPO, 7)
    wait_for(
        lambda: not owned_by(api, "e2e-pr-7") and "public-pr-7" not in namespaces(api),
        timeout=60,
        message="pull request 7's environment gone: objects, inventory, namespace",
    )
    assert client.AppsV1Api(api).list_namespaced_deployment("public-pr-7").items == []
    assert len(agent.emulator.comments(REPO, 7)) == 1
    wait_for(
        lambda: "was closed at" in agent.emulator.comments(REPO, 7)[0].body,
        timeout=30,
        message="the comment's final line",
    )
    assert "the preview above is final" in agent.emulator.comments(REPO, 7)[0].body
    assert (
        "success",
        "environment removed: the pull request was closed",
    ) in env_states(agent, seven)

    state, description = final_env(agent, eight)
    assert state == "success" and description.startswith("public-pr-8: "), description
    assert production(api) == before, "production's objects were never written"

    fork = pulls.push(9, add_writer("forked-writer"), fork=True)
    assert final_preview(agent, fork)[0] == "success", "forks: plan previews it"
    assert env_states(agent, fork) == [], "a fork's pull request is never deployed"
    assert "public-pr-9" not in namespaces(api)
