"""Webhook parsing/verification and the metrics registry, without a server."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from gitops_agent.service.metrics import MetricsRegistry, escape_label, format_value
from gitops_agent.service.webhooks import (
    Forge,
    PushHint,
    WebhookPayloadError,
    parse,
    sign,
    verify,
)


def test_github_form_encoded_push_and_branch_deletion() -> None:
    payload = {"ref": "refs/heads/old", "after": "0" * 40, "deleted": True}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"x-github-event": "push", "content-type": "application/x-www-form-urlencoded"}
    assert parse(Forge.GITHUB, headers, body) == PushHint(Forge.GITHUB, "refs/heads/old", "")


def test_verify_is_exact() -> None:
    body = b'{"ref":"refs/heads/main"}'
    good = {"x-hub-signature-256": "sha256=" + sign("s3cret", body)}
    assert verify(Forge.GITHUB, "s3cret", body, good)
    assert not verify(Forge.GITHUB, "s3cret", body + b" ", good)
    assert not verify(Forge.GITHUB, "", body, good)
    assert verify(Forge.GITEA, "s3cret", body, {"x-gitea-signature": sign("s3cret", body)})
    assert not verify(Forge.GITLAB, "s3cret", body, {"x-gitlab-token": "s3cre"})


def test_bad_payloads() -> None:
    with pytest.raises(WebhookPayloadError):
        parse(Forge.GITHUB, {"x-github-event": "push"}, b"[1, 2]")
    with pytest.raises(WebhookPayloadError):
        parse(Forge.GITHUB, {"x-github-event": "push"}, b"{not json")
    bad_pr = json.dumps({"number": "x", "pull_request": {}}).encode()
    with pytest.raises(WebhookPayloadError):
        parse(Forge.GITEA, {"x-gitea-event": "pull_request"}, bad_pr)
    assert parse(Forge.GITLAB, {"x-gitlab-event": "Pipeline Hook"}, b"{}") is None


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("push", b'{"ref": "refs/heads/main", "after": NaN}'),
        ("push", b'{"ref": Infinity}'),
        ("push", b"[" * 50_000),
        ("push", b'{"a":' * 50_000),
        ("pull_request", b'{"number": 1e400, "pull_request": {}}'),
        ("pull_request", b'{"number": {"a": 1}, "pull_request": {}}'),
    ],
    ids=["nan", "infinity", "deep-list", "deep-object", "overflow", "object"],
)
def test_hostile_payloads_are_payload_errors(event: str, body: bytes) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse(Forge.GITHUB, {"x-github-event": event}, body)
    assert len(str(caught.value)) < 300


def test_registry_renders_the_text_format() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("jobs_total", "Jobs.", ["kind"])
    counter.inc(kind='we"ird\\')
    counter.inc(2, kind="plain")
    histogram = registry.histogram("latency_seconds", "Latency.", buckets=[1, 0.5])
    histogram.observe(0.7)
    text = registry.render()
    assert text.endswith("\n")
    assert "# TYPE jobs_total counter" in text
    assert 'jobs_total{kind="plain"} 2' in text
    assert 'jobs_total{kind="we\\"ird\\\\"} 1' in text
    assert 'latency_seconds_bucket{le="0.5"} 0' in text
    assert 'latency_seconds_bucket{le="1"} 1' in text
    assert "latency_seconds_sum 0.7" in text
    with pytest.raises(ValueError):
        counter.inc(-1, kind="plain")
    with pytest.raises(ValueError):
        counter.inc(other="x")
    with pytest.raises(ValueError):
        registry.counter("jobs_total", "again")
    assert escape_label("a\nb") == "a\\nb"
    assert format_value(float("inf")) == "+Inf"
    assert format_value(3.0) == "3"
