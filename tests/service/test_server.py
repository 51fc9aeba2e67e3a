"""The agent HTTP server over real HTTP on 127.0.0.1: webhooks, health, metrics."""

from __future__ import annotations

import http.client
import time
from typing import Any

import pytest

from gitops_agent.errors import ConfigError
from gitops_agent.service.metrics import AgentMetrics
from gitops_agent.service.server import AgentServer, Health, ServerOptions
from gitops_agent.service.webhooks import PushHint, WebhookSecrets, sign
from tests.service.conftest import (
    AFTER,
    PUSH,
    SECRET,
    Calls,
    generic_headers,
    gitea_headers,
    github_headers,
    gitlab_headers,
    post,
    request,
)


def test_signed_github_push_reaches_the_callback_within_a_second(
    server: AgentServer, calls: Calls
) -> None:
    started = time.monotonic()
    status, answer = post(server, "github", PUSH, github_headers())
    assert (status, answer) == (202, {"status": "accepted"})
    assert calls.event.wait(1.0)
    arrived, hint = calls.pushes[0]
    assert arrived - started < 1.0
    assert hint == PushHint(hint.forge, "refs/heads/main", AFTER, "acme/manifests")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-GitHub-Event": "push"},
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": lambda body: sign("wrong", body)},
        {
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": lambda body: "sha1=" + sign(SECRET, body),
        },
    ],
    ids=["unsigned", "forged", "other-secret", "wrong-algorithm"],
)
def test_forged_or_unsigned_github_push_is_401_and_triggers_nothing(
    server: AgentServer, calls: Calls, headers: dict[str, Any]
) -> None:
    status, _ = post(server, "github", PUSH, headers)
    assert status == 401
    assert not calls.event.wait(0.2)
    assert server.metrics.webhooks.value(forge="github", outcome="unauthorized") == 1


def test_gitlab_token_gitea_signature_and_generic_hmac(server: AgentServer, calls: Calls) -> None:
    gitlab = {
        "ref": "refs/heads/main",
        "after": AFTER,
        "project": {"path_with_namespace": "platform/manifests"},
    }
    assert post(server, "gitlab", gitlab, {**gitlab_headers(), "X-Gitlab-Token": "no"})[0] == 401
    assert post(server, "gitlab", gitlab, gitlab_headers())[0] == 202
    assert post(server, "gitea", PUSH, gitea_headers())[0] == 202
    assert post(server, "gitea", PUSH, {**gitea_headers(), "X-Gitea-Signature": "00"})[0] == 401
    assert post(server, "generic", {"ref": "main", "revision": AFTER}, generic_headers())[0] == 202
    assert [h.forge.value for _, h in calls.pushes] == ["gitlab", "gitea", "generic"]
    assert calls.pushes[0][1].repository == "platform/manifests"
    assert calls.pushes[2][1].after == AFTER


def test_pull_request_events_reach_the_preview_callback(server: AgentServer, calls: Calls) -> None:
    payload = {
        "action": "synchronize",
        "number": 12,
        "pull_request": {
            "head": {"sha": AFTER, "ref": "patch-1", "repo": {"full_name": "mallory/manifests"}},
            "base": {"ref": "main", "repo": {"full_name": "acme/manifests"}},
        },
    }
    assert post(server, "github", payload, github_headers("pull_request"))[0] == 202
    mr = {
        "object_attributes": {
            "iid": 4,
            "action": "open",
            "last_commit": {"id": AFTER},
            "source_branch": "feature",
            "target_branch": "main",
            "source": {"path_with_namespace": "platform/manifests"},
            "target": {"path_with_namespace": "platform/manifests"},
        }
    }
    assert post(server, "gitlab", mr, gitlab_headers("Merge Request Hook"))[0] == 202
    github_pr, gitlab_mr = calls.pulls
    assert (github_pr.number, github_pr.head_sha, github_pr.from_fork) == (12, AFTER, True)
    assert (gitlab_mr.number, gitlab_mr.action, gitlab_mr.from_fork) == (4, "open", False)
    assert calls.pushes == []


def test_ping_unknown_event_and_bad_body(server: AgentServer, calls: Calls) -> None:
    assert post(server, "github", {"zen": "hi"}, github_headers("ping")) == (
        200,
        {"status": "pong"},
    )
    assert post(server, "github", {}, github_headers("issues")) == (202, {"status": "ignored"})
    status, answer = post(server, "github", {"after": AFTER}, github_headers("push"))
    assert status == 400 and "ref" in answer["error"]
    assert calls.pushes == []


def test_body_limit_and_missing_length(server: AgentServer, calls: Calls) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.putrequest("POST", "/webhooks/github")
        conn.putheader("Content-Length", str(10 * 1024 * 1024))
        conn.putheader("X-GitHub-Event", "push")
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        response.read()
    finally:
        conn.close()
    status, _, _ = request(
        server, "POST", "/webhooks/github", b"", {"Transfer-Encoding": "chunked"}
    )
    assert status == 411
    assert calls.pushes == []


def test_health_readiness_and_unknown_paths(server: AgentServer) -> None:
    assert request(server, "GET", "/healthz")[0] == 200
    assert request(server, "GET", "/readyz")[0] == 503
    server.health.mark_ready()
    assert request(server, "GET", "/readyz")[0] == 200
    assert request(server, "GET", "/nope")[0] == 404
    assert request(server, "POST", "/webhooks/svn", b"{}", {"Content-Length": "2"})[0] == 404


def test_metrics_exposition(server: AgentServer) -> None:
    server.metrics.record_cycle(result="success", duration=0.3, applied=4, pruned=1)
    server.metrics.record_cycle(result="failure", duration=12.0)
    server.metrics.record_error("apply")
    post(server, "github", PUSH, github_headers())
    status, text, headers = request(server, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = set(text.splitlines())
    assert 'gitops_agent_cycles_total{result="success"} 1' in lines
    assert 'gitops_agent_cycles_total{result="failure"} 1' in lines
    assert "gitops_agent_objects_applied_total 4" in lines
    assert "gitops_agent_objects_pruned_total 1" in lines
    assert 'gitops_agent_errors_total{stage="apply"} 1' in lines
    assert 'gitops_agent_cycle_duration_seconds_bucket{le="0.5"} 1' in lines
    assert 'gitops_agent_cycle_duration_seconds_bucket{le="+Inf"} 2' in lines
    assert "gitops_agent_cycle_duration_seconds_count 2" in lines
    assert 'gitops_agent_webhooks_total{forge="github",outcome="accepted"} 1' in lines
    assert "# TYPE gitops_agent_last_success_timestamp_seconds gauge" in lines
    assert any(line.startswith("gitops_agent_last_success_timestamp_seconds ") for line in lines)


def test_endpoint_without_secret_accepts_nothing(calls: Calls) -> None:
    config = ServerOptions(port=0, secrets=WebhookSecrets(github=SECRET))
    with AgentServer(config, on_push=calls.push) as server:
        assert post(server, "gitlab", PUSH, {**gitlab_headers(), "X-Gitlab-Token": ""})[0] == 401
    assert calls.pushes == []


def test_failing_callback_answers_500_and_port_conflict_is_config_error() -> None:
    def broken(hint: PushHint) -> None:
        raise RuntimeError("queue full")

    config = ServerOptions(port=0, secrets=WebhookSecrets(github=SECRET))
    with AgentServer(config, on_push=broken) as server:
        assert post(server, "github", PUSH, github_headers())[0] == 500
        taken = ServerOptions(port=server.port, secrets=WebhookSecrets())
        with pytest.raises(ConfigError, match="cannot listen"):
            AgentServer(taken, on_push=broken).start()


def test_health_object_is_shared() -> None:
    health, metrics = Health(), AgentMetrics()
    server = AgentServer(
        ServerOptions(port=0), on_push=lambda h: None, health=health, metrics=metrics
    )
    assert server.health is health and server.metrics is metrics
    assert not health.ready
