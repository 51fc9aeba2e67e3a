"""Why and how a webhook request is refused, and the memory that refuses replays.

``Refusal`` is the closed set of reasons (each with its HTTP status); ``WebhookRefusedError``
carries one with a message fit for the sender and the log (it never quotes a body, a
signature or a raw header value). ``content_length`` and ``single_headers`` check a
request's framing and security headers before anything is read or verified.
``ReplayCache`` remembers the replay keys of genuine deliveries (bounded in count and age,
thread-safe); ``RefusalLog`` logs refusals with the reason and the peer address, at most a
few lines per reason per minute and then a count. Used by ``service.webhooks`` and by the
HTTP server (``service.server``).
"""

from __future__ import annotations

import enum
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gitops_agent.errors import GitOpsError

MAX_LENGTH_DIGITS = 15
LOG_WINDOW = 60.0
MAX_LOGGED_MESSAGE = 200

# Headers a genuine sender writes once; a second copy is refused rather than guessed between.
SINGLE_HEADERS = frozenset(
    {
        "content-type",
        "x-github-event",
        "x-github-delivery",
        "x-hub-signature-256",
        "x-gitea-event",
        "x-gitea-delivery",
        "x-gitea-signature",
        "x-gitlab-event",
        "x-gitlab-event-uuid",
        "x-gitlab-token",
        "x-signature-256",
        "x-signature-timestamp",
    }
)
_DIGITS = re.compile(r"[0-9]+")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class Refusal(enum.Enum):
    """Why a webhook request was refused; the value is the log and metric label."""

    BAD_SIGNATURE = "bad-signature"
    OUTSIDE_WINDOW = "timestamp-outside-window"
    MISSING_HEADER = "missing-header"
    BAD_HEADER = "bad-header"
    REPLAY = "replay"
    BAD_CONTENT_LENGTH = "bad-content-length"
    SMUGGLING = "transfer-encoding-with-content-length"
    LENGTH_REQUIRED = "length-required"
    TOO_LARGE = "too-large"
    SHORT_BODY = "short-body"
    BODY_TIMEOUT = "body-timeout"
    BAD_PAYLOAD = "bad-payload"

    @property
    def status(self) -> int:
        """The HTTP status answered for this reason."""
        return _STATUS.get(self, 400)

    @property
    def outcome(self) -> str:
        """The ``outcome`` label of ``gitops_agent_webhooks_total`` for this reason."""
        return _OUTCOME.get(self.status, "invalid")


_STATUS = {
    Refusal.BAD_SIGNATURE: 401,
    Refusal.OUTSIDE_WINDOW: 401,
    Refusal.REPLAY: 409,
    Refusal.LENGTH_REQUIRED: 411,
    Refusal.TOO_LARGE: 413,
    Refusal.BODY_TIMEOUT: 408,
}
_OUTCOME = {401: "unauthorized", 409: "replay", 413: "too_large"}


class WebhookRefusedError(GitOpsError):
    """A webhook request is refused for ``refusal``; ``str(err)`` says why, to the sender."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        self.refusal = refusal
        super().__init__(message)


def content_length(lengths: Sequence[str], encodings: Sequence[str], *, limit: int) -> int:
    """The body length of a request with these ``Content-Length`` and ``Transfer-Encoding``
    header values; refused when absent, repeated, not a plain number, beside a
    ``Transfer-Encoding`` (the shape of request smuggling) or over ``limit``."""
    if encodings and lengths:
        raise WebhookRefusedError(Refusal.SMUGGLING, "Transfer-Encoding with Content-Length")
    if encodings or not lengths:
        raise WebhookRefusedError(Refusal.LENGTH_REQUIRED, "Content-Length required")
    if len(lengths) > 1:
        raise WebhookRefusedError(
            Refusal.BAD_CONTENT_LENGTH, f"Content-Length given {len(lengths)} times"
        )
    value = lengths[0].strip(" \t")
    if not _DIGITS.fullmatch(value):
        raise WebhookRefusedError(Refusal.BAD_CONTENT_LENGTH, "Content-Length is not a number")
    if len(value) > MAX_LENGTH_DIGITS or int(value) > limit:
        raise WebhookRefusedError(Refusal.TOO_LARGE, "body too large")
    return int(value)


def single_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers by lower-case name; a repeated one of ``SINGLE_HEADERS`` is refused."""
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        if key in headers and key in SINGLE_HEADERS:
            raise WebhookRefusedError(Refusal.BAD_HEADER, f"header {key} given more than once")
        headers[key] = value
    return headers


def printable(text: str, *, limit: int = MAX_LOGGED_MESSAGE) -> str:
    """``text`` with control and non-ASCII characters escaped, cut at ``limit``: log-safe."""
    escaped = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text[: limit * 4])
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."


class ReplayCache:
    """The replay keys of recent genuine deliveries: at most ``capacity`` deliveries (the
    oldest evicted first), each forgotten ``ttl`` seconds after it was claimed. Safe across
    request threads."""

    def __init__(
        self, *, capacity: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity <= 0:
            raise ValueError("a replay cache holds at least one delivery")
        self.capacity = capacity
        self.ttl = ttl
        self._clock = clock
        self._expiry: OrderedDict[tuple[bytes, ...], float] = OrderedDict()
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def claim(self, keys: Sequence[bytes]) -> bool:
        """Remember the delivery of ``keys`` and return True, or return False (remembering
        nothing) when one of them was claimed before: the delivery is a replay."""
        delivery = tuple(keys)
        with self._lock:
            now = self._clock()
            self._forget(lambda expiry: expiry <= now)
            if any(key in self._seen for key in delivery) or delivery in self._expiry:
                return False
            self._expiry[delivery] = now + self.ttl
            self._seen.update(delivery)
            self._forget(lambda _: len(self._expiry) > self.capacity)
            return True

    def release(self, keys: Sequence[bytes]) -> None:
        """Forget the delivery of ``keys`` (it could not be taken; a redelivery is welcome)."""
        with self._lock:
            if self._expiry.pop(tuple(keys), None) is not None:
                self._seen.difference_update(keys)

    def __len__(self) -> int:
        """How many deliveries are remembered."""
        with self._lock:
            now = self._clock()
            self._forget(lambda expiry: expiry <= now)
            return len(self._expiry)

    def _forget(self, oldest_goes: Callable[[float], bool]) -> None:
        while self._expiry:
            delivery, expiry = next(iter(self._expiry.items()))
            if not oldest_goes(expiry):
                return
            del self._expiry[delivery]
            self._seen.difference_update(delivery)


@dataclass(slots=True)
class _Window:
    start: float
    logged: int = 0
    suppressed: int = 0


class RefusalLog:
    """Logs each refusal with its reason and the peer address (never a body, a signature or
    a raw header value), at most ``per_minute`` lines per reason in a minute; the refusals
    past that are counted and the count is logged when the minute is over (or on ``flush``).
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._per_minute = per_minute
        self._clock = clock
        self._windows: dict[Refusal, _Window] = {}
        self._lock = threading.Lock()

    def record(self, refused: WebhookRefusedError, *, peer: str, endpoint: str) -> None:
        """Log (or count) one refusal of a request from ``peer`` to ``endpoint``."""
        refusal = refused.refusal
        with self._lock:
            now = self._clock()
            summaries = self._close_windows(now)
            window = self._windows.setdefault(refusal, _Window(now))
            logged = window.logged < self._per_minute
            if logged:
                window.logged += 1
            else:
                window.suppressed += 1
        self._summarise(summaries)
        if logged:
            self._log.warning(
                "webhook refused: %s (%d) from %s on %s: %s",
                refusal.value,
                refusal.status,
                printable(peer, limit=64),
                printable(endpoint, limit=64),
                printable(str(refused)),
            )

    def flush(self) -> None:
        """Log the counts of refusals not logged yet (the server calls it when stopping)."""
        with self._lock:
            summaries = self._close_windows(float("inf"))
        self._summarise(summaries)

    def _close_windows(self, now: float) -> list[tuple[Refusal, int]]:
        closed = [r for r, w in self._windows.items() if now - w.start >= LOG_WINDOW]
        counts = [(r, self._windows.pop(r).suppressed) for r in closed]
        return [(r, n) for r, n in counts if n]

    def _summarise(self, summaries: list[tuple[Refusal, int]]) -> None:
        for refusal, count in summaries:
            self._log.warning(
                "webhook refused: %d more %s (%d) within a minute, not logged one by one",
                count,
                refusal.value,
                refusal.status,
            )
