"""Secret masking for log lines, exception messages and anything shown to a person.

Pure helpers, no I/O. ``redact(text, secrets)`` replaces every known secret value and every
token-shaped fragment (URL userinfo, ``Authorization`` / ``PRIVATE-TOKEN`` header values,
well-known token prefixes) with ``***``. ``strip_userinfo(url)`` removes credentials from a
URL; ``quoted(value)`` shows a value a user gave (a URL, a ref) in a one-line message, masked,
escaped and cut. ``RedactingFilter`` is a ``logging.Filter`` the agent installs on its handlers so no log
record carries a secret. Called by the git source, the reporters and the HTTP server before
they put a URL, a git error or an HTTP error body into a message.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# Secrets shorter than this are not masked as raw values: masking "a" would ruin every text.
MIN_SECRET_LENGTH = 4

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_HEADER_VALUE = re.compile(
    r"(?P<name>\b(?:authorization|proxy-authorization|private-token|x-gitlab-token|"
    r"x-hub-signature(?:-256)?|x-gitea-signature|x-signature-256)"
    r"\s*[:=]\s*)"
    r"(?P<scheme>(?:basic|bearer|token)\s+)?(?P<value>[^\s'\",;]+)",
    re.IGNORECASE,
)
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|glpat-[A-Za-z0-9_-]{16,}|"
    r"xox[baprs]-[A-Za-z0-9-]{10,})"
)


def strip_userinfo(url: str) -> str:
    """Return ``url`` without ``user:password@``; a plain path or scp-like URL is unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _mask_userinfo(url: str) -> str:
    """``url`` with its userinfo (whatever characters it holds) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""
    if "@" not in authority:
        return url
    return f"{scheme}://{MASK}@{rest[len(authority.rsplit('@', 1)[0]) + 1 :]}"


def quoted(value: str, *, limit: int = 120) -> str:
    """``value`` fit for a one-line message: userinfo and token shapes masked, quoted with
    control characters escaped (``repr``), cut to ``limit`` characters."""
    text = redact(_mask_userinfo(value))
    if len(text) > limit:
        return repr(text[:limit]) + f"... ({len(value)} characters)"
    return repr(text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known ``secrets`` and token-shaped fragments in ``text``."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len)[::-1]:
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)
    text = _HEADER_VALUE.sub(lambda m: m.group("name") + (m.group("scheme") or "") + MASK, text)
    return _TOKEN_SHAPES.sub(MASK, text)


class SecretRegistry:
    """A thread-safe set of secret values known to the process (tokens, webhook secrets)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        """Remember ``secret`` so later ``redact`` calls mask it."""
        if len(secret) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._secrets.add(secret)

    def snapshot(self) -> frozenset[str]:
        """The secrets known now."""
        with self._lock:
            return frozenset(self._secrets)

    def redact(self, text: str) -> str:
        """``redact(text, self.snapshot())``."""
        return redact(text, self.snapshot())


class RedactingFilter(logging.Filter):
    """Rewrites each log record's message (and exception text) with secrets masked."""

    def __init__(self, registry: SecretRegistry) -> None:
        super().__init__()
        self._registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the formatted message (and the structured ``fields`` a record may carry for
        the JSON format) in place; never drops a record."""
        record.msg = self._registry.redact(record.getMessage())
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = _redacted_fields(fields, self._registry)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = self._registry.redact(f"{type(exc).__name__}: {exc}")
            record.exc_info = None
        return True


def _redacted_fields(fields: dict[str, Any], registry: SecretRegistry) -> dict[str, Any]:
    """``fields`` with every secret masked (as JSON text, read back)."""
    text = registry.redact(json.dumps(fields, default=str))
    try:
        found = json.loads(text)
    except ValueError:
        return {"fields": "redacted"}
    return found if isinstance(found, dict) else {"fields": "redacted"}
