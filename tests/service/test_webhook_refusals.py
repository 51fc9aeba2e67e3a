"""Webhook refusals over real HTTP on 127.0.0.1: replays (409), the generic endpoint's signed
timestamp, malformed framing (400), and the refusal log (reason and peer, never the body)."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gitops_agent.service.server import AgentServer, ServerOptions
from gitops_agent.service.webhooks import Forge, PushHint, WebhookSecrets, sign, sign_generic
from gitops_agent.testing.waiting import wait_for
from tests.service.conftest import (
    AFTER,
    PUSH,
    SECRET,
    Calls,
    delivery_id,
    generic_headers,
    gitea_headers,
    github_headers,
    gitlab_headers,
    post,
)

LOGGER = "gitops_agent.service.server"
MARKER = "body-marker-that-must-never-be-logged"
SECRETS = WebhookSecrets(github=SECRET, gitlab=SECRET, gitea=SECRET, generic=SECRET)


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    return caplog


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def serve(calls: Calls, **options: Any) -> AgentServer:
    options.setdefault("read_timeout", 5)
    config = ServerOptions(port=0, secrets=SECRETS, **options)
    return AgentServer(config, on_push=calls.push, on_pull_request=calls.pull)


def send(port: int, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/webhooks/github", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_100_replays_of_a_genuine_delivery_1_accepted_99_refused_and_logged(
    calls: Calls, log: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps({**PUSH, "note": MARKER}).encode()
    signature = "sha256=" + sign(SECRET, body)
    ident = delivery_id()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": ident,
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    with serve(calls, refusal_log_lines=100) as server:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: send(server.port, body, headers), range(100)))
        refused = server.metrics.webhook_refusals.value(forge="github", reason="replay")
    assert sorted(set(statuses)) == [202, 409]
    assert (statuses.count(202), statuses.count(409)) == (1, 99)
    assert len(calls.pushes) == 1 and refused == 99
    lines = refusals(log)
    assert len(lines) == 99
    for line in lines:
        assert line.startswith("webhook refused: replay (409) from 127.0.0.1:")
        assert f"on /webhooks/github: delivery {ident} was already received" in line
    text = log.text + capfd.readouterr().err
    assert MARKER not in text and signature[7:] not in text and SECRET not in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("forge", "headers", "header_name"),
    [
        ("github", github_headers, "X-GitHub-Delivery"),
        ("gitea", gitea_headers, "X-Gitea-Delivery"),
        ("gitlab", gitlab_headers, "X-Gitlab-Event-UUID"),
    ],
)
def test_each_forge_delivery_id_refuses_its_replay(
    server: AgentServer, calls: Calls, forge: str, headers: Any, header_name: str
) -> None:
    first = headers()
    assert post(server, forge, PUSH, first)[0] == 202
    status, answer = post(server, forge, PUSH, first)
    assert status == 409 and "already received" in answer["error"]
    missing = {k: v for k, v in headers().items() if k != header_name}
    assert post(server, forge, PUSH, missing) == (
        400,
        {"error": f"{header_name} header is required"},
    )
    assert post(server, forge, PUSH, {**headers(), header_name: "a b"})[0] == 400
    other = {"ref": "refs/heads/other", "after": AFTER}
    assert post(server, forge, other, headers())[0] == 202
    assert [h.ref for _, h in calls.pushes] == ["refs/heads/main", "refs/heads/other"]


@pytest.mark.parametrize(
    ("forge", "headers"), [("github", github_headers), ("gitea", gitea_headers)]
)
def test_a_signed_body_replayed_under_a_fresh_delivery_id_is_refused(
    server: AgentServer, forge: str, headers: Any
) -> None:
    assert post(server, forge, PUSH, headers())[0] == 202
    status, answer = post(server, forge, PUSH, headers())
    assert status == 409 and "already received" in answer["error"]


def test_gitlab_ids_are_per_event_because_one_request_may_fire_several_hooks(
    server: AgentServer,
) -> None:
    push = gitlab_headers()
    assert post(server, "gitlab", PUSH, push)[0] == 202
    tag = {**push, "X-Gitlab-Event": "Tag Push Hook"}
    assert post(server, "gitlab", {**PUSH, "ref": "refs/tags/v1"}, tag)[0] == 202
    assert post(server, "gitlab", PUSH, push)[0] == 409


def test_unsigned_requests_cannot_poison_the_replay_cache(
    server: AgentServer, calls: Calls
) -> None:
    genuine = github_headers()
    forged = {**genuine, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    for _ in range(3):
        assert post(server, "github", PUSH, forged)[0] == 401
    unsigned = {k: v for k, v in genuine.items() if k != "X-Hub-Signature-256"}
    assert post(server, "github", PUSH, unsigned)[0] == 401
    no_id = {k: v for k, v in forged.items() if k != "X-GitHub-Delivery"}
    assert post(server, "github", PUSH, no_id)[0] == 401, "the signature is checked first"
    assert post(server, "github", PUSH, genuine)[0] == 202
    assert len(calls.pushes) == 1


def test_generic_timestamp_window(server: AgentServer, calls: Calls) -> None:
    now = int(time.time())
    payload = {"ref": "main", "revision": AFTER}
    assert post(server, "generic", payload, generic_headers(now - 280))[0] == 202
    old = post(server, "generic", payload, generic_headers(now - 600))
    assert old[0] == 401 and "s old; the window is 300 s" in old[1]["error"]
    future = post(server, "generic", payload, generic_headers(now + 600))
    assert future[0] == 401 and "in the future" in future[1]["error"]
    missing = {k: v for k, v in generic_headers().items() if k != "X-Signature-Timestamp"}
    assert post(server, "generic", payload, missing) == (
        400,
        {"error": "X-Signature-Timestamp header is required"},
    )
    tampered = {**generic_headers(now - 1), "X-Signature-Timestamp": str(now)}
    assert post(server, "generic", payload, tampered)[0] == 401
    for bad in ("1e9", "-5", "12a", "1\u00b2", "9" * 13, "1" * 10_000):
        stamped = {**generic_headers(), "X-Signature-Timestamp": bad}
        assert post(server, "generic", payload, stamped)[0] == 400, bad
    assert len(calls.pushes) == 1


def test_generic_body_only_signature_of_earlier_releases_is_refused(server: AgentServer) -> None:
    payload = {"ref": "main", "revision": AFTER}
    body_only = {"X-Signature-256": lambda body: "sha256=" + sign(SECRET, body)}
    status, answer = post(server, "generic", payload, body_only)
    assert (status, answer["error"]) == (400, "X-Signature-Timestamp header is required")
    stamped = {**body_only, "X-Signature-Timestamp": str(int(time.time()))}
    assert post(server, "generic", payload, stamped)[0] == 401


def test_generic_replay_is_refused_within_the_window(server: AgentServer, calls: Calls) -> None:
    payload = {"ref": "main", "revision": AFTER}
    headers = generic_headers()
    assert post(server, "generic", payload, headers)[0] == 202
    status, answer = post(server, "generic", payload, headers)
    assert (status, answer["error"]) == (409, "this signed delivery was already received")
    assert post(server, "generic", payload, generic_headers(int(time.time()) - 1))[0] == 202
    assert len(calls.pushes) == 2


def test_replay_cache_is_bounded_over_http(calls: Calls) -> None:
    with serve(calls, replay_capacity=2) as server:
        first = github_headers()
        for ref in ("a", "b", "c"):
            assert post(server, "github", {**PUSH, "ref": ref}, github_headers())[0] == 202
        assert post(server, "github", PUSH, first)[0] == 202
        assert post(server, "github", PUSH, first)[0] == 409
        assert len(server.replays[Forge.GITHUB]) == 2


def test_a_delivery_the_agent_could_not_take_can_be_redelivered() -> None:
    taken: list[PushHint] = []

    def flaky(hint: PushHint) -> None:
        if not taken:
            taken.append(hint)
            raise RuntimeError("queue full")
        taken.append(hint)

    config = ServerOptions(port=0, secrets=SECRETS)
    with AgentServer(config, on_push=flaky) as server:
        headers = github_headers()
        assert post(server, "github", PUSH, headers)[0] == 500
        assert post(server, "github", PUSH, headers)[0] == 202
        assert post(server, "github", PUSH, headers)[0] == 409
    assert len(taken) == 2


def test_refusal_log_is_rate_limited_over_http(calls: Calls, log: pytest.LogCaptureFixture) -> None:
    with serve(calls, refusal_log_lines=3) as server:
        for _ in range(20):
            assert post(server, "github", PUSH, {"X-GitHub-Event": "push"})[0] == 401
        assert (
            post(server, "github", PUSH, {**github_headers(), "X-GitHub-Delivery": "-"})[0] == 400
        )
        counted = server.metrics.webhook_refusals.value(forge="github", reason="bad-signature")
    lines = refusals(log)
    assert counted == 20
    bad = [line for line in lines if "bad-signature" in line]
    assert len(bad) == 4
    assert all(" from 127.0.0.1:" in line for line in bad[:3])
    assert "17 more bad-signature (401) within a minute" in bad[3]
    assert sum("bad-header (400)" in line for line in lines) == 1


def test_refusals_are_counted_by_reason(server: AgentServer) -> None:
    headers = github_headers()
    post(server, "github", PUSH, headers)
    post(server, "github", PUSH, headers)
    post(server, "github", PUSH, {"X-GitHub-Event": "push"})
    text = server.metrics.render()
    assert 'gitops_agent_webhook_refusals_total{forge="github",reason="replay"} 1' in text
    assert 'gitops_agent_webhook_refusals_total{forge="github",reason="bad-signature"} 1' in text
    assert 'gitops_agent_webhooks_total{forge="github",outcome="replay"} 1' in text


# ---- framing, over a raw socket (http.client and urllib would normalise these headers)


def raw(
    server: AgentServer,
    header_lines: list[str],
    body: bytes = b"",
    *,
    shutdown: bool = False,
    path: str = "/webhooks/github",
) -> tuple[int, dict[str, Any], str]:
    head = "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *header_lines])
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        if shutdown:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = json.loads(response.read() or b"{}")
        return response.status, answer, response.getheader("Connection", "")


def signed_lines(body: bytes, **extra: str) -> list[str]:
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery_id(),
        "X-Hub-Signature-256": "sha256=" + sign(SECRET, body),
        "Content-Type": "application/json",
        **extra,
    }
    return [f"{name}: {value}" for name, value in headers.items()]


BODY = json.dumps(PUSH).encode()
N = str(len(BODY))


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([f"Content-Length: {N}", f"Content-Length: {N}"], "given 2 times"),
        ([f"Content-Length: {N}", "Content-Length: 3"], "given 2 times"),
        ([f"Content-Length: {N}, {N}"], "not a number"),
        ([f"Content-Length: +{N}"], "not a number"),
        ([f"Content-Length: {N[0]}_{N[1:]}"], "not a number"),
        ([f"Content-Length: {N}", "Transfer-Encoding: chunked"], "Transfer-Encoding with"),
        (["Transfer-Encoding: chunked", f"Content-Length: {N}"], "Transfer-Encoding with"),
        ([f"Content-Length: {N}", "Transfer-Encoding: identity"], "Transfer-Encoding with"),
    ],
    ids=["duplicate", "conflicting", "list", "plus", "underscore", "cl-te", "te-cl", "te-id"],
)
def test_malformed_content_length_is_400_and_closes(
    server: AgentServer, calls: Calls, lines: list[str], reason: str
) -> None:
    status, answer, connection = raw(server, [*signed_lines(BODY), *lines], BODY)
    assert status == 400 and reason in answer["error"]
    assert connection == "close"
    assert calls.pushes == []


def test_oversized_length_is_413_and_a_huge_number_is_no_crash(server: AgentServer) -> None:
    for length in (str(64 * 1024 + 1), "9" * 5000):
        status, answer, _ = raw(server, [*signed_lines(b""), f"Content-Length: {length}"])
        assert (status, answer) == (413, {"error": "body too large"})


def test_duplicate_security_headers_are_400(server: AgentServer, calls: Calls) -> None:
    lines = [*signed_lines(BODY), f"Content-Length: {N}"]
    again = next(line for line in lines if line.startswith("X-Hub-Signature-256"))
    status, answer, _ = raw(server, [*lines, again], BODY)
    assert (status, answer) == (400, {"error": "header x-hub-signature-256 given more than once"})
    assert calls.pushes == []


def test_a_body_shorter_than_its_length_does_not_hold_a_thread(calls: Calls) -> None:
    with serve(calls, read_timeout=0.5) as server:
        started = time.monotonic()
        lines = [*signed_lines(BODY), f"Content-Length: {len(BODY) + 50}"]
        status, answer, _ = raw(server, lines, BODY)
        assert status == 408 and "not received within 0.5 s" in answer["error"]
        assert time.monotonic() - started < 3
        status, answer, _ = raw(server, lines, BODY, shutdown=True)
        assert (status, answer) == (400, {"error": "body shorter than Content-Length"})
    assert calls.pushes == []


def test_a_trickled_body_is_cut_at_the_read_timeout_in_all(calls: Calls) -> None:
    with serve(calls, read_timeout=1.0) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        stop = threading.Event()

        def trickle() -> None:
            try:
                while not stop.wait(0.2):
                    sock.sendall(b" ")
            except OSError:
                pass

        try:
            head = ["POST /webhooks/github HTTP/1.1", "Host: x", "Content-Length: 1000"]
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            started = time.monotonic()
            sender = threading.Thread(target=trickle, daemon=True)
            sender.start()
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 408
            assert time.monotonic() - started < 3
        finally:
            stop.set()
            sock.close()


# ---- hostile values


@pytest.fixture
def quiet(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    assert "Traceback" not in capfd.readouterr().err


def test_a_10_kb_delivery_id_is_refused_and_not_logged(
    server: AgentServer, log: pytest.LogCaptureFixture, quiet: None
) -> None:
    huge = "a" * 10 * 1024
    status, answer = post(server, "github", PUSH, {**github_headers(), "X-GitHub-Delivery": huge})
    assert (status, answer) == (
        400,
        {"error": "X-GitHub-Delivery is not a delivery id (10240 characters)"},
    )
    assert huge[:200] not in log.text
    assert all(len(line) < 400 for line in refusals(log))


@pytest.mark.parametrize(
    "value",
    ["abc\x1b[31mred", "abc\x00def", "abc\x7f", "caf\xe9", "abc\r\n def"],
    ids=["escape", "nul", "del", "latin1", "folded"],
)
def test_control_characters_in_ids_never_reach_the_log_raw(
    server: AgentServer, calls: Calls, log: pytest.LogCaptureFixture, quiet: None, value: str
) -> None:
    lines = [*signed_lines(BODY, **{"X-GitHub-Delivery": value}), f"Content-Length: {N}"]
    status, answer, _ = raw(server, lines, BODY)
    assert status == 400 and "X-GitHub-Delivery" in answer["error"]
    messages = refusals(log)
    assert messages
    for message in messages:
        assert message.isprintable() and message.isascii()
    assert calls.pushes == []


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("push", {"ref": 5, "after": AFTER}),
        ("push", {"ref": None}),
        ("pull_request", {"number": 1e400, "pull_request": {}}),
        ("pull_request", {"number": [1], "pull_request": {}}),
        ("pull_request", {"number": "x" * 5000, "pull_request": {}}),
        ("push", "just a string"),
        ("push", [1, 2]),
    ],
    ids=["ref-number", "ref-null", "number-inf", "number-list", "number-long", "string", "list"],
)
def test_numbers_where_strings_are_expected_are_400_without_traceback(
    server: AgentServer, calls: Calls, quiet: None, event: str, payload: Any
) -> None:
    status, answer = post(server, "github", payload, github_headers(event))
    assert status == 400 and answer["error"]
    assert len(answer["error"]) < 300
    assert calls.pushes == [] and calls.pulls == []


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("push", b'{"ref": "refs/heads/main", "after": NaN}'),
        ("pull_request", b'{"number": 1e400, "pull_request": {}}'),
        ("pull_request", b'{"number": -Infinity, "pull_request": {}}'),
        ("push", b"[" * 60_000),
        ("push", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        ("push", b"1" * 5000),
        ("push", b"\xff\xfe"),
    ],
    ids=["nan", "exponent", "infinity", "deep-list", "deep-object", "long-int", "not-utf8"],
)
def test_hostile_json_is_400_without_traceback(
    server: AgentServer, calls: Calls, quiet: None, event: str, body: bytes
) -> None:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id(),
        "X-Hub-Signature-256": "sha256=" + sign(SECRET, body),
    }
    assert send(server.port, body, headers) == 400
    assert calls.pushes == []


def test_numbers_for_strings_in_accepted_events_become_strings(
    server: AgentServer, calls: Calls
) -> None:
    payload = {"ref": "refs/heads/main", "after": 12345, "repository": {"full_name": 7}}
    assert post(server, "github", payload, github_headers())[0] == 202
    wait_for(lambda: calls.pushes, timeout=5, message="the push callback")
    assert calls.pushes[0][1].after == "12345" and calls.pushes[0][1].repository == "7"


def test_generic_signature_helper_is_over_timestamp_dot_body() -> None:
    assert sign_generic("s", 1700000000, b"{}") == sign("s", b"1700000000.{}")
