"""Common shape of the forge reporters: validate, read the token, post, map errors.

``ForgeReporter`` holds the repository, the API root, the token's environment variable and
the HTTP policy; a subclass says which request a ``CommitStatus`` becomes
(``build_request``) and which forge errors mean "already so" (``tolerated``). The token is
read at each report (so a rotated secret is picked up) and masked in every message.
Subclassed by ``github``, ``gitlab``, ``gitea`` and ``bitbucket``.
"""

from __future__ import annotations

import abc
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitops_agent.errors import ConfigError, ReporterError
from gitops_agent.redaction import redact
from gitops_agent.reporters.base import CommitStatus
from gitops_agent.reporters.http import HttpPolicy, HttpStatusError, read_token, send_json

_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


@dataclass(frozen=True, slots=True)
class ForgeRequest:
    """One API call: method, path under the API root, JSON body, extra headers."""

    method: str
    path: str
    body: Mapping[str, Any]
    headers: Mapping[str, str]


class ForgeReporter(abc.ABC):
    """Base of the HTTP commit-status reporters."""

    host = "git host"
    default_api_url = ""

    def __init__(
        self,
        repository: str,
        *,
        token_env: str,
        api_url: str = "",
        environ: Mapping[str, str] | None = None,
        policy: HttpPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not repository.strip("/"):
            raise ConfigError(f"{self.host} reporter: reporter.repository is empty")
        if not token_env:
            raise ConfigError(f"{self.host} reporter: reporter.tokenEnv is empty")
        api_url = api_url or self.default_api_url
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.host} reporter: reporter.url {api_url!r} is not a URL")
        self.repository = repository.strip("/")
        self.token_env = token_env
        self.api_url = api_url.rstrip("/")
        self._environ = os.environ if environ is None else environ
        self._policy = policy or HttpPolicy()
        self._sleep = sleep

    @abc.abstractmethod
    def build_request(self, revision: str, status: CommitStatus, token: str) -> ForgeRequest:
        """The API call that posts ``status`` for ``revision`` (each forge's own)."""

    def tolerated(self, error: HttpStatusError) -> bool:
        """True when the forge's error means the status is already as asked."""
        return False

    def report(self, revision: str, status: CommitStatus) -> None:
        """Post ``status`` for ``revision``; ``ReporterError`` when the host refuses."""
        if not _SHA.match(revision):
            raise ReporterError(f"{self.host}: {revision!r} is not a full commit SHA")
        token = read_token(self.token_env, self._environ, what=f"{self.host} reporter")
        request = self.build_request(revision, status, token)
        try:
            send_json(
                request.method,
                self.api_url + request.path,
                request.body,
                headers=request.headers,
                policy=self._policy,
                secrets=(token,),
                sleep=self._sleep,
            )
        except HttpStatusError as exc:
            if self.tolerated(exc):
                return
            raise HttpStatusError(
                redact(f"{self.host} status for {revision[:12]} not posted: {exc}", (token,)),
                status=exc.status,
            ) from None
