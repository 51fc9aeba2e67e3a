"""What a source may name: the repository allow-list and the ref grammar.

``classify(value, what=...)`` sorts a configured ``source.url`` or a command-line SOURCE into
a ``UrlKind`` (https, http, ssh, scp-like ``user@host:path``, git, file, local path) the way
git itself would read it, or refuses it with a ``ConfigError`` that quotes the value and says
what is accepted: option-shaped values (a leading ``-``), remote-helper transports
(``ext::``, ``fd::``), other schemes, control characters, over-long values, and credentials
in the URL (a token belongs in ``source.tokenEnv``). ``check_ref`` does the same for a
branch, tag, ref or commit SHA. Pure, no I/O. Called by ``sources.git``, ``sources.snapshot``,
``sources.revisions`` and ``reporters.notes`` before a value can reach a git process.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from typing import NoReturn
from urllib.parse import SplitResult, urlsplit

from gitops_agent.errors import ConfigError
from gitops_agent.redaction import quoted

MAX_URL_LENGTH = 2048
MAX_REF_LENGTH = 1024
NAME_MAX = 255  # bytes in one path component on Linux file systems
ACCEPTED = (
    "accepted: an https://, http://, ssh://, git:// or file:// URL, user@host:path, or a local path"
)
REF_ACCEPTED = "accepted: a branch or tag name, a full ref (refs/...) or a commit SHA"

_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._~+-]*$")
_HOST = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$")
_REF_FORBIDDEN = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|//")
# Unicode categories refused anywhere in a URL or a ref: controls (newline, escape, DEL...),
# invisible format characters (bidi overrides, zero-width), line/paragraph separators,
# surrogates and private use.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


class UrlKind(enum.Enum):
    """How git reaches a repository a source names."""

    HTTPS = "https"
    HTTP = "http"
    SSH = "ssh"
    SCP = "scp"  # user@host:path, ssh underneath
    GIT = "git"
    FILE = "file"
    LOCAL = "local"  # a path on this machine

    @property
    def uses_ssh(self) -> bool:
        """True for ``ssh://`` URLs and scp-like ``user@host:path``."""
        return self in (UrlKind.SSH, UrlKind.SCP)

    @property
    def uses_http(self) -> bool:
        """True for ``http://`` and ``https://`` URLs."""
        return self in (UrlKind.HTTP, UrlKind.HTTPS)


_SCHEMES = {
    "https": UrlKind.HTTPS,
    "http": UrlKind.HTTP,
    "ssh": UrlKind.SSH,
    "git+ssh": UrlKind.SSH,
    "ssh+git": UrlKind.SSH,
    "git": UrlKind.GIT,
    "file": UrlKind.FILE,
}


def classify(value: str, *, what: str = "source.url") -> UrlKind:
    """The kind of repository ``value`` names; ``ConfigError`` when it is not accepted."""
    _check_text(value, what=what, limit=MAX_URL_LENGTH, accepted=ACCEPTED)
    if value.startswith("-"):
        _refuse(
            value,
            what,
            "starts with '-' and would be read by git as an option "
            "(write ./NAME for a directory whose name starts with '-')",
        )
    if _HELPER.match(value):
        _refuse(
            value,
            what,
            "names a git remote-helper transport ('<transport>::'), which can run any command",
        )
    scheme = _SCHEME.match(value)
    if scheme:
        return _scheme_url(value, scheme.group(1).lower(), what)
    head = value.split("/", 1)[0]
    if ":" in head:
        return _scp_like(value, what)
    if any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in value.split("/")):
        _refuse(value, what, f"has a path component longer than {NAME_MAX} bytes")
    return UrlKind.LOCAL


def kind_of(value: str) -> UrlKind | None:
    """``classify`` without the error: ``None`` for a value that is not accepted."""
    try:
        return classify(value)
    except ConfigError:
        return None


def check_ref(ref: str, *, what: str = "source.ref") -> None:
    """Refuse a ref that is not a plausible branch, tag, full ref or SHA (git's ref grammar:
    no option shape, no ``..``, ``@{``, spaces, ``~^:?*[\\``, control characters...)."""
    _check_text(ref, what=what, limit=MAX_REF_LENGTH, accepted=REF_ACCEPTED)
    if ref.startswith("-"):
        _refuse(
            ref,
            what,
            "starts with '-' and would be read by git as an option",
            accepted=REF_ACCEPTED,
        )
    parts = ref.split("/")
    if (
        _REF_FORBIDDEN.search(ref)
        or ref == "@"
        or ref.endswith((".", "/", ".lock"))
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in parts)
    ):
        _refuse(ref, what, "is not a valid git ref name", accepted=REF_ACCEPTED)


def _check_text(value: str, *, what: str, limit: int, accepted: str) -> None:
    if not value.strip():
        raise ConfigError(f"{what} is empty; {accepted}")
    if len(value) > limit:
        _refuse(
            value, what, f"is {len(value)} characters long (at most {limit})", accepted=accepted
        )
    for position, char in enumerate(value):
        if unicodedata.category(char) in _CONTROL_CATEGORIES:
            reason = f"contains the control character U+{ord(char):04X} at position {position}"
            _refuse(value, what, reason, accepted=accepted)


def _scheme_url(value: str, scheme: str, what: str) -> UrlKind:
    kind = _SCHEMES.get(scheme)
    if kind is None:
        _refuse(value, what, f"uses the scheme '{scheme}://', which is not accepted")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a bad port raises ValueError here
    except ValueError as err:
        _refuse(value, what, f"is not a valid URL ({err})")
    _check_userinfo(value, parts, kind, what)
    if kind is not UrlKind.FILE:
        host = parts.hostname or ""
        if not host or not _HOST.match(host if ":" not in host else f"[{host}]"):
            _refuse(value, what, "names no valid host")
    elif parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        _refuse(value, what, "is not file:///absolute/path")
    return kind


def _check_userinfo(value: str, parts: SplitResult, kind: UrlKind, what: str) -> None:
    if "@" not in parts.netloc:
        return
    if kind.uses_http:
        _refuse(
            value,
            what,
            "carries credentials in the URL, where they would be stored on "
            "disk; remove them and name the environment variable holding the token in "
            "source.tokenEnv",
        )
    if kind is not UrlKind.SSH or parts.password is not None:
        _refuse(
            value,
            what,
            "carries credentials in the URL; use source.sshKeyFile for ssh, "
            "source.tokenEnv for https",
        )
    if not _USER.match(parts.username or ""):
        _refuse(value, what, "has a user name git would not accept")


def _scp_like(value: str, what: str) -> UrlKind:
    target, _, path = value.partition(":")
    user, at, host = target.rpartition("@")
    if (at and not _USER.match(user)) or not _HOST.match(host):
        _refuse(value, what, "is not a valid user@host:path")
    if not path or path.startswith("-"):
        _refuse(value, what, "names no repository path, or one starting with '-'")
    return UrlKind.SCP


def _refuse(value: str, what: str, reason: str, *, accepted: str = ACCEPTED) -> NoReturn:
    raise ConfigError(f"{what} {quoted(value)} {reason}; {accepted}")
