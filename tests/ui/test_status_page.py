"""The status page without a browser: the snapshot of the sample (five resources, one Bundle
graph of two nodes and one labelled edge), the HTML and SVG it becomes, its routes (ETag and
304, the JSON API, the token: bearer, cookie, ``/?token=`` exchange) and hostile input (names
and messages that would be markup, odd paths and queries)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from gitops_agent.core.history import Cycle, ResourceOutcome
from gitops_agent.core.manifests import ResourceId, ResourceType
from gitops_agent.core.status import ResourceStatus
from gitops_agent.service.ui.board import BoardParts, StatusBoard
from gitops_agent.service.ui.page import page
from gitops_agent.service.ui.routes import COOKIE, StatusPages
from gitops_agent.service.ui.snapshot import Snapshot, graphs_of, rows_of
from gitops_agent.wiring import read_desired
from tests.conftest import SAMPLE_REPO

SVG = "{http://www.w3.org/2000/svg}"
TOKEN = "ui-token-0123456789abcdef"


def rid(kind: str, name: str) -> ResourceId:
    t = ResourceType(kind)
    return ResourceId(t, "" if t is ResourceType.BUNDLE else "public", name)


STATUSES = {
    rid("worker", "sleep-worker"): ResourceStatus("active", "running:1"),
    rid("workflow", "verify-sleep-worker"): ResourceStatus("active", "succeeded"),
    rid("worker", "report-writer"): ResourceStatus("active", "running:1"),
    rid("worker", "events-bento"): ResourceStatus("failed", "failed", "<script>alert(1)</script>"),
    rid("bundle", "test-worker-sleep"): ResourceStatus("active", ""),
}


def sample_snapshot(**extra: object) -> Snapshot:
    desired = read_desired(str(SAMPLE_REPO))
    assert not desired.violations
    cycle = Cycle(
        "sync",
        "a" * 40,
        "webhook",
        1_800_000_000.0,
        2.0,
        "success",
        "synced: 5 created",
        counts={"created": 5},
        resources=(ResourceOutcome("worker/public/sleep-worker", "created"),),
        seq=1,
    )
    values: dict[str, object] = {
        "agent": "sample",
        "target": "kubernetes",
        "source": "git://example/manifests @ main",
        "applied": "a" * 40,
        "state": "success",
        "description": "synced: 5 created",
        "taken": 1_800_000_000.0,
        "rows": rows_of(desired.resources, STATUSES),
        "graphs": graphs_of(desired.resources, STATUSES),
        "cycles": (cycle,),
    }
    values.update(extra)
    return Snapshot(**values)  # type: ignore[arg-type]


class FixedBoard(StatusBoard):
    """A board whose snapshot the test sets (its refresh is the real one's business)."""

    def __init__(self, snapshot: Snapshot) -> None:
        parts = BoardParts(config=None, make_target=None, applied=None)  # type: ignore[arg-type]
        self.parts = parts
        self.snapshot = snapshot


def test_the_sample_has_five_rows_and_one_graph_of_two_nodes_and_a_labelled_edge() -> None:
    snapshot = sample_snapshot()
    assert len(snapshot.rows) == 5
    (graph,) = snapshot.graphs
    assert [(n.member, n.wave) for n in graph.nodes] == [
        ("sleep-worker", 0),
        ("verify-sleep-worker", 1),
    ]
    (edge,) = graph.edges
    assert (edge.dependency, edge.dependent) == ("sleep-worker", "verify-sleep-worker")
    assert edge.label == "status is active and runtime contains running"
    html = page(snapshot)
    svg = html[html.index("<svg") : html.index("</svg>") + 6]
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert len(root.findall(f"{SVG}g[@class='node ok']")) == 2
    (drawn,) = root.findall(f"{SVG}g[@class='edge']")
    label = "".join(drawn.find(f"{SVG}text").itertext())  # type: ignore[union-attr]
    assert label == "status is activeand runtime contains running"


def test_markup_from_the_cluster_is_escaped_and_the_page_filters() -> None:
    html = page(sample_snapshot())
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script>") == 1, "only the page's own script"
    filtered = page(sample_snapshot(), query="bento")
    assert "Resources (1 of 5)" in filtered and 'value="bento"' in filtered
    hostile = page(sample_snapshot(), query='"><img src=x onerror=alert(1)>')
    assert "<img" not in hostile


def test_a_thousand_resources_stay_under_100_kb() -> None:
    rows = rows_of(
        (),
        {
            rid("worker", f"worker-{i:04d}"): ResourceStatus("active", "running:1")
            for i in range(1000)
        },
    )
    started = time.perf_counter()
    html = page(sample_snapshot(rows=rows, graphs=()))
    elapsed = time.perf_counter() - started
    assert len(html.encode()) < 100_000, len(html.encode())
    assert elapsed < 1.0, "rendering is measured in bench/ui_bench.py; this only catches a blow-up"


def test_routes_etag_json_api_and_not_found() -> None:
    pages = StatusPages(FixedBoard(sample_snapshot()))
    first = pages.answer("/", {})
    assert first is not None and first.status == 200
    headers = dict(first.headers)
    assert (
        headers["Cache-Control"] == "no-cache"
        and "default-src 'none'" in headers["Content-Security-Policy"]
    )
    again = pages.answer("/", {"if-none-match": headers["ETag"]})
    assert again is not None and (again.status, again.body) == (304, b"")
    resources = json.loads(pages.answer("/api/v1/resources", {}).body)  # type: ignore[union-attr]
    assert {r["name"] for r in resources["resources"]} >= {"sleep-worker", "test-worker-sleep"}
    graph = json.loads(pages.answer("/api/v1/bundles/test-worker-sleep/graph", {}).body)  # type: ignore[union-attr]
    assert graph["edges"] == [
        {
            "from": "sleep-worker",
            "to": "verify-sleep-worker",
            "condition": "status is active and runtime contains running",
        }
    ]
    history = json.loads(pages.answer("/api/v1/history", {}).body)  # type: ignore[union-attr]
    assert [c["seq"] for c in history["cycles"]] == [1]
    cycle = pages.answer("/cycles/1", {})
    assert cycle is not None and b"sleep-worker" in cycle.body
    assert pages.answer("/healthz", {}) is None, "other paths are the server's"


@pytest.mark.parametrize(
    "path",
    [
        "/cycles/2",
        "/cycles/-1",
        "/cycles/99999999999999999999",
        "/cycles/\u0661",
        "/api/v1/history/x",
        "/api/v1/bundles/../graph",
        "/api/v1/bundles/%3Cscript%3E/graph",
        "/api/v1/nothing",
    ],
)
def test_odd_paths_are_404_with_json(path: str) -> None:
    found = StatusPages(FixedBoard(sample_snapshot())).answer(path, {})
    assert found is not None and found.status == 404
    assert "error" in json.loads(found.body)
    assert b"<script>" not in found.body


def test_the_token_is_asked_by_bearer_cookie_or_exchange() -> None:
    pages = StatusPages(FixedBoard(sample_snapshot()), token=TOKEN)
    refused = pages.answer("/", {})
    assert refused is not None and refused.status == 401 and TOKEN.encode() not in refused.body
    assert pages.answer("/api/v1/resources", {"authorization": "Bearer nope"}).status == 401  # type: ignore[union-attr]
    assert pages.answer("/api/v1/resources", {"authorization": f"Bearer {TOKEN}"}).status == 200  # type: ignore[union-attr]
    wrong = pages.answer("/?token=nope", {})
    assert wrong is not None and wrong.status == 401
    exchange = pages.answer(f"/?token={TOKEN}", {})
    assert exchange is not None and exchange.status == 303
    headers = dict(exchange.headers)
    assert headers["Location"] == "/"
    assert (
        headers["Set-Cookie"].startswith(f"{COOKIE}={TOKEN};")
        and "HttpOnly" in headers["Set-Cookie"]
    )
    assert pages.answer("/", {"cookie": f"{COOKIE}={TOKEN}"}).status == 200  # type: ignore[union-attr]
    assert pages.answer("/", {"cookie": f"{COOKIE}=nope"}).status == 401  # type: ignore[union-attr]
    assert pages.answer("/", {"cookie": 'a="\\'}).status == 401  # type: ignore[union-attr]


def test_a_board_that_cannot_refresh_keeps_its_snapshot_and_says_why(tmp_path: Path) -> None:
    from gitops_agent.core.config import AgentConfig
    from gitops_agent.errors import UnavailableError

    def unreachable(config: AgentConfig) -> object:
        raise UnavailableError("the API server at https://10.0.0.1 did not answer")

    board = StatusBoard(
        BoardParts(
            config=AgentConfig(name="sample"),
            make_target=unreachable,  # type: ignore[arg-type]
            applied=lambda: ("", None, None),
        )
    )
    board.refresh()
    assert board.snapshot.note.startswith("not refreshed: the API server")
    assert "not refreshed" in page(board.snapshot)


def test_the_server_without_pages_answers_404_at_the_root() -> None:
    import urllib.error
    import urllib.request

    from gitops_agent.service.server import AgentServer, ServerOptions

    with AgentServer(ServerOptions(port=0), on_push=lambda hint: None) as server:
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(server.url + "/", timeout=5)
        assert raised.value.code == 404
        raised.value.close()
    pages = StatusPages(FixedBoard(sample_snapshot()))
    with (
        AgentServer(ServerOptions(port=0), on_push=lambda hint: None, pages=pages.answer) as server,
        urllib.request.urlopen(server.url + "/?q=sleep", timeout=5) as response,
    ):
        assert response.status == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b"Resources (3 of 5)" in response.read()


def test_a_token_variable_that_is_not_set_stops_run_before_it_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitops_agent.cli import main
    from tests.conftest import copy_sample

    monkeypatch.setenv("GITOPS_AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("UI_TOKEN", raising=False)
    repo = copy_sample(tmp_path / "repo")
    config = repo / "gitops-agent.yaml"
    config.write_text(config.read_text() + "server: {uiTokenEnv: UI_TOKEN}\n")
    code = main(["run", str(repo), "--listen", "127.0.0.1:0"])
    err = capsys.readouterr().err
    assert code == 1 and "server.uiTokenEnv names UI_TOKEN, which is not set" in err
