"""Helpers: raw HTTP calls to the emulators and a recording sleep."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from gitops_agent.backoff import BackoffPolicy
from gitops_agent.reporters.http import HttpPolicy

FAST = HttpPolicy(
    backoff=BackoffPolicy(initial=0.001, max_delay=0.01, max_attempts=4, max_elapsed=10),
    timeout=5,
)
TOKEN = "forge-token-0123456789"
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


class Sleeps:
    """A sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def call(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One raw request; returns (status, parsed JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"User-Agent": "tests", **(headers or {})}
    if data is not None:
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as exc:
        with exc:
            payload = exc.read()
        return exc.code, json.loads(payload) if payload else None
