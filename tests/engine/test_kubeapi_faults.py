"""The Kubernetes API layer under faults, over real HTTP to kubesim with the real client.

Unavailable answers (429, 500, 502, 503, 504, dropped connections) are retried within the
call's budget, ``Retry-After`` honoured; invalid ones (400, 422, and the 500 ``failed to
create typed patch object``) fail on the first try; every message names the verb, the
object, the HTTP status and the server's URL. A manual clock keeps the budget test instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_agent.core.kinds import DEPLOYMENT, ObjectKey
from gitops_agent.errors import InvalidError, UnavailableError
from gitops_agent.targets.kubeapi import KubeApi, RetryPolicy, connect
from gitops_agent.testing.fake import ManualClock
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.conftest import unreachable_kubeconfig

KEY = ObjectKey("apps/v1", "Deployment", "default", "web")
DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "alpine:3.20"}]},
        },
    },
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def api(kubesim: KubeSim, clock: ManualClock) -> Iterator[KubeApi]:
    client = connect(kubeconfig=str(kubesim.kubeconfig), context=None, in_cluster=False)
    policy = RetryPolicy(budget=30.0, sleep=clock.sleep, clock=clock)
    api = KubeApi(client, retry=policy)
    yield api
    api.close()


def calls(kubesim: KubeSim, verb: str) -> int:
    return sum(1 for r in kubesim.requests() if r.verb == verb and r.resource == "deployments")


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_unavailable_answers_are_retried_until_they_succeed(
    api: KubeApi, kubesim: KubeSim, clock: ManualClock, code: int
) -> None:
    kubesim.add_fault(verb="patch", resource="deployments", code=code, times=2)
    applied = api.apply(DEPLOY)
    assert applied["metadata"]["uid"]
    assert calls(kubesim, "patch") == 3
    assert len(clock.slept) == 2
    if code == 429:
        assert all(wait >= 1.0 for wait in clock.slept), "Retry-After: 1 is honoured"


def test_a_dropped_connection_is_retried(api: KubeApi, kubesim: KubeSim) -> None:
    kubesim.add_fault(verb="list", resource="deployments", reset=True, times=2)
    assert api.list(DEPLOYMENT) == []
    assert calls(kubesim, "list") >= 1


def test_the_budget_bounds_the_retries_and_the_message_says_so(
    api: KubeApi, kubesim: KubeSim, clock: ManualClock
) -> None:
    kubesim.add_fault(verb="patch", resource="deployments", code=503)
    with pytest.raises(UnavailableError) as caught:
        api.apply(DEPLOY)
    message = str(caught.value)
    assert message.startswith(f"apply {KEY}: HTTP 503 from {kubesim.url}")
    assert "gave up after" in message and "attempts in" in message
    assert sum(clock.slept) <= 30.0
    assert calls(kubesim, "patch") == len(clock.slept) + 1


def test_an_apply_the_server_cannot_type_is_invalid_at_once(
    api: KubeApi, kubesim: KubeSim, clock: ManualClock
) -> None:
    kubesim.add_fault(
        verb="patch",
        resource="deployments",
        code=500,
        message="failed to create typed patch object (apps/v1, Kind=Deployment): .spec.bogus: field not declared in schema",
    )
    with pytest.raises(InvalidError, match="field not declared in schema"):
        api.apply(DEPLOY)
    assert calls(kubesim, "patch") == 1 and clock.slept == []


@pytest.mark.parametrize("code", [400, 422])
def test_invalid_answers_are_not_retried(
    api: KubeApi, kubesim: KubeSim, clock: ManualClock, code: int
) -> None:
    kubesim.add_fault(verb="patch", resource="deployments", code=code, message="bad spec")
    with pytest.raises(InvalidError) as caught:
        api.apply(DEPLOY)
    assert str(caught.value) == f"apply {KEY}: HTTP {code} from {kubesim.url}: bad spec"
    assert calls(kubesim, "patch") == 1 and clock.slept == []


def test_a_server_that_is_not_there_is_named(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    config, server = unreachable_kubeconfig(tmp_path / "kubeconfig")
    api = KubeApi(
        connect(kubeconfig=str(config), context=None, in_cluster=False),
        retry=RetryPolicy(budget=3.0, sleep=clock.sleep, clock=clock),
    )
    with pytest.raises(UnavailableError) as caught:
        api.list(DEPLOYMENT)
    api.close()
    message = str(caught.value)
    assert message.startswith(f"list Deployment: connection refused by {server}")
    assert "MaxRetryError" not in message and "gave up after" in message
    assert not [r for r in caplog.records if r.name.startswith("urllib3")], "urllib3 stays quiet"
