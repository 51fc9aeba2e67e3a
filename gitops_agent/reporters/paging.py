"""Walking a forge's paginated listing within bounds, never off the forge's own host.

``walk(fetch, first_url, limits=..., api_url=..., what=...)`` yields the items of page after
page: ``fetch(url)`` returns one page's items and the next page's URL as the forge gave it
(``next_link`` reads GitHub's and Gitea's ``Link`` header, ``next_page_url`` GitLab's
``X-Next-Page``; Bitbucket puts ``next`` in the body). Each next URL must stay on the API
root's scheme, host, port and path (``same_root``): a listing that points elsewhere is an
error, never followed, because the next request would carry the token there. Past
``PageLimits`` (pages, items) the walk raises ``ListingCutError`` after yielding what fit;
a URL that comes back is a loop and an error. Pure apart from calling ``fetch``. Used by
``reporters.pullclient``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from gitops_agent.errors import ReporterError
from gitops_agent.redaction import quoted

_LINK = re.compile(r"<(?P<url>[^>]*)>(?P<params>[^<]*)")
_REL = re.compile(r';\s*rel\s*=\s*"?(?P<rel>[^";,]*)', re.IGNORECASE)

#: One page: its items and the next page's URL as the forge gave it (``None``: last page).
Page = tuple[list[Any], str | None]


@dataclass(frozen=True, slots=True)
class PageLimits:
    """Bounds of one listing: pages read, items taken, bytes of one page."""

    max_pages: int = 10
    max_items: int = 1000
    max_page_bytes: int = 8 << 20


class ListingCutError(ReporterError):
    """A listing went past its ``PageLimits``; the items yielded before stay valid."""


def walk(
    fetch: Callable[[str], Page],
    first_url: str,
    *,
    limits: PageLimits,
    api_url: str,
    what: str,
) -> Iterator[Any]:
    """Every item of every page from ``first_url`` on, within ``limits`` (see module doc)."""
    url: str | None = first_url
    seen: set[str] = set()
    taken = 0
    while url is not None:
        if len(seen) >= limits.max_pages:
            raise ListingCutError(f"{what}: more than {limits.max_pages} pages; the rest unread")
        if url in seen:
            raise ReporterError(f"{what}: the forge's next page {quoted(url)} comes back again")
        seen.add(url)
        items, following = fetch(url)
        for item in items:
            if taken >= limits.max_items:
                raise ListingCutError(f"{what}: more than {limits.max_items}; the rest unread")
            taken += 1
            yield item
        url = None if not following else same_root(following, base=url, api_url=api_url, what=what)


def same_root(url: str, *, base: str, api_url: str, what: str) -> str:
    """``url`` (resolved against ``base``) when it lies under ``api_url``; else ReporterError."""
    try:
        resolved = urljoin(base, url)
        target, root = urlsplit(resolved), urlsplit(api_url)
        same_host = (target.scheme, target.hostname, target.port) == (
            root.scheme,
            root.hostname,
            root.port,
        )
    except ValueError:  # a broken host or a port that is not a number
        raise ReporterError(f"{what}: the forge's next page {quoted(url)} is no URL") from None
    under = target.path == root.path or target.path.startswith(root.path.rstrip("/") + "/")
    if not same_host or not under or target.username or target.password:
        raise ReporterError(
            f"{what}: the forge's next page {quoted(resolved)} is not under {api_url}; "
            "not followed (a forge answer never sends the token elsewhere)"
        )
    return resolved


def next_link(header: str) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header, if any."""
    for match in _LINK.finditer(header[:16384]):
        rel = _REL.search(match.group("params"))
        if rel and "next" in rel.group("rel").lower().split():
            return match.group("url").strip()
    return None


def next_page_url(url: str, next_page: str) -> str | None:
    """``url`` asking for page ``next_page`` (GitLab's ``X-Next-Page``; empty: last page)."""
    next_page = next_page.strip()
    if not next_page:
        return None
    if not next_page.isdigit() or len(next_page) > 9:
        raise ReporterError(f"X-Next-Page {quoted(next_page)} is not a page number")
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.append(("page", next_page))
    return urlunsplit(parts._replace(query=urlencode(query)))
