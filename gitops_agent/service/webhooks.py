"""Webhook authentication and payload parsing for GitHub, GitLab, Gitea and generic HMAC.

Pure functions. ``verify(forge, secret, body, headers)`` checks the forge's signature or token
in constant time; ``parse(forge, headers, body)`` turns a verified delivery into a
``PushHint`` (ref and after-SHA: a hint to poll now, never trusted for content), a
``PullRequestHint`` (for previews), ``PING`` or ``None`` (an event we ignore).
``WebhookPayloadError`` means the body is not what the event promises. Called by the HTTP
server (``service.server``) for ``POST /webhooks/<forge>``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

from gitops_agent.errors import GitOpsError

ZERO_SHA = "0" * 40


class Forge(enum.Enum):
    """Who sends a webhook; the path segment of its endpoint."""

    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"
    GENERIC = "generic"


class WebhookPayloadError(GitOpsError):
    """A signed delivery whose body cannot be read as its event."""


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    """Shared secrets per forge; an empty one disables that endpoint."""

    github: str = field(default="", repr=False)
    gitlab: str = field(default="", repr=False)
    gitea: str = field(default="", repr=False)
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


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` under ``secret`` (what the senders compute)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(forge: Forge, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when the delivery carries ``forge``'s valid signature or token for ``secret``."""
    if not secret:
        return False
    if forge is Forge.GITLAB:
        token = headers.get("x-gitlab-token", "")
        return hmac.compare_digest(token.encode(), secret.encode())
    if forge is Forge.GITEA:
        given = headers.get("x-gitea-signature", "")
    elif forge is Forge.GITHUB:
        given = _without_prefix(headers.get("x-hub-signature-256", ""))
    else:
        given = _without_prefix(headers.get("x-signature-256", ""))
    expected = sign(secret, body)
    return hmac.compare_digest(given.strip().lower().encode(), expected.encode())


def _without_prefix(value: str) -> str:
    algorithm, _, digest = value.partition("=")
    return digest if algorithm.strip().lower() == "sha256" else ""


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
