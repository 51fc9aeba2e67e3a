"""Requests in flight, so that the simulated controllers stay off the request path.

``Traffic.busy()`` is held by the HTTP server while it answers a request (not while a watch
or a followed log streams); ``Traffic.pause()`` is called by the controller loop between two
reconciles: it hands the interpreter to a request thread that waits for it and then waits,
for a bounded time, until no request is being answered. A request thus waits for at most one
reconcile, and the controllers catch up in the gaps between requests. Owned by ``KubeSim``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class Traffic:
    """A count of the requests being answered."""

    def __init__(self, *, patience: float = 0.05) -> None:
        self.patience = patience  # longest a reconcile waits for the requests to finish
        self._answering = 0
        self._quiet = threading.Condition()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._quiet:
            self._answering += 1
        try:
            yield
        finally:
            with self._quiet:
                self._answering -= 1
                if not self._answering:
                    self._quiet.notify_all()

    def pause(self) -> None:
        """Let waiting requests run first (bounded: the controllers must not starve)."""
        time.sleep(0)
        with self._quiet:
            self._quiet.wait_for(lambda: not self._answering, timeout=self.patience)
