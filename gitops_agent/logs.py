"""Logging for the long-running agent: readable text on a terminal, JSON lines for machines.

Set up by the ``run`` command for as long as it runs (``configured``). Every handler carries a ``RedactingFilter`` that knows
the tokens and webhook secrets of the configuration, so that no log line carries them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator

from gitops_agent.redaction import RedactingFilter, SecretRegistry


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the error, if any), plus
    the structured ``fields`` a record carries (``extra={"fields": {...}}``)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update({k: v for k, v in fields.items() if k not in data})
        return json.dumps(data, default=str)


@contextlib.contextmanager
def configured(*, fmt: str, registry: SecretRegistry, level: int = logging.INFO) -> Iterator[None]:
    """The agent's logging while the block runs; the root logger as it was afterwards (a
    ``run`` called in-process leaves no handler on a stream it does not own)."""
    root = logging.getLogger()
    handlers, previous = list(root.handlers), root.level
    setup(fmt=fmt, registry=registry, level=level)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(previous)


def setup(*, fmt: str, registry: SecretRegistry, level: int = logging.INFO) -> None:
    """Send the agent's logs to standard error in ``fmt`` (``text`` or ``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        )
    handler.addFilter(RedactingFilter(registry))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
