"""Checks of five-field cron expressions as Kubernetes CronJobs accept them.

Called by ``core.validation`` for ``spec.schedule.crons``. Pure syntax: minute, hour,
day of month, month, day of week, with lists, ranges, steps, ``*``, ``?`` and month and
weekday names, or one of the ``@hourly`` style macros.
"""

from __future__ import annotations

import re

MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_ITEM = re.compile(r"^(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/([0-9]+))?$")


def problem(expression: str) -> str | None:
    """What is wrong with ``expression``, or None when it is a valid schedule."""
    text = expression.strip()
    if text.startswith("@"):
        return None if text in MACROS else f"unknown cron macro {text!r}"
    parts = text.split()
    if len(parts) != 5:
        return f"cron {expression!r} needs 5 fields (minute hour day-of-month month day-of-week)"
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            found = _item_problem(item, low, high, names)
            if found:
                return f"cron {expression!r}: {name} field {part!r}: {found}"
    return None


def _item_problem(item: str, low: int, high: int, names: list[str]) -> str | None:
    match = _ITEM.match(item)
    if match is None:
        return f"{item!r} is not a value, range or step"
    span, step = match.group(1), match.group(2)
    if step is not None and int(step) == 0:
        return "a step of 0 never fires"
    if span in ("*", "?"):
        return None
    bounds = [_number(token, names) for token in span.split("-")]
    if any(bound is None or not low <= bound <= high for bound in bounds):
        return f"{span!r} is outside {low}-{high}"
    return None


def _number(token: str, names: list[str]) -> int | None:
    if token.isdigit():
        return int(token)
    lowered = token.lower()
    if lowered in names:
        return names.index(lowered) + (1 if len(names) == 12 else 0)
    return None
