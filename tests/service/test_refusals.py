"""The replay cache, the rate-limited refusal log, the framing checks and ``authenticate``,
without a server (a fake clock where time matters)."""

from __future__ import annotations

import logging
import threading

import pytest

from gitops_agent.service.refusals import (
    Refusal,
    RefusalLog,
    ReplayCache,
    WebhookRefusedError,
    content_length,
    printable,
    single_headers,
)
from gitops_agent.service.webhooks import (
    Forge,
    WebhookPayloadError,
    authenticate,
    sign,
    sign_generic,
)

BODY = b'{"ref":"refs/heads/main"}'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def keys(*names: str) -> tuple[bytes, ...]:
    return tuple(name.encode() for name in names)


def test_replay_cache_evicts_the_oldest_delivery_past_its_capacity() -> None:
    cache = ReplayCache(capacity=3, ttl=60, clock=Clock())
    for name in "abcd":
        assert cache.claim(keys(name, name + "-signature"))
    assert len(cache) == 3
    assert not cache.claim(keys("d"))
    assert not cache.claim(keys("x", "b-signature")), "any one key seen makes a replay"
    assert cache.claim(keys("a")), "the oldest was evicted"
    assert len(cache) == 3


def test_replay_cache_forgets_deliveries_older_than_its_ttl() -> None:
    clock = Clock()
    cache = ReplayCache(capacity=10, ttl=600, clock=clock)
    assert cache.claim(keys("a"))
    clock.now += 300
    assert cache.claim(keys("b"))
    clock.now += 299
    assert not cache.claim(keys("a"))
    clock.now += 1
    assert len(cache) == 1
    assert cache.claim(keys("a"))


def test_replay_cache_release_and_a_refused_claim_remembers_nothing() -> None:
    cache = ReplayCache(capacity=10, ttl=60, clock=Clock())
    assert cache.claim(keys("a", "s"))
    assert not cache.claim(keys("b", "s"))
    assert cache.claim(keys("b")), "the refused claim did not remember b"
    cache.release(keys("a", "s"))
    assert cache.claim(keys("a", "s"))
    with pytest.raises(ValueError):
        ReplayCache(capacity=0, ttl=1)


def test_replay_cache_lets_exactly_one_of_many_threads_claim_a_key() -> None:
    cache = ReplayCache(capacity=10_000, ttl=60)
    start = threading.Barrier(16)
    wins: list[bool] = []

    def race() -> None:
        start.wait(timeout=5)
        for index in range(200):
            wins.append(cache.claim(keys(f"delivery-{index}")))

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert wins.count(True) == 200 and len(wins) == 16 * 200


def test_replay_cache_stays_within_its_bound_under_a_flood() -> None:
    cache = ReplayCache(capacity=10_000, ttl=3600, clock=Clock())
    for index in range(25_000):
        cache.claim(keys(f"id-{index}", f"sig-{index}"))
    assert len(cache) == 10_000
    assert cache.claim(keys("id-0")) and not cache.claim(keys("sig-24999"))


def test_refusal_log_is_rate_limited_per_reason_and_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="refusals")
    clock = Clock()
    log = RefusalLog(logging.getLogger("refusals"), per_minute=5, clock=clock)
    for _ in range(1000):
        log.record(WebhookRefusedError(Refusal.REPLAY, "seen"), peer="10.0.0.1:5", endpoint="/e")
    log.record(WebhookRefusedError(Refusal.BAD_SIGNATURE, "bad"), peer="10.0.0.2:6", endpoint="/e")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 6
    assert lines[0] == "webhook refused: replay (409) from 10.0.0.1:5 on /e: seen"
    assert lines[5] == "webhook refused: bad-signature (401) from 10.0.0.2:6 on /e: bad"
    clock.now += 60
    log.record(WebhookRefusedError(Refusal.TOO_LARGE, "big"), peer="10.0.0.3:7", endpoint="/e")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[6:] == [
        "webhook refused: 995 more replay (409) within a minute, not logged one by one",
        "webhook refused: too-large (413) from 10.0.0.3:7 on /e: big",
    ]
    log.flush()
    assert len(caplog.records) == 8, "nothing was suppressed since"


def test_refusal_log_flush_reports_the_remainder(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="refusals")
    log = RefusalLog(logging.getLogger("refusals"), per_minute=1, clock=Clock())
    for _ in range(3):
        log.record(WebhookRefusedError(Refusal.REPLAY, "x"), peer="p", endpoint="/e")
    log.flush()
    assert caplog.records[-1].getMessage().startswith("webhook refused: 2 more replay (409)")


def test_printable_escapes_control_characters_and_cuts() -> None:
    assert printable("a\nb\x1b[31m\x00é") == "a\\x0ab\\x1b[31m\\x00\\xe9"
    assert printable("x" * 1000, limit=10) == "x" * 10 + "..."


@pytest.mark.parametrize(
    ("lengths", "encodings", "reason"),
    [
        ([], [], Refusal.LENGTH_REQUIRED),
        ([], ["chunked"], Refusal.LENGTH_REQUIRED),
        (["5"], ["chunked"], Refusal.SMUGGLING),
        (["5", "5"], [], Refusal.BAD_CONTENT_LENGTH),
        (["5", "6"], [], Refusal.BAD_CONTENT_LENGTH),
        (["5, 5"], [], Refusal.BAD_CONTENT_LENGTH),
        (["-1"], [], Refusal.BAD_CONTENT_LENGTH),
        (["0x10"], [], Refusal.BAD_CONTENT_LENGTH),
        (["\u0665"], [], Refusal.BAD_CONTENT_LENGTH),
        (["101"], [], Refusal.TOO_LARGE),
        (["9" * 5000], [], Refusal.TOO_LARGE),
    ],
)
def test_content_length_refusals(lengths: list[str], encodings: list[str], reason: Refusal) -> None:
    with pytest.raises(WebhookRefusedError) as caught:
        content_length(lengths, encodings, limit=100)
    assert caught.value.refusal is reason
    assert reason.status in (400, 411, 413)


def test_content_length_accepts_one_plain_number() -> None:
    assert content_length(["100"], [], limit=100) == 100
    assert content_length([" 0 "], [], limit=100) == 0


def test_single_headers_refuses_a_repeated_security_header() -> None:
    items = [("X-Custom", "1"), ("x-custom", "2"), ("X-GitHub-Delivery", "a")]
    assert single_headers(items) == {"x-custom": "2", "x-github-delivery": "a"}
    with pytest.raises(WebhookRefusedError, match="x-github-delivery given more than once"):
        single_headers([*items, ("X-Github-Delivery", "b")])


def generic(timestamp: int, body: bytes = BODY, secret: str = "s") -> dict[str, str]:
    return {
        "x-signature-timestamp": str(timestamp),
        "x-signature-256": "sha256=" + sign_generic(secret, timestamp, body),
    }


@pytest.mark.parametrize(
    ("skew", "accepted"), [(0, True), (300, True), (-300, True), (301, False), (-301, False)]
)
def test_generic_window_is_five_minutes_either_way(skew: int, accepted: bool) -> None:
    now = 1_700_000_000
    headers = generic(now - skew)
    if accepted:
        assert authenticate(Forge.GENERIC, "s", BODY, headers, now=now).keys
    else:
        with pytest.raises(WebhookRefusedError) as caught:
            authenticate(Forge.GENERIC, "s", BODY, headers, now=now)
        assert caught.value.refusal is Refusal.OUTSIDE_WINDOW


def test_generic_signature_covers_the_timestamp_and_the_body() -> None:
    now = 1_700_000_000
    good = generic(now)
    moved = {**good, "x-signature-timestamp": str(now + 1)}
    for body, headers in ((BODY, moved), (BODY + b" ", good)):
        with pytest.raises(WebhookRefusedError) as caught:
            authenticate(Forge.GENERIC, "s", body, headers, now=now)
        assert caught.value.refusal is Refusal.BAD_SIGNATURE
    other = authenticate(Forge.GENERIC, "s", BODY, generic(now - 1), now=now)
    assert authenticate(Forge.GENERIC, "s", BODY, good, now=now).keys != other.keys


def test_an_out_of_window_timestamp_with_a_wrong_signature_is_401_bad_signature() -> None:
    headers = generic(0, secret="other")
    with pytest.raises(WebhookRefusedError) as caught:
        authenticate(Forge.GENERIC, "s", BODY, headers, now=1_700_000_000)
    assert caught.value.refusal is Refusal.BAD_SIGNATURE


def test_delivery_ids_are_read_only_after_the_signature() -> None:
    unsigned = {"x-github-delivery": "x" * 10_000}
    with pytest.raises(WebhookRefusedError) as caught:
        authenticate(Forge.GITHUB, "s", BODY, unsigned, now=0)
    assert caught.value.refusal is Refusal.BAD_SIGNATURE
    signed = {**unsigned, "x-hub-signature-256": "sha256=" + sign("s", BODY)}
    with pytest.raises(WebhookRefusedError) as caught:
        authenticate(Forge.GITHUB, "s", BODY, signed, now=0)
    assert caught.value.refusal is Refusal.BAD_HEADER
    assert str(caught.value) == "X-GitHub-Delivery is not a delivery id (10000 characters)"


def test_payload_errors_are_refusals_of_reason_bad_payload() -> None:
    error = WebhookPayloadError("push event without a ref")
    assert error.refusal is Refusal.BAD_PAYLOAD and error.refusal.status == 400
