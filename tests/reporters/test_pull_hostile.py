"""Hostile forge answers give a ReporterError or a bounded result: never a traceback, a hang,
or a request (and its token) sent off the forge's API root."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from gitops_agent.backoff import BackoffPolicy
from gitops_agent.errors import ReporterError
from gitops_agent.reporters.http import HttpPolicy
from gitops_agent.reporters.paging import PageLimits
from gitops_agent.reporters.pullclient import ListingLimits
from gitops_agent.testing.forges.base import ForgeEmulator, Request, Response
from tests.reporters.conftest import TOKEN
from tests.reporters.pullforges import (
    FORGES,
    IDS,
    MARKER,
    REPO,
    SMALL,
    PullForge,
    make,
    open_pull,
)

Edit = Callable[[list[Any]], list[Any]]
TINY_PAGES = ListingLimits(pulls=PageLimits(max_page_bytes=256 << 10))


def values_of(forge: PullForge, body: Any) -> list[Any]:
    """The items of one genuine page, whatever the forge's page shape."""
    return list(body["values"]) if forge.name == "bitbucket" else list(body)


def page(forge: PullForge, items: list[Any], next_url: str | None = None) -> Response:
    """A page in the forge's shape whose next page is ``next_url``."""
    if forge.name == "bitbucket":
        body: dict[str, Any] = {"values": items, "pagelen": 50, "page": 1}
        return Response(200, {**body, "next": next_url} if next_url else body)
    return Response(200, items, {"Link": f'<{next_url}>; rel="next"'} if next_url else {})


def tamper_listing(
    forge: PullForge,
    emulator: ForgeEmulator,
    edit: Edit = lambda items: items,
    next_url: Callable[[Request], str | None] = lambda request: None,
    path: str = "",
) -> None:
    """Answer the listing with its genuine items passed through ``edit`` and a next link."""

    def respond(request: Request) -> Response:
        genuine = emulator.route(request)
        return page(forge, edit(values_of(forge, genuine.body)), next_url(request))

    emulator.tamper("GET", path or forge.pulls_path, respond)


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_a_next_page_on_another_host_is_not_followed(forge: PullForge) -> None:
    with (
        forge.emulator(token=TOKEN, repositories=[REPO]) as emulator,
        forge.emulator(token=TOKEN, repositories=[REPO]) as evil,
    ):
        open_pull(emulator, 7)
        open_pull(evil, 8)
        tamper_listing(forge, emulator, next_url=lambda r: evil.origin + r.path)
        with pytest.raises(
            ReporterError, match=r"acme/manifests: .* is not under .* not followed"
        ) as refused:
            make(forge, emulator).open_pulls("main")
        assert evil.requests == []
    assert TOKEN not in str(refused.value)


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_a_page_pointing_at_itself_or_at_endless_pages_ends(
    forge: PullForge, caplog: pytest.LogCaptureFixture
) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        tamper_listing(forge, emulator, next_url=lambda r: _url(emulator, r))
        with pytest.raises(ReporterError, match="comes back"):
            make(forge, emulator).open_pulls("main")
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        pages = iter(range(2, 10_000))
        tamper_listing(forge, emulator, next_url=lambda r: _url(emulator, r, next(pages)))
        with caplog.at_level(logging.WARNING):
            pulls = make(forge, emulator, limits=SMALL).open_pulls("main")
        listings = [r for r in emulator.requests if r.path.endswith(forge.pulls_path[-12:])]
    assert [p.number for p in pulls] == [7]
    assert len(listings) == SMALL.pulls.max_pages
    assert "more than 3 pages" in caplog.text


def _url(emulator: ForgeEmulator, request: Request, number: int | None = None) -> str:
    query = {k: v for k, v in request.query.items() if k != "page"}
    if number is not None:
        query["page"] = str(number)
    return f"{emulator.origin}{request.path}?{urlencode(query)}"


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
@pytest.mark.parametrize(
    "target",
    ["{api}/next page", "{api}/a\x00b", "javascript:alert(1)", "http://[::1", "//evil.example/"],
    ids=["space", "nul", "scheme", "broken-host", "scheme-relative"],
)
def test_a_next_page_that_is_no_url_is_an_error(forge: PullForge, target: str) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        url = target.format(api=emulator.base_url)
        tamper_listing(forge, emulator, next_url=lambda r: url)
        with pytest.raises(ReporterError, match=REPO):
            make(forge, emulator).open_pulls("main")


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_a_huge_page_or_a_flood_of_items_is_bounded(
    forge: PullForge, caplog: pytest.LogCaptureFixture
) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        padding = "x" * (TINY_PAGES.pulls.max_page_bytes + 1)
        tamper_listing(forge, emulator, edit=lambda items: [{**items[0], "title": padding}])
        with pytest.raises(ReporterError, match="larger than"):
            make(forge, emulator, limits=TINY_PAGES).open_pulls("main")
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        number_key = {"github": "number", "gitea": "number", "gitlab": "iid"}.get(forge.name, "id")

        def flood(items: list[Any]) -> list[Any]:
            return [{**items[0], number_key: n} for n in range(1, 5001)]

        tamper_listing(forge, emulator, edit=flood)
        with caplog.at_level(logging.WARNING):
            pulls = make(forge, emulator, limits=SMALL).open_pulls("main")
    assert len(pulls) == SMALL.pulls.max_items
    assert "more than 120" in caplog.text


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_wrong_types_skip_the_pull_request_not_the_listing(
    forge: PullForge, caplog: pytest.LogCaptureFixture
) -> None:
    number_key = {"github": "number", "gitea": "number", "gitlab": "iid"}.get(forge.name, "id")

    def spoil(items: list[Any]) -> list[Any]:
        by_number = {item[number_key]: item for item in items}
        by_number[1]["title"] = 5  # a number where a string is documented
        by_number[2][number_key] = "2"  # a string where a number is
        by_number[3]["state"] = ["open"]
        return [*items, None, "pull", [1, 2]]

    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        for number in range(1, 6):
            open_pull(emulator, number)
        open_pull(emulator, 6, head_ref="--upload-pack=touch")
        tamper_listing(forge, emulator, edit=spoil)
        with caplog.at_level(logging.WARNING):
            pulls = make(forge, emulator).open_pulls("main")
    assert [p.number for p in pulls] == [5, 4]
    assert "7 pull requests skipped as unreadable" in caplog.text


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
@pytest.mark.parametrize(
    "answer",
    [b"<html>502 Bad Gateway</html>", b"[" * 200_000, b'{"values": 5}', b"null"],
    ids=["html", "nested", "values-number", "null"],
)
def test_answers_that_are_not_the_documented_json_are_errors(
    forge: PullForge, answer: bytes
) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        emulator.tamper("GET", forge.pulls_path, lambda request: Response(200, answer))
        emulator.tamper("GET", forge.pulls_path + r"/7", lambda request: Response(200, answer))
        client = make(forge, emulator)
        with pytest.raises(ReporterError, match=REPO):
            client.open_pulls("main")
        with pytest.raises(ReporterError, match=REPO):
            client.pull(7)


@pytest.mark.parametrize("forge", FORGES, ids=IDS)
def test_a_megabyte_comment_and_broken_comments_do_not_stop_the_upsert(forge: PullForge) -> None:
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        open_pull(emulator, 7)
        emulator.add_comment(REPO, 7, "y" * (1 << 20), author="spammer")
        emulator.add_comment(REPO, 7, f"<!-- {MARKER} -->" + "z" * (1 << 20), author="spammer")
        broken = [{"id": "x", "body": 5}, None, {"id": 3}, {"content": {"raw": 5}}]
        tamper_listing(
            forge, emulator, edit=lambda items: [*broken, *items], path=forge.comments_path
        )
        client = make(forge, emulator)
        started = time.monotonic()
        made = client.upsert_comment(7, MARKER, "plan")
        assert client.upsert_comment(7, MARKER, "plan 2") == made
        ours = [c for c in emulator.comments(REPO, 7) if c.author == emulator.user]
    assert [c.id for c in ours] == [made]
    assert time.monotonic() - started < 10


def test_a_forge_that_stops_answering_is_given_up_on() -> None:
    forge = FORGES[0]
    policy = HttpPolicy(
        backoff=BackoffPolicy(initial=0.001, max_delay=0.01, max_attempts=2, max_elapsed=5),
        timeout=0.3,
    )

    def stall(request: Request) -> Response:
        time.sleep(1.0)
        return Response(200, [])

    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        emulator.tamper("GET", forge.pulls_path, stall)
        client = forge.client(
            REPO,
            token_env="T",
            api_url=emulator.base_url,
            environ={"T": TOKEN},
            policy=policy,
            sleep=lambda seconds: None,
        )
        started = time.monotonic()
        with pytest.raises(ReporterError, match="timed out"):
            client.open_pulls("main")
    assert time.monotonic() - started < 3


def test_a_page_over_the_default_bound_is_refused_without_reading_it_all() -> None:
    forge = FORGES[0]
    huge = b"[" + b",".join([json.dumps("x" * 1000).encode()] * 9000) + b"]"  # ~9 MB
    with forge.emulator(token=TOKEN, repositories=[REPO]) as emulator:
        emulator.tamper("GET", forge.pulls_path, lambda request: Response(200, huge))
        with pytest.raises(ReporterError, match="larger than"):
            make(forge, emulator).open_pulls("main")
