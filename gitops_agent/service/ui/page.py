"""The status page and a cycle's page, as HTML: plain markup, one stylesheet, one small script.

``page(snapshot, query=...)`` is ``GET /``: the agent and its applied revision with its commit
status, every resource with status and runtime grouped by workspace (``?q=`` filters on the
server; the script filters as one types), each Bundle's graph (``service.ui.graph``), the
recent cycles linking to ``/cycles/<seq>``, open previews and the last drift report.
``cycle_page(cycle)`` is one cycle with what became of each resource. Rows leave their
optional end tags out so that 1,000 resources stay well under 100 KB. Everything shown is
escaped; ``STYLE`` and ``SCRIPT`` are fixed, so the server's Content-Security-Policy names
their hashes (``CSP``). Called by ``service.ui.routes``. Pure.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from html import escape
from itertools import groupby

from gitops_agent.core.history import Cycle
from gitops_agent.service.ui.graph import svg, tone
from gitops_agent.service.ui.snapshot import Row, Snapshot

REFRESH_SECONDS = 15
MAX_CYCLES_SHOWN = 30

STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:0 24px 40px;color:#1d2430}"
    "header{border-bottom:1px solid #d8dee6;padding:12px 0}h1{font-size:20px;margin:0}"
    "h2{font-size:16px;margin:24px 0 8px}h3{font-size:14px;margin:14px 0 6px}"
    "nav a{margin-right:14px}table{border-collapse:collapse;min-width:50%}"
    "td,th{text-align:left;padding:2px 12px 2px 0;border-bottom:1px solid #eef1f4}"
    "code{font-size:13px}.ok{color:#1a7f37}.bad{color:#cf222e}.wait{color:#9a6700}"
    ".none{color:#6e7781}.graph .node rect{fill:#f6f8fa;stroke:#6e7781}"
    ".graph .ok rect{fill:#dafbe1;stroke:#1a7f37}.graph .bad rect{fill:#ffebe9;stroke:#cf222e}"
    ".graph .wait rect{fill:#fff8c5;stroke:#9a6700}.graph text{font-size:12px;fill:#1d2430}"
    ".graph .state{fill:#57606a}.graph .edge path{fill:none;stroke:#57606a}"
    ".graph .edge text{font-size:11px;fill:#57606a}input{padding:4px;width:320px}"
    ".muted{color:#6e7781}"
)
SCRIPT = (
    'document.getElementById("filter").addEventListener("input",function(e){'
    "var q=e.target.value.toLowerCase();"
    'document.querySelectorAll("#resources tbody tr").forEach(function(r){'
    'r.hidden=q!==""&&r.textContent.toLowerCase().indexOf(q)<0;});});'
)


ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<circle cx="8" cy="8" r="7" fill="#1a7f37"/></svg>'
)


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


CSP = (
    f"default-src 'none'; style-src '{_digest(STYLE)}'; script-src '{_digest(SCRIPT)}'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def page(snapshot: Snapshot, *, query: str = "") -> str:
    """The status page; ``query`` keeps the rows whose text contains it."""
    return "".join(
        [
            _head(f"gitops-agent: {snapshot.agent}", refresh=True),
            _header(snapshot),
            '<nav><a href="#resources">resources</a><a href="#bundles">bundles</a>'
            '<a href="#history">history</a><a href="#previews">previews</a>'
            '<a href="#drift">drift</a></nav>',
            *_resources(snapshot.rows, query),
            *_bundles(snapshot),
            *_cycles(snapshot.cycles),
            *_previews(snapshot),
            _drift(snapshot),
            f"<script>{SCRIPT}</script></body></html>",
        ]
    )


def cycle_page(agent: str, cycle: Cycle) -> str:
    """One cycle: what it was, and what became of each resource it did not leave unchanged."""
    what = f"pull request #{cycle.number} at " if cycle.number else ""
    rows = "".join(
        f'<tr class="{_outcome_tone(r.outcome)}"><td>{escape(r.outcome)}<td><code>'
        f"{escape(r.resource)}</code><td>{escape(r.message)}"
        for r in cycle.resources
    )
    more = f'<p class="muted">… and {cycle.more} more</p>' if cycle.more else ""
    counts = ", ".join(f"{n} {escape(k)}" for k, n in sorted(cycle.counts.items()))
    return "".join(
        [
            _head(f"cycle {cycle.seq}: {agent}", refresh=False),
            f"<header><h1>cycle {cycle.seq}: {escape(cycle.kind)} of {what}<code>"
            f"{escape(cycle.revision[:12])}</code></h1>",
            f'<p><span class="{tone(cycle.result)}">{escape(cycle.result)}</span>'
            f"{' (' + escape(cycle.reason) + ')' if cycle.reason else ''} · started "
            f"{escape(cycle.when)} · {cycle.duration:.1f}s · trigger {escape(cycle.trigger)}</p>",
            f'<p>{escape(cycle.summary)}</p><p class="muted">{counts}</p>'
            '<p><a href="/">back to the status page</a></p></header>',
            "<table><thead><tr><th>outcome<th>resource<th>message</thead><tbody>",
            rows,
            f"</tbody></table>{more}</body></html>",
        ]
    )


def _head(title: str, *, refresh: bool) -> str:
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'{meta}<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
    )


def _header(snapshot: Snapshot) -> str:
    taken = datetime.fromtimestamp(snapshot.taken, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    applied = f"<code>{escape(snapshot.applied[:12])}</code>" if snapshot.applied else "nothing yet"
    note = f'<p class="bad">{escape(snapshot.note)}</p>' if snapshot.note else ""
    return (
        f"<header><h1>gitops-agent <code>{escape(snapshot.agent)}</code></h1>"
        f"<p>{escape(snapshot.target)} target · source {escape(snapshot.source)}</p>"
        f'<p>applied {applied} <b class="{tone(snapshot.state)}">{escape(snapshot.state)}</b> '
        f"{escape(snapshot.description)}</p>{note}"
        f'<p class="muted">as of {taken}; this page refreshes every {REFRESH_SECONDS}s</p>'
        "</header>"
    )


def _resources(rows: Sequence[Row], query: str) -> Iterator[str]:
    wanted = query.strip().lower()
    shown = [r for r in rows if not wanted or wanted in _text(r).lower()]
    yield f'<section id="resources"><h2>Resources ({len(shown)} of {len(rows)})</h2>'
    yield (
        '<form method="get" action="/"><input id="filter" name="q" type="search" '
        f'value="{escape(query)}" placeholder="filter: name, type, status" '
        'aria-label="filter the resources"></form>'
    )
    for workspace, members in groupby(shown, key=lambda r: r.id.workspace):
        yield f"<h3>{escape(workspace or 'bundles')}</h3>"
        yield "<table><thead><tr><th>type<th>name<th>status<th>runtime</thead><tbody>"
        for row in members:
            shade = tone(row.status)
            # the explanation where something needs one: kept off the healthy rows, it keeps
            # a page of 1,000 resources small
            title = f' title="{escape(row.message)}"' if row.message and shade != "ok" else ""
            yield (
                f'<tr class="{shade}"{title}><td>{row.id.type}<td>'
                f"{escape(row.id.name)}<td>{escape(row.status)}<td>{escape(row.runtime)}"
            )
        yield "</tbody></table>"
    yield "</section>"


def _text(row: Row) -> str:
    return f"{row.id.type} {row.id.workspace} {row.id.name} {row.status} {row.runtime}"


def _bundles(snapshot: Snapshot) -> Iterator[str]:
    yield f'<section id="bundles"><h2>Bundles ({len(snapshot.graphs)})</h2>'
    for graph in snapshot.graphs:
        yield (
            f'<h3>{escape(graph.bundle.name)} <span class="{tone(graph.status)}">'
            f"{escape(graph.status)}</span></h3>{svg(graph)}"
        )
    yield "</section>"


def _cycles(cycles: Sequence[Cycle]) -> Iterator[str]:
    newest = sorted(cycles, key=lambda c: c.seq, reverse=True)[:MAX_CYCLES_SHOWN]
    yield f'<section id="history"><h2>Recent cycles ({len(newest)} of {len(cycles)})</h2>'
    yield (
        "<table><thead><tr><th>#<th>started<th>kind<th>revision<th>trigger<th>duration"
        "<th>result<th>summary</thead><tbody>"
    )
    for c in newest:
        what = f"#{c.number} " if c.number else ""
        yield (
            f'<tr><td><a href="/cycles/{c.seq}">{c.seq}</a><td>{escape(c.when)}<td>'
            f"{escape(c.kind)}<td>{what}<code>{escape(c.revision[:12])}</code><td>"
            f"{escape(c.trigger)}<td>{c.duration:.1f}s<td>"
            f'<span class="{tone(c.result)}">{escape(c.result)}</span><td>{escape(c.summary)}'
        )
    yield "</tbody></table></section>"


def _previews(snapshot: Snapshot) -> Iterator[str]:
    yield f'<section id="previews"><h2>Open previews ({len(snapshot.previews)})</h2><ul>'
    for p in snapshot.previews:
        yield (
            f'<li>#{p.number} <code>{escape(p.head[:12])}</code> <span class="{tone(p.state)}">'
            f"{escape(p.state)}</span> {escape(p.description)}"
        )
    yield "</ul></section>"


def _drift(snapshot: Snapshot) -> str:
    text = escape(snapshot.drift) if snapshot.drift else "no drift check has run yet"
    return f'<section id="drift"><h2>Drift</h2><p>{text}</p></section>'


def _outcome_tone(outcome: str) -> str:
    return {"failed": "bad", "skipped": "wait", "unchanged": "none"}.get(outcome, "ok")
