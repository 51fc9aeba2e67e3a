"""Web links to a file of a commit on each forge, for the violations of a preview.

``file_link(kind, api_url, repository, revision)`` gives a function ``(path, line) -> URL``
for GitHub (and GitHub Enterprise), GitLab, Gitea and Bitbucket Cloud, built from the
reporter's API root (``https://api.github.com`` is browsed at ``https://github.com``); None
for a reporter with no web pages (``notes``, ``log``). Called by the preview command and the
agent loop. Paths are quoted; nothing here makes a request.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

FileLink = Callable[[str, int], str]

DEFAULT_API = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com/api/v4",
    "bitbucket": "https://api.bitbucket.org/2.0",
}


def web_root(kind: str, api_url: str) -> str | None:
    """The forge's web address for its API root (None when it cannot be told)."""
    api = (api_url or DEFAULT_API.get(kind, "")).rstrip("/")
    if not api.startswith(("https://", "http://")):
        return None
    if kind == "github":
        return "https://github.com" if api == DEFAULT_API["github"] else api.removesuffix("/api/v3")
    if kind == "gitlab":
        return api.removesuffix("/api/v4")
    if kind == "gitea":
        return api.removesuffix("/api/v1")
    if kind == "bitbucket":
        return "https://bitbucket.org" if api == DEFAULT_API["bitbucket"] else None
    return None


def file_link(kind: str, api_url: str, repository: str, revision: str) -> FileLink | None:
    """``(path, line) -> URL`` of a file at ``revision`` on the forge, or None."""
    root = web_root(kind, api_url)
    repo = repository.strip("/")
    if root is None or not repo:
        return None
    shapes = {
        "github": "{root}/{repo}/blob/{rev}/{path}#L{line}",
        "gitlab": "{root}/{repo}/-/blob/{rev}/{path}#L{line}",
        "gitea": "{root}/{repo}/src/commit/{rev}/{path}#L{line}",
        "bitbucket": "{root}/{repo}/src/{rev}/{path}#lines-{line}",
    }
    shape = shapes[kind]

    def link(path: str, line: int) -> str:
        quoted = urllib.parse.quote(path.lstrip("/"))
        return shape.format(root=root, repo=repo, rev=revision, path=quoted, line=max(line, 1))

    return link
