"""Bitbucket Cloud deliveries at ``POST /webhooks/bitbucket``: ``X-Hub-Signature:
sha256=<hex>`` checked in constant time, ``X-Request-UUID`` as the delivery id (a replay, or
the same signed body under a fresh id, is refused), ``repo:push`` as a hint to poll and
``pullrequest:*`` as a hint to preview; hostile bodies are refused without a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from gitops_agent.service.server import AgentServer
from tests.service.conftest import AFTER, Calls, bitbucket_headers, post

SHORT = AFTER[:12]  # Bitbucket names commits by 12 characters in its payloads


def push(branch: str = "main", kind: str = "branch") -> dict[str, Any]:
    new = {"type": kind, "name": branch, "target": {"hash": AFTER}}
    return {
        "push": {"changes": [{"old": None, "new": new}]},
        "repository": {"full_name": "acme/manifests"},
    }


def pull_request(
    number: object, source_repo: str = "acme/manifests", updated: str = "2026-11-30T10:00:00Z"
) -> dict[str, Any]:
    return {
        "pullrequest": {
            "id": number,
            "updated_on": updated,
            "source": {
                "branch": {"name": "feature"},
                "commit": {"hash": SHORT},
                "repository": {"full_name": source_repo},
            },
            "destination": {
                "branch": {"name": "main"},
                "repository": {"full_name": "acme/manifests"},
            },
        },
        "repository": {"full_name": "acme/manifests"},
    }


def test_a_push_is_a_hint_to_poll_its_branch_or_tag(server: AgentServer, calls: Calls) -> None:
    assert post(server, "bitbucket", push(), bitbucket_headers())[0] == 202
    assert post(server, "bitbucket", push("v1", "tag"), bitbucket_headers())[0] == 202
    (_, branch), (_, tag) = calls.pushes
    assert (branch.ref, branch.after, branch.repository) == (
        "refs/heads/main",
        AFTER,
        "acme/manifests",
    )
    assert tag.ref == "refs/tags/v1"


def test_pull_request_events_reach_the_preview_callback(server: AgentServer, calls: Calls) -> None:
    events = ("pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled")
    for minute, event in enumerate(events):
        body = pull_request(7, updated=f"2026-11-30T10:0{minute}:00Z")
        assert post(server, "bitbucket", body, bitbucket_headers(event))[0] == 202
    forked = pull_request(8, source_repo="mallory/manifests")
    assert post(server, "bitbucket", forked, bitbucket_headers("pullrequest:created"))[0] == 202
    created, updated, merged, fork = calls.pulls
    assert (created.number, created.action, created.head_sha) == (7, "created", SHORT)
    assert (created.head_ref, created.base_ref, created.from_fork) == ("feature", "main", False)
    assert (updated.action, merged.action) == ("updated", "fulfilled")
    assert (fork.number, fork.from_fork) == (8, True)
    assert calls.pushes == []


def test_signature_delivery_id_and_replays(server: AgentServer, calls: Calls) -> None:
    forged = {**bitbucket_headers(), "X-Hub-Signature": "sha256=" + "0" * 64}
    assert post(server, "bitbucket", push(), forged)[0] == 401
    github_style = {**bitbucket_headers(), "X-Hub-Signature": "sha1=" + "0" * 40}
    assert post(server, "bitbucket", push(), github_style)[0] == 401
    unsigned = {k: v for k, v in bitbucket_headers().items() if k != "X-Hub-Signature"}
    assert post(server, "bitbucket", push(), unsigned)[0] == 401
    first = bitbucket_headers()
    assert post(server, "bitbucket", push(), first)[0] == 202
    status, answer = post(server, "bitbucket", push(), first)
    assert status == 409 and "already received" in answer["error"]
    status, _ = post(server, "bitbucket", push(), bitbucket_headers())
    assert status == 409, "the same signed body under a fresh id is a replay"
    missing = {k: v for k, v in bitbucket_headers().items() if k != "X-Request-UUID"}
    assert post(server, "bitbucket", push("other"), missing) == (
        400,
        {"error": "X-Request-UUID header is required"},
    )
    assert len(calls.pushes) == 1


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("pullrequest:created", pull_request("x" * 5000)),
        ("pullrequest:created", pull_request([7])),
        ("pullrequest:created", pull_request(None)),
        ("repo:push", {"push": {"changes": "main"}}),
        ("repo:push", {"push": {"changes": [{"new": {"name": 7}}]}}),
        ("repo:push", {"push": []}),
    ],
)
def test_hostile_bodies_are_refused_not_crashed_on(
    server: AgentServer, calls: Calls, event: str, payload: dict[str, Any]
) -> None:
    status, answer = post(server, "bitbucket", payload, bitbucket_headers(event))
    assert status == 400 and "Traceback" not in answer["error"], answer
    assert calls.pushes == [] and calls.pulls == []


def test_other_events_are_ignored(server: AgentServer, calls: Calls) -> None:
    status, answer = post(server, "bitbucket", {}, bitbucket_headers("issue:created"))
    assert (status, answer) == (202, {"status": "ignored"})
    assert calls.pushes == [] and calls.pulls == []
