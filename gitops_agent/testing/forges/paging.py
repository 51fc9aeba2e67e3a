"""Pagination as the forges serve it, for the forge emulators.

``page_of(items, query, size_param=..., default=..., maximum=...)`` cuts one page out of a
listing the way the page-number APIs do (``page`` 1-based; a size above the maximum is
clamped, as GitHub, GitLab and Gitea do). ``link_header(url, query, page)`` writes the RFC
8288 ``Link`` header GitHub and Gitea send (``next``, ``last``, ``first``, ``prev``);
``gitlab_headers`` adds GitLab's ``X-Page`` / ``X-Next-Page`` / ``X-Total`` family; and
``page_url`` is the absolute URL of another page (Bitbucket's ``next`` field). Used by the
GitHub, GitLab, Gitea and Bitbucket emulators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing: its items, its number and size, and how many pages there are."""

    items: list[Any]
    number: int
    size: int
    last: int
    total: int

    @property
    def has_next(self) -> bool:
        """True when a later page holds items."""
        return self.number < self.last


def _positive(value: str | None, default: int) -> int:
    """A query parameter as a positive integer; forges treat junk as the default."""
    if value is None or not value.isdigit() or int(value) < 1:
        return default
    return int(value)


def page_of(
    items: Sequence[Any],
    query: Mapping[str, str],
    *,
    size_param: str,
    default: int,
    maximum: int,
) -> Page:
    """The page ``query`` asks for (``page`` and ``size_param``), the size clamped to ``maximum``."""
    size = min(_positive(query.get(size_param), default), maximum)
    number = _positive(query.get("page"), 1)
    last = max(1, -(-len(items) // size))
    chunk = list(items[(number - 1) * size : number * size])
    return Page(chunk, number, size, last, len(items))


def page_url(root: str, path: str, query: Mapping[str, str], number: int) -> str:
    """The absolute URL of page ``number`` of the listing at ``path`` (other parameters kept)."""
    return f"{root}{path}?{urlencode({**query, 'page': str(number)})}"


def link_header(root: str, path: str, query: Mapping[str, str], page: Page) -> dict[str, str]:
    """GitHub's and Gitea's ``Link`` header for ``page`` (empty when there is one page)."""
    links: list[str] = []
    if page.has_next:
        links.append(f'<{page_url(root, path, query, page.number + 1)}>; rel="next"')
        links.append(f'<{page_url(root, path, query, page.last)}>; rel="last"')
    if page.number > 1:
        links.append(f'<{page_url(root, path, query, 1)}>; rel="first"')
        links.append(f'<{page_url(root, path, query, page.number - 1)}>; rel="prev"')
    return {"Link": ", ".join(links)} if links else {}


def gitlab_headers(root: str, path: str, query: Mapping[str, str], page: Page) -> dict[str, str]:
    """GitLab's offset-pagination headers (``X-Next-Page`` empty on the last page) and Link."""
    headers = {
        "X-Page": str(page.number),
        "X-Per-Page": str(page.size),
        "X-Next-Page": str(page.number + 1) if page.has_next else "",
        "X-Prev-Page": str(page.number - 1) if page.number > 1 else "",
        "X-Total": str(page.total),
        "X-Total-Pages": str(page.last),
    }
    return {**headers, **link_header(root, path, query, page)}
