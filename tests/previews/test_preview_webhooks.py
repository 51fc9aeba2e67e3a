"""A pull-request webhook previews at once (issue 15, build item 2): an agent polling hourly
gets each forge's signed pull-request event (GitHub and Gitea ``pull_request``, GitLab
``Merge Request Hook``, Bitbucket ``pullrequest:updated``) and previews the pull request's
head within seconds; the payload is only a hint, the head is read from the forge's API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from gitops_agent.service.webhooks import sign
from gitops_agent.targets import kubeapi
from gitops_agent.targets.history import ConfigMapHistory
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.previews.support import (
    REPO,
    WEBHOOK_SECRET,
    add_writer,
    final_preview,
    preview_states,
    running_agent,
)

Signer = Callable[[bytes], dict[str, str]]


def github_like(event_header: str, id_header: str, signature: Signer) -> Signer:
    return lambda body: (
        {event_header: "pull_request", id_header: str(uuid.uuid4())} | signature(body)
    )


def hub(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + sign(WEBHOOK_SECRET, body)}


def gitea_signature(body: bytes) -> dict[str, str]:
    return {"X-Gitea-Signature": sign(WEBHOOK_SECRET, body)}


def gitlab(body: bytes) -> dict[str, str]:
    return {
        "X-Gitlab-Event": "Merge Request Hook",
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "X-Gitlab-Token": WEBHOOK_SECRET,
    }


def bitbucket(body: bytes) -> dict[str, str]:
    return {
        "X-Event-Key": "pullrequest:updated",
        "X-Request-UUID": str(uuid.uuid4()),
        "X-Hub-Signature": "sha256=" + sign(WEBHOOK_SECRET, body),
    }


def payload(kind: str, number: int, head: str) -> dict[str, object]:
    if kind == "gitlab":
        return {"object_attributes": {"iid": number, "action": "update"}}
    if kind == "bitbucket":
        return {"pullrequest": {"id": number, "source": {"commit": {"hash": head[:12]}}}}
    return {"action": "synchronize", "number": number, "pull_request": {"head": {"sha": head}}}


HEADERS: dict[str, Signer] = {
    "github": github_like("X-GitHub-Event", "X-GitHub-Delivery", hub),
    "gitea": github_like("X-Gitea-Event", "X-Gitea-Delivery", gitea_signature),
    "gitlab": gitlab,
    "bitbucket": bitbucket,
}


def deliver(url: str, kind: str, body: bytes) -> int:
    headers = {"Content-Type": "application/json", **HEADERS[kind](body)}
    request = urllib.request.Request(
        f"{url}/webhooks/{kind}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        with err:
            return int(err.code)


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_a_pull_request_webhook_previews_at_once(
    kind: str, tmp_path: Path, kubesim: KubeSim
) -> None:
    with running_agent(kind, tmp_path, kubesim, {"enabled": True}, interval="1h") as agent:
        head = agent.pulls.push(3, add_writer("hooked-writer"))
        # a check that nothing happens, so a fixed window: polling hourly, only the webhook
        # below can start a preview
        time.sleep(1.0)
        assert preview_states(agent, head) == []
        sent = time.monotonic()
        body = json.dumps(payload(kind, 3, head)).encode()
        assert deliver(agent.process.url, kind, body) == 202
        assert final_preview(agent, head) == (agent.forge.success, "+1 ~0 -0")
        latency = time.monotonic() - sent
        assert latency < 10.0, f"webhook to preview took {latency:.1f}s"
        (comment,) = agent.emulator.comments(REPO, 3)
        assert "hooked-writer" in comment.body
        client = kubeapi.connect(kubeconfig=str(kubesim.kubeconfig), context=None, in_cluster=False)
        api = kubeapi.KubeApi(client)
        store = ConfigMapHistory(api, owner="e2e", namespace="default")
        try:  # the record follows the final status
            cycles = wait_for(
                lambda: store.load() if any(c.kind == "preview" for c in store.load()) else (),
                timeout=10,
                message="the preview in the history",
            )
        finally:
            api.close()
        previews = [c for c in cycles if c.kind == "preview"]
        assert [(c.number, c.revision, c.trigger) for c in previews] == [(3, head, "webhook")]
        assert [c.kind for c in cycles] == ["sync", "preview"]
