"""JSON over HTTP for the forge reporters, with bounded retries.

``send_json(method, url, body, headers=..., policy=...)`` sends one JSON request with
``urllib.request`` and retries on 5xx, 429, rate-limited 403 and network errors, waiting the
larger of the backoff delay and the server's ``Retry-After`` (seconds or HTTP date), within
the policy's attempts and time budget. Any other 4xx, or retries exhausted, raises
``HttpStatusError`` (a ``ReporterError``) carrying the status, the forge's own message with
every secret masked, and ``retry_after`` (``None`` when the failure is not transient). At most
``max_response`` bytes of an answer are read (``HttpResponse.truncated`` says there was more).
Called by the GitHub, GitLab, Gitea and Bitbucket reporters and pull-request clients.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_agent import __version__
from gitops_agent.backoff import BackoffPolicy
from gitops_agent.errors import ConfigError, ReporterError
from gitops_agent.redaction import redact, strip_userinfo

USER_AGENT = f"gitops-agent/{__version__}"
MAX_RESPONSE = 1 << 20

log = logging.getLogger(__name__)


class HttpStatusError(ReporterError):
    """A git host answered with an error status (``status`` is 0 for network failures).

    ``retry_after`` is the wait the host asked for (0 when it named none) when the failure is
    transient (429, 5xx, rate-limited 403, network), ``None`` when retrying will not help.
    """

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """Timeouts and retry bounds of reporter requests."""

    backoff: BackoffPolicy = field(
        default_factory=lambda: BackoffPolicy(initial=1.0, max_delay=20.0, max_elapsed=60.0)
    )
    timeout: float = 10.0
    max_retry_after: float = 60.0


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A successful response."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    truncated: bool = False

    def header(self, name: str) -> str:
        """A header by case-insensitive name, or ``""``."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")

    def json(self) -> Any:
        """The body as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body.strip() else None


def read_token(token_env: str, environ: Mapping[str, str], *, what: str) -> str:
    """The token in environment variable ``token_env``; ``ConfigError`` when unset."""
    if not token_env:
        raise ConfigError(f"{what}: reporter.tokenEnv names no environment variable")
    token = environ.get(token_env, "")
    if not token:
        raise ReporterError(f"{what}: environment variable {token_env} is not set or empty")
    return token


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def send_json(
    method: str,
    url: str,
    body: Mapping[str, Any] | None,
    *,
    headers: Mapping[str, str],
    policy: HttpPolicy,
    secrets: Iterable[str] = (),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_response: int = MAX_RESPONSE,
) -> HttpResponse:
    """Send one JSON request, retrying transient failures within ``policy``."""
    secrets = tuple(secrets)
    data = None if body is None else json.dumps(body).encode("utf-8")
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    started = clock()
    attempt = 1
    while True:
        outcome = _attempt(
            method,
            url,
            data=data,
            headers=all_headers,
            timeout=policy.timeout,
            secrets=secrets,
            limit=max_response,
        )
        if isinstance(outcome, HttpResponse):
            return outcome
        error = outcome
        retry_after = error.retry_after
        if retry_after is None or attempt >= policy.backoff.max_attempts:
            raise error
        wait = max(policy.backoff.delay(attempt), min(retry_after, policy.max_retry_after))
        if clock() - started + wait > policy.backoff.max_elapsed:
            raise error
        log.warning("%s; retry %d in %.2fs", error, attempt, wait)
        sleep(wait)
        attempt += 1


def _attempt(
    method: str,
    url: str,
    *,
    data: bytes | None,
    headers: Mapping[str, str],
    timeout: float,
    secrets: tuple[str, ...],
    limit: int,
) -> HttpResponse | HttpStatusError:
    """One try: a response, or an error carrying (when retryable) the server's wait hint."""
    safe_url = redact(strip_userinfo(url), secrets)
    request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read(limit + 1)
            headers_seen = dict(response.headers.items())
            return HttpResponse(
                response.status, payload[:limit], headers_seen, len(payload) > limit
            )
    except urllib.error.HTTPError as exc:
        with exc:
            payload = exc.read(MAX_RESPONSE)
            hint = _retry_hint(exc.code, exc.headers)
        detail = redact(forge_message(payload), secrets)
        message = f"{method} {safe_url} answered {exc.code}: {detail}"
        return HttpStatusError(message, status=exc.code, retry_after=hint)
    except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        message = redact(f"{method} {safe_url} failed: {reason}", secrets)
        return HttpStatusError(message[:1000], retry_after=0.0)
    except ValueError as exc:  # a URL urllib cannot send (a control character, no host...)
        return HttpStatusError(redact(f"{method} {safe_url} not sent: {exc}", secrets)[:1000])


def _retry_hint(status: int, headers: Any) -> float | None:
    """How long the server asks us to wait, or ``None`` when the error is permanent."""
    retry_after = retry_after_seconds(headers.get("Retry-After") if headers else None)
    if status == 429 or status >= 500:
        return retry_after or 0.0
    if status == 403 and (retry_after is not None or headers.get("X-RateLimit-Remaining") == "0"):
        return retry_after or 0.0
    return None


def forge_message(payload: bytes, *, limit: int = 300) -> str:
    """The human part of a forge's error body (``message`` / ``error`` fields), else text;
    at most ``limit`` characters, whatever the body holds."""
    text = payload.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return text[:limit] or "(empty body)"
    return _message_of(body, text)[:limit]


def _message_of(body: Any, text: str) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            fields = error.get("fields")
            return f"{error.get('message', '')} {json.dumps(fields) if fields else ''}".strip()
        parts = [str(body[k]) for k in ("message", "error") if body.get(k)]
        if body.get("errors"):
            parts.append(json.dumps(body["errors"])[:300])
        if parts:
            return " ".join(parts)
    return text
