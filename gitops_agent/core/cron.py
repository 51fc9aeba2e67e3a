"""Checks of five-field cron expressions as Kubernetes CronJobs accept them, and timezones.

Called by ``core.validation`` for ``spec.schedule.crons`` and ``spec.schedule.timezone``, and
by ``core.status`` for the next run of a scheduled Workflow. Each field is read the way the
cron parser of Kubernetes reads it: minute, hour, day of month, month and day of week, with
lists, ranges, steps, ``*``, ``?`` and three-letter month and weekday names, or one of the
``@hourly`` style macros; a range is ordered, every value is inside its field (the day of
week is 0-6, Sunday 0), a step is a positive number, and a number too large for the
parser's integers is refused before it is converted. A timezone is a zone file of the zone
database (``Europe/Berlin``), never one of its directories (``America``).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gitops_agent.core.violations import quoted

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
    ("day of week", 0, 6, _DAYS),
)
_ITEM = re.compile(r"(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/([0-9]+))?")
#: The cron parser reads numbers into 64-bit integers; longer digit strings overflow.
_MAX_DIGITS = 18
#: Zone files that name the machine's setting rather than a zone.
_NOT_ZONES = frozenset({"localtime", "posixrules"})


def problem(expression: str) -> str | None:
    """What is wrong with ``expression``, or None when it is a valid schedule."""
    text = expression.strip()
    if text.startswith("@"):
        if text in MACROS:
            return None
        return f"unknown cron macro {quoted(text)} (known: {', '.join(sorted(MACROS))})"
    parts = text.split()
    if len(parts) != 5:
        fields = "minute hour day-of-month month day-of-week"
        return f"cron {quoted(expression)} needs 5 fields ({fields})"
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            found = _item_problem(item, low, high, names)
            if found:
                return f"cron {quoted(expression)}: {name} field {quoted(part)}: {found}"
    return None


def _item_problem(item: str, low: int, high: int, names: list[str]) -> str | None:
    match = _ITEM.fullmatch(item)
    if match is None:
        return f"{quoted(item)} is not a value, a range or a step such as 5, 1-5 or */15"
    span, step = match.group(1), match.group(2)
    if step is not None and len(step) > _MAX_DIGITS:
        return f"the step {quoted(step)} is too large a number; a step of {high} or less is enough"
    if step is not None and int(step) == 0:
        return "a step of 0 never fires; use a step of 1 or more"
    if span in ("*", "?"):
        return None
    bounds = [_number(token, names) for token in span.split("-")]
    numbers = [bound for bound in bounds if bound is not None and low <= bound <= high]
    if len(numbers) != len(bounds):
        sunday = " (Sunday is 0)" if names is _DAYS else ""
        return f"{quoted(span)} is outside {low}-{high}{sunday}"
    if numbers != sorted(numbers):
        return f"the range {span} runs backwards; write it from the low value to the high one"
    return None


def _number(token: str, names: list[str]) -> int | None:
    if token.isdigit() and token.isascii():
        return int(token) if len(token) <= _MAX_DIGITS else None
    lowered = token.lower()
    if lowered in names:
        return names.index(lowered) + (1 if len(names) == 12 else 0)
    return None


def timezone_problem(name: str) -> str | None:
    """Why ``name`` is not a zone of the zone database, or None."""
    if name in _zones():
        return None
    return (
        f"unknown timezone {quoted(name)} (use an Area/Location zone such as Europe/Berlin, or UTC)"
    )


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


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
        match = _ITEM.fullmatch(item)
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


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cron expression read into the values of each field (Sunday is weekday 0), and
    whether each day field is restricted (both restricted: either may match)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    restricted_day: bool
    restricted_weekday: bool


def schedule_of(expression: str) -> Schedule | None:
    """The values a valid expression (or macro) fires on; None for an invalid one."""
    text = _MACRO_EXPANSIONS.get(expression.strip(), expression.strip())
    if problem(text) is not None:
        return None
    parts = text.split()
    minutes, hours, days, months, weekdays = (
        frozenset(_values(p, low, high, names))
        for p, (_, low, high, names) in zip(parts, _FIELDS, strict=True)
    )
    restricted = (parts[2] not in ("*", "?"), parts[4] not in ("*", "?"))
    return Schedule(minutes, hours, days, months, weekdays, *restricted)


def next_time(expression: str, after: datetime, *, timezone: str = "UTC") -> datetime | None:
    """The first time strictly after ``after`` (an aware time) at which the schedule fires,
    in UTC; None for an invalid expression or timezone. Searches day by day for at most four
    years."""
    text = _MACRO_EXPANSIONS.get(expression.strip(), expression.strip())
    if problem(text) is not None or timezone_problem(timezone) is not None:
        return None
    fields = [
        _values(p, low, high, names)
        for p, (_, low, high, names) in zip(text.split(), _FIELDS, strict=True)
    ]
    minutes, hours, days, months, weekdays = fields
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
