"""Shared by the server tests: a running AgentServer on 127.0.0.1 port 0, the callbacks it
calls, and helpers that send signed deliveries over real HTTP."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gitops_agent.service.server import AgentServer, ServerOptions
from gitops_agent.service.webhooks import (
    PullRequestHint,
    PushHint,
    WebhookSecrets,
    sign,
    sign_generic,
)

SECRET = "webhook-secret-value"
AFTER = "a" * 40
PUSH = {"ref": "refs/heads/main", "after": AFTER, "repository": {"full_name": "acme/manifests"}}


class Calls:
    def __init__(self) -> None:
        self.pushes: list[tuple[float, PushHint]] = []
        self.pulls: list[PullRequestHint] = []
        self.event = threading.Event()

    def push(self, hint: PushHint) -> None:
        self.pushes.append((time.monotonic(), hint))
        self.event.set()

    def pull(self, hint: PullRequestHint) -> None:
        self.pulls.append(hint)
        self.event.set()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def server(calls: Calls) -> Iterator[AgentServer]:
    secrets = WebhookSecrets(
        github=SECRET, gitlab=SECRET, gitea=SECRET, bitbucket=SECRET, generic=SECRET
    )
    config = ServerOptions(port=0, secrets=secrets, max_body_bytes=64 * 1024, read_timeout=5)
    with AgentServer(config, on_push=calls.push, on_pull_request=calls.pull) as running:
        yield running


def request(
    server: AgentServer,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, body=body if method == "POST" else None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode(), dict(response.getheaders())
    finally:
        conn.close()


def post(server: AgentServer, forge: str, payload: Any, headers: dict[str, Any]) -> tuple[int, Any]:
    """POST ``payload`` as JSON; a callable header value is called with the body."""
    body = json.dumps(payload).encode()
    resolved = {k: (v(body) if callable(v) else v) for k, v in headers.items()}
    status, text, _ = request(
        server, "POST", f"/webhooks/{forge}", body, {"Content-Type": "application/json", **resolved}
    )
    return status, json.loads(text) if text else None


def delivery_id() -> str:
    return str(uuid.uuid4())


def github_headers(event: str = "push") -> dict[str, Any]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id(),
        "X-Hub-Signature-256": lambda body: "sha256=" + sign(SECRET, body),
    }


def gitea_headers(event: str = "push") -> dict[str, Any]:
    return {
        "X-Gitea-Event": event,
        "X-Gitea-Delivery": delivery_id(),
        "X-Gitea-Signature": lambda body: sign(SECRET, body),
    }


def bitbucket_headers(event: str = "repo:push") -> dict[str, Any]:
    return {
        "X-Event-Key": event,
        "X-Request-UUID": delivery_id(),
        "X-Hub-Signature": lambda body: "sha256=" + sign(SECRET, body),
    }


def gitlab_headers(event: str = "Push Hook") -> dict[str, Any]:
    return {"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": delivery_id(), "X-Gitlab-Token": SECRET}


def generic_headers(timestamp: int | None = None) -> dict[str, Any]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Signature-Timestamp": str(stamp),
        "X-Signature-256": lambda body: "sha256=" + sign_generic(SECRET, stamp, body),
    }
