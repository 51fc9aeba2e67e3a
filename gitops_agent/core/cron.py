"""Checks of five-field cron expressions as Kubernetes CronJobs accept them.

Called by ``core.validation`` for ``spec.schedule.crons``. Pure syntax: minute, hour,
day of month, month, day of week, with lists, ranges, steps, ``*``, ``?`` and month and
weekday names, or one of the ``@hourly`` style macros.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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


_MACRO_EXPANSIONS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def _values(part: str, low: int, high: int, names: list[str]) -> set[int]:
    values: set[int] = set()
    for item in part.split(","):
        match = _ITEM.match(item)
        if match is None:
            continue
        span, step = match.group(1), int(match.group(2) or 1)
        if span in ("*", "?"):
            start, end = low, high
        else:
            bounds = [_number(token, names) or 0 for token in span.split("-")]
            start, end = (
                bounds[0],
                bounds[-1] if len(bounds) > 1 or match.group(2) is None else high,
            )
        values.update(range(start, end + 1, step))
    return values


def next_time(expression: str, after: datetime, *, timezone: str = "UTC") -> datetime | None:
    """The first time strictly after ``after`` (an aware time) at which the schedule fires,
    in UTC; None for an invalid expression. Searches day by day for at most four years."""
    text = _MACRO_EXPANSIONS.get(expression.strip(), expression.strip())
    if problem(text) is not None:
        return None
    fields = [
        _values(p, low, high, names)
        for p, (_, low, high, names) in zip(text.split(), _FIELDS, strict=True)
    ]
    minutes, hours, days, months, weekdays = fields
    weekdays = {7 if d == 0 else d for d in weekdays} | {0 if d == 7 else d for d in weekdays}
    restricted_day = text.split()[2] not in ("*", "?")
    restricted_weekday = text.split()[4] not in ("*", "?")
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(4 * 366):
        if local.month in months and _day_matches(
            local, days, weekdays, restricted_day, restricted_weekday
        ):
            for hour in sorted(h for h in hours if h >= local.hour):
                for minute in sorted(minutes):
                    candidate = local.replace(hour=hour, minute=minute)
                    if candidate >= local:
                        return candidate.astimezone(UTC)
        local = (local + timedelta(days=1)).replace(hour=0, minute=0)
    return None


def _day_matches(
    day: datetime, days: set[int], weekdays: set[int], by_day: bool, by_weekday: bool
) -> bool:
    """Cron's rule: when both day fields are restricted, either may match."""
    weekday = (day.weekday() + 1) % 7
    day_ok, weekday_ok = day.day in days, weekday in weekdays
    if by_day and by_weekday:
        return day_ok or weekday_ok
    return day_ok and weekday_ok
