"""A drift report as people, scripts and git hosts read it: text for a terminal, JSON with
stable keys, Markdown for an issue, the one-line commit-status description, the suggested
``sync.ignore`` rules as YAML, and one log record per drifted object.

Pure; called by the ``drift`` command and by the drift checks of the agent loop. Values come
from ``core.drift``, which masks Secret data; each is cut to one short line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from gitops_agent.core.diffing import short_value
from gitops_agent.core.drift import (
    Degraded,
    DriftReport,
    FieldDrift,
    FieldDriftKind,
    Healing,
    ObjectDrift,
    ObjectDriftKind,
)

_SYMBOL = {
    ObjectDriftKind.CHANGED: "~",
    ObjectDriftKind.TAKEN: "!",
    ObjectDriftKind.DELETED: "-",
    ObjectDriftKind.REPLACED: "?",
}
_WHAT = {
    ObjectDriftKind.CHANGED: "changed out of band",
    ObjectDriftKind.TAKEN: "taken over by another field manager",
    ObjectDriftKind.DELETED: "deleted out of band",
    ObjectDriftKind.REPLACED: "replaced out of band",
}


def status_description(report: DriftReport) -> str:
    """``no drift``, or ``drift: 3 objects (2 fields, 1 deleted)``: the drifted fields of
    objects that changed, and the objects deleted or replaced."""
    degraded = f" ({len(report.degraded)} degraded)" if report.degraded else ""
    if not report.has_drift:
        return "no drift" + degraded
    parts = [_counted(count, name) for name, count in report.counts().items() if count]
    objects = _counted(len(report.objects), "objects")
    return f"drift: {objects} ({', '.join(parts)}){degraded}"


def _counted(count: int, plural: str) -> str:
    """``1 field``, ``2 fields``; words without a plural (``deleted``) as they are."""
    if count == 1 and plural.endswith("s"):
        return f"1 {plural[:-1]}"
    return f"{count} {plural}"


def summary(report: DriftReport) -> str:
    """One line: what was compared and what drifted."""
    against = f"{report.revision[:12]}" if report.revision else "the source as it is"
    looked = f" and {report.lookups} lookup(s)" if report.lookups else ""
    return (
        f"drift against {against} (the last applied revision): {status_description(report)}; "
        f"{report.checked} object(s) checked in {report.requests} API request(s){looked}"
    )


def field_line(item: FieldDrift) -> str:
    """``~ spec.replicas: 1 -> 3`` (git -> live), and the other kinds alike."""
    if item.kind is FieldDriftKind.CHANGED:
        return f"~ {item.path}: {short_value(item.git)} -> {short_value(item.live)}"
    if item.kind is FieldDriftKind.REMOVED:
        return f"- {item.path}: {short_value(item.git)} -> (absent)"
    if item.kind is FieldDriftKind.ADDED:
        return f"+ {item.path}: {short_value(item.live)} (not in git)"
    return f"! {item.path}: {short_value(item.live)} (same value, owned by another manager)"


def who(item: FieldDrift) -> str:
    """Who owns the field now, in words."""
    if item.managers:
        return "by " + "; ".join(m.describe() for m in item.managers)
    if item.kind is FieldDriftKind.REMOVED:
        return "removed; no field manager owns it now (removals are not recorded)"
    return "no other field manager recorded (local target, or owned by no one)"


def object_lines(item: ObjectDrift) -> Iterator[str]:
    """An object's drift: its kind, then each field with who and the suggested ignore."""
    yield f"{_SYMBOL[item.kind]} {item.key}: {_WHAT[item.kind]}"
    if item.note:
        yield f"    {item.note}"
    for drifted in item.fields:
        yield f"    {field_line(drifted)}"
        yield f"        {who(drifted)}"
        if drifted.suggestion is not None:
            hint = drifted.suggestion
            yield f"        suggested ignore: {hint.pointer} ({hint.reason})"


def drift_text(report: DriftReport, healed: Sequence[Healing] = ()) -> str:
    """The report for a terminal."""
    lines = [summary(report), *report.notes]
    for rid, items in _by_resource(report.objects):
        lines += ["", str(rid)]
        lines += [f"  {line}" for item in items for line in object_lines(item)]
    if report.degraded:
        lines += ["", "degraded (health, not drift):"]
        lines += [f"  {_degraded_line(d)}" for d in report.degraded]
    snippet = ignore_snippet(report)
    if snippet:
        lines += ["", "suggested sync.ignore rules (gitops-agent.yaml):"]
        lines += ["  " + line for line in snippet.splitlines()]
    if healed:
        lines += ["", "heal:"]
        lines += [
            f"  {h.outcome} {h.key}" + (f": {h.message}" if h.message else "") for h in healed
        ]
    return "\n".join(lines)


def _by_resource(objects: Sequence[ObjectDrift]) -> list[tuple[Any, list[ObjectDrift]]]:
    grouped: dict[Any, list[ObjectDrift]] = {}
    for item in objects:
        grouped.setdefault(item.id, []).append(item)
    return sorted(grouped.items())


def _degraded_line(item: Degraded) -> str:
    text = f"{item.id}: {item.status} {item.runtime or '-'}"
    return f"{text} ({item.message})" if item.message else text


def suggested_rules(report: DriftReport) -> list[dict[str, Any]]:
    """The suggested ``sync.ignore`` rules, one per object, pointers sorted."""
    rules: dict[tuple[str, str], set[str]] = {}
    for item in report.objects:
        for drifted in item.fields:
            if drifted.suggestion is not None:
                hint = drifted.suggestion
                rules.setdefault((hint.kind, hint.name), set()).add(hint.pointer)
    return [
        {"kind": kind, "name": name, "pointers": sorted(pointers)}
        for (kind, name), pointers in sorted(rules.items())
    ]


def ignore_snippet(report: DriftReport) -> str:
    """The suggested rules as the ``sync:`` section of gitops-agent.yaml (empty when none)."""
    rules = suggested_rules(report)
    if not rules:
        return ""
    return yaml.safe_dump({"sync": {"ignore": rules}}, sort_keys=False).rstrip()


def drift_json(report: DriftReport, healed: Sequence[Healing] = ()) -> dict[str, Any]:
    """The report with stable keys for scripts."""
    return {
        "revision": report.revision,
        "drift": report.has_drift,
        "summary": status_description(report),
        "counts": report.counts(),
        "checked": report.checked,
        "requests": report.requests,
        "lookups": report.lookups,
        "objects": [object_json(item) for item in report.objects],
        "degraded": [
            {
                "resource": str(d.id),
                "status": d.status,
                "runtime": d.runtime,
                "message": d.message,
            }
            for d in report.degraded
        ],
        "suggestedIgnore": suggested_rules(report),
        "notes": list(report.notes),
        "healed": [
            {
                "resource": str(h.id),
                "object": str(h.key),
                "outcome": str(h.outcome),
                "message": h.message,
            }
            for h in healed
        ],
    }


def object_json(item: ObjectDrift) -> dict[str, Any]:
    """One drifted object with stable keys (also the JSON log record of a check)."""
    return {
        "resource": str(item.id),
        "apiVersion": item.key.api_version,
        "kind": item.key.kind,
        "namespace": item.key.namespace,
        "name": item.key.name,
        "drift": str(item.kind),
        "revision": item.revision,
        "note": item.note,
        "fields": [
            {
                "path": f.path,
                "change": str(f.kind),
                "git": f.git,
                "live": f.live,
                "managers": [m.to_json() for m in f.managers],
                "suggestedIgnore": (
                    {"pointer": f.suggestion.pointer, "reason": f.suggestion.reason}
                    if f.suggestion
                    else None
                ),
            }
            for f in item.fields
        ],
    }


def drift_markdown(report: DriftReport, *, title: str = "gitops-agent drift") -> str:
    """The report as an issue body: a summary, a table of drifted objects, each object's
    fields in a collapsed block, the suggested ignore rules and the degraded resources."""
    lines = [f"### {title}", "", f"**{status_description(report)}**"]
    if report.revision:
        lines[-1] += f" against the last applied revision `{report.revision[:12]}`"
    if report.objects:
        lines += ["", "| resource | object | drift | fields |", "|---|---|---|---|"]
        lines += [f"| `{o.id}` | `{o.key}` | {o.kind} | {len(o.fields)} |" for o in report.objects]
        for item in report.objects:
            lines += ["", f"<details><summary>{item.kind} <code>{item.key}</code></summary>", ""]
            lines += ["```diff", *object_lines(item), "```", "</details>"]
    snippet = ignore_snippet(report)
    if snippet:
        lines += ["", "Suggested `sync.ignore` rules:", "", "```yaml", snippet, "```"]
    if report.degraded:
        lines += ["", "Degraded (health, not drift):", ""]
        lines += [
            f"- `{d.id}`: {d.status} {d.runtime or '-'} {d.message}".rstrip()
            for d in report.degraded
        ]
    return "\n".join(lines)
