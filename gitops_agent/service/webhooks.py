"""Webhook authentication and payload parsing for GitHub, GitLab, Gitea, Bitbucket and
generic HMAC.

Pure functions. ``verify(forge, secret, body, headers)`` checks the forge's signature or token
in constant time; ``authenticate(forge, secret, body, headers, now=...)`` does that first, then
checks the generic endpoint's signed timestamp against its 5-minute window and reads the
delivery id header, and returns the ``Delivery`` (its replay keys); ``parse(forge, headers,
body)`` turns a verified delivery into a ``PushHint`` (ref and after-SHA: a hint to poll now,
never trusted for content), a ``PullRequestHint`` (for previews), ``PING`` or ``None`` (an
event we ignore). Both raise ``WebhookRefusedError`` (``service.refusals``) naming the reason;
``WebhookPayloadError``, one of them, means the body is not what the event promises. Called
by the HTTP server (``service.server``) for ``POST /webhooks/<forge>``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

from gitops_agent.service.refusals import Refusal, WebhookRefusedError

ZERO_SHA = "0" * 40
TIMESTAMP_HEADER = "x-signature-timestamp"
SIGNATURE_WINDOW = 300  # seconds a generic delivery's signed timestamp may be off the clock
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class Forge(enum.Enum):
    """Who sends a webhook; the path segment of its endpoint."""

    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"
    BITBUCKET = "bitbucket"
    GENERIC = "generic"


class WebhookPayloadError(WebhookRefusedError):
    """A signed delivery whose body cannot be read as its event."""

    def __init__(self, message: str) -> None:
        super().__init__(Refusal.BAD_PAYLOAD, message)


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    """Shared secrets per forge; an empty one disables that endpoint."""

    github: str = field(default="", repr=False)
    gitlab: str = field(default="", repr=False)
    gitea: str = field(default="", repr=False)
    bitbucket: str = field(default="", repr=False)
    generic: str = field(default="", repr=False)

    def for_forge(self, forge: Forge) -> str:
        """The secret of ``forge``."""
        return str(getattr(self, forge.value))


@dataclass(frozen=True, slots=True)
class PushHint:
    """A push happened: poll ``ref`` now. ``after`` is empty when the ref was deleted."""

    forge: Forge
    ref: str
    after: str
    repository: str = ""


@dataclass(frozen=True, slots=True)
class PullRequestHint:
    """A pull/merge request was opened, updated, closed...; fork when head repo differs."""

    forge: Forge
    action: str
    number: int
    head_sha: str
    head_ref: str
    base_ref: str
    head_repository: str
    base_repository: str

    @property
    def from_fork(self) -> bool:
        """True when the head lives in another repository than the base."""
        return self.head_repository != self.base_repository


class _Ping:
    def __repr__(self) -> str:
        return "PING"


PING: Final = _Ping()
Event = PushHint | PullRequestHint | _Ping | None

# The header each forge sends with every delivery (GitHub sends it again on a redelivery).
DELIVERY_HEADERS: Final = {
    Forge.GITHUB: "x-github-delivery",
    Forge.GITEA: "x-gitea-delivery",
    Forge.GITLAB: "x-gitlab-event-uuid",
    Forge.BITBUCKET: "x-request-uuid",
}
_DISPLAY = {
    "x-github-delivery": "X-GitHub-Delivery",
    "x-gitea-delivery": "X-Gitea-Delivery",
    "x-gitlab-event-uuid": "X-Gitlab-Event-UUID",
    "x-request-uuid": "X-Request-UUID",
    TIMESTAMP_HEADER: "X-Signature-Timestamp",
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """A genuine delivery: the keys that identify it to the replay cache, and how to name it
    in a log line (its delivery id, or a phrase: never a signature)."""

    keys: tuple[bytes, ...]
    label: str


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` under ``secret`` (what the senders compute)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_generic(secret: str, timestamp: int | str, body: bytes) -> str:
    """The generic endpoint's signature: hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    return sign(secret, f"{timestamp}.".encode() + body)


def verify(forge: Forge, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when the delivery carries ``forge``'s valid signature or token for ``secret``
    (``headers`` have lower-case names)."""
    if not secret:
        return False
    if forge is Forge.GITLAB:
        token = headers.get("x-gitlab-token", "")
        return hmac.compare_digest(token.encode(), secret.encode())
    given = _signature(forge, headers)
    if forge is Forge.GENERIC:
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        if not _TIMESTAMP.fullmatch(timestamp):
            return False
        expected = sign_generic(secret, timestamp, body)
    else:
        expected = sign(secret, body)
    return hmac.compare_digest(given.encode(), expected.encode())


def _signature(forge: Forge, headers: Mapping[str, str]) -> str:
    if forge is Forge.GITEA:
        given = headers.get("x-gitea-signature", "")
    elif forge is Forge.GITHUB:
        given = _without_prefix(headers.get("x-hub-signature-256", ""))
    elif forge is Forge.BITBUCKET:  # Bitbucket's X-Hub-Signature is sha256=<hex>
        given = _without_prefix(headers.get("x-hub-signature", ""))
    else:
        given = _without_prefix(headers.get("x-signature-256", ""))
    return given.strip().lower()


def _without_prefix(value: str) -> str:
    algorithm, _, digest = value.partition("=")
    return digest if algorithm.strip().lower() == "sha256" else ""


def authenticate(
    forge: Forge, secret: str, body: bytes, headers: Mapping[str, str], *, now: float
) -> Delivery:
    """The genuine delivery ``forge`` sent, or ``WebhookRefusedError``. The delivery id is read
    only once the signature held, so that unsigned requests never reach the replay cache."""
    if forge is Forge.GENERIC:
        _required(headers, TIMESTAMP_HEADER, _TIMESTAMP, "unix seconds")
    if not verify(forge, secret, body, headers):
        raise WebhookRefusedError(Refusal.BAD_SIGNATURE, "invalid or missing signature")
    if forge is Forge.GENERIC:
        _check_window(int(headers[TIMESTAMP_HEADER]), now)
        return Delivery((_key(forge, "signature", _signature(forge, headers)),), "")
    header = DELIVERY_HEADERS[forge]
    delivery_id = _required(headers, header, _DELIVERY_ID, "a delivery id")
    if forge is Forge.GITLAB:  # one GitLab request may fire hooks of several events
        event = headers.get("x-gitlab-event", "")
        return Delivery((_key(forge, event, delivery_id),), delivery_id)
    # the delivery id is not covered by the HMAC: a signed body seen before is a replay too
    keys = (_key(forge, "id", delivery_id), _key(forge, "signature", _signature(forge, headers)))
    return Delivery(keys, delivery_id)


def _required(headers: Mapping[str, str], name: str, grammar: re.Pattern[str], what: str) -> str:
    value = headers.get(name)
    if value is None:
        raise WebhookRefusedError(Refusal.MISSING_HEADER, f"{_DISPLAY[name]} header is required")
    if not grammar.fullmatch(value):
        raise WebhookRefusedError(
            Refusal.BAD_HEADER, f"{_DISPLAY[name]} is not {what} ({len(value)} characters)"
        )
    return value


def _check_window(timestamp: int, now: float) -> None:
    skew = now - timestamp
    if abs(skew) > SIGNATURE_WINDOW:
        when = f"{int(skew)} s old" if skew > 0 else f"{int(-skew)} s in the future"
        raise WebhookRefusedError(
            Refusal.OUTSIDE_WINDOW,
            f"X-Signature-Timestamp is {when}; the window is {SIGNATURE_WINDOW} s",
        )


def _key(forge: Forge, kind: str, value: str) -> bytes:
    material = "\0".join((forge.value, kind, value)).encode("utf-8", "backslashreplace")
    return hashlib.sha256(material).digest()


def parse(forge: Forge, headers: Mapping[str, str], body: bytes) -> Event:
    """The event a verified delivery announces (``headers`` have lower-case names)."""
    payload = _payload(headers, body)
    if forge is Forge.GITHUB:
        return _github_like(forge, headers.get("x-github-event", ""), payload)
    if forge is Forge.GITEA:
        event = headers.get("x-gitea-event") or headers.get("x-github-event", "")
        return _github_like(forge, event, payload)
    if forge is Forge.GITLAB:
        return _gitlab(headers.get("x-gitlab-event", ""), payload)
    if forge is Forge.BITBUCKET:
        return _bitbucket(headers.get("x-event-key", ""), payload)
    return _push(forge, payload, after_key="after" if "after" in payload else "revision")


def _payload(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    try:
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body = parse_qs(body.decode("utf-8"))["payload"][0].encode()
        data = json.loads(body.decode("utf-8") or "{}", parse_constant=_no_constant)
    except (ValueError, KeyError, IndexError) as exc:
        raise WebhookPayloadError(f"body is not a JSON event: {exc}") from None
    except RecursionError:
        raise WebhookPayloadError("body is not a JSON event: nested too deeply") from None
    if not isinstance(data, dict):
        raise WebhookPayloadError("body is not a JSON object")
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _github_like(forge: Forge, event: str, payload: dict[str, Any]) -> Event:
    if event == "ping":
        return PING
    if event == "push":
        return _push(forge, payload, after_key="after")
    if event == "pull_request":
        pull = _dict(payload, "pull_request")
        head, base = _dict(pull, "head"), _dict(pull, "base")
        return PullRequestHint(
            forge=forge,
            action=str(payload.get("action", "")),
            number=_int(payload.get("number", pull.get("number"))),
            head_sha=str(head.get("sha", "")),
            head_ref=str(head.get("ref", "")),
            base_ref=str(base.get("ref", "")),
            head_repository=str(_dict(head, "repo").get("full_name", "")),
            base_repository=str(_dict(base, "repo").get("full_name", "")),
        )
    return None


def _gitlab(event: str, payload: dict[str, Any]) -> Event:
    if event in ("Push Hook", "Tag Push Hook"):
        return _push(Forge.GITLAB, payload, after_key="after")
    if event == "Merge Request Hook":
        attrs = _dict(payload, "object_attributes")
        source, target = _dict(attrs, "source"), _dict(attrs, "target")
        return PullRequestHint(
            forge=Forge.GITLAB,
            action=str(attrs.get("action", "")),
            number=_int(attrs.get("iid")),
            head_sha=str(_dict(attrs, "last_commit").get("id", "")),
            head_ref=str(attrs.get("source_branch", "")),
            base_ref=str(attrs.get("target_branch", "")),
            head_repository=str(source.get("path_with_namespace", attrs.get("source_project_id"))),
            base_repository=str(target.get("path_with_namespace", attrs.get("target_project_id"))),
        )
    return None


def _bitbucket(event: str, payload: dict[str, Any]) -> Event:
    """``repo:push`` (the last change's new branch or tag) and ``pullrequest:*``; the head
    commit Bitbucket names is abbreviated: a hint, resolved when the pull request is listed."""
    if event == "repo:push":
        changes = _dict(payload, "push").get("changes")
        last = changes[-1] if isinstance(changes, list) and changes else {}
        new = _dict(last if isinstance(last, dict) else {}, "new")
        kind = "tags" if new.get("type") == "tag" else "heads"
        name = new.get("name")
        ref = f"refs/{kind}/{name}" if isinstance(name, str) and name else ""
        after = str(_dict(new, "target").get("hash", ""))
        repository = _dict(payload, "repository").get("full_name", "")
        return _push(
            Forge.BITBUCKET,
            {"ref": ref, "after": after, "repository": {"full_name": repository}},
            after_key="after",
        )
    if event.startswith("pullrequest:"):
        pull = _dict(payload, "pullrequest")
        source, destination = _dict(pull, "source"), _dict(pull, "destination")
        return PullRequestHint(
            forge=Forge.BITBUCKET,
            action=event.removeprefix("pullrequest:"),
            number=_int(pull.get("id")),
            head_sha=str(_dict(source, "commit").get("hash", "")),
            head_ref=str(_dict(source, "branch").get("name", "")),
            base_ref=str(_dict(destination, "branch").get("name", "")),
            head_repository=str(_dict(source, "repository").get("full_name", "")),
            base_repository=str(_dict(destination, "repository").get("full_name", "")),
        )
    return None


def _push(forge: Forge, payload: dict[str, Any], *, after_key: str) -> PushHint:
    ref = payload.get("ref")
    if not isinstance(ref, str) or not ref:
        raise WebhookPayloadError("push event without a ref")
    after = str(payload.get(after_key) or "")
    if after == ZERO_SHA or payload.get("deleted") is True:
        after = ""
    repo = _dict(payload, "repository").get("full_name") or _dict(payload, "project").get(
        "path_with_namespace", ""
    )
    return PushHint(forge=forge, ref=ref, after=after, repository=str(repo))


def _dict(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        shown = value if isinstance(value, str | int | float) else type(value).__name__
        raise WebhookPayloadError(f"pull request number {shown!r:.40} is not a number") from None
