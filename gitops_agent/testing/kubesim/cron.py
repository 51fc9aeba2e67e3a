"""Cron schedules of CronJobs: parse the five-field syntax and find the next run time.

``parse_schedule("*/5 * * * *")`` returns a ``Schedule`` (or raises ``CronError`` with the
message shown in a 422); ``Schedule.next_after(t)`` gives the next minute it fires. Used by
``rules.py`` (validation) and the CronJob controller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_NAMES = {
    3: {
        m: i + 1
        for i, m in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
        )
    },
    4: {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """The schedule does not parse."""


@dataclass(frozen=True)
class Schedule:
    """The sets of minutes, hours, days of month, months and weekdays a schedule fires on."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def matches(self, when: dt.datetime) -> bool:
        if when.minute not in self.minutes or when.hour not in self.hours:
            return False
        if when.month not in self.months:
            return False
        day_ok = when.day in self.days
        weekday_ok = (when.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The first firing time strictly after ``when`` (searched up to four years)."""
        probe = when.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        for _ in range(4 * 366 * 24 * 60):
            if self.matches(probe):
                return probe
            probe += dt.timedelta(minutes=1)
        raise CronError("schedule never fires")  # pragma: no cover - e.g. Feb 30


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _RANGES[index]
    out: set[int] = set()
    for part in text.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise CronError(f"failed to parse int from {step_text}")
        if base in ("*", "?"):
            start, end = low, high
        else:
            first, _, last = base.partition("-")
            start = _number(first, index)
            end = _number(last, index) if last else (high if step_text else start)
        if start < low or end > high or start > end or step < 1:
            raise CronError(
                f"end of range ({end}) above maximum ({high}): {part}"
                if end > high
                else f"beginning of range ({start}) below minimum ({low}): {part}"
            )
        out.update(range(start, end + 1, step))
    return frozenset(v % 7 if index == 4 else v for v in out)


def _number(text: str, index: int) -> int:
    names = _NAMES.get(index, {})
    if text in names:
        return names[text]
    if not text.isdigit():
        raise CronError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    return int(text)


def parse_schedule(text: str) -> Schedule:
    """Parse a standard five-field schedule or a ``@daily``-style macro."""
    spec = text.strip()
    if spec.startswith(("TZ=", "CRON_TZ=")):
        spec = spec.split(None, 1)[1] if " " in spec else ""
    spec = _MACROS.get(spec, spec)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{spec}]")
    sets = [_field(f, i) for i, f in enumerate(fields)]
    return Schedule(
        sets[0],
        sets[1],
        sets[2],
        sets[3],
        sets[4],
        any_day=fields[2] in ("*", "?"),
        any_weekday=fields[4] in ("*", "?"),
    )
