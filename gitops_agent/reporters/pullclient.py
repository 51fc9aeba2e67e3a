"""Common machinery of the pull-request clients: token, requests, pages, the marked comment.

``ForgePullRequests`` implements the ``PullRequests`` port once; a subclass per forge
(``github_pulls``, ``gitlab_pulls``, ``gitea_pulls``, ``bitbucket_pulls``) says which paths,
headers and bodies its API takes and how to read its answers (``parse_pull``,
``parse_comment``, ``parse_identity``, ``page_of``). The token is read from its environment
variable at each call and masked in every message; 429/5xx and network failures are retried
by ``http.send_json`` within the ``HttpPolicy``; every error is a ``ReporterError`` naming
the forge, the repository and what was being done. Listings are bounded (``ListingLimits``)
and never follow a page link off the API root. A comment is created by one request that is
not blindly repeated: after a failure the comment is looked for again first, so a POST the
forge executed but whose answer was lost never makes a second comment.
"""

from __future__ import annotations

import abc
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gitops_agent.errors import ConfigError, ReporterError
from gitops_agent.redaction import redact
from gitops_agent.reporters.answers import MalformedAnswerError, integer, listed
from gitops_agent.reporters.http import (
    MAX_RESPONSE,
    HttpPolicy,
    HttpResponse,
    HttpStatusError,
    read_token,
    send_json,
)
from gitops_agent.reporters.paging import ListingCutError, Page, PageLimits, next_link, walk
from gitops_agent.reporters.pulls import (
    PreviewComment,
    PullRequest,
    PullState,
    check_marker,
)
from gitops_agent.sources.urls import check_ref

log = logging.getLogger(__name__)
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]{1,100}")


@dataclass(frozen=True, slots=True)
class ListingLimits:
    """Bounds of the two listings: open pull requests, and the comments of one."""

    pulls: PageLimits = field(default_factory=lambda: PageLimits(max_pages=10, max_items=1000))
    comments: PageLimits = field(default_factory=lambda: PageLimits(max_pages=50, max_items=5000))


@dataclass(frozen=True, slots=True)
class Call:
    """One write: method, path under the API root, JSON body."""

    method: str
    path: str
    body: Mapping[str, Any]


class ForgePullRequests(abc.ABC):
    """Base of the pull-request clients (see the module docstring)."""

    host = "git host"
    default_api_url = ""
    comment_limit = 65536
    user_path = "/user"

    def __init__(
        self,
        repository: str,
        *,
        token_env: str,
        api_url: str = "",
        environ: Mapping[str, str] | None = None,
        policy: HttpPolicy | None = None,
        limits: ListingLimits | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token_env:
            raise ConfigError(f"{self.host} pull requests: reporter.tokenEnv is empty")
        api_url = api_url or self.default_api_url
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.host} pull requests: reporter.url {api_url!r} is not a URL")
        self.repository = self.check_repository(repository.strip("/"))
        self.token_env = token_env
        self.api_url = api_url.rstrip("/")
        self._environ = os.environ if environ is None else environ
        self._policy = policy or HttpPolicy()
        self._limits = limits or ListingLimits()
        self._sleep = sleep
        self._identities: dict[str, str | None] = {}
        self._lock = threading.Lock()

    # ----- what each forge says
    def check_repository(self, repository: str) -> str:
        """``repository`` when it names one (``owner/name``); else ``ConfigError``."""
        parts = repository.split("/")
        if len(parts) != 2 or not all(
            _SEGMENT.fullmatch(p) and p not in (".", "..") for p in parts
        ):
            raise ConfigError(
                f"{self.host} pull requests: reporter.repository {repository!r} is not owner/name"
            )
        return repository

    @abc.abstractmethod
    def auth_headers(self, token: str) -> dict[str, str]:
        """The headers that carry ``token`` (and the forge's required ones)."""

    @abc.abstractmethod
    def pulls_path(self, base_ref: str) -> str:
        """First page of the open pull requests for ``base_ref`` (path and query)."""

    @abc.abstractmethod
    def pull_path(self, number: int) -> str:
        """One pull request."""

    @abc.abstractmethod
    def comments_path(self, number: int) -> str:
        """First page of the comments of pull request ``number``."""

    @abc.abstractmethod
    def create_call(self, number: int, text: str) -> Call:
        """The request that adds comment ``text`` to pull request ``number``."""

    @abc.abstractmethod
    def edit_call(self, number: int, comment_id: int, text: str) -> Call:
        """The request that replaces comment ``comment_id``'s text."""

    @abc.abstractmethod
    def parse_pull(self, raw: Any) -> PullRequest:
        """A pull request from the forge's JSON; ``MalformedAnswerError`` when unreadable."""

    @abc.abstractmethod
    def parse_comment(self, raw: Any) -> PreviewComment | None:
        """A comment from the forge's JSON; ``None`` for one that is no one's words
        (deleted, a system note)."""

    @abc.abstractmethod
    def parse_identity(self, raw: Any) -> str:
        """Who the token is, as ``PreviewComment.author`` names comment authors."""

    def page_of(self, body: Any, response: HttpResponse, url: str) -> Page:
        """One page's items and the next page's URL: a JSON list and a ``Link`` header."""
        return listed(body), next_link(response.header("Link"))

    def hide(self, marker: str) -> str:
        """``marker`` as a line the forge's markdown does not show."""
        return f"<!-- {marker} -->"

    def complete(self, pull: PullRequest) -> PullRequest:
        """``pull`` with what its listing left out (Bitbucket: the full head SHA)."""
        return pull

    # ----- the port
    @property
    def where(self) -> str:
        """The forge and repository, for messages."""
        return f"{self.host} {self.repository}"

    def open_pulls(self, base_ref: str) -> list[PullRequest]:
        """Open pull requests targeting ``base_ref``, newest first, within the limits."""
        base_ref = base_ref.removeprefix("refs/heads/")
        try:
            check_ref(base_ref, what="base branch")
        except ConfigError as exc:
            raise ReporterError(f"{self.where}: {exc}") from None
        found: dict[int, PullRequest] = {}
        skipped: list[str] = []
        listing = self._items(
            self.pulls_path(base_ref), what="listing pull requests", limits=self._limits.pulls
        )
        try:
            for raw in listing:
                pull = self._listed_pull(raw, base_ref, skipped)
                if pull is not None and pull.number not in found:
                    found[pull.number] = pull
        except ListingCutError as exc:
            log.warning("%s; previews see the first %d", exc, len(found))
        if skipped:
            log.warning(
                "%s: %d pull requests skipped as unreadable (first: %s)",
                self.where,
                len(skipped),
                skipped[0],
            )
        return [self.complete(found[number]) for number in sorted(found, reverse=True)]

    def pull(self, number: int) -> PullRequest:
        """Pull request ``number`` in whatever state it is."""
        what = f"reading pull request {_number(number)}"
        raw = self._get_json(self.pull_path(number), what=what)
        try:
            return self.complete(self.parse_pull(raw))
        except MalformedAnswerError as exc:
            raise ReporterError(f"{self.where}: {what}: unreadable answer: {exc}") from None

    def find_comment(self, number: int, marker: str) -> PreviewComment | None:
        """The marked comment of pull request ``number`` (see ``PullRequests``)."""
        line = self.hide(check_marker(marker))
        me = self._identity()
        what = f"listing the comments of pull request {_number(number)}"
        for raw in self._items(self.comments_path(number), what=what, limits=self._limits.comments):
            try:
                comment = self.parse_comment(raw)
            except MalformedAnswerError:
                continue
            if comment is None or (me is not None and comment.author != me):
                continue
            if comment.body.partition("\n")[0].rstrip() == line:
                return comment
        return None

    def upsert_comment(self, number: int, marker: str, body: str) -> int:
        """Edit the marked comment of ``number`` to ``body``, else create it; its id."""
        key = check_marker(marker)
        text = self.compose(key, body)
        attempt = 1
        while True:
            found = self.find_comment(number, key)
            if found is not None:
                if _normal(found.body) != _normal(text):
                    what = f"editing comment {found.id} of pull request {number}"
                    self._write(self.edit_call(number, found.id, text), what=what)
                return found.id
            try:
                return self._create(number, text)
            except HttpStatusError as exc:
                if exc.retry_after is None or attempt >= self._policy.backoff.max_attempts:
                    raise
                wait = max(
                    self._policy.backoff.delay(attempt),
                    min(exc.retry_after, self._policy.max_retry_after),
                )
                log.warning("%s; looking for the comment again, then retry in %.2fs", exc, wait)
                self._sleep(wait)
                attempt += 1

    def compose(self, marker: str, body: str) -> str:
        """The comment text: the hidden marker line, a blank line, ``body`` (without a marker
        line of its own, in either form), cut to ``comment_limit`` characters."""
        first, _, rest = body.lstrip("\n").partition("\n")
        if first.strip() in (f"<!-- {marker} -->", f"[//]: # ({marker})"):
            body = rest.lstrip("\n")
        text = f"{self.hide(marker)}\n\n{body}"
        if len(text) <= self.comment_limit:
            return text
        note = f"\n\n… (cut: {self.host} takes comments of at most {self.comment_limit} characters)"
        return text[: self.comment_limit - len(note)] + note

    # ----- the transport, for the other clients of this forge (issues)
    def listing(self, path: str, *, what: str, limits: PageLimits) -> Iterator[Any]:
        """The items of a paginated listing under the API root, within ``limits``."""
        return self._items(path, what=what, limits=limits)

    def send(self, call: Call, *, what: str, once: bool = False) -> Any:
        """One write; its JSON answer (None when empty). ``once``: not retried (a creation
        whose answer was lost is looked for before it is sent again)."""
        policy = None
        if once:
            policy = replace(self._policy, backoff=replace(self._policy.backoff, max_attempts=1))
        return self._json(self._call(call.method, call.path, call.body, what, policy=policy), what)

    def identity(self) -> str | None:
        """Who the token is, as ``parse_identity`` names users (None: the forge will not say)."""
        return self._identity()

    # ----- requests
    def _listed_pull(self, raw: Any, base_ref: str, skipped: list[str]) -> PullRequest | None:
        try:
            pull = self.parse_pull(raw)
        except MalformedAnswerError as exc:
            skipped.append(str(exc))
            return None
        if not pull.fetch_ref:
            skipped.append(f"#{pull.number}: its head cannot be fetched (the fork is gone)")
            return None
        return pull if pull.state is PullState.OPEN and pull.base_ref == base_ref else None

    def _create(self, number: int, text: str) -> int:
        what = f"commenting on pull request {number}"
        once = replace(self._policy, backoff=replace(self._policy.backoff, max_attempts=1))
        call = self.create_call(number, text)
        answer = self._json(self._call(call.method, call.path, call.body, what, policy=once), what)
        try:
            return integer(answer, "id")
        except MalformedAnswerError as exc:
            raise ReporterError(f"{self.where}: {what}: unreadable answer: {exc}") from None

    def _write(self, call: Call, *, what: str) -> None:
        self._call(call.method, call.path, call.body, what)

    def _identity(self) -> str | None:
        """Who the token is (``None`` when the forge will not say), asked once per token."""
        digest = hashlib.sha256(read_token(self.token_env, self._environ, what=self.where).encode())
        key = digest.hexdigest()
        with self._lock:
            if key in self._identities:
                return self._identities[key]
        identity = self._ask_identity()
        with self._lock:
            self._identities = {key: identity}
        return identity

    def _ask_identity(self) -> str | None:
        try:
            raw = self._get_json(self.user_path, what="asking who the token is")
        except HttpStatusError as exc:
            if exc.status not in (403, 404):
                raise
            log.info("%s: the forge does not say who the token is; markers alone decide", exc)
            return None
        try:
            return self.parse_identity(raw)
        except MalformedAnswerError:
            return None

    def _items(self, path: str, *, what: str, limits: PageLimits) -> Iterator[Any]:
        def fetch(url: str) -> Page:
            response = self._call("GET", url, None, what, max_response=limits.max_page_bytes)
            try:
                return self.page_of(self._json(response, what), response, url)
            except MalformedAnswerError as exc:
                raise ReporterError(f"{self.where}: {what}: unreadable answer: {exc}") from None

        where = f"{self.where}: {what}"
        return walk(fetch, self.api_url + path, limits=limits, api_url=self.api_url, what=where)

    def _get_json(self, path: str, *, what: str) -> Any:
        return self._json(self._call("GET", self.api_url + path, None, what), what)

    def _call(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None,
        what: str,
        *,
        policy: HttpPolicy | None = None,
        max_response: int = MAX_RESPONSE,
    ) -> HttpResponse:
        token = read_token(self.token_env, self._environ, what=f"{self.where} pull requests")
        if not url.startswith(("http://", "https://")):
            url = self.api_url + url
        try:
            return send_json(
                method,
                url,
                body,
                headers=self.auth_headers(token),
                policy=policy or self._policy,
                secrets=(token,),
                sleep=self._sleep,
                max_response=max_response,
            )
        except HttpStatusError as exc:
            message = redact(f"{self.where}: {what}: {exc}", (token,))
            raise HttpStatusError(message, status=exc.status, retry_after=exc.retry_after) from None

    def _json(self, response: HttpResponse, what: str) -> Any:
        if response.truncated:
            raise ReporterError(
                f"{self.where}: {what}: the answer is larger than {len(response.body)} bytes; "
                "not read"
            )
        try:
            return json.loads(response.body) if response.body.strip() else None
        except (ValueError, RecursionError):
            raise ReporterError(f"{self.where}: {what}: the answer is not JSON") from None


def _normal(text: str) -> str:
    """A comment as forges may store it: line ends and trailing space are theirs to change."""
    return text.replace("\r\n", "\n").rstrip()


def _number(number: int) -> int:
    """``number`` when it can name a pull request; else ``ReporterError``."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ReporterError(f"{number!r} is not a pull request number")
    return number
